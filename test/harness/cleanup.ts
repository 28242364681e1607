/**
 * Last-resort cleanup for daemons a test started: if the test process exits
 * or is interrupted before calling stop(), these run synchronously so no
 * Dovecot or nginx outlives it.
 */
const cleanups = new Set<() => void>();
let hooked = false;

function runAll(): void {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      // Keep going: one stuck daemon must not leave the others behind.
    }
  }
  cleanups.clear();
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', runAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      runAll();
      // Re-raise so the process still dies the way the sender intended.
      process.kill(process.pid, signal);
    });
  }
}

/** onProcessExit registers a synchronous cleanup; the returned function unregisters it. */
export function onProcessExit(cleanup: () => void): () => void {
  hook();
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}
