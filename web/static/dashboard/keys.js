// keys.js: the signing keys view: the keys that sign the ID tokens with their state (which one
// signs now, the next one and when it starts; GET v1/keys), a rotation with a confirm step that
// says the publication delay (POST v1/keys/rotate, the same rotation as `ssoctl keys rotate`),
// and the keys as relying parties such as Auth0 fetch them (the discovery document's jwks_uri).
import { api, requestJson, UNREACHABLE } from './api.js';
import { badge, copyField, fill, h, when } from '../common/dom.js';
import { busy, card, errorLine, listTable, pageTitle } from './ui.js';

// url's path on this page's origin: the pages may only fetch from their own (CSP connect-src
// 'self'), and the dashboard may be opened under another name than SSO_PUBLIC_URL's.
function here(url) {
  const parsed = new URL(url, window.location.href);
  return `${window.location.origin}${parsed.pathname}`;
}

// The size in bits of a base64url big-endian number (an RSA modulus).
function bits(base64url) {
  if (typeof base64url !== 'string' || !base64url) return '';
  const bytes = Math.floor((base64url.replace(/=+$/, '').length * 3) / 4);
  return `${bytes * 8}`;
}

// A delay in seconds in words ("1 hour", "90 seconds").
export function delayText(seconds) {
  const n = Number(seconds) || 0;
  const units = [[86400, 'day'], [3600, 'hour'], [60, 'minute']];
  for (const [size, name] of units) {
    if (n >= size && n % size === 0) return `${n / size} ${name}${n / size === 1 ? '' : 's'}`;
  }
  return `${n} second${n === 1 ? '' : 's'}`;
}

const STATES = {
  signing: ['Signs now', 'ok'],
  next: ['Next', 'warn'],
  previous: ['Previous', 'muted'],
};

function stateRow(key) {
  const [text, kind] = STATES[key.state] || [key.state || 'unknown', 'muted'];
  return h('tr', { testid: 'key-state-row', 'data-state': key.state || '' },
    h('td', { 'data-label': 'Key id (kid)', class: 'mono', testid: 'key-state-kid' }, key.kid || ''),
    h('td', { 'data-label': 'State' }, badge(text, kind, 'key-state')),
    h('td', { 'data-label': 'Algorithm' }, key.alg || ''),
    h('td', { 'data-label': 'Signs from', testid: 'key-signs-from' }, when(key.signs_from)),
    h('td', { 'data-label': 'Published until' },
      key.published_until ? when(key.published_until) : 'While it signs or is next'),
    h('td', { 'data-label': 'Created' }, when(key.created_at)));
}

// One line on which key signs now and which one is next, from when.
function summary(keys) {
  const signing = keys.find((k) => k.state === 'signing');
  const next = keys.filter((k) => k.state === 'next').sort((a, b) => (a.signs_from < b.signs_from ? -1 : 1))[0];
  const parts = [signing ? `Signing now: ${signing.kid}.` : 'No key signs yet: the token service makes the first one when its keys are first asked for.'];
  if (next) parts.push(`Next: ${next.kid}, signs from ${when(next.signs_from)}.`);
  return h('p', { testid: 'keys-summary' }, parts.join(' '));
}

function jwksRow(key) {
  const size = key.kty === 'RSA' ? `RSA ${bits(key.n)}` : (key.crv ? `${key.kty} ${key.crv}` : key.kty || '');
  return h('tr', { testid: 'key-row' },
    h('td', { 'data-label': 'Key id (kid)', class: 'mono', testid: 'key-kid' }, key.kid || ''),
    h('td', { 'data-label': 'Algorithm', testid: 'key-alg' }, key.alg || ''),
    h('td', { 'data-label': 'Use', testid: 'key-use' }, key.use === 'sig' ? 'Signature (sig)' : key.use || ''),
    h('td', { 'data-label': 'Type' }, size));
}

// The keys with their state into holder; the rotation delay they came with, or undefined.
async function loadStates(holder) {
  try {
    const answer = await api('GET', 'v1/keys');
    const keys = (answer && Array.isArray(answer.data)) ? answer.data : [];
    fill(holder, summary(keys), keys.length
      ? listTable(['Key id (kid)', 'State', 'Algorithm', 'Signs from', 'Published until', 'Created'],
        h('tbody', {}, keys.map(stateRow)), 'key-states')
      : h('p', { class: 'muted', testid: 'key-states' }, 'No key yet.'));
    return answer ? answer.rotation_delay_seconds : undefined;
  } catch (error) {
    if (error.status === 401) return undefined;
    fill(holder, h('p', { class: 'error', role: 'alert', testid: 'key-states-error' },
      `Could not read the signing keys: ${error.description || error.message}`));
    return undefined;
  }
}

async function loadJwks(config, where, holder) {
  try {
    const discovery = await requestJson('GET', here(config.discovery_url), undefined, '', UNREACHABLE);
    const jwksUri = discovery && discovery.jwks_uri;
    if (typeof jwksUri !== 'string') throw new Error('The discovery document has no jwks_uri.');
    fill(where, copyField('JWKS URL (jwks_uri)', jwksUri, 'jwks-uri'));
    const jwks = await requestJson('GET', here(jwksUri), undefined, '', UNREACHABLE);
    const keys = (jwks && Array.isArray(jwks.keys)) ? jwks.keys : [];
    fill(holder, keys.length ? listTable(['Key id (kid)', 'Algorithm', 'Use', 'Type'], h('tbody', {}, keys.map(jwksRow)), 'keys-table')
      : h('p', { class: 'muted', testid: 'keys-table' }, 'No key is published yet: the first login creates one.'),
    h('p', { class: 'muted', testid: 'keys-count' }, `${keys.length} published key${keys.length === 1 ? '' : 's'}.`));
  } catch (error) {
    fill(holder, h('p', { class: 'error', role: 'alert', testid: 'keys-error' },
      `Could not read the published keys: ${error.description || error.message}`));
  }
}

// The Rotate button, then a confirm step that says when the new key will sign.
function rotation(getDelay, reload) {
  const error = errorLine('rotate-key-error');
  const done = h('div', { 'aria-live': 'polite' });
  const step = h('div', { class: 'panel', testid: 'rotate-confirm-step', hidden: true });
  const start = h('button', { type: 'button', testid: 'rotate-key' }, 'Rotate');
  const confirm = h('button', { type: 'button', testid: 'rotate-confirm' }, 'Rotate now');
  const cancel = h('button', { type: 'button', class: 'secondary', testid: 'rotate-cancel' }, 'Cancel');
  start.addEventListener('click', () => {
    const delay = getDelay();
    fill(done);
    fill(step,
      h('p', { testid: 'rotate-delay' }, delay === undefined
        ? 'The new key is published within a minute and signs after the publication delay (SSO_KEY_ROTATION_DELAY_S).'
        : `The new key is published within a minute and signs only after the publication delay of ${delayText(delay)} (SSO_KEY_ROTATION_DELAY_S), from about ${when(new Date(Date.now() + delay * 1000).toISOString())}. The key that signs now keeps signing until then, and stays published until the tokens it signed have expired.`),
      h('div', { class: 'actions' }, confirm, cancel));
    step.hidden = false;
    start.hidden = true;
    confirm.focus();
  });
  cancel.addEventListener('click', () => {
    step.hidden = true;
    start.hidden = false;
    start.focus();
  });
  confirm.addEventListener('click', async () => {
    const answer = await busy(confirm, error, () => api('POST', 'v1/keys/rotate'));
    if (!answer) return;
    step.hidden = true;
    start.hidden = false;
    fill(done, h('p', { class: 'notice', role: 'status', testid: 'rotate-done' },
      `Key ${answer.kid} is made: the token service publishes it within a minute (its JWKS below then lists it), and it signs from ${when(answer.active_from)}.`));
    await reload();
  });
  return [h('p', {}, 'Rotating publishes a new key within a minute; it starts signing after the publication delay, so that Auth0 has fetched it first. It is the same rotation as ',
    h('code', {}, 'ssoctl keys rotate'), ', and every rotation is in the audit log.'),
    h('div', { class: 'actions' }, start), step, error, done];
}

export async function keysView(view, ctx) {
  const config = ctx.config || {};
  const states = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Loading…'));
  const holder = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Loading…'));
  const where = h('div', {});
  let delay;
  // The JWKS first: on a fresh broker, asking for it is what makes the token service create
  // the first key, which the list of states then shows too.
  const reload = async () => {
    await loadJwks(config, where, holder);
    delay = await loadStates(states);
  };
  fill(view,
    pageTitle('Signing keys', 'The keys that sign the ID tokens the broker gives Auth0: which one signs now, the next one, and rotation.', 'keys-title'),
    card('Keys and their state', 'key-states-card', null, states),
    card('Rotation', 'rotation-card', null, ...rotation(() => delay, reload)),
    card('Published keys (JWKS)', 'keys-card', null,
      h('p', { class: 'muted' }, 'What relying parties such as Auth0 fetch to check the ID tokens.'), where, holder));
  await reload();
}
