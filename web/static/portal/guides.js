// guides.js: the per-IdP setup guides (idp-guides.json, beside this file): which one goes
// with a connection, and its steps with the connection's own values in place.
import { h } from '../common/dom.js';

let guides = null;

export async function loadGuides() {
  if (!guides) {
    const response = await fetch(new URL('./idp-guides.json', import.meta.url), { cache: 'no-cache' });
    if (!response.ok) throw new Error('The setup guides could not be loaded. Reload the page to try again.');
    guides = await response.json();
  }
  return guides;
}

export function protocolName(type) {
  return type === 'oidc' ? 'OpenID Connect' : 'SAML';
}

// The guide of connection: the one chosen when it was made (this tab remembers), else the one
// whose IdP name it bears, else the generic one of its protocol.
export function guideFor(connection, all) {
  const usable = all.idps.filter((idp) => idp[connection.type]);
  let remembered = null;
  try {
    remembered = window.sessionStorage.getItem(`portal-guide:${connection.id}`);
  } catch (_) {
    remembered = null;
  }
  return usable.find((idp) => idp.id === remembered)
    || usable.find((idp) => connection.name && connection.name.startsWith(idp.name))
    || usable.find((idp) => idp.id === connection.type)
    || usable[0];
}

// The values a guide's placeholders stand for, from a connection (null before one exists).
export function placeholderValues(connection, org) {
  const values = { org_name: org ? org.display_name : '' };
  if (connection && connection.sp) {
    values.sp_entity_id = connection.sp.entity_id;
    values.acs_url = connection.sp.acs_url;
    values.sp_metadata_url = connection.sp.metadata_url;
  }
  if (connection && connection.oidc) values.redirect_uri = connection.oidc.redirect_uri;
  return values;
}

// One step's text with each {placeholder} as a code element holding its value, or before the
// connection exists, what it stands for.
function stepText(text, values) {
  const out = [];
  const pattern = /\{([a-z_]+)\}/g;
  let last = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    out.push(text.slice(last, match.index));
    const value = values[match[1]];
    if (value) out.push(h('code', { class: 'value' }, value));
    else if (guides && guides.placeholders[match[1]]) out.push(h('em', {}, guides.placeholders[match[1]]));
    else out.push(match[0]);
    last = match.index + match[0].length;
  }
  out.push(text.slice(last));
  return out;
}

export function stepList(steps, connection, org) {
  const values = placeholderValues(connection, org);
  return h('ol', { class: 'steps', testid: 'idp-steps' }, steps.map((step) => h('li', {}, stepText(step, values))));
}

// The public pages a guide was checked against.
export function docsList(docs) {
  if (!docs || !docs.length) return null;
  return h('details', { class: 'docs' }, h('summary', {}, 'The IdP\'s own documentation'),
    h('ul', {}, docs.filter((url) => /^https:\/\//.test(url)).map((url) =>
      h('li', {}, h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, url)))));
}
