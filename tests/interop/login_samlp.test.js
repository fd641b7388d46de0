// A full login against npm `samlp` (Auth0's own SAML IdP library) signing responses for the
// broker's AuthnRequests, driven by openid-client with client_secret_post.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { generators } = require('openid-client');
const { startBroker } = require('./broker');
const { startSamlp } = require('./idp');
const { formOf, postForm } = require('./login');

const REDIRECT_URI = 'https://app.example.net/login/callback';
let broker, client, idp, connection, org;

before(async () => {
  broker = await startBroker();
  client = await broker.auth0Client(REDIRECT_URI);
  org = (await broker.api('POST', '/organizations', { display_name: 'Samlp Inc' })).json;
  assert.equal((await broker.api('POST', `/organizations/${org.id}/domains`, { domain: 'samlp.example' })).status, 201);
  idp = await startSamlp({
    issuer: 'urn:test:samlp-idp',
    user: { id: 'jo-123', displayName: 'Jo Doe', name: { givenName: 'Jo', familyName: 'Doe' }, emails: [{ value: 'jo@samlp.example' }] },
    acs: 'about:blank',
  });
  const conn = await broker.api('POST', `/organizations/${org.id}/connections`, {
    type: 'saml', saml: { idp_entity_id: idp.issuer, idp_sso_url: idp.url, idp_certificates: [idp.cert] },
  });
  assert.equal(conn.status, 201, JSON.stringify(conn.json));
  connection = conn.json;
  idp.state.acs = connection.sp.acs_url;
  assert.equal((await broker.api('POST', `/connections/${connection.id}/enable`)).status, 200);
});
after(async () => { await idp.close(); await broker.stop(); });

async function login(signResponse) {
  idp.state.signResponse = signResponse;
  const state = generators.state(), nonce = generators.nonce(), verifier = generators.codeVerifier();
  const url = client.authorizationUrl({
    scope: 'openid profile', state, nonce, login_hint: 'jo@samlp.example',
    code_challenge: generators.codeChallenge(verifier), code_challenge_method: 'S256',
  });
  const start = await fetch(url, { redirect: 'manual' });
  assert.equal(start.status, 302, await start.text());
  const idpUrl = new URL(start.headers.get('location'));
  assert.equal(`${idpUrl.origin}${idpUrl.pathname}`, idp.url);
  assert.ok(idpUrl.searchParams.get('SAMLRequest'));
  const page = await fetch(idpUrl);
  const form = formOf(await page.text());
  assert.equal(form.action, connection.sp.acs_url);
  const answer = await postForm(form.action, form.fields);
  assert.equal(answer.status, 302, await answer.text());
  const params = client.callbackParams(answer.headers.get('location'));
  assert.equal(params.error, undefined, JSON.stringify(params));
  return client.callback(REDIRECT_URI, params, { state, nonce, code_verifier: verifier });
}

test('samlp signs the assertion: the ID token carries the mapped profile', async () => {
  const tokens = await login(false);
  const claims = tokens.claims();
  assert.equal(claims.sub, `${connection.id};jo-123`);
  assert.equal(claims.email, 'jo@samlp.example');
  assert.equal(claims.given_name, 'Jo');
  assert.equal(claims.family_name, 'Doe');
  assert.equal(claims.oid, org.id);
  assert.equal(claims.connection_id, connection.id);
  assert.equal(claims.connection_type, 'saml');
  const userinfo = await client.userinfo(tokens);
  assert.equal(userinfo.email, 'jo@samlp.example');
});

test('samlp signs both the response and the assertion: both verify, the login succeeds', async () => {
  const tokens = await login(true);
  assert.equal(tokens.claims().sub, `${connection.id};jo-123`);
});
