#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node's test runner through tsx.
//
//   node scripts/run-tests.js [files…]      every test file, or the ones named
//   node scripts/run-tests.js --store-tests only the files that use the test database
//
// --store-tests is for a second pass against PostgreSQL (TEST_DATABASE_URL):
// files that never open the test database (pure unit tests, the command line
// and server-start tests with their own embedded databases, config checks)
// give the same result on either database, so they run once, in the first pass;
// so do the browser tests (see BROWSER below).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir) {
  let out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules') out = out.concat(find(path));
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const STORE = /\bTEST_DATABASE_URL\b|\bopenTestStore\b/;
const IMPORT = /\bfrom\s+['"](\.{1,2}\/[^'"]+)['"]|\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]/g;

/** usesTestStore tells whether a test file, or a test helper it imports (directly or not), opens the test database. */
function usesTestStore(file, seen = new Set()) {
  const path = resolve(file);
  if (seen.has(path)) return false;
  seen.add(path);
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return false;
  }
  if (STORE.test(text)) return true;
  for (const m of text.matchAll(IMPORT)) {
    const target = resolve(dirname(path), m[1] ?? m[2]);
    // Only test code decides which database a test uses.
    if (target.includes(`${join('/', 'test', '/')}`) && usesTestStore(target, seen)) return true;
  }
  return false;
}

const args = process.argv.slice(2);
const storeOnly = args.includes('--store-tests');
const named = args.filter((a) => a !== '--store-tests');
let files = named.length ? named : [...find('src'), ...find('test')].sort();
// The browser tests drive the same pages the HTTP tests post to; what differs between the two
// databases is below the pages, so the second pass leaves the browser out (CI runs both passes).
const BROWSER = /(^|[/-])browser\.test\.ts$/;
if (storeOnly) files = files.filter((f) => usesTestStore(f) && !BROWSER.test(f));
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
