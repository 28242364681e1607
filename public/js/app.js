// Progressive enhancement only: every page works without this file.
(function () {
  // Resend buttons count down until another code may be requested.
  document.querySelectorAll('[data-countdown]').forEach(function (btn) {
    var left = parseInt(btn.getAttribute('data-countdown'), 10) || 0;
    if (left <= 0) return;
    var waitLabel = btn.getAttribute('data-wait-label');
    var label = btn.getAttribute('data-label');
    var timer = setInterval(function () {
      left -= 1;
      if (left <= 0) {
        clearInterval(timer);
        btn.disabled = false;
        btn.textContent = label;
      } else {
        btn.textContent = waitLabel.replace('{seconds}', String(left));
      }
    }, 1000);
  });
  // On a phone the section tabs scroll sideways: bring the current one into view.
  document.querySelectorAll('.subnav a.active').forEach(function (tab) {
    var nav = tab.parentElement;
    if (nav.scrollWidth > nav.clientWidth) nav.scrollLeft = tab.offsetLeft - (nav.clientWidth - tab.offsetWidth) / 2;
  });
  // Copy buttons copy the text of the element they name.
  document.querySelectorAll('[data-copy]').forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener('click', function () {
      var el = document.getElementById(btn.getAttribute('data-copy'));
      if (!el || !navigator.clipboard) return;
      navigator.clipboard.writeText(el.textContent.replace(/\s+/g, '')).then(function () {
        var done = btn.getAttribute('data-copied');
        if (done) btn.textContent = done;
      });
    });
  });
  // Print buttons print the page (the backup-code sheet hides everything else when printed).
  document.querySelectorAll('[data-print]').forEach(function (btn) {
    btn.addEventListener('click', function () {
      window.print();
    });
  });
})();
