import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** PosternProcess is Postern started as `npm start` starts it, on its own port, for figures about that process alone. */
export interface PosternProcess {
  url: string;
  /** Where nginx asks about mail logins: the MAILAUTH_LISTEN address when given, else the web port. */
  mailauthUrl: string;
  pid: number;
  /** rss reads the process's resident set size, in bytes, from /proc. */
  rss(): number;
  stop(): Promise<void>;
}

/** startPostern runs src/main.ts with `env` and resolves once it listens (on MAILAUTH_LISTEN too, when given). */
export async function startPostern(env: Record<string, string>): Promise<PosternProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', SESSION_SECRET: 'bench-session-secret-0123456789abcdef', SMS_PROVIDER: 'console', SMS_CONSOLE_IN_PRODUCTION: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const ready = ['"Postern is listening"', ...(env.MAILAUTH_LISTEN ? ['"mail logins are answered here"'] : [])];
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (ready.every((line) => out.includes(line))) resolve();
      if (out.length > 100_000) out = out.slice(-1000);
    });
    proc.once('exit', (code) => reject(new Error(`Postern exited with ${code}: ${stderr.slice(-500)}`)));
  });
  return {
    url: `http://127.0.0.1:${env.PORT}`,
    mailauthUrl: env.MAILAUTH_LISTEN ? `http://${env.MAILAUTH_LISTEN}` : `http://127.0.0.1:${env.PORT}`,
    pid: proc.pid!,
    rss() {
      const m = fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
      return m ? Number(m[1]) * 1024 : 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}
