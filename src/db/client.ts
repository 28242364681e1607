import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema/index.ts';
import { acquireDirLock, type DirLock } from './lock.ts';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** Store is an open database: the drizzle handle plus how to close it. */
export interface Store {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** ping checks the database answers; used by health checks and mail logins. */
  ping(): Promise<void>;
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
    await store.close();
    throw err;
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
  return {
    db,
    kind: 'postgres',
    ping: async () => {
      await pool.query('select 1');
    },
    close: () => pool.end(),
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
  return {
    db,
    kind: 'pglite',
    ping: async () => {
      await client.query('select 1');
    },
    close: async () => {
      await client.close();
      lock?.release();
    },
  };
}
