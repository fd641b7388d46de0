// keys.js: the signing keys view: the keys the broker publishes (its discovery document's
// jwks_uri), which relying parties such as Auth0 use to check ID tokens. The management API
// has no list of keys with their state, so which one signs now is not known here; rotating is
// `ssoctl keys rotate` (POST /api/v1/keys/rotate, served by the token service).
import { requestJson, UNREACHABLE } from './api.js';
import { copyField, fill, h } from '../common/dom.js';
import { card, listTable, pageTitle } from './ui.js';

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

function keyRow(key) {
  const size = key.kty === 'RSA' ? `RSA ${bits(key.n)}` : (key.crv ? `${key.kty} ${key.crv}` : key.kty || '');
  return h('tr', { testid: 'key-row' },
    h('td', { 'data-label': 'Key id (kid)', class: 'mono', testid: 'key-kid' }, key.kid || ''),
    h('td', { 'data-label': 'Algorithm', testid: 'key-alg' }, key.alg || ''),
    h('td', { 'data-label': 'Use', testid: 'key-use' }, key.use === 'sig' ? 'Signature (sig)' : key.use || ''),
    h('td', { 'data-label': 'Type' }, size));
}

export async function keysView(view, ctx) {
  const config = ctx.config || {};
  const holder = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Loading…'));
  const where = h('div', {});
  fill(view,
    pageTitle('Signing keys', 'The keys that sign the ID tokens the broker gives Auth0, as the broker publishes them.', 'keys-title'),
    card('Published keys', 'keys-card', null, where, holder),
    card('Rotation', 'rotation-card', null,
      h('p', {}, 'A new key is published at once and signs only after the publication delay (SSO_KEY_ROTATION_DELAY_S, an hour by default), so that Auth0 has fetched it first; the old key stays published until the tokens it signed have expired.'),
      h('p', {}, 'Rotate from a terminal with the management API\'s credentials:'),
      h('pre', { class: 'code', testid: 'rotate-command' }, 'ssoctl keys rotate'),
      h('p', { class: 'muted' }, 'The dashboard cannot rotate the keys nor say which key signs now: the rotation is served by the token service, and the management API has no list of keys with their activation times.')));
  try {
    const discovery = await requestJson('GET', here(config.discovery_url), undefined, '', UNREACHABLE);
    const jwksUri = discovery && discovery.jwks_uri;
    if (typeof jwksUri !== 'string') throw new Error('The discovery document has no jwks_uri.');
    fill(where, copyField('JWKS URL (jwks_uri)', jwksUri, 'jwks-uri'));
    const jwks = await requestJson('GET', here(jwksUri), undefined, '', UNREACHABLE);
    const keys = (jwks && Array.isArray(jwks.keys)) ? jwks.keys : [];
    fill(holder, keys.length ? listTable(['Key id (kid)', 'Algorithm', 'Use', 'Type'], h('tbody', {}, keys.map(keyRow)), 'keys-table')
      : h('p', { class: 'muted', testid: 'keys-table' }, 'No key is published yet: the first login creates one.'),
    h('p', { class: 'muted', testid: 'keys-count' }, `${keys.length} published key${keys.length === 1 ? '' : 's'}.`));
  } catch (error) {
    fill(holder, h('p', { class: 'error', role: 'alert', testid: 'keys-error' },
      `Could not read the published keys: ${error.description || error.message}`));
  }
}
