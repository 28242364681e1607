// The message list, made quicker with a script; every part of it works without one.
(function () {
  'use strict';

  // Report the browser's time zone when it differs from the one the server has, so dates read as local.
  var zoneForm = document.querySelector('form.mail-zone');
  var zone = '';
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || '';
  } catch (e) {
    zone = '';
  }
  if (zoneForm && zone && zone.length <= 64 && zone !== zoneForm.getAttribute('data-zone')) {
    var body = new URLSearchParams(new FormData(zoneForm));
    body.set('zone', zone);
    fetch(zoneForm.action, { method: 'POST', body: body, credentials: 'same-origin' }).then(function (res) {
      // Dates on this page were written in the old zone: show them again in the new one.
      if (res.ok && res.status === 204 && !sessionStorage.getItem('postern-zone-reloaded')) {
        sessionStorage.setItem('postern-zone-reloaded', '1');
        location.reload();
      }
    }, function () {});
  }

  var form = document.getElementById('mail-bulk');
  if (!form) return;
  var rows = Array.prototype.slice.call(document.querySelectorAll('input[type=checkbox][name=uid][form=mail-bulk]'));
  var pageBox = form.querySelector('[data-select-page]');
  var allBox = form.querySelector('[data-select-all]');
  var buttons = Array.prototype.slice.call(form.querySelectorAll('[data-bulk]'));

  function update() {
    var ticked = rows.filter(function (r) { return r.checked; }).length;
    if (pageBox) {
      pageBox.checked = ticked > 0 && ticked === rows.length;
      pageBox.indeterminate = ticked > 0 && ticked < rows.length;
    }
    if (allBox) {
      allBox.disabled = !pageBox || !pageBox.checked;
      if (allBox.disabled) allBox.checked = false;
    }
    var any = ticked > 0 || (allBox && allBox.checked);
    buttons.forEach(function (b) { b.disabled = !any; });
  }

  if (pageBox) {
    pageBox.addEventListener('change', function () {
      rows.forEach(function (r) { r.checked = pageBox.checked; });
      update();
    });
  }
  if (allBox) allBox.addEventListener('change', update);
  rows.forEach(function (r) { r.addEventListener('change', update); });

  // The ticked rows travel as one field: a page of separate fields would pass the form's field limit.
  form.addEventListener('submit', function () {
    var picked = rows.filter(function (r) { return r.checked; }).map(function (r) { return r.value; });
    var field = form.querySelector('input[name=uids]');
    if (!field) {
      field = document.createElement('input');
      field.type = 'hidden';
      field.name = 'uids';
      form.appendChild(field);
    }
    field.value = picked.join(',');
    rows.forEach(function (r) { r.disabled = true; });
    // A ticked page box would make the server act on the whole page; the rows say exactly what is meant.
    if (pageBox && !(allBox && allBox.checked)) pageBox.disabled = true;
    setTimeout(function () {
      rows.forEach(function (r) { r.disabled = false; });
      if (pageBox) pageBox.disabled = false;
    }, 0);
  });

  update();
})();
