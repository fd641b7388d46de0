// result.js: a test login's result (GET /portal/api/tests/{id}), shown in the test window's
// page and on the main page, which polls it while the other window signs in.
import { api, plainId } from './api.js';
import { badge, h, table, when } from '../common/dom.js';
import { expectedReceived } from '../common/reason.js';

const PROFILE_FIELDS = [
  ['subject', 'Subject'],
  ['email', 'Email'],
  ['email_verified', 'Email verified'],
  ['name', 'Name'],
  ['given_name', 'Given name'],
  ['family_name', 'Family name'],
  ['groups', 'Groups'],
];

function valueText(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value, null, 2);
}

// A value cell: a list for several strings, preformatted JSON for a structure.
export function valueCell(value) {
  if (Array.isArray(value) && value.every((x) => typeof x === 'string')) {
    return value.length === 1 ? value[0]
      : h('ul', { class: 'plain-list' }, value.map((x) => h('li', {}, x)));
  }
  if (value !== null && typeof value === 'object') return h('pre', { class: 'mono' }, valueText(value));
  return valueText(value);
}

// The attributes or claims as the IdP sent them: one row per name; an object nested once (an
// ID token's and userinfo's claims) gives rows named "outer / inner".
export function rawRows(raw) {
  const rows = [];
  for (const [name, value] of Object.entries(raw || {})) {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [inner, innerValue] of Object.entries(value)) {
        rows.push([h('span', { class: 'mono' }, `${name} / ${inner}`), valueCell(innerValue)]);
      }
    } else {
      rows.push([h('span', { class: 'mono' }, name), valueCell(value)]);
    }
  }
  return rows;
}

// The element that shows result; connectionName names the connection when known.
export function renderResult(result, connectionName) {
  const status = result && result.status;
  const about = connectionName ? ` through ${connectionName}` : '';
  if (status === 'success') {
    const profile = result.profile || {};
    const rows = PROFILE_FIELDS.filter(([key]) => profile[key] !== undefined && profile[key] !== null
      && profile[key] !== '' && !(Array.isArray(profile[key]) && !profile[key].length))
      .map(([key, label]) => h('div', { class: 'dl-row' }, h('dt', {}, label),
        h('dd', { testid: `test-profile-${key}` }, key === 'email_verified'
          ? (profile[key] ? 'yes' : 'no') : valueCell(profile[key]))));
    const raw = rawRows(result.raw);
    return h('div', { class: 'test-result', testid: 'test-result', 'data-status': status },
      h('p', { class: 'result-line' }, badge('Sign-in worked', 'ok', 'test-status'),
        ` The identity provider signed someone in${about}. This is what the app would receive.`),
      h('h3', {}, 'Profile'),
      h('dl', { class: 'profile', testid: 'test-profile' }, rows),
      h('h3', {}, 'Attributes or claims as sent'),
      raw.length ? table(['Name', 'Value'], raw, { 'data-testid': 'test-raw' })
        : h('p', { class: 'muted', testid: 'test-raw' }, 'The identity provider sent nothing else.'),
      result.completed_at ? h('p', { class: 'muted' }, `Completed ${when(result.completed_at)}.`) : null);
  }
  if (status === 'failure') {
    const parts = expectedReceived(result.reason);
    return h('div', { class: 'test-result', testid: 'test-result', 'data-status': status },
      h('p', { class: 'result-line' }, badge('Sign-in failed', 'bad', 'test-status'),
        ` The sign-in${about} was refused. Nothing was sent to the app.`),
      h('h3', {}, 'Why'),
      h('p', { class: 'reason mono', testid: 'test-reason' }, result.reason || 'No reason was recorded.'),
      parts ? table(['Checked', 'Expected', 'Received'],
        [[parts.what, h('span', { class: 'mono', testid: 'test-expected' }, parts.expected),
          h('span', { class: 'mono', testid: 'test-received' }, parts.received)]]) : null);
  }
  if (status === 'expired') {
    return h('div', { class: 'test-result', testid: 'test-result', 'data-status': status },
      h('p', { class: 'result-line' }, badge('Expired', 'muted', 'test-status'),
        ' This test ended without a sign-in. Start a new test.'));
  }
  return h('div', { class: 'test-result', testid: 'test-result', 'data-status': 'pending' },
    h('p', { class: 'result-line' }, badge('Waiting', 'warn', 'test-status'),
      ' Sign in in the test window. The result shows here when it is done.'));
}

// Reads test id's result every interval until it is no longer pending: onResult(result) for
// each answer, onError(error) once when reading fails. Returns a function that stops it.
export function pollTest(id, onResult, onError, interval = 2000) {
  let stopped = false;
  let timer = null;
  const safe = plainId(id);
  async function tick() {
    if (stopped) return;
    try {
      const result = await api('GET', `tests/${safe}`);
      if (stopped) return;
      onResult(result);
      if (result && result.status === 'pending') timer = setTimeout(tick, interval);
    } catch (error) {
      if (!stopped) onError(error);
    }
  }
  if (safe) tick();
  else onError(new Error('This is not a test id.'));
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
