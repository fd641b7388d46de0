// connection.js: one connection's setup (#/connections/<id>): the values to give the IdP and
// its console steps, the IdP's details (SAML: metadata URL, file, pasted XML or by hand, each
// checked at once by POST saml/check; OIDC: issuer, client, write-only secret, scopes, checked
// by discovery on save), the attribute mapping and SAML options (mapping.js), the test, and
// enable / disable.
import { api, plainId } from './api.js';
import { badge, certificateLine, copyField, fill, h, newId, statusBadge, stepHeading, table } from '../common/dom.js';
import { field, setError } from './fields.js';
import { docsList, loadGuides, protocolName, stepList } from './guides.js';
import { lastLoginSection } from './last-login.js';
import { mappingCard, samlOptionsCard } from './mapping.js';
import { startTest } from './testing.js';

function readFile(input) {
  const file = input.files && input.files[0];
  if (!file) return Promise.resolve(null);
  if (file.size > 1024 * 1024) return Promise.reject(new Error('This file is larger than 1 MiB; it is not SAML metadata or a certificate.'));
  return file.text();
}

// What a check or a stored connection says about the IdP: entity ID, SSO URL, certificates.
function idpSummary(saml, testid) {
  if (!saml || (!saml.idp_entity_id && !saml.idp_sso_url)) return null;
  const details = saml.idp_certificate_details || [];
  return h('dl', { class: 'summary', testid },
    h('div', { class: 'dl-row' }, h('dt', {}, 'Entity ID'), h('dd', { class: 'mono', testid: `${testid}-entity-id` }, saml.idp_entity_id || '')),
    h('div', { class: 'dl-row' }, h('dt', {}, 'Sign-on URL'), h('dd', { class: 'mono', testid: `${testid}-sso-url` }, saml.idp_sso_url || '')),
    h('div', { class: 'dl-row' }, h('dt', {}, 'Certificates'), h('dd', {}, details.length
      ? h('ul', { class: 'certs' }, details.map(certificateLine))
      : `${(saml.idp_certificates || []).length} certificate(s)`)));
}

function splitPem(text) {
  const pems = String(text || '').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  return pems && pems.length ? pems : (text.trim() ? [text.trim()] : []);
}

// ---- SAML ----------------------------------------------------------------------------------

const SAML_METHODS = [
  ['url', 'Metadata URL'],
  ['upload', 'Upload a metadata file'],
  ['paste', 'Paste metadata XML'],
  ['manual', 'Enter the details by hand'],
];

function samlForm(connection, rerender) {
  const saml = connection.saml || {};
  const url = field({ label: 'Metadata URL', testid: 'idp-metadata-url',
    hint: 'The https address where your IdP publishes this app\'s SAML metadata.',
    input: h('input', { type: 'url', value: saml.idp_metadata_url || '', autocomplete: 'off', spellcheck: 'false', placeholder: 'https://' }) });
  const file = field({ label: 'Metadata file (XML)', testid: 'idp-metadata-file',
    input: h('input', { type: 'file', accept: '.xml,application/xml,text/xml,application/samlmetadata+xml' }) });
  const xml = field({ label: 'Metadata XML', testid: 'idp-metadata-xml',
    input: h('textarea', { rows: '8', class: 'mono', spellcheck: 'false', placeholder: '<EntityDescriptor …' }) });
  const entity = field({ label: 'IdP entity ID (issuer)', testid: 'idp-entity-id',
    input: h('input', { type: 'text', value: saml.idp_entity_id || '', autocomplete: 'off', spellcheck: 'false' }) });
  const sso = field({ label: 'Single sign-on URL (HTTP-Redirect or HTTP-POST)', testid: 'idp-sso-url',
    input: h('input', { type: 'url', value: saml.idp_sso_url || '', autocomplete: 'off', spellcheck: 'false', placeholder: 'https://' }) });
  const certFile = field({ label: 'Signing certificate file (PEM or .cer)', testid: 'idp-certificate-file',
    input: h('input', { type: 'file', accept: '.pem,.cer,.crt,application/x-x509-ca-cert,application/x-pem-file' }) });
  const cert = field({ label: 'Signing certificate (PEM)', testid: 'idp-certificate',
    hint: (saml.idp_certificates || []).length ? 'Leave empty to keep the certificates saved now.' : null,
    input: h('textarea', { rows: '6', class: 'mono', spellcheck: 'false', placeholder: '-----BEGIN CERTIFICATE-----' }) });
  const found = h('div', { 'aria-live': 'polite', class: 'check-result' });
  const status = h('p', { class: 'save-status', role: 'status', testid: 'save-status' });
  const formError = h('p', { class: 'error', role: 'alert', testid: 'save-error', hidden: true });

  const initial = saml.idp_metadata_url ? 'url' : saml.idp_entity_id ? 'manual' : 'url';
  const panels = {
    url: h('div', { class: 'panel', testid: 'panel-url' }, url.wrap),
    upload: h('div', { class: 'panel', testid: 'panel-upload' }, file.wrap),
    paste: h('div', { class: 'panel', testid: 'panel-paste' }, xml.wrap),
    manual: h('div', { class: 'panel', testid: 'panel-manual' }, entity.wrap, sso.wrap, certFile.wrap, cert.wrap),
  };
  let method = initial;
  const group = `method-${connection.id}`;
  const radios = SAML_METHODS.map(([value, label]) => {
    const id = newId('method');
    const radio = h('input', { type: 'radio', name: group, id, value, checked: value === initial, testid: `method-${value}`,
      on: { change: () => choose(value) } });
    return h('div', { class: 'radio' }, radio, h('label', { for: id }, label));
  });
  function choose(value) {
    method = value;
    for (const [key, panel] of Object.entries(panels)) panel.hidden = key !== value;
    fill(found);
  }
  choose(initial);

  // One field's check: POST saml/check with that field; its error next to it, or what it gave.
  async function check(f, body) {
    setError(f, '');
    try {
      const answer = await api('POST', 'saml/check', body);
      if (body.idp_metadata_xml || body.idp_metadata_url) fill(found, h('p', { class: 'ok-line' }, badge('Valid metadata', 'ok')), idpSummary(answer, 'check-summary'));
      else if (body.idp_certificates) fill(found, h('ul', { class: 'certs', testid: 'check-summary' }, (answer.idp_certificate_details || []).map(certificateLine)));
      return true;
    } catch (e) {
      if (e.status === 401) return false;
      setError(f, e.description);
      if (body.idp_metadata_xml || body.idp_metadata_url) fill(found);
      return false;
    }
  }
  let fileXml = null;
  url.input.addEventListener('change', () => url.input.value.trim() && check(url, { idp_metadata_url: url.input.value.trim() }));
  xml.input.addEventListener('change', () => xml.input.value.trim() && check(xml, { idp_metadata_xml: xml.input.value }));
  entity.input.addEventListener('change', () => entity.input.value.trim() && check(entity, { idp_entity_id: entity.input.value.trim() }));
  sso.input.addEventListener('change', () => sso.input.value.trim() && check(sso, { idp_sso_url: sso.input.value.trim() }));
  cert.input.addEventListener('change', () => cert.input.value.trim() && check(cert, { idp_certificates: splitPem(cert.input.value) }));
  file.input.addEventListener('change', async () => {
    setError(file, '');
    try {
      fileXml = await readFile(file.input);
    } catch (e) {
      fileXml = null;
      setError(file, e.message);
      return;
    }
    if (fileXml !== null) check(file, { idp_metadata_xml: fileXml });
  });
  certFile.input.addEventListener('change', async () => {
    setError(certFile, '');
    try {
      const text = await readFile(certFile.input);
      if (text === null) return;
      cert.input.value = text;
      check(cert, { idp_certificates: splitPem(text) });
    } catch (e) {
      setError(certFile, e.message);
    }
  });

  // What to save for the chosen way, each part checked first; null when a check failed.
  async function collect() {
    if (method === 'url') {
      const value = url.input.value.trim();
      if (!value) return setError(url, 'Enter the metadata URL.'), null;
      return await check(url, { idp_metadata_url: value }) ? { idp_metadata_url: value } : null;
    }
    if (method === 'upload') {
      if (fileXml === null) return setError(file, 'Choose the metadata file.'), null;
      return await check(file, { idp_metadata_xml: fileXml }) ? { idp_metadata_xml: fileXml } : null;
    }
    if (method === 'paste') {
      if (!xml.input.value.trim()) return setError(xml, 'Paste the metadata XML.'), null;
      return await check(xml, { idp_metadata_xml: xml.input.value }) ? { idp_metadata_xml: xml.input.value } : null;
    }
    const body = {};
    const checks = [];
    const stored = (saml.idp_certificates || []).length > 0;
    if (!entity.input.value.trim()) setError(entity, 'Enter the IdP\'s entity ID.');
    else checks.push(check(entity, { idp_entity_id: (body.idp_entity_id = entity.input.value.trim()) }));
    if (!sso.input.value.trim()) setError(sso, 'Enter the single sign-on URL.');
    else checks.push(check(sso, { idp_sso_url: (body.idp_sso_url = sso.input.value.trim()) }));
    if (cert.input.value.trim()) checks.push(check(cert, { idp_certificates: (body.idp_certificates = splitPem(cert.input.value)) }));
    else if (!stored) setError(cert, 'Upload or paste the IdP\'s signing certificate.');
    const oks = await Promise.all(checks);
    const complete = body.idp_entity_id && body.idp_sso_url && (body.idp_certificates || stored);
    return complete && oks.every(Boolean) ? body : null;
  }

  const save = h('button', { type: 'submit', testid: 'save-saml' }, 'Save');
  async function submit(event) {
    event.preventDefault();
    formError.hidden = true;
    fill(status);
    save.disabled = true;
    try {
      const body = await collect();
      if (!body) {
        fill(status, 'Not saved: correct the field marked above.');
        return;
      }
      await api('PATCH', `connections/${plainId(connection.id)}`, { saml: body });
      fill(status, 'Saved.');
      rerender('Saved. Now test the sign-in.');
    } catch (e) {
      if (e.status === 401) return;
      const target = { url, upload: file, paste: xml }[method];
      if (target) setError(target, e.description);
      else {
        formError.textContent = e.description;
        formError.hidden = false;
      }
      fill(status, 'Not saved.');
    } finally {
      save.disabled = false;
    }
  }

  return h('form', { class: 'idp-form', testid: 'saml-form', novalidate: true, on: { submit } },
    idpSummary(saml, 'saved-idp') ? h('div', { class: 'saved' }, h('h3', {}, 'Saved now'), idpSummary(saml, 'saved-idp')) : null,
    h('fieldset', { class: 'methods' }, h('legend', {}, 'How do you want to give your IdP\'s details?'), radios),
    Object.values(panels), found, formError,
    h('div', { class: 'actions' }, save, status));
}

function spValues(connection, guide, nameIdFormat) {
  const sp = connection.sp || {};
  const attributes = (guide.saml && guide.saml.attributes) || [];
  return h('div', { class: 'sp-values' },
    copyField('SP entity ID (audience)', sp.entity_id, 'sp-entity-id'),
    copyField('Assertion Consumer Service (ACS) URL, HTTP-POST', sp.acs_url, 'sp-acs-url'),
    copyField('SP metadata URL', sp.metadata_url, 'sp-metadata-url'),
    h('div', { class: 'actions' }, h('a', { href: sp.metadata_url, download: `sp-metadata-${connection.id}.xml`, class: 'button secondary',
      testid: 'sp-metadata-download' }, 'Download the SP metadata')),
    h('h3', {}, 'Attributes to send'),
    h('p', { class: 'muted' }, `NameID format: `, h('code', {}, nameIdFormat)),
    attributes.length ? table(['Profile field', 'Attribute name', 'Value in your IdP'],
      attributes.map((a) => [a.field, h('code', {}, a.name), a.source || '']), { 'data-testid': 'attributes-table' }) : null);
}

// ---- OIDC ----------------------------------------------------------------------------------

function oidcForm(connection, guide, rerender) {
  const oidc = connection.oidc || {};
  const hasSecret = Boolean(oidc.client_secret_set || oidc.has_client_secret);
  const scopesNow = Array.isArray(oidc.scopes) && oidc.scopes.length ? oidc.scopes
    : (guide.oidc && guide.oidc.scopes) || ['openid', 'email', 'profile'];
  const issuer = field({ label: 'Issuer', testid: 'oidc-issuer',
    hint: 'Exactly as your provider\'s /.well-known/openid-configuration states it.',
    input: h('input', { type: 'url', value: oidc.issuer || '', autocomplete: 'off', spellcheck: 'false',
      placeholder: (guide.oidc && guide.oidc.issuer) || 'https://' }) });
  const clientId = field({ label: 'Client ID', testid: 'oidc-client-id',
    input: h('input', { type: 'text', value: oidc.client_id || '', autocomplete: 'off', spellcheck: 'false' }) });
  const secret = field({ label: 'Client secret', testid: 'oidc-client-secret',
    hint: hasSecret ? 'A secret is set and is never shown again. Leave this empty to keep it, or enter a new one to replace it.'
      : 'It is stored encrypted and never shown again.',
    input: h('input', { type: 'password', value: '', autocomplete: 'new-password', spellcheck: 'false' }) });
  const scopes = field({ label: 'Scopes (separated by spaces)', testid: 'oidc-scopes',
    input: h('input', { type: 'text', value: scopesNow.join(' '), autocomplete: 'off', spellcheck: 'false' }) });
  const secretState = h('p', { class: 'secret-state', testid: 'oidc-secret-set' },
    hasSecret ? badge('Client secret is set', 'ok') : badge('No client secret yet', 'warn'));
  const status = h('p', { class: 'save-status', role: 'status', testid: 'save-status' });
  const save = h('button', { type: 'submit', testid: 'save-oidc' }, 'Save and check');
  const fields = [issuer, clientId, secret, scopes];

  // Which field a refusal is about: discovery's reasons are the issuer's unless they name
  // another field.
  function fieldOf(description) {
    const text = (description || '').toLowerCase();
    if (/client_secret|client secret/.test(text)) return secret;
    if (/client_id|client id/.test(text)) return clientId;
    if (/scope/.test(text)) return scopes;
    return issuer;
  }

  async function submit(event) {
    event.preventDefault();
    fields.forEach((f) => setError(f, ''));
    fill(status);
    const body = { issuer: issuer.input.value.trim(), client_id: clientId.input.value.trim(),
      scopes: scopes.input.value.split(/\s+/).filter(Boolean) };
    let missing = false;
    if (!body.issuer) missing = setError(issuer, 'Enter the issuer.') || true;
    if (!body.client_id) missing = setError(clientId, 'Enter the client ID.') || true;
    if (!secret.input.value && !hasSecret) missing = setError(secret, 'Enter the client secret.') || true;
    if (!body.scopes.includes('openid')) missing = setError(scopes, 'The scopes must include openid.') || true;
    if (missing) {
      fill(status, 'Not saved: correct the field marked above.');
      return;
    }
    if (secret.input.value) body.client_secret = secret.input.value;
    save.disabled = true;
    fill(status, 'Checking your provider…');
    try {
      await api('PATCH', `connections/${plainId(connection.id)}`, { oidc: body });
      secret.input.value = '';
      rerender('Saved: your provider answered discovery. Now test the sign-in.');
    } catch (e) {
      if (e.status === 401) return;
      setError(fieldOf(e.description), e.description);
      fill(status, 'Not saved.');
    } finally {
      save.disabled = false;
    }
  }

  return h('form', { class: 'idp-form', testid: 'oidc-form', novalidate: true, on: { submit } },
    issuer.wrap, clientId.wrap, secretState, secret.wrap, scopes.wrap,
    h('div', { class: 'actions' }, save, status));
}

function redirectValues(connection, guide) {
  const claims = (guide.oidc && guide.oidc.claims) || [];
  return h('div', { class: 'sp-values' },
    copyField('Redirect URI (sign-in redirect URI, callback URL)', connection.oidc && connection.oidc.redirect_uri, 'redirect-uri'),
    h('h3', {}, 'Claims the app reads'),
    claims.length ? table(['Profile field', 'Claim'], claims.map((c) => [c.field, h('code', {}, c.name)]),
      { 'data-testid': 'claims-table' }) : null);
}

// ---- the view ------------------------------------------------------------------------------

export async function connectionView(view, id, { state, rememberGuide, guideFor }) {
  const all = await loadGuides();
  let connection = await api('GET', `connections/${plainId(id)}`);
  let notice = '';

  function render() {
    const usable = all.idps.filter((idp) => idp[connection.type]);
    const guide = guideFor(connection, all);
    const idpName = guide.id === connection.type ? 'your identity provider' : guide.name;
    const selectId = newId('guide');
    const guideSelect = h('select', { id: selectId, testid: 'guide-select',
      on: { change: (event) => { rememberGuide(connection.id, event.target.value); render(); } } },
    usable.map((idp) => h('option', { value: idp.id, selected: idp.id === guide.id }, idp.name)));
    const testError = h('p', { class: 'error', role: 'alert', testid: 'test-error', hidden: true });
    const testHolder = h('div', { class: 'test-holder', 'aria-live': 'polite' });
    const toggleError = h('p', { class: 'error', role: 'alert', testid: 'enable-error', hidden: true });
    const proto = guide[connection.type];
    const active = connection.status === 'active';
    async function toggle() {
      toggleError.hidden = true;
      try {
        connection = await api('POST', `connections/${plainId(connection.id)}/${active ? 'disable' : 'enable'}`);
        notice = active ? 'Disabled: people sign in through this connection no more.' : 'Enabled: your people can now sign in with it.';
        render();
      } catch (e) {
        if (e.status === 401) return;
        toggleError.textContent = e.description;
        toggleError.hidden = false;
      }
    }
    async function remove() {
      if (!window.confirm(`Delete the connection "${connection.name || protocolName(connection.type)}"? This cannot be undone.`)) return;
      try {
        await api('DELETE', `connections/${plainId(connection.id)}`);
        window.location.hash = '#/';
      } catch (e) {
        if (e.status !== 401) {
          toggleError.textContent = e.description;
          toggleError.hidden = false;
        }
      }
    }
    async function rerender(message) {
      try {
        connection = await api('GET', `connections/${plainId(connection.id)}`);
      } catch (e) {
        if (e.status === 401) return;
      }
      notice = message;
      render();
    }
    fill(view,
      h('p', { class: 'crumbs' }, h('a', { href: '#/' }, '← Overview')),
      h('div', { class: 'title-row' },
        h('h1', { tabindex: '-1', testid: 'connection-name' }, connection.name || protocolName(connection.type)),
        statusBadge(connection.status, 'connection-status')),
      h('p', { class: 'muted' }, `${protocolName(connection.type)} connection`),
      notice ? h('p', { class: 'notice', role: 'status', testid: 'notice' }, notice) : null,
      h('div', { class: 'field field-inline' }, h('label', { for: selectId }, 'Instructions for'), guideSelect),
      h('section', { class: 'card', 'aria-labelledby': 'step1' },
        h('div', { id: 'step1' }, stepHeading(1, `Register the app in ${idpName}`)),
        h('p', {}, connection.type === 'saml' ? 'Give these values to your identity provider:' : 'Register this redirect URI at your provider:'),
        connection.type === 'saml' ? spValues(connection, guide, all.name_id_format) : redirectValues(connection, guide),
        h('h3', {}, `Steps in ${guide.name}`),
        stepList(proto.steps, connection, state.org),
        proto.copy_back ? h('p', { class: 'copy-back' }, h('strong', {}, 'Bring back: '), proto.copy_back) : null,
        docsList(proto.docs)),
      h('section', { class: 'card', 'aria-labelledby': 'step2' },
        h('div', { id: 'step2' }, stepHeading(2, `Enter ${idpName === 'your identity provider' ? 'your identity provider\'s' : `${guide.name}'s`} details`)),
        connection.type === 'saml' ? samlForm(connection, rerender) : oidcForm(connection, guide, rerender)),
      mappingCard(connection, rerender),
      samlOptionsCard(connection, rerender),
      h('section', { class: 'card', 'aria-labelledby': 'step3' },
        h('div', { id: 'step3' }, stepHeading(3, 'Test the sign-in')),
        h('p', {}, 'A test window opens where you sign in at your identity provider. The sign-in never reaches the app; you see what the app would receive, or exactly why it failed.'),
        h('div', { class: 'actions' }, h('button', { type: 'button', testid: 'test-button',
          on: { click: () => startTest(connection, testHolder, testError, state.stops) } }, 'Test sign-in')),
        testError, testHolder),
      lastLoginSection(connection),
      h('section', { class: 'card', 'aria-labelledby': 'step4' },
        h('div', { id: 'step4' }, stepHeading(4, active ? 'It is on' : 'Turn it on')),
        h('p', {}, active
          ? 'People at your organization\'s domains sign in through this connection.'
          : 'Once enabled, people at your organization\'s domains sign in through this connection.'),
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: active ? 'secondary' : '', testid: active ? 'disable-button' : 'enable-button',
            on: { click: toggle } }, active ? 'Disable' : 'Enable'),
          h('button', { type: 'button', class: 'danger', testid: 'delete-connection', on: { click: remove } }, 'Delete connection')),
        toggleError));
    // After a change, the notice says what happened; otherwise the heading leads.
    const lead = view.querySelector('[data-testid="notice"]') || view.querySelector('h1');
    if (notice && lead) {
      lead.setAttribute('tabindex', '-1');
      lead.focus();
    }
    notice = '';
  }
  render();
}
