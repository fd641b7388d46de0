// setup.js: the setup page of a dashboard account (<public url>/dashboard/setup#<token>). The
// token is the URL's fragment, which the browser never sends to a server nor in a Referer; it
// leaves the address bar and the history before anything else, and goes to the server only in
// the POST's body, with the password chosen here.
const token = window.location.hash.slice(1);
window.history.replaceState(null, '', window.location.pathname + window.location.search);

const { DASHBOARD_ROOT, requestJson, UNREACHABLE } = await import('./api.js');
const { fill, h } = await import('../common/dom.js');
const { errorLine, inputField } = await import('./ui.js');

const root = document.getElementById('dashboard-app') || document.querySelector('main') || document.body;
const signIn = `${DASHBOARD_ROOT}signin`;

function done(title, text, testid, kind) {
  fill(root, h('section', { class: 'card card-narrow auth-card', testid },
    h('p', { class: 'portal-brand' }, 'Developer dashboard'),
    h('h1', { tabindex: '-1' }, title),
    h('p', { class: kind === 'error' ? 'alert' : 'notice', role: kind === 'error' ? 'alert' : 'status' }, text),
    h('p', {}, h('a', { href: signIn, class: 'button', testid: 'setup-signin-link' }, 'Go to sign-in'))));
  root.querySelector('h1').focus();
}

function form() {
  const password = inputField('New password', { type: 'password', testid: 'setup-password', autocomplete: 'new-password',
    required: true, maxlength: '256' }, '12 to 256 characters; not your email address. A passphrase of a few words is good.');
  const confirm = inputField('The same password again', { type: 'password', testid: 'setup-password-confirm',
    autocomplete: 'new-password', required: true, maxlength: '256' });
  const error = errorLine('setup-error');
  const button = h('button', { type: 'submit', testid: 'setup-submit' }, 'Set password');
  async function submit(event) {
    event.preventDefault();
    button.disabled = true;
    error.say('');
    try {
      await requestJson('POST', `${DASHBOARD_ROOT}setup`,
        { token, password: password.input.value, password_confirm: confirm.input.value }, '', UNREACHABLE);
    } catch (e) {
      button.disabled = false;
      // 410: used or expired; 400 invalid_link: not a link at all. No password helps.
      if (e.status === 410 || e.error === 'invalid_link') {
        const why = (e.description || '').replace(/\.$/, '');
        done('This link no longer works', why ? `${why[0].toUpperCase()}${why.slice(1)}.`
          : 'A setup link works once and for 24 hours. Ask an administrator for a new one.', 'setup-gone', 'error');
        return;
      }
      error.say(e.description);
      password.input.setAttribute('aria-invalid', 'true');
      password.input.focus();
      return;
    }
    done('Your password is set', 'Sign in with your email address and this password.', 'setup-done', 'ok');
  }
  fill(root, h('section', { class: 'card card-narrow auth-card' },
    h('p', { class: 'portal-brand' }, 'Developer dashboard'),
    h('h1', { tabindex: '-1' }, 'Set your password'),
    h('p', {}, 'Choose the password of your dashboard account. This link works once.'),
    h('form', { testid: 'setup-form', on: { submit } }, password.field, confirm.field, error,
      h('div', { class: 'actions' }, button))));
  password.input.focus();
}

if (/^[A-Za-z0-9_-]{20,200}$/.test(token)) form();
else done('This address lacks its setup code', 'Open the whole setup link you were sent, with the part after the “#”.', 'setup-no-token', 'error');
