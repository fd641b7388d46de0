// last-login.js: a connection's last successful sign-in (GET connections/{id}/last_login) on its
// page: when, who, and the attributes or claims as the identity provider sent them, so the
// admin sees what a real sign-in carries. Kept by the broker for the last sign-in only.
import { api, plainId } from './api.js';
import { fill, h, newId, table, when } from '../common/dom.js';
import { rawRows } from './result.js';

function render(last) {
  const rows = rawRows(last.raw);
  return [
    h('dl', { class: 'profile' },
      h('div', { class: 'dl-row' }, h('dt', {}, 'Time'), h('dd', { testid: 'last-login-time' }, when(last.completed_at))),
      h('div', { class: 'dl-row' }, h('dt', {}, 'Subject'), h('dd', { class: 'mono', testid: 'last-login-subject' }, last.subject))),
    rows.length ? table(['Name', 'Value'], rows, { 'data-testid': 'last-login-raw' })
      : h('p', { class: 'muted', testid: 'last-login-raw' }, 'No attributes were kept for this sign-in.'),
  ];
}

// The "Last successful sign-in" card of connection; it fills itself when the answer comes.
export function lastLoginSection(connection) {
  const headingId = newId('last-login');
  const body = h('div', { testid: 'last-login', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Loading…'));
  // 204 (null) when nobody has signed in through it yet.
  api('GET', `connections/${plainId(connection.id)}/last_login`).then((last) => fill(body, last ? render(last)
    : h('p', { class: 'muted', testid: 'last-login-none' }, 'Nobody has signed in through this connection yet (a test sign-in does not count).')), (e) => {
    if (e.status !== 401) fill(body, h('p', { class: 'error', role: 'alert', testid: 'last-login-error' }, e.description));
  });
  return h('section', { class: 'card', 'aria-labelledby': headingId },
    h('h2', { id: headingId }, 'Last successful sign-in'),
    h('p', { class: 'muted' }, 'What the identity provider sent at the last sign-in, kept until the next one.'),
    body);
}
