// The management API's OpenAPI 3.1 document (services/directory/api/openapi.json) against the
// real API: swagger-parser validates the document; the broker serves it byte for byte; every
// operation is called (success and typical errors) and each answer is checked, by ajv with the
// JSON Schema 2020-12 dialect of OpenAPI 3.1, against the document's schema for its status;
// and every path the code serves must be in the document with the methods it offers.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const SwaggerParser = require('@apidevtools/swagger-parser');
const Ajv2020 = require('ajv/dist/2020');
const addFormats = require('ajv-formats');
const { generators } = require('openid-client');
const { startBroker } = require('./broker');
const { simulatorLogin } = require('./login');

const ROOT = path.resolve(__dirname, '..', '..');
const DOC_FILE = path.join(ROOT, 'services', 'directory', 'api', 'openapi.json');
const DOC_TEXT = fs.readFileSync(DOC_FILE, 'utf8');
const METHODS = ['get', 'post', 'patch', 'delete', 'put'];
// Operations the document describes before the code has them (x-sso-planned): checked once the
// broker serves them, skipped until then.
const PLANNED = 'x-sso-planned';

let broker;
let token;
let api; // the dereferenced document
let ajv;
const validators = new WeakMap();
const operations = []; // {method, template, segments, op}
const exercised = new Set(); // "METHOD template" answered with a success status

before(async () => {
  api = await SwaggerParser.dereference(JSON.parse(DOC_TEXT));
  ajv = new Ajv2020({ strict: true, strictTypes: false, strictRequired: false, allErrors: true });
  addFormats(ajv);
  // OpenAPI's own keywords beside JSON Schema's: annotations for this check.
  ajv.addVocabulary(['discriminator', 'xml', 'externalDocs', 'example']);
  for (const [template, item] of Object.entries(api.paths)) {
    for (const method of METHODS) {
      if (item[method]) {
        const query = [...(item.parameters || []), ...(item[method].parameters || [])].filter((p) => p.in === 'query').map((p) => p.name);
        operations.push({ method: method.toUpperCase(), template, segments: template.split('/').slice(1), op: item[method], query });
      }
    }
  }
  broker = await startBroker();
  token = await broker.adminToken();
});
after(async () => { if (broker) await broker.stop(); });

function validator(schema) {
  let validate = validators.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    validators.set(schema, validate);
  }
  return validate;
}

function assertValid(schema, value, what) {
  const validate = validator(schema);
  assert.ok(validate(value), `${what} does not match the document: ${ajv.errorsText(validate.errors, { separator: '; ' })}\n${JSON.stringify(value, null, 1).slice(0, 2000)}`);
}

// The operation of the document that method and a concrete path (after /api/v1) fall under.
function operationOf(method, concrete) {
  const segments = concrete.split('?')[0].split('/').slice(1);
  return operations.find((o) => o.method === method && o.segments.length === segments.length
    && o.segments.every((s, i) => (s.startsWith('{') && s.endsWith('}')) || s === segments[i]));
}

function templateOf(concrete) {
  const segments = concrete.split('/').slice(1);
  return Object.keys(api.paths).find((t) => {
    const ts = t.split('/').slice(1);
    return ts.length === segments.length && ts.every((s, i) => s.startsWith('{') || s === segments[i]);
  });
}

// Calls the API and checks the answer against the document: its status must be the expected
// one and listed by the operation (405 falls under `default`), its body valid for that status.
async function call(method, p, body, expect, { auth = `Bearer ${token}` } = {}) {
  const headers = {};
  if (auth) headers.authorization = auth;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${broker.url}/api/v1${p}`, {
    method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  assert.equal(r.status, expect, `${method} ${p} answered ${r.status}: ${text.slice(0, 500)}`);
  const found = operationOf(method, p);
  let response;
  if (found) {
    for (const name of new URLSearchParams(p.split('?')[1] || '').keys()) {
      assert.ok(found.query.includes(name), `${method} ${found.template}: the query parameter ${name} is not in the document`);
    }
    response = found.op.responses[String(r.status)];
    if (!response && r.status >= 500 || r.status === 405) response = found.op.responses.default;
    assert.ok(response, `${method} ${found.template} answered ${r.status}, which the document does not list`);
  } else {
    assert.equal(r.status, 405, `${method} ${p} is not in the document`);
    response = { content: api.components.responses.Error.content };
  }
  let json = null;
  if (response.content) {
    assert.match(r.headers.get('content-type') || '', /^application\/json/, `${method} ${p}: content type`);
    json = JSON.parse(text);
    assertValid(response.content['application/json'].schema, json, `${method} ${p} ${r.status}`);
  } else {
    assert.equal(text, '', `${method} ${p} ${r.status} has a body the document does not describe`);
  }
  if (found && r.status < 300) {
    exercised.add(`${found.method} ${found.template}`);
    const requestSchema = found.op.requestBody?.content?.['application/json']?.schema;
    if (requestSchema && body !== undefined && typeof body === 'object') {
      assertValid(requestSchema, body, `the request body of ${method} ${p}, which the API accepted,`);
    }
  }
  return { status: r.status, json, headers: r.headers };
}

function certificate(days) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openapi-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=idp.openapi.test',
      '-days', String(days), '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    return fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('the document is valid OpenAPI 3.1, and every schema in it compiles under JSON Schema 2020-12', async () => {
  const doc = JSON.parse(DOC_TEXT);
  assert.match(doc.openapi, /^3\.1\.\d+$/);
  await SwaggerParser.validate(JSON.parse(DOC_TEXT));
  // The validator is live: a broken copy is refused.
  const broken = JSON.parse(DOC_TEXT);
  broken.paths['/organizations'].get.responses['200'].content['application/json'].schema = { $ref: '#/components/schemas/Nothing' };
  await assert.rejects(SwaggerParser.validate(broken));
  const typo = JSON.parse(DOC_TEXT);
  delete typo.paths['/events'].get.responses['200'].description;
  await assert.rejects(SwaggerParser.validate(typo));
  // ajv in strict mode refuses a keyword it does not know: a misspelt one is caught here.
  for (const [name, schema] of Object.entries(api.components.schemas)) {
    assert.doesNotThrow(() => validator(schema), `components.schemas.${name}`);
  }
  assert.throws(() => ajv.compile({ type: 'object', requried: ['x'] }));
});

test('GET /api/v1/openapi.json serves the document byte for byte, without a token', async () => {
  const r = await fetch(`${broker.url}/api/v1/openapi.json`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.equal(r.headers.get('access-control-allow-origin'), '*');
  assert.ok(await r.text() === DOC_TEXT, 'the served document differs from the file: is the build current?');
  const head = await fetch(`${broker.url}/api/v1/openapi.json`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  await call('GET', '/openapi.json', undefined, 200, { auth: null });
  const post = await call('POST', '/openapi.json', {}, 405, { auth: null });
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  // Beside it, the token is needed as anywhere else.
  await call('GET', '/organizations', undefined, 401, { auth: null });
});

test('every operation answers as the document says, success and typical errors', async () => {
  // Authentication.
  const none = await call('GET', '/organizations', undefined, 401, { auth: null });
  assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="sso"');
  const forged = await call('GET', '/organizations', undefined, 401, { auth: 'Bearer at_forged' });
  assert.match(forged.headers.get('www-authenticate'), /error="invalid_token"/);
  await call('POST', '/keys/rotate', undefined, 401, { auth: null });
  await call('POST', '/keys/rotate', undefined, 401, { auth: 'Bearer at_forged' });
  await call('PUT', '/organizations', {}, 405);

  // Organizations.
  const acme = (await call('POST', '/organizations', { display_name: 'Acme', external_id: 'acme-openapi' }, 201)).json;
  const beta = (await call('POST', '/organizations', { display_name: 'Beta' }, 201)).json;
  assert.equal(beta.external_id, null);
  await call('POST', '/organizations', {}, 400);
  await call('POST', '/organizations', '{', 400);
  await call('POST', '/organizations', { display_name: 'Other', external_id: 'acme-openapi' }, 409);
  const first = (await call('GET', '/organizations?page_size=1', undefined, 200)).json;
  assert.equal(first.data.length, 1);
  assert.notEqual(first.next_page_token, '');
  await call('GET', `/organizations?page_size=1&page_token=${encodeURIComponent(first.next_page_token)}`, undefined, 200);
  const all = (await call('GET', '/organizations?page_size=200', undefined, 200)).json;
  assert.equal(all.next_page_token, '');
  await call('GET', '/organizations?page_size=0', undefined, 400);
  await call('GET', '/organizations?page_token=bogus', undefined, 400);
  // A search: a part of the name in any case, the whole external id; pages over what it finds;
  // too long, control characters and bytes that are not UTF-8 refused.
  assert.ok(api.paths['/organizations'].get.parameters.some((p) => p.name === 'search' && p.in === 'query'));
  const found = (await call('GET', '/organizations?search=%20cM&page_size=1', undefined, 200)).json;
  assert.deepEqual([found.data.map((o) => o.id), found.next_page_token], [[acme.id], '']);
  const byExternal = (await call('GET', '/organizations?search=acme-openapi', undefined, 200)).json;
  assert.deepEqual(byExternal.data.map((o) => o.id), [acme.id]);
  assert.deepEqual((await call('GET', '/organizations?search=%25', undefined, 200)).json.data, []);
  await call('GET', `/organizations?search=${'a'.repeat(201)}`, undefined, 400);
  await call('GET', '/organizations?search=a%01', undefined, 400);
  await call('GET', '/organizations?search=%FF', undefined, 400);
  await call('GET', `/organizations/${acme.id}`, undefined, 200);
  await call('GET', '/organizations/org_nope', undefined, 404);
  await call('PATCH', `/organizations/${acme.id}`, { display_name: 'Acme Inc', external_id: null }, 200);
  await call('PATCH', `/organizations/${beta.id}`, { external_id: 'beta-openapi' }, 200);
  await call('PATCH', `/organizations/${acme.id}`, { external_id: 'beta-openapi' }, 409);
  await call('PATCH', `/organizations/${acme.id}`, { display_name: ' ' }, 400);
  await call('PATCH', '/organizations/org_nope', { display_name: 'X' }, 404);

  // Domains.
  const orgPath = `/organizations/${acme.id}`;
  const domain = (await call('POST', `${orgPath}/domains`, { domain: ' Acme-OpenAPI.test ' }, 201)).json;
  assert.equal(domain.domain, 'acme-openapi.test');
  await call('POST', `${orgPath}/domains`, { domain: 'gmail.com' }, 400);
  await call('POST', `${orgPath}/domains`, { domain: '*.acme.test' }, 400);
  await call('POST', `/organizations/${beta.id}/domains`, { domain: 'acme-openapi.test' }, 409);
  await call('POST', '/organizations/org_nope/domains', { domain: 'nope-openapi.test' }, 404);
  await call('GET', `${orgPath}/domains`, undefined, 200);
  await call('GET', `${orgPath}/domains?page_size=x`, undefined, 400);
  await call('GET', '/organizations/org_nope/domains', undefined, 404);
  await call('GET', `${orgPath}/domains/${domain.id}`, undefined, 200);
  await call('GET', `/organizations/${beta.id}/domains/${domain.id}`, undefined, 404);
  await call('DELETE', `${orgPath}/domains/${domain.id}`, undefined, 204);
  await call('DELETE', `${orgPath}/domains/${domain.id}`, undefined, 404);

  // Connections: SAML and OIDC, drafts without the IdP's settings, complete ones, and changes.
  const pem = certificate(30);
  const samlDraft = (await call('POST', `${orgPath}/connections`, { type: 'saml' }, 201)).json;
  assert.equal(samlDraft.status, 'draft');
  assert.equal(samlDraft.saml.idp_entity_id, null);
  const saml = (await call('POST', `${orgPath}/connections`, {
    type: 'saml', name: 'Okta',
    saml: { idp_entity_id: 'https://idp.openapi.test/entity', idp_sso_url: 'https://idp.openapi.test/sso', idp_certificates: [pem] },
    attribute_mapping: { email: 'mail', groups: 'memberOf' },
  }, 201)).json;
  assert.equal(saml.saml.idp_certificate_details.length, 1);
  assert.equal(saml.saml.idp_certificate_details[0].expired, false);
  const metadata = `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.openapi.test/md">
<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>${pem.replace(/-----[^-]+-----|\s/g, '')}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>
<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.openapi.test/md/sso"/>
</IDPSSODescriptor></EntityDescriptor>`;
  const fromMetadata = (await call('POST', `${orgPath}/connections`, { type: 'saml', saml: { idp_metadata_xml: metadata } }, 201)).json;
  assert.equal(fromMetadata.saml.idp_entity_id, 'https://idp.openapi.test/md');
  await call('POST', `${orgPath}/connections`, { type: 'saml', saml: { idp_certificates: ['not a certificate'] } }, 400);
  await call('POST', `${orgPath}/connections`, { type: 'saml', saml: { idp_metadata_xml: metadata, idp_metadata_url: 'https://idp.openapi.test/md' } }, 400);
  await call('POST', `${orgPath}/connections`, { type: 'ldap' }, 400);
  await call('POST', `${orgPath}/connections`, { type: 'saml', options: { response_mode: 'query' } }, 400);
  await call('POST', '/organizations/org_nope/connections', { type: 'saml' }, 404);
  // The broker's own discovery is a real OIDC provider's (loopback is allowed in these tests).
  const oidc = (await call('POST', `${orgPath}/connections`, {
    type: 'oidc', name: 'Entra',
    oidc: { issuer: broker.url, client_id: 'openapi-client', client_secret: 'openapi-secret', scopes: ['email', 'profile'] },
    options: { response_mode: 'query', token_endpoint_auth_method: 'client_secret_post' },
  }, 201)).json;
  assert.equal(oidc.oidc.client_secret_set, true);
  assert.ok(oidc.oidc.discovered);
  const oidcDraft = (await call('POST', `${orgPath}/connections`, { type: 'oidc', oidc: { scopes: 'email groups' } }, 201)).json;
  assert.equal(oidcDraft.oidc.discovered, null);
  await call('POST', `${orgPath}/connections`, { type: 'oidc', oidc: { issuer: broker.url, client_id: 'c' }, options: { token_endpoint_auth_method: 'private_key_jwt' } }, 400);
  await call('POST', `${orgPath}/connections`, { type: 'oidc', saml: { idp_entity_id: 'x' } }, 400);
  const page = (await call('GET', `${orgPath}/connections?page_size=2`, undefined, 200)).json;
  assert.notEqual(page.next_page_token, '');
  const rest = (await call('GET', `${orgPath}/connections?page_size=200&page_token=${encodeURIComponent(page.next_page_token)}`, undefined, 200)).json;
  assert.deepEqual(new Set([...page.data, ...rest.data].map((c) => c.type)), new Set(['saml', 'oidc']));
  await call('GET', '/organizations/org_nope/connections', undefined, 404);
  await call('GET', `/connections/${saml.id}`, undefined, 200);
  await call('GET', `/connections/${oidc.id}`, undefined, 200);
  await call('GET', '/connections/conn_nope', undefined, 404);
  await call('PATCH', `/connections/${samlDraft.id}`, {
    name: 'Completed', saml: { idp_entity_id: 'https://idp.openapi.test/2', idp_sso_url: 'https://idp.openapi.test/2/sso', idp_certificates: [pem] },
    attribute_mapping: { given_name: 'givenName' },
  }, 200);
  await call('PATCH', `/connections/${saml.id}`, { type: 'saml', status: 'draft', attribute_mapping: { groups: null }, options: null }, 200);
  await call('PATCH', `/connections/${oidc.id}`, { options: { allow_unverified_email: true, response_mode: null }, attribute_mapping: { email: 'upn' }, name: null }, 200);
  await call('PATCH', `/connections/${saml.id}`, { type: 'oidc' }, 400);
  await call('PATCH', `/connections/${saml.id}`, { status: 'active' }, 400);
  await call('PATCH', `/connections/${saml.id}`, { attribute_mapping: { phone: 'tel' } }, 400);
  await call('PATCH', '/connections/conn_nope', { name: 'X' }, 404);
  await call('POST', `/connections/${oidcDraft.id}/enable`, undefined, 400);
  await call('POST', `/connections/${oidcDraft.id}/disable`, undefined, 409);
  assert.equal((await call('POST', `/connections/${saml.id}/enable`, undefined, 200)).json.status, 'active');
  assert.equal((await call('POST', `/connections/${oidc.id}/enable`, undefined, 200)).json.status, 'active');
  assert.equal((await call('POST', `/connections/${saml.id}/disable`, undefined, 200)).json.status, 'inactive');
  await call('POST', '/connections/conn_nope/enable', undefined, 404);
  await call('POST', '/connections/conn_nope/disable', undefined, 404);
  await call('GET', `/connections/${saml.id}/enable`, undefined, 405);
  // SP key rollover: rotated, refused again until retired, retired, nothing left to retire.
  assert.equal((await call('POST', `/connections/${saml.id}/sp_key/rotate`, undefined, 200)).json.sp.certificate_details.length, 2);
  await call('POST', `/connections/${saml.id}/sp_key/rotate`, undefined, 409);
  assert.equal((await call('POST', `/connections/${saml.id}/sp_key/retire_previous`, undefined, 200)).json.sp.previous_certificate, null);
  await call('POST', `/connections/${saml.id}/sp_key/retire_previous`, undefined, 409);
  await call('POST', `/connections/${oidc.id}/sp_key/rotate`, undefined, 400);
  await call('POST', '/connections/conn_nope/sp_key/retire_previous', undefined, 404);
  await call('DELETE', `/connections/${fromMetadata.id}`, undefined, 204);
  await call('DELETE', `/connections/${fromMetadata.id}`, undefined, 404);

  // Clients.
  const client = (await call('POST', '/clients', { name: 'Auth0', redirect_uris: ['https://tenant.openapi.test/login/callback'] }, 201)).json;
  assert.ok(client.client_secret);
  await call('POST', '/clients', { name: 'Bare' }, 201);
  await call('POST', '/clients', { name: '' }, 400);
  await call('POST', '/clients', { name: 'Plain', redirect_uris: ['http://app.openapi.test/cb'] }, 400);
  const clients = (await call('GET', '/clients?page_size=1', undefined, 200)).json;
  assert.notEqual(clients.next_page_token, '');
  const everyClient = (await call('GET', '/clients?page_size=200', undefined, 200)).json;
  assert.ok(everyClient.data.some((c) => c.is_admin));
  await call('GET', '/clients?page_size=201', undefined, 400);
  await call('GET', `/clients/${client.id}`, undefined, 200);
  await call('GET', '/clients/cli_nope', undefined, 404);
  await call('PATCH', `/clients/${client.id}`, { name: 'Auth0 prod', redirect_uris: ['https://tenant.openapi.test/login/callback', 'http://localhost:3000/cb'] }, 200);
  await call('PATCH', `/clients/${client.id}`, { redirect_uris: ['ftp://x.test/'] }, 400);
  await call('PATCH', '/clients/cli_nope', { name: 'X' }, 404);

  // Portal links.
  const link = (await call('POST', `${orgPath}/portal_links`, undefined, 201)).json;
  assert.match(link.location, /\/portal\/start#/);
  await call('POST', `${orgPath}/portal_links`, { expires_in: 600 }, 201);
  await call('POST', `${orgPath}/portal_links`, { expires_in: 5 }, 400);
  await call('POST', '/organizations/org_nope/portal_links', {}, 404);
  const links = (await call('GET', `${orgPath}/portal_links?page_size=1`, undefined, 200)).json;
  assert.equal(links.data[0].used_at, null);
  await call('GET', '/organizations/org_nope/portal_links', undefined, 404);
  await call('DELETE', `${orgPath}/portal_links/${link.id}`, undefined, 204);
  await call('DELETE', `${orgPath}/portal_links/${link.id}`, undefined, 404);

  // Login events: a success and a failure through the IdP simulator, so that the rows carry
  // every field.
  const redirectUri = 'https://tenant.openapi.test/login/callback';
  const { Issuer } = require('openid-client');
  const issuer = await Issuer.discover(broker.url);
  const rp = new issuer.Client({ client_id: client.client_id, client_secret: client.client_secret, redirect_uris: [redirectUri], response_types: ['code'] });
  for (const scenario of ['success', 'wrong_audience']) {
    const url = rp.authorizationUrl({ scope: 'openid email', state: generators.state(), code_challenge: generators.codeChallenge(generators.codeVerifier()), code_challenge_method: 'S256', login_hint: 'jo@example.com' });
    await simulatorLogin(broker.url, url, { email: 'jo@example.com', given_name: 'Jo', family_name: 'Doe', scenario });
  }
  const events = (await call('GET', '/events?organization_id=org_test', undefined, 200)).json;
  assert.deepEqual(new Set(events.data.map((e) => e.outcome)), new Set(['success', 'failure']));
  const one = (await call('GET', '/events?page_size=1', undefined, 200)).json;
  assert.notEqual(one.next_page_token, '');
  await call('GET', `/events?page_token=${encodeURIComponent(one.next_page_token)}&connection_id=conn_simulator`, undefined, 200);
  await call('GET', '/events?page_size=x', undefined, 400);
  // The outcome and time filters, done by the server.
  const failures = (await call('GET', '/events?organization_id=org_test&outcome=failure', undefined, 200)).json;
  assert.ok(failures.data.length > 0 && failures.data.every((e) => e.outcome === 'failure'), JSON.stringify(failures.data));
  const now = Math.floor(Date.now() / 1000);
  const recent = (await call('GET', `/events?outcome=success&since=${now - 3600}&until=${now + 60}&page_size=1`, undefined, 200)).json;
  assert.ok(recent.data.length === 1 && recent.data[0].outcome === 'success');
  assert.equal((await call('GET', `/events?since=${now + 3600}`, undefined, 200)).json.data.length, 0);
  assert.equal((await call('GET', '/events?until=1', undefined, 200)).json.data.length, 0);
  for (const bad of ['outcome=SUCCESS', 'outcome=x', 'since=-1', 'since=1e9', 'until=99999999999999999999']) {
    await call('GET', `/events?${bad}`, undefined, 400);
  }
  await call('POST', '/events', {}, 405);

  // The connection's last successful sign-in (the simulator's above), with the attributes sent.
  const last = (await call('GET', '/connections/conn_simulator/last_login', undefined, 200)).json;
  assert.equal(last.subject, 'jo@example.com');
  assert.ok(last.raw && Object.keys(last.raw).length > 0, JSON.stringify(last));
  await call('GET', `/connections/${oidc.id}/last_login`, undefined, 404);
  await call('GET', '/connections/conn_nope/last_login', undefined, 404);
  await call('POST', '/connections/conn_simulator/last_login', {}, 405);

  // Signing keys: the rotated key is next, the one before it (the first, which the token
  // service makes when its JWKS is first asked for) signs until then.
  assert.equal((await fetch(`${broker.url}/keys`)).status, 200);
  const before = (await call('GET', '/keys', undefined, 200)).json;
  assert.deepEqual(before.data.map((k) => k.state), ['signing']);
  const rotated = (await call('POST', '/keys/rotate', undefined, 201)).json;
  await call('GET', '/keys/rotate', undefined, 405);
  const keys = (await call('GET', '/keys', undefined, 200)).json;
  assert.equal(keys.data.length, before.data.length + 1);
  assert.equal(keys.data.find((k) => k.kid === rotated.kid).state, 'next');
  assert.equal(keys.data.filter((k) => k.state === 'signing').length, 1);
  await call('POST', '/keys', undefined, 405);
  await call('GET', '/keys', undefined, 401, { auth: null });

  // Deletions last.
  await call('DELETE', `/clients/${broker.admin.id}`, undefined, 409);
  await call('DELETE', `/clients/${client.id}`, undefined, 204);
  await call('DELETE', `/clients/${client.id}`, undefined, 404);
  await call('DELETE', `/connections/${oidc.id}`, undefined, 204);
  await call('DELETE', `${orgPath}`, undefined, 204);
  await call('DELETE', `${orgPath}`, undefined, 404);
});

test('a client secret rotates: the new secret once, errors as documented', async () => {
  const client = (await call('POST', '/clients', { name: 'Rotating', redirect_uris: [] }, 201)).json;
  const rotated = (await call('POST', `/clients/${client.id}/rotate_secret`, { overlap_seconds: 60 }, 200)).json;
  assert.notEqual(rotated.client_secret, client.client_secret);
  await call('POST', `/clients/${client.id}/rotate_secret`, undefined, 200);
  await call('POST', '/clients/cli_nope/rotate_secret', {}, 404);
  await call('POST', `/clients/${client.id}/rotate_secret`, { overlap_seconds: -1 }, 400);
  await call('POST', `/clients/${broker.admin.id}/rotate_secret`, {}, 409);
});

// Rows as the SCIM service writes them, straight into the directory's database (the SCIM
// service that will write them is not built yet), so the lists' items are checked too.
function provision(dirId) {
  const sql = `.timeout 5000
INSERT INTO scim_users (id, directory_id, user_name, user_name_lower, external_id, display_name, display_name_lower, email_lower, active, resource_json, created_at, updated_at, deleted_at)
  VALUES ('u-openapi-1', '${dirId}', 'Jo@Example.com', 'jo@example.com', 'ext-1', 'Jo Doe', 'jo doe', 'jo@example.com', 1, '{}', 100, 100, NULL),
         ('u-openapi-2', '${dirId}', 'al', 'al', NULL, NULL, NULL, NULL, 0, '{}', 100, 200, 300);
INSERT INTO scim_groups (id, directory_id, display_name, display_name_lower, external_id, resource_json, created_at, updated_at)
  VALUES ('g-openapi-1', '${dirId}', 'Admins', 'admins', NULL, '{}', 100, 100);
INSERT INTO scim_group_members (group_id, user_id) VALUES ('g-openapi-1', 'u-openapi-1');
INSERT INTO scim_events (directory_id, type, resource_type, resource_id, at, detail)
  VALUES ('${dirId}', 'user.created', 'User', 'u-openapi-1', 100, '{"active":true}'),
         ('${dirId}', 'group.created', 'Group', 'g-openapi-1', 101, NULL);
`;
  execFileSync('sqlite3', [path.join(broker.dataDir, 'sso.db')], { input: sql });
}

test('SCIM directories answer as documented: the token once, its rotation, what was provisioned', async () => {
  const org = (await call('POST', '/organizations', { display_name: 'SCIM OpenAPI' }, 201)).json;
  const orgPath = `/organizations/${org.id}`;
  const made = (await call('POST', `${orgPath}/directories`, { name: 'Okta' }, 201)).json;
  assert.equal(made.scim_base_url, `${broker.url}/scim/v2/${made.id}`);
  assert.equal(made.tokens.length, 1);
  const other = (await call('POST', `${orgPath}/directories`, undefined, 201)).json;
  assert.equal(other.name, 'SCIM directory');
  await call('POST', `${orgPath}/directories`, { name: '' }, 400);
  await call('POST', `${orgPath}/directories`, { name: 5 }, 400);
  await call('POST', `${orgPath}/directories`, '{', 400);
  await call('POST', '/organizations/org_nope/directories', {}, 404);
  await call('PUT', `${orgPath}/directories`, {}, 405);
  const first = (await call('GET', `${orgPath}/directories?page_size=1`, undefined, 200)).json;
  assert.notEqual(first.next_page_token, '');
  const all = (await call('GET', `${orgPath}/directories`, undefined, 200)).json;
  assert.deepEqual(all.data.map((d) => d.id), [made.id, other.id]);
  assert.ok(!JSON.stringify(all).includes(made.token), 'the list shows no token');
  await call('GET', `${orgPath}/directories?page_size=0`, undefined, 400);
  await call('GET', '/organizations/org_nope/directories', undefined, 404);
  const got = (await call('GET', `/directories/${made.id}`, undefined, 200)).json;
  assert.equal(got.token, undefined);
  await call('GET', '/directories/dir_nope', undefined, 404);
  const rotated = (await call('POST', `/directories/${made.id}/token`, { overlap_seconds: 60 }, 200)).json;
  assert.notEqual(rotated.token, made.token);
  assert.equal(rotated.tokens.length, 2);
  assert.equal(rotated.tokens[0].expires_at, null);
  const again = (await call('POST', `/directories/${made.id}/token`, undefined, 200)).json;
  assert.equal(again.tokens.length, 2);
  assert.ok(!again.tokens.some((t) => t.id === made.tokens[0].id), 'the oldest token is gone');
  await call('POST', `/directories/${made.id}/token`, { overlap_seconds: 604801 }, 400);
  await call('POST', '/directories/dir_nope/token', {}, 404);
  await call('GET', `/directories/${made.id}/token`, undefined, 405);
  for (const list of ['users', 'groups', 'events']) {
    assert.deepEqual((await call('GET', `/directories/${made.id}/${list}`, undefined, 200)).json, { data: [], next_page_token: '' });
    await call('GET', `/directories/${made.id}/${list}?page_size=x`, undefined, 400);
    await call('GET', `/directories/dir_nope/${list}`, undefined, 404);
  }
  provision(made.id);
  const users = (await call('GET', `/directories/${made.id}/users?page_size=1`, undefined, 200)).json;
  assert.equal(users.data[0].email, 'jo@example.com');
  const deleted = (await call('GET', `/directories/${made.id}/users?page_token=${encodeURIComponent(users.next_page_token)}`, undefined, 200)).json;
  assert.deepEqual([deleted.data[0].active, deleted.data[0].deleted_at], [false, '1970-01-01T00:05:00Z']);
  assert.equal((await call('GET', `/directories/${made.id}/groups`, undefined, 200)).json.data[0].members_count, 1);
  const events = (await call('GET', `/directories/${made.id}/events`, undefined, 200)).json;
  assert.deepEqual(events.data.map((e) => e.type), ['group.created', 'user.created']);
  await call('DELETE', `/directories/${made.id}`, undefined, 204);
  await call('DELETE', `/directories/${made.id}`, undefined, 404);
  await call('DELETE', orgPath, undefined, 204);
  await call('GET', `/directories/${other.id}`, undefined, 404);
});

test('webhooks answer as documented: the secret once, deliveries with their attempts, redelivery', async () => {
  // A loopback receiver: 500 to the first request, 204 after.
  const received = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      received.push({ id: req.headers['webhook-id'], body });
      res.writeHead(received.length === 1 ? 500 : 204);
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/hooks`;
  try {
    const made = (await call('POST', '/webhooks', { url, events: ['connection.deactivated', 'connection.activated'], description: 'OpenAPI' }, 201)).json;
    assert.match(made.secret, /^whsec_/);
    await call('POST', '/webhooks', { url: 'http://app.example.com/h', events: ['login.failed'] }, 400);
    await call('POST', '/webhooks', { url, events: [] }, 400);
    await call('POST', '/webhooks', { url, events: ['login.maybe'] }, 400);
    await call('POST', '/webhooks', '{', 400);
    await call('PUT', '/webhooks', {}, 405);
    const list = (await call('GET', '/webhooks?page_size=1', undefined, 200)).json;
    assert.ok(!JSON.stringify(list).includes(made.secret), 'the list shows no secret');
    const got = (await call('GET', `/webhooks/${made.id}`, undefined, 200)).json;
    assert.equal(got.secret, undefined);
    await call('GET', '/webhooks/whk_nope', undefined, 404);
    const changed = (await call('PATCH', `/webhooks/${made.id}`, { description: null, disabled: false }, 200)).json;
    assert.equal(changed.description, null);
    await call('PATCH', `/webhooks/${made.id}`, { disabled: 'no' }, 400);
    await call('PATCH', '/webhooks/whk_nope', { disabled: true }, 404);
    const rotated = (await call('POST', `/webhooks/${made.id}/secret/rotate`, undefined, 200)).json;
    assert.notEqual(rotated.secret, made.secret);
    await call('POST', '/webhooks/whk_nope/secret/rotate', undefined, 404);
    // Events: the simulator's connection disabled and enabled again.
    await call('POST', '/connections/conn_simulator/disable', undefined, 200);
    await call('POST', '/connections/conn_simulator/enable', undefined, 200);
    let deliveries;
    for (let i = 0; i < 200; i++) {
      deliveries = (await call('GET', `/webhooks/${made.id}/deliveries?status=delivered`, undefined, 200)).json;
      if (deliveries.data.length === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual(deliveries.data.map((d) => d.event_type), ['connection.activated', 'connection.deactivated']);
    const first = deliveries.data[1];
    assert.deepEqual(first.attempt_log.map((a) => a.http_status), [204, 500]);
    await call('GET', `/webhooks/${made.id}/deliveries?status=lost`, undefined, 400);
    await call('GET', '/webhooks/whk_nope/deliveries', undefined, 404);
    const again = (await call('POST', `/webhooks/${made.id}/deliveries/${first.id}/retry`, undefined, 201)).json;
    assert.equal(again.message_id, first.message_id);
    await call('POST', `/webhooks/${made.id}/deliveries/dlv_nope/retry`, undefined, 404);
    await call('GET', `/webhooks/${made.id}/deliveries/${first.id}/retry`, undefined, 405);
    await call('DELETE', `/webhooks/${made.id}`, undefined, 204);
    await call('DELETE', `/webhooks/${made.id}`, undefined, 404);
  } finally {
    server.close();
  }
});

test('dashboard accounts and the audit log answer as documented', async () => {
  // Accounts: the setup link once, the email lower-cased, errors as documented.
  const created = await call('POST', '/admins', { email: 'Dev.OpenAPI@Example.COM' }, 201);
  const admin = created.json;
  assert.equal(admin.email, 'dev.openapi@example.com');
  assert.equal(admin.status, 'active');
  assert.equal(admin.password_set, false);
  assert.equal(admin.last_sign_in_at, null);
  assert.equal(admin.locked_until, null);
  assert.ok(admin.setup_url.startsWith(`${broker.url}/dashboard/setup#`));
  assert.equal(created.headers.get('cache-control'), 'no-store');
  const other = (await call('POST', '/admins', { email: 'other.openapi@example.com' }, 201)).json;
  await call('POST', '/admins', { email: 'DEV.openapi@example.com' }, 409);
  await call('POST', '/admins', {}, 400);
  await call('POST', '/admins', { email: 'no-at' }, 400);
  await call('POST', '/admins', { email: 5 }, 400);
  await call('POST', '/admins', '{', 400);
  await call('POST', '/admins', { email: 'x@example.com' }, 401, { auth: null });
  await call('PUT', '/admins', {}, 405);
  const first = (await call('GET', '/admins?page_size=1', undefined, 200)).json;
  assert.equal(first.data.length, 1);
  assert.notEqual(first.next_page_token, '');
  const second = (await call('GET', `/admins?page_size=1&page_token=${encodeURIComponent(first.next_page_token)}`, undefined, 200)).json;
  assert.notEqual(second.data[0].id, first.data[0].id);
  const all = (await call('GET', '/admins?page_size=200', undefined, 200)).json;
  assert.ok(!JSON.stringify(all).includes('setup'), 'the list shows no setup link');
  await call('GET', '/admins?page_size=0', undefined, 400);
  await call('GET', '/admins', undefined, 401, { auth: null });
  assert.equal((await call('GET', `/admins/${admin.id}`, undefined, 200)).json.email, admin.email);
  await call('GET', '/admins/adm_nope', undefined, 404);
  assert.equal((await call('POST', `/admins/${admin.id}/disable`, undefined, 200)).json.status, 'disabled');
  assert.equal((await call('POST', `/admins/${admin.id}/enable`, undefined, 200)).json.status, 'active');
  await call('POST', '/admins/adm_nope/disable', undefined, 404);
  await call('POST', '/admins/adm_nope/enable', undefined, 404);
  await call('GET', `/admins/${admin.id}/disable`, undefined, 405);
  const relinked = await call('POST', `/admins/${admin.id}/setup_link`, undefined, 200);
  assert.notEqual(relinked.json.setup_url, admin.setup_url);
  assert.equal(relinked.headers.get('cache-control'), 'no-store');
  await call('POST', '/admins/adm_nope/setup_link', undefined, 404);
  await call('DELETE', `/admins/${other.id}`, undefined, 204);
  await call('DELETE', `/admins/${other.id}`, undefined, 404);
  await call('POST', `/admins/${other.id}/setup_link`, undefined, 404);

  // A failed dashboard sign-in with an email that has no account: an entry by `system`.
  const signin = await fetch(`${broker.url}/dashboard/api/signin`, {
    method: 'POST', headers: { 'content-type': 'application/json', origin: broker.url },
    body: JSON.stringify({ email: 'nobody.openapi@example.com', password: 'not the password' }),
  });
  assert.equal(signin.status, 401);

  // The audit log: newest first, with the client as actor; refusals written too.
  const audit = (await call('GET', '/audit?page_size=200', undefined, 200)).json;
  assert.equal(audit.data[0].actor_type, 'system');
  assert.equal(audit.data[0].target, null);
  const deleted = audit.data.find((e) => e.action === `DELETE /api/v1/admins/${other.id}` && e.status === 204);
  assert.ok(deleted, 'the deletion is in the audit log');
  assert.equal(deleted.actor, broker.admin.id);
  assert.equal(deleted.actor_type, 'client');
  assert.equal(deleted.target, other.id);
  const mine = (await call('GET', `/audit?actor=${encodeURIComponent(broker.admin.id)}&action=${encodeURIComponent('POST /api/v1/admins')}`, undefined, 200)).json;
  assert.ok(mine.data.length >= 8 && mine.data.every((e) => e.actor === broker.admin.id && e.action.startsWith('POST /api/v1/admins')));
  assert.ok(mine.data.some((e) => e.status === 409) && mine.data.some((e) => e.status === 201));
  const page = (await call('GET', '/audit?page_size=1', undefined, 200)).json;
  assert.notEqual(page.next_page_token, '');
  const next = (await call('GET', `/audit?page_size=1&page_token=${encodeURIComponent(page.next_page_token)}`, undefined, 200)).json;
  assert.notEqual(next.data[0].id, page.data[0].id);
  assert.equal((await call('GET', '/audit?since=4102444800', undefined, 200)).json.data.length, 0);
  assert.equal((await call('GET', '/audit?until=1', undefined, 200)).json.data.length, 0);
  assert.equal((await call('GET', '/audit?actor=nobody', undefined, 200)).json.data.length, 0);
  await call('GET', '/audit?since=x', undefined, 400);
  await call('GET', '/audit?until=-1', undefined, 400);
  await call('GET', '/audit?page_token=bogus', undefined, 400);
  await call('GET', '/audit', undefined, 401, { auth: null });
  await call('POST', '/audit', {}, 405);
});

// Paths the code names: every "/api/v1/..." literal in the services' sources (their handlers and
// self-tests, which exercise every route), and the document's own templates; ids become a
// placeholder.
function pathsToProbe() {
  const found = new Set();
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.[ch]$/.test(entry.name)) {
        for (const m of fs.readFileSync(full, 'utf8').matchAll(/"\/api\/v1(\/[^"?#\s]*)/g)) found.add(m[1]);
      }
    }
  };
  walk(path.join(ROOT, 'services'));
  for (const template of Object.keys(api.paths)) found.add(template);
  const probes = new Set();
  for (const p of found) {
    // A literal ending in '/' is a prefix the C source completes with a macro or a format.
    if (p === '/' || p.includes('//') || p.endsWith('/')) continue;
    probes.add(p.split('/').map((s) => (/[%{}]/.test(s) ? 'x_probe' : s)).join('/'));
  }
  return [...probes];
}

test('every path the broker serves is in the document, with the methods it offers', async () => {
  const probes = pathsToProbe();
  assert.ok(probes.length >= 15, `too few paths found: ${probes}`);
  const served = new Map(); // template -> Allow
  for (const p of probes) {
    // No route offers PUT: 405 names the path's methods in Allow; an unknown path is a 404.
    const r = await fetch(`${broker.url}/api/v1${p}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` } });
    const body = await r.json();
    if (r.status === 404 && /^no such path/.test(body.error_description)) continue;
    assert.equal(r.status, 405, `PUT ${p}: ${JSON.stringify(body)}`);
    const template = templateOf(p);
    assert.ok(template, `${p} is served (Allow: ${r.headers.get('allow')}) but is not in the document`);
    served.set(template, r.headers.get('allow'));
  }
  for (const [template, item] of Object.entries(api.paths)) {
    const documented = METHODS.filter((m) => item[m]);
    const planned = documented.every((m) => item[m][PLANNED]);
    if (!served.has(template)) {
      assert.ok(planned, `${template} is in the document but the broker does not serve it`);
      continue;
    }
    const allowed = served.get(template).split(', ').map((m) => m.toLowerCase()).filter((m) => m !== 'head');
    assert.deepEqual(allowed.sort(), documented.sort(), `${template}: the methods served and documented differ`);
  }
});

test('every documented operation was called and answered with success', () => {
  const missing = operations.filter((o) => !o.op[PLANNED] && !exercised.has(`${o.method} ${o.template}`))
    .map((o) => `${o.method} ${o.template}`);
  assert.deepEqual(missing, []);
});
