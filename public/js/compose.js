// The compose page, enhanced: a small rich-text editor, autosave to Drafts and recipient suggestions.
// Without this file the page still works: the text box is the message, and Save draft saves it.
(function () {
  var form = document.querySelector('form[data-compose]');
  if (!form) return;
  var text = function (name) {
    return form.getAttribute('data-text-' + name) || '';
  };
  var textarea = form.querySelector('textarea[name="body"]');
  var plainBox = textarea.closest('label');
  var editor = form.querySelector('.compose-editor');
  var toolbar = form.querySelector('.compose-toolbar');
  var modeButton = toolbar.querySelector('[data-mode]');
  var status = form.querySelector('.compose-status');
  var fileInput = form.querySelector('input[type="file"][name="attachments"]');
  var keptBox = form.querySelector('.mail-kept');

  // ---- The editor: contenteditable, its markup posted in a hidden field the server sanitizes.

  var htmlField = document.createElement('input');
  htmlField.type = 'hidden';
  htmlField.name = 'html';
  form.appendChild(htmlField);
  var rich = false;

  function escapeHtml(s) {
    return s.replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function textToHtml(s) {
    return escapeHtml(s.replace(/\r\n/g, '\n')).replace(/\n/g, '<br>');
  }

  function sync() {
    if (!rich) return;
    htmlField.value = editor.innerHTML;
    textarea.value = plainText();
  }

  // The editor's text as plain mail writes it: quotes with "> ", list items with "* ", links as
  // "text [url]", an empty line at most between blocks. Untouched, it is the server's own text.
  var initialPlain = textarea.value;
  function textOf(node) {
    if (node.nodeType === 3) return node.data.replace(/\s+/g, ' ');
    if (node.nodeType !== 1) return '';
    var inner = '';
    node.childNodes.forEach(function (c) {
      inner += textOf(c);
    });
    switch (node.nodeName) {
      case 'BR':
        return '\n';
      case 'BLOCKQUOTE':
        return '\n' + inner.trim().split('\n').map(function (l) {
          return l.charAt(0) === '>' ? '>' + l : '> ' + l;
        }).join('\n') + '\n';
      case 'LI':
        return '\n' + (node.parentNode.nodeName === 'OL' ? Array.prototype.indexOf.call(node.parentNode.children, node) + 1 + '. ' : '* ') + inner.trim();
      case 'DIV':
      case 'P':
      case 'UL':
      case 'OL':
        return '\n' + inner + '\n';
      case 'A':
        var href = node.getAttribute('href') || '';
        return href && href !== inner && 'mailto:' + inner !== href ? inner + ' [' + href + ']' : inner;
      default:
        return inner;
    }
  }
  function plainText() {
    if (!touched) return initialPlain;
    var text = '';
    editor.childNodes.forEach(function (c) {
      text += textOf(c);
    });
    return text
      .split('\n')
      .map(function (l) {
        // Trailing spaces go, except in the "-- " line that marks a signature.
        return l.trimEnd() === '--' ? '-- ' : l.trimEnd();
      })
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .replace(/^\n+/, '')
      .trimEnd();
  }

  function setMode(toRich) {
    rich = toRich;
    if (rich) {
      editor.innerHTML = editor.getAttribute('data-html') || textToHtml(textarea.value);
      editor.removeAttribute('data-html');
    } else {
      textarea.value = plainText();
    }
    editor.hidden = !rich;
    plainBox.hidden = rich;
    htmlField.disabled = !rich;
    toolbar.querySelectorAll('[data-cmd]').forEach(function (b) {
      b.hidden = !rich;
    });
    modeButton.textContent = rich ? text('plain') : text('rich');
    modeButton.setAttribute('aria-pressed', rich ? 'false' : 'true');
  }

  function insideQuote() {
    var sel = window.getSelection();
    var node = sel && sel.anchorNode;
    while (node && node !== editor) {
      if (node.nodeName === 'BLOCKQUOTE') return true;
      node = node.parentNode;
    }
    return false;
  }

  function command(cmd) {
    editor.focus();
    if (cmd === 'createLink') {
      var url = window.prompt(text('link'), 'https://');
      if (!url) return;
      url = url.trim();
      // The server keeps only these links; anything else would vanish on sending.
      if (!/^(https?:\/\/|mailto:)/i.test(url)) return;
      var sel = window.getSelection();
      if (sel && sel.isCollapsed) document.execCommand('insertHTML', false, '<a href="' + escapeHtml(url) + '">' + escapeHtml(url) + '</a>');
      else document.execCommand('createLink', false, url);
    } else if (cmd === 'blockquote') {
      document.execCommand('formatBlock', false, insideQuote() ? 'p' : 'blockquote');
    } else {
      document.execCommand(cmd, false, null);
    }
    dirty = true;
    sync();
  }

  toolbar.hidden = false;
  try {
    document.execCommand('styleWithCSS', false, false);
    document.execCommand('defaultParagraphSeparator', false, 'div');
  } catch (e) {
    // Older engines: the defaults do.
  }
  toolbar.addEventListener('mousedown', function (e) {
    // Keep the editor's selection when a button is pressed.
    if (e.target.closest('[data-cmd]')) e.preventDefault();
  });
  toolbar.addEventListener('click', function (e) {
    var b = e.target.closest('button');
    if (!b) return;
    if (b.hasAttribute('data-mode')) {
      setMode(!rich);
      dirty = true;
      return;
    }
    command(b.getAttribute('data-cmd'));
  });
  editor.addEventListener('keydown', function (e) {
    if (!(e.ctrlKey || e.metaKey) || e.altKey) return;
    var k = e.key.toLowerCase();
    if (k === 'b' || k === 'i') {
      e.preventDefault();
      command(k === 'b' ? 'bold' : 'italic');
    }
  });
  editor.addEventListener('input', function () {
    touched = true;
    dirty = true;
    sync();
  });

  // A new message or a reply starts above the signature and the quote: until the person has typed,
  // a click on the empty part of the editor puts the caret on the first line, not after the quote.
  var touched = false;
  function caretToStart() {
    var first = editor.firstChild;
    var range = document.createRange();
    if (first && first.nodeType === 1 && first.nodeName !== 'BLOCKQUOTE') range.setStart(first, 0);
    else range.setStart(editor, 0);
    range.collapse(true);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  editor.addEventListener('mousedown', function (e) {
    if (touched || e.target !== editor) return;
    e.preventDefault();
    editor.focus();
    caretToStart();
  });
  setMode(true);
  // A reply arrives with its recipients filled in: writing starts in the editor, on the first line.
  if (textarea.hasAttribute('autofocus')) {
    editor.focus();
    caretToStart();
  }

  // ---- Autosave: every data-autosave-ms while something changed, to the save endpoint, as JSON.

  var dirty = false;
  var saving = null;
  var submitting = false;
  var timer = null;
  var saveUrl = form.getAttribute('data-save-url');

  function interval() {
    var ms = parseInt(form.getAttribute('data-autosave-ms'), 10);
    return ms > 0 ? Math.max(ms, 200) : 30000;
  }

  function schedule() {
    clearTimeout(timer);
    if (!submitting) timer = setTimeout(tick, interval());
  }

  function tick() {
    if (dirty && !saving && !submitting) save().then(schedule);
    else schedule();
  }

  function hiddenField(name) {
    var f = form.querySelector('input[type="hidden"][name="' + name + '"]');
    if (!f) {
      f = document.createElement('input');
      f.type = 'hidden';
      f.name = name;
      form.appendChild(f);
    }
    return f;
  }

  function size(n) {
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return Math.round(n / 1024) + ' KB';
    return (n / 1024 / 1024).toFixed(1) + ' MB';
  }

  function sameFiles(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  // The files just uploaded now live in the draft: they are listed as kept (by their index in the
  // new draft) and the file input is emptied, so the next save or the send carries each file once.
  function apply(d, sentFiles) {
    hiddenField('draftUid').value = d.draftUid;
    hiddenField('srcFolder').value = d.srcFolder;
    hiddenField('srcUid').value = d.srcUid;
    keptBox.querySelectorAll('label').forEach(function (l) {
      l.remove();
    });
    d.kept.forEach(function (a) {
      var label = document.createElement('label');
      label.className = 'check';
      var box = document.createElement('input');
      box.type = 'checkbox';
      box.name = 'keep';
      box.value = String(a.index);
      box.checked = true;
      var note = document.createElement('span');
      note.className = 'muted';
      note.textContent = size(a.size);
      label.append(box, ' ' + a.filename + ' ', note);
      keptBox.appendChild(label);
    });
    keptBox.hidden = d.kept.length === 0;
    if (fileInput) {
      if (sameFiles(Array.prototype.slice.call(fileInput.files), sentFiles)) fileInput.value = '';
      // Files chosen while the save was on its way are not in the draft yet: the next save takes them.
      else dirty = true;
    }
  }

  function clock(iso) {
    var d = iso ? new Date(iso) : new Date();
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function save() {
    sync();
    dirty = false;
    var sentFiles = fileInput ? Array.prototype.slice.call(fileInput.files) : [];
    status.textContent = text('saving');
    saving = fetch(saveUrl, { method: 'POST', body: new FormData(form), headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (res) {
        if (!res.ok) throw new Error('status ' + res.status);
        return res.json();
      })
      .then(function (d) {
        apply(d, sentFiles);
        status.textContent = text('saved').replace('{time}', clock(d.savedAt));
        form.setAttribute('data-saved-uid', String(d.draftUid));
      })
      .catch(function () {
        dirty = true;
        status.textContent = text('failed');
      })
      .then(function () {
        saving = null;
      });
    return saving;
  }

  form.addEventListener('input', function () {
    dirty = true;
  });
  form.addEventListener('change', function () {
    dirty = true;
  });
  form.addEventListener('submit', function (e) {
    sync();
    if (saving) {
      // A save on its way would file a second copy beside the one sent (or saved): wait for it, then go.
      e.preventDefault();
      var submitter = e.submitter;
      saving.then(function () {
        form.requestSubmit(submitter);
      });
      return;
    }
    submitting = true;
    clearTimeout(timer);
  });
  if (window.MutationObserver) new MutationObserver(schedule).observe(form, { attributes: true, attributeFilter: ['data-autosave-ms'] });
  schedule();

  // ---- Recipient suggestions: ↑ ↓ to move, Enter to pick, Esc to close.

  var contactsUrl = form.getAttribute('data-contacts-url');
  var nextId = 0;

  function quoteName(name) {
    return /[",<>@;:()\\]/.test(name) ? '"' + name.replace(/["\\]/g, '\\$&') + '"' : name;
  }

  function suggest(input) {
    var wrap = document.createElement('span');
    wrap.className = 'compose-suggest-wrap';
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);
    var list = document.createElement('ul');
    list.className = 'compose-suggest';
    list.id = 'compose-suggest-' + input.name;
    list.setAttribute('role', 'listbox');
    list.setAttribute('aria-label', text('suggestions'));
    list.hidden = true;
    wrap.appendChild(list);
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('aria-controls', list.id);
    var items = [];
    var active = -1;
    var wait = null;
    var asked = 0;

    function entryStart() {
      var v = input.value;
      return Math.max(v.lastIndexOf(','), v.lastIndexOf(';')) + 1;
    }

    function close() {
      list.hidden = true;
      items = [];
      active = -1;
      input.setAttribute('aria-expanded', 'false');
      input.removeAttribute('aria-activedescendant');
    }

    function highlight(i) {
      active = i;
      list.querySelectorAll('li').forEach(function (li, n) {
        li.setAttribute('aria-selected', n === i ? 'true' : 'false');
        li.classList.toggle('active', n === i);
        if (n === i) {
          input.setAttribute('aria-activedescendant', li.id);
          li.scrollIntoView({ block: 'nearest' });
        }
      });
    }

    function pick(i) {
      var p = items[i];
      if (!p) return;
      var start = entryStart();
      var head = input.value.slice(0, start);
      input.value = head + (head ? ' ' : '') + (p.name ? quoteName(p.name) + ' <' + p.address + '>' : p.address) + ', ';
      close();
      dirty = true;
      input.focus();
    }

    function show(results) {
      list.textContent = '';
      items = results;
      if (!results.length) return close();
      results.forEach(function (p, i) {
        var li = document.createElement('li');
        li.id = 'compose-option-' + nextId++;
        li.setAttribute('role', 'option');
        li.setAttribute('aria-selected', 'false');
        if (p.name) {
          var name = document.createElement('span');
          name.className = 'compose-suggest-name';
          name.textContent = p.name;
          li.append(name, ' ');
        }
        var addr = document.createElement('span');
        addr.className = 'compose-suggest-address';
        addr.textContent = p.address;
        li.appendChild(addr);
        li.addEventListener('mousedown', function (e) {
          e.preventDefault();
          pick(i);
        });
        list.appendChild(li);
      });
      list.hidden = false;
      input.setAttribute('aria-expanded', 'true');
      highlight(0);
    }

    function ask() {
      var typed = input.value.slice(entryStart()).trim();
      if (!typed || typed.length > 100 || typed.indexOf('<') >= 0) return close();
      var mine = ++asked;
      fetch(contactsUrl + '?q=' + encodeURIComponent(typed), { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
        .then(function (res) {
          return res.ok ? res.json() : { results: [] };
        })
        .then(function (d) {
          // Only the answer to the latest keystroke counts.
          if (mine === asked && document.activeElement === input) show(d.results || []);
        })
        .catch(close);
    }

    input.addEventListener('input', function () {
      clearTimeout(wait);
      wait = setTimeout(ask, 150);
    });
    input.addEventListener('keydown', function (e) {
      if (list.hidden) return;
      if (e.key === 'ArrowDown') {
        e.preventDefault();
        highlight((active + 1) % items.length);
      } else if (e.key === 'ArrowUp') {
        e.preventDefault();
        highlight((active - 1 + items.length) % items.length);
      } else if (e.key === 'Enter') {
        e.preventDefault();
        pick(active < 0 ? 0 : active);
      } else if (e.key === 'Escape') {
        e.preventDefault();
        close();
      }
    });
    input.addEventListener('blur', function () {
      setTimeout(close, 100);
    });
  }

  form.querySelectorAll('input[data-suggest]').forEach(suggest);
})();
