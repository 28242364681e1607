// Security keys and passkeys: a form marked data-webauthn asks the server for options (a POST with
// the form token), hands them to the browser's WebAuthn call through SimpleWebAuthnBrowser, puts
// the answer in the form's "response" field and sends the form as usual. The server checks it.
(function () {
  'use strict';
  var lib = window.SimpleWebAuthnBrowser;

  function say(form, key) {
    var box = form.querySelector('[data-webauthn-message]');
    if (!box) return;
    box.textContent = form.getAttribute('data-msg-' + key) || '';
    box.hidden = !box.textContent;
  }

  document.querySelectorAll('form[data-webauthn]').forEach(function (form) {
    var mode = form.getAttribute('data-webauthn');
    var button = form.querySelector('button[type="submit"]');
    var noscript = form.querySelector('[data-webauthn-noscript]');
    if (noscript) noscript.hidden = true;
    if (!lib || !lib.browserSupportsWebAuthn()) {
      say(form, 'unsupported');
      if (button) button.disabled = true;
      return;
    }
    if (button) button.disabled = false;
    var sending = false;
    form.addEventListener('submit', function (event) {
      if (form.getAttribute('data-ready') === '1') return;
      event.preventDefault();
      if (sending) return;
      sending = true;
      if (button) button.disabled = true;
      say(form, '');
      var body = new URLSearchParams();
      var token = form.querySelector('input[name="_csrf"]');
      body.set('_csrf', token ? token.value : '');
      var stopped = {};
      fetch(form.getAttribute('data-options'), { method: 'POST', body: body, credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (res) {
          // A step-up or sign-in ran out meanwhile: the server sent us to the page that asks for it.
          if (res.redirected) {
            window.location.href = res.url;
            throw stopped;
          }
          if (!res.ok) throw new Error('options');
          return res.json();
        }, function () {
          throw { network: true };
        })
        .then(function (options) {
          return mode === 'register' ? lib.startRegistration({ optionsJSON: options }) : lib.startAuthentication({ optionsJSON: options });
        })
        .then(function (answer) {
          form.querySelector('input[name="response"]').value = JSON.stringify(answer);
          form.setAttribute('data-ready', '1');
          form.submit();
        })
        .catch(function (err) {
          if (err === stopped) return;
          sending = false;
          if (button) button.disabled = false;
          var name = err && (err.name || (err.cause && err.cause.name));
          if (err && err.network) say(form, 'network');
          else if (name === 'InvalidStateError' || (err && err.code === 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED')) say(form, 'already');
          else say(form, 'cancelled');
        });
    });
  });
})();
