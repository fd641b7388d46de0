// try.js: "Try it" (development, the IdP simulator on): a real sign-in through the simulator
// for the Test Organization in a new window, for the broker's built-in try client; that window
// ends on the token service's page with the ID token's claims (only this session can see them,
// once). Nothing of the login passes through this page.
import { api } from './api.js';
import { fill, h } from '../common/dom.js';
import { blankWindow, signInUrl } from '../common/window.js';
import { busy, card, errorLine, pageTitle } from './ui.js';

export function tryView(view, ctx) {
  const config = ctx.config || {};
  const error = errorLine('try-error');
  const started = h('p', { class: 'muted', 'aria-live': 'polite', testid: 'try-started' });
  const button = h('button', { type: 'button', testid: 'try-button' }, 'Start a test sign-in');
  button.addEventListener('click', () => {
    const win = blankWindow();
    started.textContent = '';
    busy(button, error, async () => {
      let answer;
      try {
        answer = await api('POST', 'try');
      } catch (e) {
        if (win) win.close();
        throw e;
      }
      const url = signInUrl(win, answer.authorize_url);
      if (!url) {
        error.say('The sign-in could not start: the server gave an unusable address.');
        return;
      }
      started.textContent = '';
      started.append(win ? 'The sign-in runs in the new window; it ends with the ID token\'s claims there.'
        : h('span', {}, 'Your browser blocked the window. ',
          h('a', { href: url.href, target: '_blank', rel: 'noopener noreferrer' }, 'Open the test sign-in'),
          ' (it works once).'));
    });
  });
  fill(view,
    pageTitle('Try it', 'Sign in through the IdP simulator as a user of the Test Organization, and see the ID token the broker would hand Auth0.', 'try-title'),
    card('A test sign-in', 'try-card', null,
      h('p', {}, 'The window walks the real login: /oauth/authorize, the simulator\'s page, the SAML response, and the broker\'s token, minted and signed as for any client. ',
        config.simulator ? '' : 'The simulator is off in this environment, so there is nothing to try.'),
      config.simulator ? button : null, error, started));
}
