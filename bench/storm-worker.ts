import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

export interface StormWorkerInput {
  port: number;
  emails: string[];
  secret: string;
  deadlineMs: number;
}

export interface Outcome {
  admitted: boolean;
  /** Temporary failures (NO) the client saw before it got in. */
  retries: number;
  /** The connection closed with no OK: nginx gave up on Postern (auth_http_timeout) or the backend refused. */
  dropped: boolean;
  ms: number;
}

/**
 * login is a mail client reconnecting: connect through nginx, LOGIN, and on a
 * temporary NO try LOGIN again on the same connection (nginx kept it open
 * for Auth-Wait); a connection closed without an answer counts as dropped.
 */
function login(port: number, from: string, user: string, pass: string, started: number, deadlineMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
    let buffer = '';
    let retries = 0;
    let greeted = false;
    let settled = false;
    const finish = (o: Omit<Outcome, 'ms' | 'retries'>) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ ...o, retries, ms: performance.now() - started });
    };
    const send = () => socket.write(`a${retries} LOGIN "${user}" "${pass}"\r\n`);
    socket.setEncoding('utf8');
    socket.setTimeout(deadlineMs, () => finish({ admitted: false, dropped: true }));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        if (!greeted && line.startsWith('* OK')) {
          greeted = true;
          send();
        } else if (line.startsWith(`a${retries} OK`)) {
          socket.write('z LOGOUT\r\n');
          finish({ admitted: true, dropped: false });
        } else if (line.startsWith(`a${retries} NO`)) {
          retries += 1;
          if (performance.now() - started > deadlineMs) finish({ admitted: false, dropped: false });
          else send();
        }
      }
    });
    socket.on('error', () => finish({ admitted: false, dropped: true }));
    socket.on('close', () => finish({ admitted: false, dropped: true }));
  });
}


const input = workerData as StormWorkerInput;
const started = performance.now();
// Each app from an address of its own (all of 127/8 is this machine), as the staff of an institution are: nginx passes it on as Client-IP.
const addressOf = (i: number) => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
const outcomes = await Promise.all(input.emails.map((email, i) => login(input.port, addressOf(i), email, input.secret, started, input.deadlineMs)));
parentPort!.postMessage(outcomes);
