import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'postern.js');
const STACK_LINE = /^\s*at .*:\d+(:\d+)?\)?\s*$/m;

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * runPostern runs the command-line tool as an administrator would, with
 * `input` typed on stdin. Whatever the outcome, an administrator never gets
 * a stack trace: one on stderr fails the test.
 */
export function runPostern(args: string[], env: Record<string, string>, input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`postern ${args.join(' ')} did not finish in 60 s\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (STACK_LINE.test(stderr)) reject(new Error(`stack trace on stderr of postern ${args.join(' ')}:\n${stderr}`));
      else resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}
