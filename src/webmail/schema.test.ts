import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { attachmentParams, composeForm, composeQuery, createFolderForm, folderActionForm, folderParams, listQuery, messageParams, moveForm, ownerParams, renameFolderForm, seenForm } from './schema.ts';
import { moveTargets, type Folder } from './folders.ts';

/**
 * parseInWorker parses a compose form in a worker thread and answers with how
 * long the parse took, or 'timeout' after limitMs: a runaway pattern would
 * otherwise freeze this test as it would freeze the server. Loading the
 * module is not counted, only the parse.
 */
async function parseInWorker(form: Record<string, string>, limitMs: number): Promise<{ ms: number; success: boolean } | 'timeout'> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    import('tsx/esm/api')
      .then((tsx) => tsx.tsImport(${JSON.stringify(new URL('./schema.ts', import.meta.url).href)}, ${JSON.stringify(import.meta.url)}))
      .then((m) => {
        parentPort.once('message', (form) => {
          const start = performance.now();
          const result = m.composeForm.safeParse(form);
          parentPort.postMessage({ ms: performance.now() - start, success: result.success });
        });
        parentPort.postMessage('ready');
      });`;
  const worker = new Worker(code, { eval: true });
  try {
    const next = () =>
      new Promise<unknown>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
    assert.equal(await next(), 'ready');
    worker.postMessage(form);
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), limitMs)));
    const answer = await Promise.race([next() as Promise<{ ms: number; success: boolean }>, limit]);
    clearTimeout(timer);
    return answer;
  } finally {
    await worker.terminate();
  }
}

describe('composeForm', () => {
  test('keeps a list of message ids, trimmed', () => {
    const f = composeForm.parse({ inReplyTo: '  <a@example.test>\n', references: '<a@example.test>  <b@example.test>\r\n\t<c.d@example.test>' });
    assert.equal(f.inReplyTo, '<a@example.test>');
    assert.equal(f.references, '<a@example.test>  <b@example.test>\r\n\t<c.d@example.test>');
  });

  test('keeps ids written back to back, as some clients fold them', () => {
    assert.equal(composeForm.parse({ references: '<a@x><b@y> <c@z>' }).references, '<a@x><b@y> <c@z>');
  });

  test('drops anything that is not a list of message ids', () => {
    for (const bad of ['', '   ', 'a@b', '<a@b', 'a@b>', '<>', '<a b@c>', '<a<b@c>', '<a>b@c>', '<a@b>>', '<<a@b>', '<a@b> x', 'x <a@b>', '<a@b><>', '<a@b>\nBcc: victim@example.test']) {
      assert.equal(composeForm.parse({ inReplyTo: bad }).inReplyTo, undefined, JSON.stringify(bad));
      assert.equal(composeForm.parse({ references: bad }).references, undefined, JSON.stringify(bad));
    }
  });

  test('refuses message ids longer than 4000 characters', () => {
    const long = '<a@b> '.repeat(700);
    assert.equal(composeForm.safeParse({ references: long }).success, false);
    assert.equal(composeForm.parse({ references: long.slice(0, 3996) }).references, long.slice(0, 3996).trim());
  });

  test('answers at once on message ids crafted to make a pattern backtrack', async () => {
    for (const tail of ['x', '<', '<>']) {
      const crafted = '<a@b> '.repeat(40) + tail;
      const answer = await parseInWorker({ inReplyTo: crafted, references: crafted }, 1000);
      if (answer === 'timeout') assert.fail(`parsing ${JSON.stringify(crafted.slice(-12))} took over a second`);
      assert.equal(answer.success, true);
    }
  });

  test('fills every field it is not given with an empty value', () => {
    const f = composeForm.parse({});
    assert.deepEqual([f.to, f.cc, f.bcc, f.subject, f.body, f.keep], ['', '', '', '', '', []]);
    assert.equal(f.inReplyTo, undefined);
    assert.equal(f.references, undefined);
  });

  test('refuses over-long recipients, subject and body', () => {
    assert.equal(composeForm.safeParse({ to: 'a'.repeat(4000) }).success, true);
    for (const field of ['to', 'cc', 'bcc']) assert.equal(composeForm.safeParse({ [field]: 'a'.repeat(4001) }).success, false, field);
    assert.equal(composeForm.safeParse({ subject: 's'.repeat(998) }).success, true);
    assert.equal(composeForm.safeParse({ subject: 's'.repeat(999) }).success, false);
    assert.equal(composeForm.safeParse({ body: 'b'.repeat(1_000_001) }).success, false);
  });

  test('reads the attachments to keep as one index or a list of up to fifty', () => {
    assert.deepEqual(composeForm.parse({ keep: '3' }).keep, [3]);
    assert.deepEqual(composeForm.parse({ keep: ['0', '12', '9999'] }).keep, [0, 12, 9999]);
    assert.equal(composeForm.safeParse({ keep: Array.from({ length: 51 }, () => '1') }).success, false);
    for (const bad of ['-1', '1.5', '10000', ' 1', '1e3', '']) assert.equal(composeForm.safeParse({ keep: bad }).success, false, bad);
  });

  test('reads the source message and the draft as UIDs', () => {
    const f = composeForm.parse({ srcFolder: 'INBOX', srcUid: '42', draftUid: '7' });
    assert.deepEqual([f.srcFolder, f.srcUid, f.draftUid], ['INBOX', 42, 7]);
    for (const bad of ['0', '-3', '1.5', 'abc', String(2 ** 32)]) assert.equal(composeForm.safeParse({ srcUid: bad }).success, false, bad);
  });
});

describe('folder and message parameters', () => {
  test('take a folder of 1 to 500 characters as given, without control characters', () => {
    assert.equal(folderParams.parse({ folder: 'INBOX/Sub folder' }).folder, 'INBOX/Sub folder');
    assert.equal(folderParams.parse({ folder: '已发送' }).folder, '已发送');
    assert.equal(folderParams.safeParse({ folder: '' }).success, false);
    assert.equal(folderParams.safeParse({ folder: 'f'.repeat(500) }).success, true);
    assert.equal(folderParams.safeParse({ folder: 'f'.repeat(501) }).success, false);
    for (const folder of ['INBOX\r\nA1 DELETE INBOX', 'INBOX\u0000', 'Trash\u007f']) {
      assert.equal(folderParams.safeParse({ folder }).success, false, JSON.stringify(folder));
      assert.equal(moveForm.safeParse({ to: folder }).success, false, JSON.stringify(folder));
    }
    assert.equal(moveForm.safeParse({ to: '' }).success, false);
  });

  test('name a shared mailbox by an address-like owner', () => {
    assert.equal(ownerParams.parse({ owner: 'ann@example.test' }).owner, 'ann@example.test');
    for (const owner of ['ann', 'a@', `${'a'.repeat(251)}@x.y`, 'ann@example.test\r\n']) assert.equal(ownerParams.safeParse({ owner }).success, false, owner);
  });

  test('take a UID from 1 to 2^32-1', () => {
    assert.equal(messageParams.parse({ folder: 'INBOX', uid: '4294967295' }).uid, 2 ** 32 - 1);
    for (const bad of ['0', '4294967296', '-1', '2.5', 'x', '']) assert.equal(messageParams.safeParse({ folder: 'INBOX', uid: bad }).success, false, bad);
  });

  test('take an attachment by IMAP part number, nothing else', () => {
    for (const part of ['1', '2', '2.1', '10.3.4', '9999']) assert.equal(attachmentParams.parse({ folder: 'INBOX', uid: '1', part }).part, part);
    const bad = ['0', '1.0', '', '.', '1.', '.1', '1..2', '-1', '../1', '..', '1/2', '2.MIME', 'HEADER', 'TEXT', '10000', ' 1', '1\r\n', '1.1.1.1.1.1.1.1.1.1.1', '1'.repeat(61), '٣'];
    for (const part of bad) assert.equal(attachmentParams.safeParse({ folder: 'INBOX', uid: '1', part }).success, false, JSON.stringify(part));
  });
});

describe('listQuery', () => {
  test('falls back to the first page on a missing or odd page number', () => {
    assert.equal(listQuery.parse({}).page, 1);
    assert.equal(listQuery.parse({ page: '3' }).page, 3);
    for (const odd of ['0', '-2', '1.5', 'two', '100001', ['2', '3']]) assert.equal(listQuery.parse({ page: odd }).page, 1, String(odd));
  });

  test('trims the search, and refuses one over 200 characters or with control characters', () => {
    assert.equal(listQuery.parse({ q: '  invoice  ' }).q, 'invoice');
    assert.equal(listQuery.parse({}).q, '');
    assert.equal(listQuery.safeParse({ q: 'q'.repeat(200) }).success, true);
    for (const q of ['q'.repeat(201), 'a\r\nA1 LOGOUT', 'a\u0000', ['a', 'b']]) assert.equal(listQuery.safeParse({ q }).success, false, JSON.stringify(q).slice(0, 30));
  });
});

describe('seenForm and composeQuery', () => {
  test('seen is 0 or 1 and nothing else', () => {
    assert.equal(seenForm.parse({ seen: '1' }).seen, '1');
    for (const bad of ['true', '2', '', undefined]) assert.equal(seenForm.safeParse({ seen: bad }).success, false, String(bad));
  });

  test('the compose mode is reply, all or forward', () => {
    assert.deepEqual(composeQuery.parse({ mode: 'all', folder: 'INBOX', uid: '5' }), { mode: 'all', folder: 'INBOX', uid: 5 });
    assert.equal(composeQuery.parse({}).mode, undefined);
    assert.equal(composeQuery.safeParse({ mode: 'bounce' }).success, false);
  });

  test('a recipient to start with is cut to 300 characters and has no control characters', () => {
    assert.equal(composeQuery.parse({ to: 'ann@example.test' }).to, 'ann@example.test');
    assert.equal(composeQuery.parse({ to: 'a'.repeat(500) }).to, 'a'.repeat(300));
    assert.equal(composeQuery.safeParse({ to: 'ann@example.test\r\nBcc: eve@example.test' }).success, false);
  });
});

describe('folder names (create and rename)', () => {
  /** refusal is the catalog key a refused name is shown with. */
  const refusal = (name: unknown) => {
    const r = createFolderForm.safeParse({ name });
    return r.success ? 'accepted' : r.error.issues[0]!.message;
  };

  test('accepts ordinary names in any script, trimmed, up to 200 characters', () => {
    assert.equal(createFolderForm.parse({ name: ' 项目资料 ' }).name, '项目资料');
    assert.equal(createFolderForm.parse({ name: 'x' }).parent, undefined);
    assert.deepEqual(createFolderForm.parse({ name: 'Q1 2027', parent: 'Projects' }), { name: 'Q1 2027', parent: 'Projects' });
    assert.equal(createFolderForm.parse({ name: 'x', parent: '' }).parent, undefined);
    assert.equal(refusal('n'.repeat(200)), 'accepted');
    assert.equal(refusal('v1.2 notes'), 'accepted');
  });

  test('refuses each bad name with its own message', () => {
    assert.equal(refusal(''), 'mail.folders.name_empty');
    assert.equal(refusal('   '), 'mail.folders.name_empty');
    assert.equal(refusal('n'.repeat(201)), 'mail.folders.name_long');
    assert.equal(refusal('n'.repeat(1024 * 1024)), 'mail.folders.name_long');
    for (const bad of ['a\nb', 'a\u0000b', 'a\u007fb', 'a\u0085b', 'all*', '50%', '../etc', 'a\\b']) assert.equal(refusal(bad), 'mail.folders.name_chars', JSON.stringify(bad));
    for (const inbox of ['INBOX', 'inbox', 'InBox']) assert.equal(refusal(inbox), 'mail.folders.name_inbox');
    for (const dots of ['.', '..', '...']) assert.equal(refusal(dots), 'mail.folders.name_dots');
    assert.equal(createFolderForm.safeParse({ name: ['a', 'b'] }).success, false);
  });

  test('rename takes a folder path and a name; delete and empty take a folder and an optional confirmation', () => {
    assert.deepEqual(renameFolderForm.parse({ folder: 'Old', name: 'New' }), { folder: 'Old', name: 'New' });
    assert.equal(renameFolderForm.safeParse({ folder: 'Old', name: 'INBOX' }).success, false);
    assert.equal(folderActionForm.parse({ folder: 'Trash' }).confirm, undefined);
    assert.equal(folderActionForm.parse({ folder: 'Trash', confirm: 'yes' }).confirm, 'yes');
    assert.equal(folderActionForm.safeParse({ folder: 'Trash', confirm: 'true' }).success, false);
    assert.equal(folderActionForm.safeParse({ folder: 'IN\u0000BOX' }).success, false);
  });
});

describe('moveTargets', () => {
  const f = (path: string, specialUse?: string): Folder => ({ path, name: path, depth: 0, specialUse, messages: 0, unseen: 0 });
  const all = [f('INBOX', '\\Inbox'), f('Drafts', '\\Drafts'), f('Sent', '\\Sent'), f('Junk', '\\Junk'), f('Trash', '\\Trash'), f('Alpha'), f('Zeta')];

  test('lists INBOX and own folders first, Trash last, without Drafts or the current folder', () => {
    assert.deepEqual(moveTargets(all, 'Alpha').map((x) => x.path), ['INBOX', 'Zeta', 'Sent', 'Junk', 'Trash']);
    assert.deepEqual(moveTargets(all, 'INBOX').map((x) => x.path), ['Alpha', 'Zeta', 'Sent', 'Junk', 'Trash']);
    assert.deepEqual(moveTargets(all, 'Trash').map((x) => x.path), ['INBOX', 'Alpha', 'Zeta', 'Sent', 'Junk']);
  });
});
