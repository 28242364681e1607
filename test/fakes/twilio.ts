import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * How the fake answers a message: accept it, fail with a server error, or
 * keep the connection open without ever answering.
 */
export type FakeTwilioMode = 'ok' | 'error500' | 'hang';

/** FakeTwilioRequest is one HTTP request the fake received, as Twilio would read it. */
export interface FakeTwilioRequest {
  method: string;
  path: string;
  auth: { user: string; pass: string };
  form: Record<string, string>;
}

export interface FakeTwilio {
  /** Base URL to use as TWILIO_API_BASE_URL. */
  url: string;
  /** Every request received, oldest first. */
  requests: FakeTwilioRequest[];
  setMode(mode: FakeTwilioMode): void;
  /** close stops the server and ends every open connection, hanging ones included. */
  close(): Promise<void>;
}

const MESSAGES_PATH = /^\/2010-04-01\/Accounts\/(AC[0-9a-fA-F]{32})\/Messages\.json$/;

function twilioError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }));
}

function parseBasicAuth(header: string | undefined): { user: string; pass: string } {
  const m = header?.match(/^Basic\s+(.+)$/i);
  if (!m) return { user: '', pass: '' };
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i < 0 ? { user: decoded, pass: '' } : { user: decoded.slice(0, i), pass: decoded.slice(i + 1) };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * startFakeTwilio serves a local stand-in for Twilio's Messages API on
 * 127.0.0.1: it checks basic auth against the account in the path, records
 * the form it was sent, and answers the way Twilio does for the current mode.
 */
export async function startFakeTwilio(opts: { mode?: FakeTwilioMode } = {}): Promise<FakeTwilio> {
  let mode: FakeTwilioMode = opts.mode ?? 'ok';
  const requests: FakeTwilioRequest[] = [];
  const sockets = new Set<Socket>();

  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const auth = parseBasicAuth(req.headers.authorization);
    const type = req.headers['content-type'] ?? '';
    const form = type.startsWith('application/x-www-form-urlencoded') ? Object.fromEntries(new URLSearchParams(body)) : {};
    requests.push({ method: req.method ?? '', path, auth, form });

    const match = path.match(MESSAGES_PATH);
    if (req.method !== 'POST' || !match) {
      return twilioError(res, 404, 20404, `The requested resource ${path} was not found`);
    }
    const accountSid = match[1]!;
    if (auth.user !== accountSid || !auth.pass) return twilioError(res, 401, 20003, 'Authenticate');
    if (mode === 'hang') return; // Never answers; close() ends the socket.
    if (mode === 'error500') return twilioError(res, 500, 20500, 'An internal server error has occurred');
    if (!form.To) return twilioError(res, 400, 21604, "A 'To' phone number is required.");
    if (!form.From && !form.MessagingServiceSid) return twilioError(res, 400, 21603, "A 'From' phone number is required.");
    if (!form.Body) return twilioError(res, 400, 21602, 'Message body is required.');

    const sid = 'SM' + randomBytes(16).toString('hex');
    const now = new Date().toUTCString().replace('GMT', '+0000');
    const uri = `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`;
    res.writeHead(201, { 'content-type': 'application/json; charset=utf-8' });
    res.end(
      JSON.stringify({
        account_sid: accountSid,
        api_version: '2010-04-01',
        body: form.Body,
        date_created: now,
        date_sent: null,
        date_updated: now,
        direction: 'outbound-api',
        error_code: null,
        error_message: null,
        from: form.From ?? null,
        messaging_service_sid: form.MessagingServiceSid ?? null,
        num_media: '0',
        num_segments: '1',
        price: null,
        price_unit: 'USD',
        sid,
        status: 'queued',
        subresource_uris: { media: uri.replace(/\.json$/, '/Media.json') },
        to: form.To,
        uri,
      }),
    );
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setMode(next) {
      mode = next;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
