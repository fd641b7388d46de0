// test-page.js: /portal/tests/<test id>, where the test window lands after the IdP. It shows
// the result from the portal API (the profile, or the exact reason with expected against
// received); the main page shows the same.
import { api, plainId, setCsrfToken, whenSessionEnds } from './api.js';
import { fill, h } from '../common/dom.js';
import { pollTest, renderResult } from './result.js';

const root = document.getElementById('portal-app');
const testId = plainId(decodeURIComponent(window.location.pathname.split('/').pop() || ''));

function page(...children) {
  fill(root, h('header', { class: 'portal-header' },
    h('p', { class: 'portal-brand' }, 'Single sign-on setup')),
  h('h1', { tabindex: '-1' }, 'Test sign-in'), ...children,
  h('p', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', testid: 'close-window',
    on: { click: () => window.close() } }, 'Close this window')));
}

function card(...children) {
  return h('section', { class: 'card' }, ...children);
}

whenSessionEnds((error) => page(card(
  h('p', { class: 'error', testid: 'session-ended' }, 'Your portal session has ended, so this window cannot show the result.'),
  h('p', {}, 'Ask the person who sent you the portal link for a new one.'),
  h('p', { class: 'muted' }, error.description))));

async function main() {
  let connectionName = '';
  try {
    const session = await api('GET', 'session');
    setCsrfToken(session.csrf_token);
  } catch (error) {
    if (error.status !== 401) page(card(h('p', { class: 'error', testid: 'test-error' }, error.description)));
    return;
  }
  const holder = h('div', { class: 'result-holder', 'aria-live': 'polite' }, renderResult({ status: 'pending' }));
  page(card(holder));
  pollTest(testId, async (result) => {
    if (!connectionName && result.connection_id && plainId(result.connection_id)) {
      try {
        const connection = await api('GET', `connections/${result.connection_id}`);
        connectionName = connection.name || '';
      } catch (_) {
        connectionName = '';
      }
    }
    fill(holder, renderResult(result, connectionName));
  }, (error) => {
    if (error.status === 401) return;
    fill(holder, h('p', { class: 'error', testid: 'test-error' }, error.status === 404
      ? 'There is no such test for your organization (a test result is kept for an hour).'
      : error.message));
  });
}

main();
