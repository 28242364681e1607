import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeDaemonDir, startDaemon } from './daemon.ts';
import { freePort } from './ports.ts';

const MAIL_MODULE = '/usr/lib/nginx/modules/ngx_mail_module.so';

export interface NginxOptions {
  /** Postern (or a fake): nginx asks GET <url>/mailauth/nginx with the secret header. */
  postern: { url: string; secret: string };
  /**
   * Offer STARTTLS on the IMAP and SMTP ports and add an implicit-TLS IMAP
   * port, with a throwaway self-signed certificate (clients must not verify it).
   */
  tls?: boolean;
  /** Send the PROXY protocol header to the backend (Dovecot listeners with `haproxy = yes`). */
  proxyProtocol?: boolean;
}

export interface NginxInstance {
  imapPort: number;
  /** Submission-style SMTP: AUTH required, re-done on the backend (proxy_smtp_auth). */
  smtpPort: number;
  /** Implicit-TLS IMAP (993-style); only with `tls: true`. */
  imapsPort?: number;
  /** Self-signed certificate in PEM; only with `tls: true`. */
  certPem?: string;
  dir: string;
  logFile: string;
  stop(): Promise<void>;
}

interface NginxConfig {
  dir: string;
  logFile: string;
  authUrl: string;
  secret: string;
  imapPort: number;
  smtpPort: number;
  tls?: { certFile: string; keyFile: string; imapsPort: number };
  proxyProtocol?: boolean;
}

// Kept parallel to deploy/nginx/postern-mail.conf; differences: 127.0.0.1
// high ports, plain text unless `tls`, and no STARTTLS requirement.
function renderConfig(c: NginxConfig): string {
  const starttls = (c.tls ? '    starttls on;\n' : '') + (c.proxyProtocol ? '    proxy_protocol on;\n' : '');
  const certificate = c.tls
    ? `  ssl_certificate     ${c.tls.certFile};\n  ssl_certificate_key ${c.tls.keyFile};\n`
    : '';
  const imaps = c.tls
    ? `  server {\n    listen 127.0.0.1:${c.tls.imapsPort} ssl;\n    protocol imap;\n${c.proxyProtocol ? '    proxy_protocol on;\n' : ''}  }\n`
    : '';
  return `load_module ${MAIL_MODULE};
daemon off;
worker_processes 1;
pid ${c.dir}/nginx.pid;
error_log ${c.logFile} info;
events { worker_connections 4096; }

mail {
  server_name mail.example.test;
  auth_http ${c.authUrl};
  auth_http_header X-Mailauth-Secret ${c.secret};
  auth_http_timeout 5s;
  proxy_pass_error_message on;

  imap_capabilities IMAP4rev1 LITERAL+ SASL-IR IDLE;
  imap_auth plain login;
  smtp_capabilities "SIZE 10485760" 8BITMIME ENHANCEDSTATUSCODES;
  smtp_auth plain login;
${certificate}
  server {
    listen 127.0.0.1:${c.imapPort};
    protocol imap;
${starttls}  }
  server {
    listen 127.0.0.1:${c.smtpPort};
    protocol smtp;
    xclient off;
    proxy_smtp_auth on;
${starttls}  }
${imaps}}
`;
}

/** makeSelfSignedCert writes tls.crt and tls.key for mail.example.test into dir. */
export function makeSelfSignedCert(dir: string): { certFile: string; keyFile: string } {
  const certFile = path.join(dir, 'tls.crt');
  const keyFile = path.join(dir, 'tls.key');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=mail.example.test',
  ], { stdio: 'ignore' });
  return { certFile, keyFile };
}

/**
 * startNginx runs a private nginx mail proxy (IMAP + SMTP submission) on free
 * 127.0.0.1 ports that asks `postern.url` over auth_http for every login.
 */
export async function startNginx(opts: NginxOptions): Promise<NginxInstance> {
  if (/[\s;{}'"]/.test(opts.postern.secret)) throw new Error('postern.secret must be a bare nginx word');
  const dir = makeDaemonDir('nginx');
  const config: NginxConfig = {
    dir,
    logFile: path.join(dir, 'log', 'nginx-error.log'),
    authUrl: `${opts.postern.url.replace(/\/+$/, '')}/mailauth/nginx`,
    secret: opts.postern.secret,
    imapPort: await freePort(),
    smtpPort: await freePort(),
    proxyProtocol: opts.proxyProtocol,
  };
  if (opts.tls) config.tls = { ...makeSelfSignedCert(dir), imapsPort: await freePort() };
  const confFile = path.join(dir, 'nginx.conf');
  fs.writeFileSync(confFile, renderConfig(config));

  const ports = [config.imapPort, config.smtpPort];
  if (config.tls) ports.push(config.tls.imapsPort);
  const daemon = await startDaemon({
    name: 'nginx',
    command: 'nginx',
    // -e: nginx opens its default error log before reading the config.
    args: ['-p', dir, '-c', confFile, '-e', config.logFile],
    dir,
    ports,
    logFiles: [config.logFile],
  });

  return {
    imapPort: config.imapPort,
    smtpPort: config.smtpPort,
    imapsPort: config.tls?.imapsPort,
    certPem: config.tls ? fs.readFileSync(config.tls.certFile, 'utf8') : undefined,
    dir,
    logFile: config.logFile,
    stop: daemon.stop,
  };
}

export interface BalancerInstance {
  port: number;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * startHttpBalancer runs nginx as an HTTP load balancer on a free 127.0.0.1
 * port, sending requests to the given ports in turn (round robin), the way
 * an institution puts several Postern nodes behind one address.
 */
export async function startHttpBalancer(upstreamPorts: number[]): Promise<BalancerInstance> {
  const dir = makeDaemonDir('nginx-lb');
  const logFile = path.join(dir, 'log', 'nginx-error.log');
  const port = await freePort();
  const servers = upstreamPorts.map((p) => `    server 127.0.0.1:${p} max_fails=0;`).join('\n');
  const confFile = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    confFile,
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${logFile} info;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream postern {
${servers}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://postern;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      # A node that is down is skipped: the next one answers the same request.
      proxy_next_upstream error timeout http_502;
      proxy_connect_timeout 1s;
    }
  }
}
`,
  );
  const daemon = await startDaemon({ name: 'nginx', command: 'nginx', args: ['-p', dir, '-c', confFile, '-e', logFile], dir, ports: [port], logFiles: [logFile] });
  return { port, logFile, stop: daemon.stop };
}
