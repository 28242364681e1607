import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onProcessExit } from './cleanup.ts';
import { waitForPorts } from './ports.ts';

/**
 * makeDaemonDir creates a fresh temp dir with a log/ folder. It is made
 * world-traversable because daemons drop privileges (dovecot, dovenull,
 * nobody) and must still reach their sockets and mail below it.
 */
export function makeDaemonDir(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `postern-${name}-`));
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, 'log'));
  return dir;
}

/** logTail returns the last lines of a log file, or '' when it does not exist. */
export function logTail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Signalling the whole process group stops Dovecot in milliseconds; SIGTERM
 * to its master alone waits 1-3 s for the children to wind down.
 */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

export interface DaemonSpec {
  name: string;
  command: string;
  args: string[];
  /** The temp dir owned by this daemon; removed on stop. */
  dir: string;
  /** Ports that must answer before the daemon counts as started. */
  ports: number[];
  /** Log files worth showing when the daemon fails to start. */
  logFiles: string[];
}

export interface Daemon {
  pid: number;
  stop(): Promise<void>;
}

/**
 * startDaemon runs a server in the foreground as a child process, its own
 * stdout/stderr going to log/<name>.out, and waits until its ports answer.
 * The child is unref'd so a forgotten stop() cannot keep the test process
 * alive; the exit hook then kills it instead.
 */
export async function startDaemon(spec: DaemonSpec): Promise<Daemon> {
  const outFile = path.join(spec.dir, 'log', `${spec.name}.out`);
  const out = fs.openSync(outFile, 'a');
  // detached: its own process group, so its workers can be signalled with it.
  const child = spawn(spec.command, spec.args, { stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  child.unref();

  let exited: string | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = `${spec.name} exited (${signal ?? `code ${code}`})`;
      resolve();
    });
    child.once('error', (err) => {
      exited = `${spec.name} could not start: ${err.message}`;
      resolve();
    });
  });

  // Retries cover a daemon still writing its last files while it dies.
  const removeDir = (): void => fs.rmSync(spec.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 10 });
  const unregister = onProcessExit(() => {
    // No time left to wait for a graceful shutdown: kill outright.
    if (!exited && child.pid) signalGroup(child.pid, 'SIGKILL');
    removeDir();
  });

  const stop = async (): Promise<void> => {
    unregister();
    // A graceful stop takes ~10-100 ms; now and then Dovecot's master lingers
    // a whole second for a child, which is not worth waiting for in tests.
    const deadline = Date.now() + 300;
    // Repeated because a master may respawn a child (Dovecot's anvil) just
    // after the first signal; that straggler would hold the master up.
    while (!exited && child.pid) {
      signalGroup(child.pid, Date.now() < deadline ? 'SIGTERM' : 'SIGKILL');
      // A ref'd timer keeps the event loop alive while we wait for the exit.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exitPromise, new Promise((resolve) => (timer = setTimeout(resolve, 100)))]);
      clearTimeout(timer);
    }
    removeDir();
  };

  try {
    await waitForPorts(spec.ports, { gaveUp: () => exited });
    // A port another process already held answers too; the daemon then dies on bind.
    if (exited) throw new Error(exited);
  } catch (err) {
    const logs = [outFile, ...spec.logFiles]
      .map((file) => [file, logTail(file)] as const)
      .filter(([, tail]) => tail)
      .map(([file, tail]) => `--- ${path.basename(file)}\n${tail}`)
      .join('\n');
    await stop();
    throw new Error(`${spec.name} failed to start: ${(err as Error).message}\n${logs}`);
  }
  return { pid: child.pid!, stop };
}
