import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalBase32, MAX_CSV_CHARS, MAX_FIELD, MAX_ROWS, parseTokenCsv, type CsvProblem } from './csv.ts';

const HEADER = 'upn,serial number,secret key,time interval,manufacturer,model';
const KEY = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

/** problems lists a file's problems as "row:problem", in order. */
function problems(text: string): string[] {
  return parseTokenCsv(text).errors.map((e) => `${e.row}:${e.problem}`);
}

/** file joins a header and rows with line feeds. */
const file = (...rows: string[]) => [HEADER, ...rows].join('\n');

describe('reading a hardware-token file', () => {
  test('a good file gives one row per token, keys made canonical, in stock when upn is empty', () => {
    const text =
      '\ufeff' +
      [
        HEADER,
        `ana@example.org,G8-0001,${KEY},30,Contoso,Key 1`,
        `,G8-0002,jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp,60,"Contoso, Ltd.","Key ""mini"""`,
        `  Bob@Example.ORG , G8-0003 , ${KEY.slice(0, 16)}====== , 30 ,,`,
      ].join('\r\n') +
      '\r\n';
    const { rows, errors } = parseTokenCsv(text);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      rows.map((r) => ({ ...r })),
      [
        { row: 2, upn: 'ana@example.org', serial: 'G8-0001', secret: KEY, period: 30, manufacturer: 'Contoso', model: 'Key 1' },
        { row: 3, upn: '', serial: 'G8-0002', secret: KEY, period: 60, manufacturer: 'Contoso, Ltd.', model: 'Key "mini"' },
        { row: 4, upn: 'bob@example.org', serial: 'G8-0003', secret: KEY.slice(0, 16), period: 30, manufacturer: '', model: '' },
      ],
    );
  });

  test('60-second tokens keep their interval; any other interval is refused', () => {
    const { rows } = parseTokenCsv(file(`,S60,${KEY},60,,`));
    assert.equal(rows[0]?.period, 60);
    assert.deepEqual(problems(file(`,A,${KEY},45,,`, `,B,${KEY},30s,,`, `,C,${KEY},,,`, `,D,${KEY},030,,`)), ['2:period', '3:period', '4:period', '5:period']);
  });

  test('header names are read without case, surrounding spaces or quotes, but only in Entra’s order', () => {
    for (const header of [HEADER.toUpperCase(), 'UPN, Serial Number , Secret Key,Time Interval,Manufacturer,Model', '"upn","serial number","secret key","time interval","manufacturer","model"']) {
      assert.deepEqual(parseTokenCsv(`${header}\n,S1,${KEY},30,,`).errors, [], header);
    }
    for (const header of ['serial number,upn,secret key,time interval,manufacturer,model', 'upn,serial number,secret key,time interval,manufacturer', 'upn;serial number;secret key;time interval;manufacturer;model', `upn,serial,secret,interval,maker,model`]) {
      const { rows, errors } = parseTokenCsv(`${header}\n,S1,${KEY},30,,`);
      assert.deepEqual(
        errors.map((e) => e.problem),
        ['header'],
        header,
      );
      assert.deepEqual(rows, []);
      assert.equal(errors[0]!.params?.header, HEADER, 'the message shows the header expected');
    }
  });

  test('an empty file, or a header alone, holds no tokens', () => {
    assert.deepEqual(problems(''), ['1:empty']);
    assert.deepEqual(problems('\n\n'), ['1:empty']);
    assert.deepEqual(problems(HEADER + '\n'), ['2:empty']);
  });

  test('every kind of bad row is reported with its line, and no row of a bad file is lost from the report', () => {
    const long = 'x'.repeat(MAX_FIELD + 1);
    const text = file(
      `ana@example.org,OK-1,${KEY},30,Contoso,Key`, // 2: good
      `,S2,${KEY},30,Contoso`, // 3: five columns
      `,S3,${KEY},30,Contoso,Key,extra`, // 4: seven columns
      `,"S4,${KEY},30,,`, // 5…: a quote never closed swallows the rest of the file
    );
    assert.deepEqual(problems(text), ['3:columns', '4:columns', '5:quote']);

    const cases: Array<[string, CsvProblem]> = [
      [`,"S"x,${KEY},30,,`, 'quote'],
      [`,S,${KEY},30,,${long}`, 'too_long'],
      [`,S,${KEY},30,"Con\ntoso",`, 'control'],
      [`,S,${KEY},30,Con\ttoso,`, 'control'],
      [`not-an-address,S,${KEY},30,,`, 'upn'],
      [`a@b@c,S,${KEY},30,,`, 'upn'],
      [`ana @example.org,S,${KEY},30,,`, 'upn'],
      [`,,${KEY},30,,`, 'serial_missing'],
      [`,   ,${KEY},30,,`, 'serial_missing'],
      [`,S 1,${KEY},30,,`, 'serial'],
      [`,S/1,${KEY},30,,`, 'serial'],
      [`,${'S'.repeat(65)},${KEY},30,,`, 'serial'],
      [`,S,,30,,`, 'secret'],
      [`,S,JBSWY3DPEHPK3PX1,30,,`, 'secret'],
      [`,S,JBSWY3DP=EHPK3PXP,30,,`, 'secret'],
      [`,S,JBSWY3DPEHPKß3PXP,30,,`, 'secret'],
      [`,S,JBSWY3DPEHPK3PX,30,,`, 'secret_short'],
    ];
    for (const [row, problem] of cases) {
      const { rows, errors } = parseTokenCsv(file(row));
      assert.deepEqual(
        errors.map((e) => `${e.row}:${e.problem}`),
        [`2:${problem}`],
        JSON.stringify(row),
      );
      assert.deepEqual(rows, []);
    }
  });

  test('a row with several problems lists each', () => {
    assert.deepEqual(problems(file(`x,,abc1,90,,`)), ['2:upn', '2:serial_missing', '2:secret', '2:period']);
  });

  test('a serial number twice in the file is an error on the later row, whatever its case', () => {
    const { rows, errors } = parseTokenCsv(file(`,AB-1,${KEY},30,,`, `,CD-2,${KEY},30,,`, `,ab-1,${KEY},60,,`));
    assert.deepEqual(errors, [{ row: 4, problem: 'duplicate', params: { serial: 'ab-1', first: 2 } }]);
    assert.equal(rows.length, 2);
  });

  test('blank lines are skipped and rows keep the line numbers an editor shows', () => {
    assert.deepEqual(problems(`${HEADER}\n\n,S1,${KEY},30,,\n\r\n,S2,${KEY},99,,\n`), ['5:period']);
    // A quoted line break moves the following rows down, as in the editor.
    assert.deepEqual(problems(`${HEADER}\n,S1,${KEY},30,"a\nb",\n,S2,${KEY},99,,`), ['2:control', '4:period']);
  });

  test(`at most ${MAX_ROWS} rows: one more and nothing is read`, () => {
    const row = (i: number) => `,S${i},${KEY},30,,`;
    const max = [HEADER, ...Array.from({ length: MAX_ROWS }, (_, i) => row(i))].join('\n');
    const ok = parseTokenCsv(max);
    assert.deepEqual(ok.errors, []);
    assert.equal(ok.rows.length, MAX_ROWS);
    const over = parseTokenCsv(max + '\n' + row(MAX_ROWS));
    assert.deepEqual(over.rows, []);
    assert.deepEqual(
      over.errors.map((e) => `${e.row}:${e.problem}`),
      [`${MAX_ROWS + 2}:too_many_rows`],
    );
  });

  test('an oversized text is refused before it is read; a huge field is cut while reading, not kept', () => {
    assert.deepEqual(problems('x'.repeat(MAX_CSV_CHARS + 1)), ['1:too_large']);
    const started = performance.now();
    const { errors } = parseTokenCsv(file(`,S,${KEY},30,"${'y'.repeat(MAX_CSV_CHARS - 200)}",`));
    assert.deepEqual(
      errors.map((e) => e.problem),
      ['too_long'],
    );
    assert.ok(performance.now() - started < 2000, 'read in linear time');
  });

  test('hostile quoting costs linear time', () => {
    for (const text of [file('"'.repeat(1_000_000)), file(',"'.repeat(500_000)), file('"",'.repeat(300_000))]) {
      const started = performance.now();
      parseTokenCsv(text);
      assert.ok(performance.now() - started < 2000);
    }
  });

  test('canonicalBase32 folds case, drops spaces and end padding, refuses anything else', () => {
    assert.equal(canonicalBase32('abcd efgh 2345 67=='), 'ABCDEFGH234567');
    assert.equal(canonicalBase32(''), null);
    assert.equal(canonicalBase32('   '), null);
    assert.equal(canonicalBase32('ABC0'), null);
    assert.equal(canonicalBase32('AB=C'), null);
    assert.equal(canonicalBase32('ＡＢＣＤ'), null);
  });
});
