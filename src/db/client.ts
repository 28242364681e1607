import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { Client as PgClient } from 'pg';
import * as schema from './schema/index.ts';
import { acquireDirLock, type DirLock } from './lock.ts';
import { describeError } from '../log-redact.ts';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** Store is an open database: the drizzle handle plus how to close it. */
export interface Store {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** ping checks the database answers; used by health checks and mail logins. */
  ping(): Promise<void>;
  /**
   * listen delivers NOTIFY payloads of a channel. `onLost` is called when
   * delivery stops (connection lost) and again with `true` once it resumes.
   */
  listen(channel: string, onPayload: (payload: string) => void, onLive: (live: boolean, closed?: boolean) => void): Promise<void>;
  close(): Promise<void>;
}

const migrationsFolder = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/**
 * openStore connects to PostgreSQL when `url` is a postgres:// URL, otherwise
 * opens the embedded PGlite under `dataDir` (or in memory for `memory://`),
 * and applies pending migrations.
 */
export async function openStore(opts: { url?: string; dataDir: string }): Promise<Store> {
  const store = opts.url?.startsWith('postgres') ? await openPostgres(opts.url) : await openPglite(opts);
  try {
    await migrateStore(store);
  } catch (err) {
    await store.close().catch(() => {});
    throw new Error(describeError(err), { cause: err });
  }
  return store;
}

async function migrateStore(store: Store): Promise<void> {
  if (store.kind === 'postgres') {
    const { migrate } = await import('drizzle-orm/node-postgres/migrator');
    await migrate(store.db as never, { migrationsFolder });
  } else {
    const { migrate } = await import('drizzle-orm/pglite/migrator');
    await migrate(store.db as never, { migrationsFolder });
  }
}

async function openPostgres(url: string): Promise<Store> {
  const { default: pg } = await import('pg');
  const { drizzle } = await import('drizzle-orm/node-postgres');
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5000 });
  // An idle client losing its connection must not crash the process.
  pool.on('error', () => {});
  const db = drizzle(pool, { schema }) as unknown as Db;
  const listeners = new Set<PgClient>();
  const liveWatchers: Array<(live: boolean, closed?: boolean) => void> = [];
  let closed = false;
  return {
    db,
    kind: 'postgres',
    ping: async () => {
      await pool.query('select 1');
    },
    async listen(channel, onPayload, onLive) {
      liveWatchers.push(onLive);
      // A dedicated connection: a pooled one would drop LISTEN when released.
      const connect = async (): Promise<void> => {
        const client = new pg.Client({ connectionString: url });
        const lost = () => {
          if (!listeners.delete(client)) return;
          onLive(false);
          client.end().catch(() => {});
          if (!closed) setTimeout(() => void connect().catch(() => lost()), 2000).unref();
        };
        client.on('error', lost);
        client.on('end', lost);
        client.on('notification', (n) => {
          if (n.channel === channel) onPayload(n.payload ?? '');
        });
        listeners.add(client);
        await client.connect();
        await client.query(`LISTEN ${channel}`);
        onLive(true);
      };
      await connect();
    },
    close: async () => {
      closed = true;
      for (const onLive of liveWatchers.splice(0)) onLive(false, true);
      for (const c of listeners) {
        listeners.delete(c);
        await c.end().catch(() => {});
      }
      await pool.end();
    },
  };
}

async function openPglite(opts: { url?: string; dataDir: string }): Promise<Store> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  let lock: DirLock | undefined;
  let location = 'memory://';
  if (opts.url !== 'memory://') {
    const dir = resolve(opts.dataDir);
    mkdirSync(dir, { recursive: true });
    lock = acquireDirLock(dir);
    location = join(dir, 'pglite');
  }
  let client;
  try {
    client = await PGlite.create(location);
  } catch (err) {
    lock?.release();
    throw err;
  }
  const db = drizzle(client, { schema }) as unknown as Db;
  const liveWatchers: Array<(live: boolean, closed?: boolean) => void> = [];
  return {
    db,
    kind: 'pglite',
    ping: async () => {
      await client.query('select 1');
    },
    async listen(channel, onPayload, onLive) {
      // One process, one database: notifications arrive as part of the query that caused them.
      await client.listen(channel, onPayload);
      liveWatchers.push(onLive);
      onLive(true);
    },
    close: async () => {
      for (const onLive of liveWatchers.splice(0)) onLive(false, true);
      await client.close();
      lock?.release();
    },
  };
}
