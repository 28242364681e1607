import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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
  const unique = () => `${process.pid}.${randomBytes(4).toString('hex')}`;
  // The lock appears with its content in one step (a hard link to a written
  // file), so nobody ever reads a half-written lock as a stale one.
  const mine = `${path}.new.${unique()}`;
  writeFileSync(mine, String(process.pid), { mode: 0o600 });
  try {
    for (let tries = 0; tries < 3; tries++) {
      try {
        linkSync(mine, path);
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
      }
      const owner = readPid(path);
      if (owner !== undefined && owner !== process.pid && isAlive(owner)) throw inUse(dir, owner);
      // Stale: move it aside in one step, then make sure what was moved is
      // the dead lock and not one a racing process has just taken.
      const aside = `${path}.stale.${unique()}`;
      try {
        renameSync(path, aside);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      const moved = readPid(aside);
      if (moved !== undefined && moved !== owner && moved !== process.pid && isAlive(moved)) {
        try {
          linkSync(aside, path);
        } finally {
          rmSync(aside, { force: true });
        }
        throw inUse(dir, moved);
      }
      rmSync(aside, { force: true });
    }
    throw new DirLockError(`Could not lock the data directory ${dir}.`);
  } finally {
    rmSync(mine, { force: true });
  }
}

function inUse(dir: string, pid: number): DirLockError {
  return new DirLockError(
    `The data directory ${dir} is in use by another Postern process (pid ${pid}). ` +
      'Stop it first, or set DATA_DIR to another directory, or use PostgreSQL (DATABASE_URL) to run several processes.',
  );
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
