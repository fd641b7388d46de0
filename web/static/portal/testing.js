// testing.js: the test button. A real sign-in at the IdP in a new window that never reaches
// the app; this page polls the result and shows it too.
import { api, plainId } from './api.js';
import { fill, h } from '../common/dom.js';
import { blankWindow, signInUrl } from '../common/window.js';
import { pollTest, renderResult } from './result.js';

// Starts a test of connection: the result goes into holder, a refusal into error (a <p>);
// the poll's stop function is pushed onto stops (the caller stops it when the view goes).
export async function startTest(connection, holder, error, stops) {
  error.hidden = true;
  const win = blankWindow();
  let test;
  try {
    test = await api('POST', `connections/${plainId(connection.id)}/test`);
  } catch (e) {
    if (win) win.close();
    if (e.status === 401) return;
    error.textContent = e.description;
    error.hidden = false;
    return;
  }
  const url = signInUrl(win, test.start_url);
  if (!url) {
    error.textContent = 'The test could not start: the server gave an unusable address.';
    error.hidden = false;
    return;
  }
  const reopen = win ? null : h('p', { class: 'notice', testid: 'test-window-blocked' },
    'Your browser blocked the test window. ',
    h('a', { href: url.href, target: '_blank', rel: 'noopener noreferrer' }, 'Open the test sign-in'),
    ' (it works once).');
  const result = h('div', {}, renderResult({ status: 'pending' }, connection.name));
  fill(holder, reopen, result);
  stops.push(pollTest(test.test_id, (answer) => fill(result, renderResult(answer, connection.name)),
    (e) => {
      if (e.status !== 401) fill(result, h('p', { class: 'error', role: 'alert' }, e.message));
    }));
}
