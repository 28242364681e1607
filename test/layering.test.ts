import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const http = join(src, 'http');

/** sourceFiles lists every .ts file under dir. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** importsOf reads the relative module specifiers a file imports or re-exports, static or dynamic. */
function importsOf(text: string): string[] {
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
  return specs;
}

test('rules, services and repositories import nothing from src/http/ (only handlers and main do)', () => {
  const offending: string[] = [];
  for (const file of sourceFiles(src)) {
    const rel = relative(src, file);
    // HTTP glue itself, the handlers that are HTTP in/out, the wiring, and tests that drive the app over HTTP.
    if (file.startsWith(http + '/') || file.endsWith('/handlers.ts') || rel === 'main.ts' || file.endsWith('.test.ts')) continue;
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec);
      if (target === http || target.startsWith(http + '/')) offending.push(`${rel} imports ${spec}`);
    }
  }
  assert.deepEqual(offending, []);
});
