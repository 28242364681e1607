import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { simpleParser, type ParsedMail } from 'mailparser';
import { badRecipient, blankDraft, formatAddresses, looseRecipients, parseRecipients, prefill, quote } from './compose.ts';

const TEXTS = {
  wrote: (date: string, who: string) => `On ${date}, ${who} wrote:`,
  forwarded: '---------- Forwarded message ----------',
  from: 'From',
  date: 'Date',
  subject: 'Subject',
  to: 'To',
};

/** received parses a message as it would come from IMAP. */
function received(headers: string[], body = 'Hello,\r\nsee you.\r\n'): Promise<ParsedMail> {
  return simpleParser(Buffer.from([...headers, 'Date: Tue, 04 Mar 2025 09:05:00 +0100', 'Content-Type: text/plain; charset=utf-8', '', body].join('\r\n')));
}

describe('parseRecipients', () => {
  test('splits on commas and semicolons, with or without names', () => {
    assert.deepEqual(parseRecipients('ann@example.test; bob@example.test, "Lee, Carol" <carol@example.test>,Dan <dan@example.test>'), [
      { name: '', address: 'ann@example.test' },
      { name: '', address: 'bob@example.test' },
      { name: 'Lee, Carol', address: 'carol@example.test' },
      { name: 'Dan', address: 'dan@example.test' },
    ]);
  });

  test('reads an empty field as no recipients, and skips empty entries', () => {
    assert.deepEqual(parseRecipients(''), []);
    assert.deepEqual(parseRecipients('  '), []);
    assert.deepEqual(parseRecipients('ann@example.test,, ;'), [{ name: '', address: 'ann@example.test' }]);
  });

  test('flattens groups into their members', () => {
    assert.deepEqual(
      parseRecipients('Team: ann@example.test, bob@example.test;')?.map((a) => a.address),
      ['ann@example.test', 'bob@example.test'],
    );
  });

  test('refuses the whole list when any entry is not an address', () => {
    for (const bad of ['ann@example.test, bob', 'ann@example', 'ann@.example', 'ann@example.', '@example.test', 'ann@', 'ann@@example.test', 'a"b@example.test', 'ann@example.test>', '"x" <>', 'ann@b.c@d.e']) {
      assert.equal(parseRecipients(bad), undefined, bad);
    }
  });

  test('hands back no line breaks for a header to carry', () => {
    for (const typed of ['ann@example.test\r\nBcc: eve@example.test', '"Ann\r\nBcc: eve@example.test" <ann@example.test>', 'ann@example.test\nbob@example.test']) {
      for (const a of parseRecipients(typed) ?? []) assert.doesNotMatch(`${a.name}${a.address}`, /[\r\n]/, JSON.stringify(typed));
    }
  });
});

describe('formatAddresses', () => {
  test('writes plain names as they are and quotes names with special characters', () => {
    assert.equal(
      formatAddresses([
        { name: 'Ann Lee', address: 'ann@example.test' },
        { name: '', address: 'bob@example.test' },
        { name: 'Lee, Carol', address: 'carol@example.test' },
        { name: 'Dan "D" Smith', address: 'dan@example.test' },
      ]),
      'Ann Lee <ann@example.test>, bob@example.test, "Lee, Carol" <carol@example.test>, "Dan \\"D\\" Smith" <dan@example.test>',
    );
    assert.equal(formatAddresses([]), '');
  });

  test('writes a line that reads back as the same people', () => {
    const people = ['Ann Lee', 'Lee, Carol', 'Dan "D" Smith', 'eve@example.test', '<Frank>', 'Grace (work)', 'Dr. Heidi', '李雷', "O'Brien", '[Ivan]', 'Team: Sales'].map((name, i) => ({
      name,
      address: `p${i}@example.test`,
    }));
    assert.deepEqual(parseRecipients(formatAddresses(people)), people);
  });
});

describe('quote', () => {
  test('prefixes each line, nests quotes without a space, and drops trailing blank lines', () => {
    assert.equal(quote('Hello,\r\n> earlier\r\n\r\n indented\r\n\r\n\r\n'), '> Hello,\n>> earlier\n> \n>  indented');
    assert.equal(quote(''), '> ');
  });
});

describe('prefill', () => {
  test('dates the quoted original with the writer’s date format when given one', async () => {
    const original = await received(['From: Ann Lee <ann@example.test>', 'To: me@example.test', 'Subject: Lunch']);
    const draft = prefill('reply', original, 'me@example.test', { ...TEXTS, when: (d) => `[${d.getUTCHours()}h]` });
    assert.match(draft.body, /^\n\nOn \[8h\], Ann Lee <ann@example.test> wrote:/);
  });

  test('replies to the sender once with "Re:", quoting the original and threading under it', async () => {
    const original = await received(['From: Ann Lee <ann@example.test>', 'To: me@example.test', 'Subject: Lunch', 'Message-ID: <m2@example.test>', 'References: <m0@example.test> <m1@example.test>']);
    const draft = prefill('reply', original, 'me@example.test', TEXTS);
    assert.deepEqual(draft, {
      to: 'Ann Lee <ann@example.test>',
      cc: '',
      bcc: '',
      subject: 'Re: Lunch',
      body: '\n\nOn 2025-03-04 08:05 UTC, Ann Lee <ann@example.test> wrote:\n> Hello,\n> see you.\n',
      html: '<div><br></div><p>On 2025-03-04 08:05 UTC, Ann Lee &lt;ann@example.test&gt; wrote:</p><blockquote>Hello,<br>see you.</blockquote>',
      inReplyTo: '<m2@example.test>',
      references: '<m0@example.test> <m1@example.test> <m2@example.test>',
    });
  });

  test('answers Reply-To rather than From, and never adds a second "Re:"', async () => {
    const original = await received(['From: List <list@example.test>', 'Reply-To: Ann <ann@example.test>', 'To: me@example.test', 'Subject: RE: Lunch', 'Message-ID: <m3@example.test>']);
    const draft = prefill('reply', original, 'me@example.test', TEXTS);
    assert.equal(draft.to, 'Ann <ann@example.test>');
    assert.equal(draft.subject, 'RE: Lunch');
    assert.equal(draft.references, '<m3@example.test>');
  });

  test('replies to all without the mailbox itself or anyone twice', async () => {
    const original = await received([
      'From: Ann <ann@example.test>',
      'To: ME@example.test, Bob <bob@example.test>, ann@example.test',
      'Cc: Carol <carol@example.test>, bob@EXAMPLE.test',
      'Subject: Plans',
      'Message-ID: <m4@example.test>',
    ]);
    const draft = prefill('all', original, 'me@example.test', TEXTS);
    assert.equal(draft.to, 'Ann <ann@example.test>');
    assert.equal(draft.cc, 'Bob <bob@example.test>, Carol <carol@example.test>');
  });

  test('replying to all on a message the mailbox sent goes to its recipients', async () => {
    const original = await received(['From: Me <me@example.test>', 'To: Bob <bob@example.test>', 'Cc: carol@example.test', 'Subject: Plans', 'Message-ID: <m5@example.test>']);
    const draft = prefill('all', original, 'Me@Example.test', TEXTS);
    assert.equal(draft.to, 'Bob <bob@example.test>, carol@example.test');
    assert.equal(draft.cc, '');
  });

  test('forwards to nobody yet, with "Fwd:" once and the original header above the text', async () => {
    const original = await received(['From: Ann <ann@example.test>', 'To: me@example.test, Bob <bob@example.test>', 'Subject: Invoice', 'Message-ID: <m6@example.test>']);
    const draft = prefill('forward', original, 'me@example.test', TEXTS);
    assert.deepEqual(draft, {
      to: '',
      cc: '',
      bcc: '',
      subject: 'Fwd: Invoice',
      body: '\n\n---------- Forwarded message ----------\nFrom: Ann <ann@example.test>\nDate: 2025-03-04 08:05 UTC\nSubject: Invoice\nTo: me@example.test, Bob <bob@example.test>\n\nHello,\nsee you.\n',
      html: '<div><br></div><p>---------- Forwarded message ----------<br>From: Ann &lt;ann@example.test&gt;<br>Date: 2025-03-04 08:05 UTC<br>Subject: Invoice<br>To: me@example.test, Bob &lt;bob@example.test&gt;</p><div>Hello,<br>see you.</div>',
      references: '<m6@example.test>',
    });
    for (const subject of ['Fwd: Invoice', 'FW: Invoice', 'fwd:Invoice']) {
      const again = prefill('forward', await received([`Subject: ${subject}`, 'From: ann@example.test']), 'me@example.test', TEXTS);
      assert.equal(again.subject, subject);
    }
  });

  test('copes with a message that has no subject, date, id or text', async () => {
    const original = await simpleParser(Buffer.from('From: ann@example.test\r\n\r\n'));
    const draft = prefill('reply', original, 'me@example.test', TEXTS);
    assert.equal(draft.subject, 'Re: ');
    assert.equal(draft.to, 'ann@example.test');
    assert.equal(draft.inReplyTo, '');
    assert.equal(draft.references, '');
  });
});

describe('signatures and rich replies', () => {
  const SIG = { text: 'Ann Lee\nResearch Office', html: '<b>Ann Lee</b><br>Research Office<script>x()</script>' };

  test('a new message starts with the signature below an empty first line', () => {
    const draft = blankDraft('bob@example.test', SIG);
    assert.equal(draft.body, '\n\n-- \nAnn Lee\nResearch Office');
    assert.equal(draft.html, '<div><br></div><div><br></div><div>-- <br><b>Ann Lee</b><br />Research Office</div><div><br></div>');
    assert.equal(blankDraft('', undefined).body, '');
  });

  test('a reply puts the signature below the text and above the quote, in both forms', async () => {
    const original = await simpleParser(Buffer.from('From: ann@example.test\r\nSubject: Hi\r\nContent-Type: text/html\r\n\r\n<p onclick="x()">Original <img src="https://t.example/p.gif"></p>'));
    const draft = prefill('reply', original, 'me@example.test', TEXTS, SIG);
    assert.ok(draft.body.indexOf('-- \nAnn Lee') < draft.body.indexOf('> Original'), draft.body);
    assert.match(draft.html!, /^<div><br><\/div><div><br><\/div><div>-- <br><b>Ann Lee<\/b><br \/>Research Office<\/div><div><br><\/div><p>On .*wrote:<\/p><blockquote><p>Original <\/p><\/blockquote>$/);
  });
});

describe('recipients in a draft', () => {
  test('badRecipient names the first entry that is not an address, as typed', () => {
    assert.equal(badRecipient('ann@example.test, bob@'), 'bob@');
    assert.equal(badRecipient('Ann <ann@example.test>; not an address'), 'not an address');
    assert.equal(badRecipient('Bob <bob@>'), 'Bob <bob@>');
    assert.equal(badRecipient('ann@example.test'), undefined);
  });

  test('looseRecipients keeps entries still being typed', () => {
    assert.deepEqual(looseRecipients('Ann <ann@example.test>, ali, bob@'), [
      { name: 'Ann', address: 'ann@example.test' },
      { name: '', address: 'ali' },
      { name: '', address: 'bob@' },
    ]);
  });
});
