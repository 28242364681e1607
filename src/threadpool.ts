import { availableParallelism } from 'node:os';

/**
 * poolSize is the size of libuv's thread pool, where argon2 hashes: what
 * UV_THREADPOOL_SIZE says, else the machine's cores. libuv's default of four
 * would leave a larger machine's other cores idle while sign-ins wait for a
 * hash; it is never gone below, so file reads and name lookups keep room
 * beside the hashes.
 */
export function poolSize(setting: string | undefined, cores: number): number {
  const set = Number(setting);
  if (setting && Number.isInteger(set) && set >= 1 && set <= 1024) return set;
  return Math.max(4, cores);
}

/** Imported before anything else in an entry point: libuv makes its pool on first use, from this variable. */
export const THREADPOOL_SIZE = poolSize(process.env.UV_THREADPOOL_SIZE, availableParallelism());
process.env.UV_THREADPOOL_SIZE = String(THREADPOOL_SIZE);
