import { openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';

/** DirLockError says another live process owns the data directory. */
export class DirLockError extends Error {}

export interface DirLock {
  release(): void;
}

/**
 * acquireDirLock makes this process the only user of an embedded database
 * directory. PGlite has no cross-process lock and two writers lose data, so a
 * second Postern on the same directory must refuse to start. A lock left by a
 * process that no longer runs is taken over.
 */
export function acquireDirLock(dir: string): DirLock {
  const path = join(dir, 'postern.lock');
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        rmSync(path, { force: true });
      };
      process.once('exit', release);
      return { release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new DirLockError(
          `The data directory ${dir} is in use by another Postern process (pid ${owner}). ` +
            'Stop it first, or set DATA_DIR to another directory, or use PostgreSQL (DATABASE_URL) to run several processes.',
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new DirLockError(`Could not lock the data directory ${dir}.`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
