import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret, TOTP, URI } from 'otpauth';
import QRCode from 'qrcode';
import { keyGroups, matchTotp, newTotpSecret, otpauthUri, qrSvg, TOTP_PERIOD, totpCode } from './totp.ts';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'postern-totp-'));
  dirs.push(d);
  return d;
}

/** tool runs a program installed on the machine, failing (not skipping) the test when it is missing. */
function tool(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    assert.fail(`${cmd} is not installed: this test checks against it (Debian: apt-get install ${cmd === 'oathtool' ? 'oathtool' : 'zbar-tools'})`);
  }
  assert.ifError(r.error);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

// RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
const RFC_SECRET = Secret.fromLatin1('12345678901234567890');
const RFC_VECTORS: Array<[number, string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const T0 = new Date('2026-12-02T10:00:00Z');
const STEP0 = T0.getTime() / 1000 / TOTP_PERIOD;

/** at is T0 moved by whole steps and seconds. */
const at = (steps: number, seconds = 0) => new Date(T0.getTime() + (steps * TOTP_PERIOD + seconds) * 1000);

describe('TOTP codes', () => {
  test('otpauth computes RFC 6238 Appendix B SHA-1 vectors', () => {
    for (const [seconds, code] of RFC_VECTORS) {
      assert.equal(TOTP.generate({ secret: RFC_SECRET, algorithm: 'SHA1', digits: 8, period: 30, timestamp: seconds * 1000 }), code, `T=${seconds}`);
    }
  });

  test('totpCode gives the last six digits of the RFC 6238 vectors', () => {
    for (const [seconds, code] of RFC_VECTORS) {
      assert.equal(totpCode(RFC_SECRET.base32, new Date(seconds * 1000)), code.slice(-6), `T=${seconds}`);
    }
  });

  test('totpCode agrees with oathtool for 30- and 60-second steps', () => {
    const times = ['2026-12-02 10:00:00', '2026-12-02 10:00:29', '2026-12-02 10:00:30', '2026-12-02 10:00:59', '2031-07-15 23:59:59', '1970-01-01 00:01:00'];
    for (const secret of [SECRET, newTotpSecret()]) {
      for (const time of times) {
        const when = new Date(`${time.replace(' ', 'T')}Z`);
        const thirty = tool('oathtool', ['--totp', '-b', secret, '--now', `${time} UTC`]).trim();
        const sixty = tool('oathtool', ['--totp', '--time-step-size=60s', '-b', secret, '--now', `${time} UTC`]).trim();
        assert.match(thirty, /^[0-9]{6}$/);
        assert.equal(totpCode(secret, when), thirty, `${time} 30 s`);
        assert.equal(totpCode(secret, when, 60), sixty, `${time} 60 s`);
      }
    }
  });
});

describe('matchTotp', () => {
  const match = (code: string, lastStep: number | null = null, now = T0) => matchTotp({ secret: SECRET, code, lastStep, now });

  test('accepts the current code and returns its step', () => {
    assert.equal(Number.isInteger(STEP0), true);
    assert.equal(match(totpCode(SECRET, T0)), STEP0);
    assert.equal(match(totpCode(SECRET, T0), null, at(0, 29)), STEP0);
  });

  test('accepts one step either side for clock drift, and no further', () => {
    assert.equal(match(totpCode(SECRET, at(-1))), STEP0 - 1);
    assert.equal(match(totpCode(SECRET, at(1))), STEP0 + 1);
    assert.equal(match(totpCode(SECRET, at(-2))), null);
    assert.equal(match(totpCode(SECRET, at(2))), null);
  });

  test('never accepts the same step twice', () => {
    const code = totpCode(SECRET, T0);
    const step = match(code);
    assert.equal(step, STEP0);
    assert.equal(match(code, step), null);
    // Nor an older step still inside the window.
    assert.equal(match(totpCode(SECRET, at(-1)), step), null);
    // Still refused a step later, when that code is the previous one.
    assert.equal(match(code, step, at(1)), null);
  });

  test('accepts a later step after the last one used', () => {
    assert.equal(match(totpCode(SECRET, at(1)), STEP0), STEP0 + 1);
    assert.equal(match(totpCode(SECRET, at(1)), STEP0 - 1, at(1)), STEP0 + 1);
  });

  test('ignores spaces people type or paste inside the code', () => {
    const code = totpCode(SECRET, T0);
    for (const typed of [`${code.slice(0, 3)} ${code.slice(3)}`, ` ${code} `, code.split('').join(' '), `${code.slice(0, 3)}\u00a0${code.slice(3)}`]) {
      assert.equal(match(typed), STEP0, JSON.stringify(typed));
    }
  });

  test('refuses anything but six digits', () => {
    const code = totpCode(SECRET, T0);
    const bad = ['', code.slice(0, 5), `${code}0`, `0${code}`, `${code.slice(0, 5)}a`, 'abcdef', `${code.slice(0, 3)}-${code.slice(3)}`, '１２３４５６', `+${code.slice(1)}`, `${code}\u0000`];
    for (const typed of bad) assert.equal(match(typed), null, JSON.stringify(typed));
  });

  test('refuses a 1 MB input at once', () => {
    const code = totpCode(SECRET, T0);
    for (const huge of [' '.repeat(1_000_000) + code, code + ' '.repeat(1_000_000), '1'.repeat(1_000_000)]) {
      const started = performance.now();
      assert.equal(match(huge), null);
      assert.ok(performance.now() - started < 50, `${performance.now() - started} ms`);
    }
  });

  test('works with 60-second steps and a wider window for hardware tokens', () => {
    const now = new Date('2026-12-02T10:00:00Z');
    const step = now.getTime() / 1000 / 60;
    const code60 = (minutes: number) => totpCode(SECRET, new Date(now.getTime() + minutes * 60_000), 60);
    assert.equal(matchTotp({ secret: SECRET, code: code60(0), lastStep: null, now, period: 60 }), step);
    assert.equal(matchTotp({ secret: SECRET, code: code60(2), lastStep: null, now, period: 60 }), null);
    assert.equal(matchTotp({ secret: SECRET, code: code60(2), lastStep: null, now, period: 60, window: 2 }), step + 2);
    assert.equal(matchTotp({ secret: SECRET, code: code60(0), lastStep: null, now, period: 60, window: 0 }), step);
    assert.equal(matchTotp({ secret: SECRET, code: code60(1), lastStep: null, now, period: 60, window: 0 }), null);
  });

  test('refuses a period or window that makes no sense', () => {
    assert.throws(() => matchTotp({ secret: SECRET, code: '123456', lastStep: null, period: 0 }), RangeError);
    assert.throws(() => matchTotp({ secret: SECRET, code: '123456', lastStep: null, window: -1 }), RangeError);
    assert.throws(() => matchTotp({ secret: SECRET, code: '123456', lastStep: null, window: 1.5 }), RangeError);
  });
});

describe('TOTP secrets and enrolment', () => {
  test('newTotpSecret gives 160 random bits as unpadded upper-case base32, different each time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const s = newTotpSecret();
      assert.match(s, /^[A-Z2-7]{32}$/);
      assert.equal(Secret.fromBase32(s).bytes.length, 20);
      seen.add(s);
    }
    assert.equal(seen.size, 100);
  });

  test('keyGroups splits a key into groups of four', () => {
    assert.equal(keyGroups(SECRET), 'JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP');
    assert.equal(keyGroups('ABCDEF'), 'ABCD EF');
    assert.equal(keyGroups(''), '');
    assert.equal(keyGroups(newTotpSecret()).split(' ').length, 8);
  });

  test('otpauthUri names the issuer and account and round-trips through otpauth', () => {
    const uri = otpauthUri({ issuer: 'Postern', account: 'ana@example.edu', secret: SECRET });
    assert.equal(uri, `otpauth://totp/Postern:ana%40example.edu?issuer=Postern&secret=${SECRET}&algorithm=SHA1&digits=6&period=30`);
    const parsed = URI.parse(uri);
    assert.ok(parsed instanceof TOTP);
    assert.equal(parsed.issuer, 'Postern');
    assert.equal(parsed.label, 'ana@example.edu');
    assert.equal(parsed.secret.base32, SECRET);
    assert.equal(parsed.algorithm, 'SHA1');
    assert.equal(parsed.digits, 6);
    assert.equal(parsed.period, 30);
    assert.equal(parsed.generate({ timestamp: T0.getTime() }), totpCode(SECRET, T0));
  });

  test('otpauthUri escapes spaces and drops colons, which apps would take for the issuer\'s end', () => {
    const uri = otpauthUri({ issuer: 'Example Mail: Staff', account: 'ana b@example.edu', secret: SECRET });
    assert.match(uri, /^otpauth:\/\/totp\/Example%20Mail%20Staff:ana%20b%40example\.edu\?issuer=Example%20Mail%20Staff&/);
    const parsed = URI.parse(uri);
    assert.equal(parsed.issuer, 'Example Mail Staff');
    assert.equal(parsed.label, 'ana b@example.edu');
  });
});

describe('qrSvg', () => {
  const uri = otpauthUri({ issuer: 'Postern', account: 'ana@example.edu', secret: SECRET });

  test('returns an SVG drawn here, with no remote reference', async () => {
    const svg = await qrSvg(uri);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" [^>]*viewBox="0 0 \d+ \d+"/);
    assert.match(svg, /<\/svg>\s*$/);
    assert.ok(!/href|<image|<script/i.test(svg));
    assert.ok(!svg.includes(SECRET), 'the secret is only in the modules, not in the text');
  });

  test('the same encoder makes a PNG that zbarimg reads back as the exact URI', async () => {
    const png = join(tempDir(), 'qr.png');
    await QRCode.toFile(png, uri, { type: 'png', errorCorrectionLevel: 'M', margin: 2 });
    assert.equal(tool('zbarimg', ['-q', '--raw', png]).replace(/\n$/, ''), uri);
  });

  test('the SVG itself, drawn as a bitmap, is read back by zbarimg as the exact URI', async () => {
    const svg = await qrSvg(uri);
    const pbm = join(tempDir(), 'qr.pbm');
    writeFileSync(pbm, toPbm(svgModules(svg), 8));
    assert.equal(tool('zbarimg', ['-q', '--raw', pbm]).replace(/\n$/, ''), uri);
  });
});

/**
 * svgModules reads back the dark modules of an SVG from qrcode: one path of
 * horizontal strokes ("M x y.5 h n m dx dy …"), one module high each.
 */
function svgModules(svg: string): boolean[][] {
  const size = Number(/viewBox="0 0 (\d+) \d+"/.exec(svg)?.[1]);
  const d = /<path stroke="[^"]+" d="([^"]+)"/.exec(svg)?.[1];
  assert.ok(size > 0 && d, 'an SVG as qrcode draws it');
  const grid = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  let x = 0;
  let y = 0;
  for (const [, cmd, a, b] of d.matchAll(/([MmHhVv])(-?[\d.]+)(?:[ ,](-?[\d.]+))?/g)) {
    const n = Number(a);
    if (cmd === 'M') [x, y] = [n, Number(b)];
    else if (cmd === 'm') [x, y] = [x + n, y + Number(b)];
    else if (cmd === 'h') {
      for (let i = 0; i < n; i++) grid[Math.floor(y)]![x + i] = true;
      x += n;
    } else assert.fail(`unexpected path command ${cmd}`);
  }
  return grid;
}

/** toPbm writes a module grid as a plain PBM image, each module scale × scale pixels. */
function toPbm(grid: boolean[][], scale: number): string {
  const rows = grid.flatMap((row) => {
    const line = row.flatMap((dark) => new Array<string>(scale).fill(dark ? '1' : '0')).join(' ');
    return new Array<string>(scale).fill(line);
  });
  return `P1\n${grid.length * scale} ${grid.length * scale}\n${rows.join('\n')}\n`;
}
