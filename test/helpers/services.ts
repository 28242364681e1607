import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { openStore, type Store } from '../../src/db/client.ts';
import { createLogger } from '../../src/log.ts';
import { createServices, type ServiceOverrides, type Services } from '../../src/services.ts';
import { ConsoleSmsSender } from '../../src/twofactor/sms/sender.ts';

/** SentSms is one text the console provider logged. */
export interface SentSms {
  to: string;
  body: string;
}

export interface TestServices extends Services {
  /** Texts sent through the console provider, oldest first. */
  texts: SentSms[];
  /** lastCode returns the code in the newest text to a number. */
  lastCode(to?: string): string;
  /** Log lines written while the test ran. */
  logLines: string[];
  close(): Promise<void>;
}

/**
 * openTestStore opens a fresh, migrated database: a throwaway PostgreSQL
 * database when TEST_DATABASE_URL is set, embedded PGlite in memory otherwise.
 */
export async function openTestStore(): Promise<Store & { dispose(): Promise<void> }> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) {
    const store = await openStore({ url: 'memory://', dataDir: '.' });
    return { ...store, dispose: () => store.close() };
  }
  const db = await createThrowawayDatabase(base);
  const store = await openStore({ url: db.url, dataDir: '.' });
  return {
    ...store,
    dispose: async () => {
      await store.close();
      await db.drop();
    },
  };
}

/** createThrowawayDatabase makes an empty PostgreSQL database beside `base`, and drops it on request. */
export async function createThrowawayDatabase(base: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `postern_test_${randomBytes(6).toString('hex')}`;
  const run = async (statement: string) => {
    const c = new pg.Client({ connectionString: base });
    await c.connect();
    try {
      await c.query(statement);
    } finally {
      await c.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** testConfig is the configuration tests run with, plus any overrides. */
export function testConfig(env: Record<string, string> = {}): Config {
  // Every test client comes from 127.0.0.1, so per-IP SMS caps are raised unless a test sets them.
  // Tests read codes from the console provider's log, https or not.
  return loadConfig({
    SESSION_SECRET: 'test-secret-test-secret-test-secret-0123',
    LOG_LEVEL: 'info',
    SMS_CONSOLE_IN_PRODUCTION: '1',
    SMS_MAX_PER_IP_HOUR: '1000',
    SMS_MAX_PER_IP_DAY: '1000',
    ...env,
  });
}

/**
 * startServices builds Postern's services on a fresh database with the
 * console SMS provider, capturing what it logs so tests read the codes a
 * person would read on their phone.
 */
export async function startServices(env: Record<string, string> = {}, overrides: ServiceOverrides = {}): Promise<TestServices> {
  const config = testConfig(env);
  const logLines: string[] = [];
  const texts: SentSms[] = [];
  const log = createLogger('info', (line) => {
    logLines.push(line);
    const entry = JSON.parse(line) as { msg: string; provider?: string; to?: string; body?: string };
    if (entry.msg === 'sms' && entry.provider === 'console') texts.push({ to: entry.to!, body: entry.body! });
  });
  const store = await openTestStore();
  const services = await createServices(config, log, { sms: overrides.sms ?? new ConsoleSmsSender(log), store, ...overrides });
  return {
    ...services,
    texts,
    logLines,
    lastCode(to?: string) {
      const text = [...texts].reverse().find((t) => !to || t.to === to);
      const code = text?.body.match(/\b(\d{6})\b/)?.[1];
      if (!code) throw new Error(`no code was texted${to ? ` to ${to}` : ''}`);
      return code;
    },
    close: async () => {
      await services.audit.flush().catch(() => {});
      await store.dispose();
    },
  };
}
