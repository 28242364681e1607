import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig } from './config/load.ts';
import { DirLockError } from './db/lock.ts';
import { createLogger } from './log.ts';
import { createServices } from './services.ts';
import { createApp } from './http/app.ts';

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
  const stop = async () => {
    server.close();
    // Log pooled IMAP sessions out rather than leaving them for Dovecot to time out.
    await services.mail.close();
    await services.audit.flush();
    await services.store.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

await main();
