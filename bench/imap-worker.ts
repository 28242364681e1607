import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

export interface ImapWorkerInput {
  port: number;
  user: string;
  pass: string;
  concurrency: number;
  durationMs: number;
}
export interface ImapWorkerOutput {
  ok: number;
  failed: number;
  elapsedMs: number;
  latencies: number[];
  lastError?: string;
}

/** login opens a connection, logs in with LOGIN, logs out: what a mail client's check costs. */
function login(port: number, user: string, pass: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = '';
    let step = 0;
    const quote = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;
    socket.setEncoding('utf8');
    socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')));
    socket.on('data', (chunk: string) => {
      buf += chunk;
      if (step === 0 && buf.includes('\r\n')) {
        step = 1;
        buf = '';
        socket.write(`a LOGIN ${quote(user)} ${quote(pass)}\r\n`);
      } else if (step === 1 && /^a (OK|NO|BAD)/m.test(buf)) {
        if (!/^a OK/m.test(buf)) return socket.destroy(new Error(buf.trim().split('\r\n').pop()));
        step = 2;
        buf = '';
        socket.write('b LOGOUT\r\n');
      } else if (step === 2 && /^b OK/m.test(buf)) {
        socket.end();
        resolve();
      }
    });
    socket.on('error', reject);
  });
}

const input = workerData as ImapWorkerInput;
const out: ImapWorkerOutput = { ok: 0, failed: 0, elapsedMs: 0, latencies: [] };
const start = performance.now();
const until = start + input.durationMs;
await Promise.all(
  Array.from({ length: input.concurrency }, async () => {
    while (performance.now() < until) {
      const t0 = performance.now();
      try {
        await login(input.port, input.user, input.pass);
        out.ok += 1;
        out.latencies.push(performance.now() - t0);
      } catch (err) {
        out.failed += 1;
        out.lastError = (err as Error).message;
      }
    }
  }),
);
out.elapsedMs = performance.now() - start;
parentPort!.postMessage(out);
