// mapping.js: on a connection's page, the optional settings an IT admin owns: the attribute
// mapping (SAML and OIDC: each profile field from an attribute or claim name, or from the SAML
// NameID; empty is the default) and the SAML options (binding, signed requests, NameID format,
// clock skew, encryption). Save sends only what changed (PATCH connections/{id}, RFC 7396:
// null puts a key back to its default); a refusal's error_description shows next to the field
// it names, which takes the focus. The options that name the app's clients (IdP-initiated
// login) are the developer's and are not here: the portal API refuses them.
import { api, plainId } from './api.js';
import { fill, h, newId } from '../common/dom.js';
import { checkbox, field, setError } from './fields.js';
import { MAPPING_FIELDS, NAMEID_SOURCE, OIDC_DEFAULTS, OIDC_FALLBACKS, SAML_DEFAULTS, SAML_FALLBACKS } from './mapping-defaults.js';

// A card holding a form of fields (key -> {input, error} as fields.js makes them) under the
// body member `member` ("attribute_mapping" or "options"). collect() gives the changed keys
// (an empty object: nothing to save) or null when a field is wrong (it set that error). Saved,
// the view is drawn again with successText as its notice.
function settingsForm({ connection, member, fields, collect, rerender, successText, saveLabel, testid }, ...children) {
  const status = h('p', { class: 'save-status', role: 'status', testid: `${testid}-status` });
  const formError = h('p', { class: 'error', role: 'alert', tabindex: '-1', testid: `${testid}-error`, hidden: true });
  const save = h('button', { type: 'submit', testid: `${testid}-save` }, saveLabel);

  function clear() {
    Object.values(fields).forEach((f) => setError(f, ''));
    formError.hidden = true;
    fill(status);
  }
  // The refusal next to the field it names ("attribute_mapping.name must ...", "options.x ..."),
  // else above the button; the focus goes there.
  function refused(description) {
    const named = new RegExp(`\\b${member}\\.([a-z_0-9]+)`).exec(description || '');
    const target = named && fields[named[1]];
    if (target) {
      setError(target, description);
      target.input.focus();
    } else {
      formError.textContent = description;
      formError.hidden = false;
      formError.focus();
    }
    fill(status, 'Not saved: nothing was changed.');
  }

  async function submit(event) {
    event.preventDefault();
    clear();
    const changes = collect();
    if (!changes) {
      fill(status, 'Not saved: correct the field marked above.');
      const first = Object.values(fields).find((f) => !f.error.hidden);
      if (first) first.input.focus();
      return;
    }
    if (!Object.keys(changes).length) {
      fill(status, 'Nothing to save: no value changed.');
      return;
    }
    save.disabled = true;
    try {
      await api('PATCH', `connections/${plainId(connection.id)}`, { [member]: changes });
      rerender(successText);
    } catch (e) {
      if (e.status !== 401) refused(e.description);
    } finally {
      save.disabled = false;
    }
  }

  return h('form', { class: 'settings-form', testid, novalidate: true, on: { submit } },
    children, formError, h('div', { class: 'actions' }, save, status));
}

// ---- the attribute mapping ---------------------------------------------------------------

function defaultsHint(type, key) {
  const saml = type === 'saml';
  const names = (saml ? SAML_DEFAULTS : OIDC_DEFAULTS)[key] || [];
  const after = (saml ? SAML_FALLBACKS : OIDC_FALLBACKS)[key];
  const what = saml ? 'attribute' : 'claim';
  const read = names.length === 1 ? `the ${what} ${names[0]}`
    : `the first of these ${what}s that comes${saml ? ' (any case)' : ''}: ${names.join(', ')}`;
  return `Empty: ${read}.${after ? ` ${after}` : ''}`;
}

export function mappingCard(connection, rerender) {
  const type = connection.type;
  const saml = type === 'saml';
  const stored = connection.attribute_mapping || {};
  const fields = {};
  const rows = MAPPING_FIELDS.map(([key, label]) => {
    const now = stored[key] || '';
    const byNameId = saml && now === NAMEID_SOURCE;
    const f = field({ label, testid: `mapping-${key}`, hint: defaultsHint(type, key),
      input: h('input', { type: 'text', value: byNameId ? '' : now, autocomplete: 'off', spellcheck: 'false',
        class: 'mono', placeholder: ((saml ? SAML_DEFAULTS : OIDC_DEFAULTS)[key] || [''])[0], disabled: byNameId }) });
    fields[key] = f;
    if (!saml) return f.wrap;
    const nameId = checkbox({ label: h('span', {}, 'Use the NameID', h('span', { class: 'visually-hidden' }, ` for ${label}`)),
      testid: `mapping-${key}-nameid`, checked: byNameId });
    nameId.input.addEventListener('change', () => {
      f.input.disabled = nameId.input.checked;
      if (nameId.input.checked) f.input.value = '';
    });
    f.nameId = nameId.input;
    // The checkbox after the input, before the error: the reading and the Tab order.
    f.wrap.insertBefore(nameId.wrap, f.error);
    return f.wrap;
  });

  function collect() {
    const changes = {};
    for (const [key] of MAPPING_FIELDS) {
      const f = fields[key];
      const value = f.nameId && f.nameId.checked ? NAMEID_SOURCE : f.input.value.trim();
      const want = value === '' ? null : value;
      if (want !== (stored[key] || null)) changes[key] = want;
    }
    return changes;
  }

  const headingId = newId('mapping');
  return h('section', { class: 'card', 'aria-labelledby': headingId, testid: 'mapping-card' },
    h('h2', { id: headingId }, 'Attribute mapping (optional)'),
    h('p', {}, saml
      ? 'Where each field of the profile the app receives comes from: the name of the SAML attribute your identity provider sends it in, or the NameID. Leave a field empty for the default.'
      : 'Where each field of the profile the app receives comes from: the name of the ID token or userinfo claim your provider sends it in. Leave a field empty for the default.'),
    settingsForm({ connection, member: 'attribute_mapping', fields, collect, rerender, testid: 'mapping-form',
      saveLabel: 'Save the mapping', successText: 'Saved the attribute mapping. Test the sign-in to see the profile the app would receive.' },
    rows));
}

// ---- the SAML options --------------------------------------------------------------------

const BINDINGS = [['http-redirect', 'HTTP-Redirect (default)'], ['http-post', 'HTTP-POST']];
const NAMEID_FORMATS = [
  ['urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified', 'Unspecified (default)'],
  ['urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress', 'Email address'],
  ['urn:oasis:names:tc:SAML:2.0:nameid-format:persistent', 'Persistent'],
  ['urn:oasis:names:tc:SAML:2.0:nameid-format:transient', 'Transient'],
];
const CLOCK_SKEW = { min: 0, max: 600, fallback: 120 };

function select(choices, now) {
  return h('select', {}, choices.map(([value, label]) => h('option', { value, selected: value === now }, label)));
}

export function samlOptionsCard(connection, rerender) {
  if (connection.type !== 'saml') return null;
  const stored = connection.options || {};
  const binding = field({ label: 'How the sign-in request reaches your IdP', testid: 'option-binding',
    input: select(BINDINGS, stored.binding || BINDINGS[0][0]) });
  const nameidFormat = field({ label: 'NameID format to ask for', testid: 'option-nameid_format',
    hint: 'The format of the NameID your IdP is asked to send (its NameIDPolicy).',
    input: select(NAMEID_FORMATS, stored.nameid_format || NAMEID_FORMATS[0][0]) });
  const skew = field({ label: 'Clock skew tolerated (seconds)', testid: 'option-clock_skew_s',
    hint: `How far your IdP's clock may be from ours, ${CLOCK_SKEW.min} to ${CLOCK_SKEW.max} seconds. Empty: ${CLOCK_SKEW.fallback}.`,
    input: h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'off', class: 'narrow',
      value: stored.clock_skew_s === undefined || stored.clock_skew_s === null ? '' : String(stored.clock_skew_s),
      placeholder: String(CLOCK_SKEW.fallback) }) });
  const flags = {
    sign_authn_requests: checkbox({ label: 'Sign the sign-in requests (RSA-SHA256)', testid: 'option-sign_authn_requests',
      checked: stored.sign_authn_requests === true,
      hint: 'For an IdP that requires signed requests; the SP metadata then says so. Download it again after changing this.' }),
    require_encryption: checkbox({ label: 'Require encrypted assertions', testid: 'option-require_encryption',
      checked: stored.require_encryption === true,
      hint: 'A response whose assertion is not encrypted is refused. Turn on encryption at your IdP first, with the SP metadata\'s encryption certificate.' }),
    allow_3des: checkbox({ label: 'Allow 3DES-CBC encryption', testid: 'option-allow_3des', checked: stored.allow_3des === true,
      hintClass: 'warning',
      hint: 'Warning: 3DES is an outdated cipher (64-bit blocks). Allow it only for an IdP that cannot encrypt with AES.' }),
  };
  // Every field by its option's name, for the API's errors ("options.clock_skew_s must ...").
  const fields = { binding, nameid_format: nameidFormat, clock_skew_s: skew };
  for (const [key, f] of Object.entries(flags)) {
    const error = h('p', { class: 'field-error', id: `${f.input.id}-error`, testid: `option-${key}-error`, hidden: true });
    f.input.setAttribute('aria-describedby', [f.input.getAttribute('aria-describedby'), error.id].filter(Boolean).join(' '));
    f.wrap.append(error);
    fields[key] = { input: f.input, error };
  }

  // A value equal to the default is sent as null: the option goes back to its default.
  function collect() {
    const changes = {};
    const choice = (key, value, fallback) => {
      const want = value === fallback ? null : value;
      if (want !== (stored[key] === undefined ? null : stored[key])) changes[key] = want;
    };
    choice('binding', binding.input.value, BINDINGS[0][0]);
    choice('nameid_format', nameidFormat.input.value, NAMEID_FORMATS[0][0]);
    for (const [key, f] of Object.entries(flags)) choice(key, f.input.checked, false);
    const text = skew.input.value.trim();
    if (text === '') choice('clock_skew_s', null, null);
    else if (/^-?\d+(\.\d+)?$/.test(text)) choice('clock_skew_s', Number(text), null);
    else {
      setError(skew, `Enter a whole number of seconds from ${CLOCK_SKEW.min} to ${CLOCK_SKEW.max}, or leave it empty for ${CLOCK_SKEW.fallback}.`);
      return null;
    }
    return changes;
  }

  const headingId = newId('options');
  return h('section', { class: 'card', 'aria-labelledby': headingId, testid: 'saml-options-card' },
    h('h2', { id: headingId }, 'SAML options (optional)'),
    h('p', {}, 'Change these only when your identity provider asks for it; the defaults suit most.'),
    settingsForm({ connection, member: 'options', fields, collect, rerender, testid: 'saml-options-form',
      saveLabel: 'Save the SAML options', successText: 'Saved the SAML options. Test the sign-in to check them.' },
    binding.wrap, nameidFormat.wrap, skew.wrap, Object.values(flags).map((f) => f.wrap)));
}
