import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// The native build of the checker answers in a few seconds. Elsewhere the
// pure JavaScript build (in a worker) gives the same answers more slowly;
// the Java build is never picked, as starting a JVM here costs more than
// the whole check.
const nativeBuild = `recheck-${({ linux: 'linux', darwin: 'macos', win32: 'windows' } as Record<string, string>)[process.platform]}-${process.arch}`;
process.env.RECHECK_BACKEND ??= canResolve(`${nativeBuild}/package.json`) ? 'native' : 'worker';
const { check } = await import('recheck');

// Only the automaton checker: it is exact and takes no random or timed
// decisions, so a pattern gets the same verdict on every machine and under
// any load. Lookarounds and backreferences are beyond it and come back
// `unknown`, which is held to the same rule as polynomial.
const CHECK = { checker: 'automaton', timeout: 30_000 } as const;

/**
 * RegExp(…) calls whose pattern is not written out, each with why it cannot
 * take input from outside. Matched by file and argument text.
 */
type Allowed = Array<{ file: string; argument: string; reason: string }>;
const DYNAMIC_ALLOWED: Allowed = [
  {
    file: 'src/apppasswords/secret.ts',
    argument: '`^[${ALPHABET}]{${LENGTH}}$`',
    reason: 'built from two constants of the same file: one character class repeated a fixed number of times',
  },
];

interface Found {
  file: string;
  line: number;
  /** The pattern and flags, for a literal or a RegExp call with literal arguments. */
  source?: string;
  flags?: string;
  /** The argument as written, for a RegExp call built from something else. */
  argument?: string;
  /** A `ReDoS:` comment on the same line or the line above. */
  explained: boolean;
}

/** canResolve tells whether a package can be loaded from the project. */
function canResolve(name: string): boolean {
  try {
    createRequire(join(root, 'package.json')).resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** sourceFiles lists the server's TypeScript (not its tests) and the browser's JavaScript. */
function sourceFiles(): string[] {
  const list = (dir: string, ext: string) =>
    readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith(ext) && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts'))
      .map((e) => relative(root, join(e.parentPath, e.name)));
  return [...list('src', '.ts'), ...list('public', '.js')].sort();
}

/** isText tells whether an expression is a string written out in full. */
function isText(node: ts.Node | undefined): node is ts.StringLiteral | ts.NoSubstitutionTemplateLiteral {
  return !!node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node));
}

/** findPatterns collects every regular expression literal and RegExp(…) call of one file. */
function findPatterns(file: string, text: string): Found[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, file.endsWith('.ts') ? ts.ScriptKind.TS : ts.ScriptKind.JS);
  const lineOf = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line + 1;
  // Lines a `ReDoS:` comment is on, and those of such comments that stand on their own lines.
  const onLine = new Set<number>();
  const aboveLine = new Set<number>();
  const noteComments = (ranges: ts.CommentRange[] | undefined) => {
    for (const r of ranges ?? []) {
      if (!text.slice(r.pos, r.end).includes('ReDoS:')) continue;
      const alone = text.slice(text.lastIndexOf('\n', r.pos - 1) + 1, r.pos).trim() === '';
      for (let l = lineOf(r.pos); l <= lineOf(r.end); l++) {
        onLine.add(l);
        if (alone) aboveLine.add(l);
      }
    }
  };
  const nodes: Array<{ line: number; source?: string; flags?: string; argument?: string }> = [];
  const visit = (node: ts.Node) => {
    noteComments(ts.getLeadingCommentRanges(text, node.getFullStart()));
    noteComments(ts.getTrailingCommentRanges(text, node.getEnd()));
    if (node.kind === ts.SyntaxKind.RegularExpressionLiteral) {
      const literal = node.getText(sf);
      const end = literal.lastIndexOf('/');
      nodes.push({ line: lineOf(node.getStart(sf)), source: literal.slice(1, end), flags: literal.slice(end + 1) });
    } else if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && ts.isIdentifier(node.expression) && node.expression.text === 'RegExp') {
      const [pattern, flags] = node.arguments ?? [];
      const line = lineOf(node.getStart(sf));
      // A literal first argument is found on its own; no argument is the empty pattern.
      if (pattern && !ts.isRegularExpressionLiteral(pattern)) {
        if (isText(pattern) && (flags === undefined || isText(flags))) nodes.push({ line, source: pattern.text, flags: flags?.text ?? '' });
        else nodes.push({ line, argument: node.arguments!.map((a) => a.getText(sf)).join(', ') });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return nodes.map((n) => ({ file, ...n, explained: onLine.has(n.line) || aboveLine.has(n.line - 1) }));
}

// The same pattern in several places is analysed once.
const analyses = new Map<string, ReturnType<typeof check>>();

/** verdict checks one pattern: undefined when it passes, else why not. */
async function verdict(found: Found): Promise<string | undefined> {
  const where = `${found.file}:${found.line} /${found.source}/${found.flags}`;
  const key = `${found.flags}/${found.source}`;
  if (!analyses.has(key)) analyses.set(key, check(found.source!, found.flags!, CHECK));
  const d = await analyses.get(key)!;
  if (d.status === 'safe') return undefined;
  if (d.status === 'vulnerable' && d.complexity.type === 'exponential') {
    return `${where} backtracks exponentially (e.g. on ${d.attack.pattern}): rewrite it`;
  }
  if (found.explained) return undefined;
  const what = d.status === 'vulnerable' ? `is ${d.complexity.summary} (e.g. on ${d.attack.pattern})` : `cannot be analysed (${d.error.kind})`;
  return `${where} ${what}: rewrite it, or bound the input's length before it and say so in a "ReDoS:" comment on that line or the line above`;
}

/** problemsOf lists what is wrong with the patterns found, one line each naming file:line and the pattern. */
async function problemsOf(found: Found[], allowList: Allowed): Promise<string[]> {
  const problems: string[] = [];
  const used = new Set<Allowed[number]>();
  for (const f of found.filter((f) => f.argument !== undefined)) {
    const entry = allowList.find((a) => a.file === f.file && a.argument === f.argument);
    if (entry) used.add(entry);
    else problems.push(`${f.file}:${f.line} RegExp(${f.argument}) is built at run time: write the pattern out, or add it to DYNAMIC_ALLOWED with a reason`);
  }
  for (const a of allowList) if (!used.has(a)) problems.push(`DYNAMIC_ALLOWED names ${a.file} ${a.argument}, which is no longer there`);
  const verdicts = await Promise.all(found.filter((f) => f.source !== undefined).map(verdict));
  return [...problems, ...verdicts.filter((v): v is string => v !== undefined)];
}

describe('regular expressions', () => {
  test('none in the server or the browser script can be driven into catastrophic backtracking', async (t) => {
    const started = performance.now();
    const files = sourceFiles();
    const found = files.flatMap((file) => findPatterns(file, readFileSync(join(root, file), 'utf8')));
    assert.ok(files.length > 20 && found.length > 20, `only ${found.length} patterns in ${files.length} files: is the tree where it should be?`);
    const parsed = performance.now();
    const problems = await problemsOf(found, DYNAMIC_ALLOWED);
    const ms = (from: number) => Math.round(performance.now() - from);
    const dynamic = found.filter((f) => f.argument !== undefined).length;
    t.diagnostic(
      `${found.length - dynamic} patterns (${analyses.size} distinct) and ${dynamic} built at run time, in ${files.length} files: ` +
        `parsed in ${ms(started) - ms(parsed)} ms, checked in ${ms(parsed)} ms (backend ${process.env.RECHECK_BACKEND})`,
    );
    assert.deepEqual(problems, []);
  });

  test('reports exponential, unexplained polynomial, undecidable and run-time patterns, wherever they are written', async () => {
    const sample = [
      "const ids = /^(\\s*<[^<>\\s]+>\\s*)+$/;",
      "const a = new RegExp('^(a|a)*$', 'i');",
      'const b = RegExp("\\\\s+$");',
      '// ReDoS: polynomial, input is at most 300 characters (schema max)',
      'const c = /\\s+$/;',
      'const d = /\\s+$/; // ReDoS: polynomial, at most 20 characters',
      'const e = /\\s+$/;',
      'const f = new RegExp(`^${prefix}`);',
      'const g = new RegExp(/x/, "g");',
      'const h = /^(?=a)\\w+$/;',
      'const i = new RegExp(ALLOWED);',
    ].join('\n');
    const found = findPatterns('sample.ts', sample);
    assert.deepEqual(
      found.map((f) => [f.line, f.source ?? f.argument, f.flags, f.explained]),
      [
        [1, '^(\\s*<[^<>\\s]+>\\s*)+$', '', false],
        [2, '^(a|a)*$', 'i', false],
        [3, '\\s+$', '', false],
        [5, '\\s+$', '', true],
        [6, '\\s+$', '', true],
        [7, '\\s+$', '', false],
        [8, '`^${prefix}`', undefined, false],
        [9, 'x', '', false],
        [10, '^(?=a)\\w+$', '', false],
        [11, 'ALLOWED', undefined, false],
      ],
    );
    const problems = await problemsOf(found, [
      { file: 'sample.ts', argument: 'ALLOWED', reason: 'a constant' },
      { file: 'sample.ts', argument: 'GONE', reason: 'no longer used' },
    ]);
    const expected = [
      /^sample\.ts:8 RegExp\(`\^\$\{prefix\}`\) is built at run time/,
      /^DYNAMIC_ALLOWED names sample\.ts GONE, which is no longer there$/,
      /^sample\.ts:1 \/\^\(\\s\*<.* backtracks exponentially \(e\.g\. on .*\): rewrite it$/,
      /^sample\.ts:2 \/\^\(a\|a\)\*\$\/i backtracks exponentially/,
      /^sample\.ts:3 \/\\s\+\$\/ is 2nd degree polynomial .* "ReDoS:" comment/,
      /^sample\.ts:7 \/\\s\+\$\/ is 2nd degree polynomial .* "ReDoS:" comment/,
      /^sample\.ts:10 \/\^\(\?=a\)\\w\+\$\/ cannot be analysed \(unsupported\).* "ReDoS:" comment/,
    ];
    assert.equal(problems.length, expected.length, problems.join('\n'));
    problems.forEach((p, i) => assert.match(p, expected[i]!));
  });
});
