// signin.js: the dashboard's sign-in page (/dashboard/signin): email and password, POSTed as
// JSON to /dashboard/api/signin; the session cookie comes back HttpOnly, and the app opens.
import { DASHBOARD_ROOT, requestJson, UNREACHABLE } from './api.js';
import { fill, h } from '../common/dom.js';
import { errorLine, inputField } from './ui.js';

const root = document.getElementById('dashboard-app') || document.querySelector('main') || document.body;
let countdown = null;

function page() {
  const email = inputField('Email', { type: 'email', testid: 'signin-email', autocomplete: 'username', required: true, maxlength: '254' });
  const password = inputField('Password', { type: 'password', testid: 'signin-password', autocomplete: 'current-password', required: true, maxlength: '256' });
  const error = errorLine('signin-error');
  const button = h('button', { type: 'submit', testid: 'signin-submit' }, 'Sign in');
  // Locked out: the button waits out retry_after, and the message counts down.
  function locked(seconds) {
    clearInterval(countdown);
    let left = Math.max(1, Math.ceil(seconds));
    button.disabled = true;
    const say = () => error.say(`Too many attempts; try again in ${left} s.`);
    say();
    countdown = setInterval(() => {
      left -= 1;
      if (left > 0) {
        say();
        return;
      }
      clearInterval(countdown);
      button.disabled = false;
      error.say('You can try again now.');
    }, 1000);
  }
  async function submit(event) {
    event.preventDefault();
    button.disabled = true;
    error.say('');
    try {
      await requestJson('POST', `${DASHBOARD_ROOT}api/signin`,
        { email: email.input.value.trim(), password: password.input.value }, '', UNREACHABLE);
    } catch (e) {
      password.input.value = '';
      if (e.status === 429) {
        locked(Number(e.body && e.body.retry_after) || 60);
        return;
      }
      button.disabled = false;
      error.say(e.status === 401 ? 'Email or password is wrong.' : e.description);
      password.input.focus();
      return;
    }
    password.input.value = '';
    window.location.assign(DASHBOARD_ROOT);
  }
  fill(root, h('section', { class: 'card card-narrow auth-card' },
    h('p', { class: 'portal-brand' }, 'Developer dashboard'),
    h('h1', { tabindex: '-1' }, 'Sign in'),
    h('form', { testid: 'signin-form', on: { submit } }, email.field, password.field, error,
      h('div', { class: 'actions' }, button)),
    h('p', { class: 'muted' }, 'No account yet, or a forgotten password? Ask an administrator for a setup link (ssoctl admins create, or a new link for your account).')));
  email.input.focus();
}

page();
