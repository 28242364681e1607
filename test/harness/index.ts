// The mail-stack harness: private Dovecot, nginx mail proxy and SMTP sink
// instances for tests, each on free 127.0.0.1 ports in its own temp dir.
export { freePort, waitForPorts } from './ports.ts';
export { startDovecot, POSTERN_AUTH_LUA, type DovecotOptions, type DovecotInstance } from './dovecot.ts';
export { startNginx, startHttpBalancer, makeSelfSignedCert, type NginxOptions, type NginxInstance, type BalancerInstance } from './nginx.ts';
export { startSmtpSink, type SmtpSink, type SinkMessage } from './smtp-sink.ts';
