import './threadpool.ts';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig } from './config/load.ts';
import { startupWarnings } from './config/warnings.ts';
import { DirLockError } from './db/lock.ts';
import { createLogger } from './log.ts';
import { createServices, type Services } from './services.ts';
import { createApp } from './http/app.ts';
import { startMailauthFront, type MailauthFront } from './mailauth/front.ts';
import { AuditRetention } from './audit/retention.ts';

/** main wires config → store → services → app → listen, and shuts down cleanly on a signal. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + '\n');
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.LOG_LEVEL);
  for (const warning of startupWarnings(config)) log.warn(warning);
  let services;
  try {
    services = await createServices(config, log);
  } catch (err) {
    if (err instanceof DirLockError) {
      process.stderr.write(err.message + '\n');
      process.exit(1);
    }
    process.stderr.write(`Could not open the database: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const app = createApp(services);
  // Security notices queued while Postern was down go out now, then every few seconds.
  services.notices.start();
  // Old audit events and spent sign-in attempts are deleted once a day, by one node at a time.
  const retention = new AuditRetention({ store: services.store, days: config.AUDIT_RETENTION_DAYS, log });
  retention.start();
  // Client-specific passwords that expire take their open IMAP sessions with them.
  const sweep = services.mailSessions.enabled
    ? setInterval(() => void services.mailSessions.sweepExpired().catch((err) => log.warn('expiry sweep failed', { error: (err as Error)?.message })), 5000)
    : undefined;
  sweep?.unref();
  const server: Server = app.listen(config.PORT, config.HOST, () => {
    const { port } = server.address() as AddressInfo;
    const url = config.PUBLIC_URL ?? `http://${config.HOST === '0.0.0.0' ? 'localhost' : config.HOST}:${port}`;
    log.info('Postern is listening', {
      url,
      database: services.store.kind === 'pglite' ? `embedded (${config.DATABASE_URL ?? config.DATA_DIR})` : 'postgresql',
      sms: config.SMS_PROVIDER,
    });
  });
  server.on('error', (err) => {
    process.stderr.write(`Could not listen on ${config.HOST}:${config.PORT}: ${err.message}\n`);
    process.exit(1);
  });
  const mailauth = config.MAILAUTH_LISTEN ? await listenForMailauth(services, config.MAILAUTH_LISTEN) : undefined;
  const stop = async () => {
    server.close();
    await mailauth?.close();
    clearInterval(sweep);
    // Log pooled IMAP sessions out rather than leaving them for Dovecot to time out.
    await services.mail.close();
    await services.notices.stop();
    await retention.stop();
    await services.audit.flush();
    await services.regulator.flush();
    await services.store.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** listenForMailauth answers nginx and Dovecot on their own address, away from the public listener, from a thread that accepts at once. */
async function listenForMailauth(services: Services, at: { host: string; port: number }): Promise<MailauthFront> {
  try {
    const front = await startMailauthFront(services, at);
    const host = at.host.includes(':') ? `[${at.host}]` : at.host;
    services.log.info('mail logins are answered here', { url: `http://${host}:${front.port}`, paths: '/mailauth/nginx, /mailauth/dovecot, /mailauth/events' });
    return front;
  } catch (err) {
    process.stderr.write(`Could not listen on ${at.host}:${at.port} (MAILAUTH_LISTEN): ${(err as Error).message}\n`);
    process.exit(1);
  }
}

await main();
