import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { openStore, type Store } from '../src/db/client.ts';
import { startApp } from './helpers/app.ts';
import { textOf } from './helpers/client.ts';
import { buildUser, PASSWORD } from './helpers/factories.ts';
import { createThrowawayDatabase } from './helpers/services.ts';

/** OutageStore is a database the test can take away from a running app. */
interface OutageStore {
  store: Store;
  /** stop makes the database unreachable, the way a crashed or restarting server is. */
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * outageStore opens PGlite in memory (stopped by closing it), or with
 * TEST_DATABASE_URL a throwaway PostgreSQL database reached through a TCP
 * relay: stopping the relay cuts every connection and refuses new ones.
 */
async function outageStore(): Promise<OutageStore> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) {
    const store = await openStore({ url: 'memory://', dataDir: '.' });
    return { store, stop: () => store.close(), dispose: async () => {} };
  }
  const db = await createThrowawayDatabase(base);
  const target = new URL(db.url);
  const sockets = new Set<Socket>();
  const relay = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', () => resolve()));
  const via = new URL(db.url);
  via.hostname = '127.0.0.1';
  via.port = String((relay.address() as AddressInfo).port);
  const store = await openStore({ url: via.toString(), dataDir: '.' });
  return {
    store,
    stop: async () => {
      await new Promise<void>((resolve) => {
        relay.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
    dispose: async () => {
      await store.close().catch(() => {});
      await db.drop();
    },
  };
}

test('while the database is down, signed-in pages and signing in answer 503 "try again in a minute" in the reader’s language', async () => {
  const db = await outageStore();
  const t = await startApp({}, { store: db.store });
  try {
    const user = await buildUser(t.s);
    const en = await t.signIn(user.email);
    const zh = await t.signIn(user.email, { client: t.client({ 'accept-language': 'zh-CN' }) });
    const guests = [t.client(), t.client({ 'accept-language': 'zh-CN' })];
    for (const g of guests) await g.get('/login');
    // What the sign-ins queued (their audit lines, the regulator's successes) is written before the outage, not during it.
    await t.s.audit.flush();
    await t.s.regulator.flush();
    await db.stop();
    const from = t.s.logLines.length;

    const expected = [/temporarily unavailable\. Please try again in a minute/, /暂时无法使用，请一分钟后再试/];
    for (const [i, c] of [en, zh].entries()) {
      const res = await c.get('/settings/security');
      assert.equal(res.status, 503, textOf(res.text));
      assert.equal(res.headers['retry-after'], '60');
      assert.match(textOf(res.text), expected[i]!);
      assert.doesNotMatch(res.text, /at .*\.ts:\d+|Failed query|ECONNREFUSED|PGlite/);
    }
    for (const [i, g] of guests.entries()) {
      const res = await g.post('/login', { email: user.email, password: PASSWORD });
      assert.equal(res.status, 503, textOf(res.text));
      assert.equal(res.headers['retry-after'], '60');
      assert.match(textOf(res.text), expected[i]!);
      assert.doesNotMatch(res.text, /at .*\.ts:\d+|Failed query|ECONNREFUSED|PGlite/);
    }
    assert.equal((await t.client().get('/healthz')).status, 503);

    const lines = t.s.logLines.slice(from);
    assert.deepEqual(lines.filter((l) => l.includes('"level":"error"')), []);
    const refused = lines.filter((l) => l.includes('database unavailable'));
    assert.equal(refused.length, 4, JSON.stringify(lines));
    for (const l of refused) {
      assert.match(l, /"level":"warn"/);
      assert.doesNotMatch(l, /\\n\s+at /);
    }
  } finally {
    await t.s.mail.close();
    await t.close();
    await db.dispose();
  }
});
