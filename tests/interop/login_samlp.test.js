// A full login against npm `samlp` (Auth0's own SAML IdP library) signing responses for the
// broker's AuthnRequests, driven by openid-client with client_secret_post; then with samlp
// encrypting the signed assertion for the connection's SP certificate.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
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

const XENC = 'http://www.w3.org/2001/04/xmlenc#';
const AES256_GCM = 'http://www.w3.org/2009/xmlenc11#aes256-gcm';

// The IdP's form, posted to the ACS: the broker's redirect back to the client.
async function answer(signResponse, onResponse) {
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
  onResponse(Buffer.from(form.fields.SAMLResponse, 'base64').toString());
  const posted = await postForm(form.action, form.fields);
  assert.equal(posted.status, 302, await posted.text());
  return { params: client.callbackParams(posted.headers.get('location')), state, nonce, verifier };
}

async function login(signResponse, onResponse = () => {}) {
  const { params, state, nonce, verifier } = await answer(signResponse, onResponse);
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

// samlp 8 hands encryptionCert, encryptionPublicKey and encryptionAlgorithm to its `saml`
// module but not keyEncryptionAlgorithm, and the xml-encryption it uses wraps keys with
// xmlenc#rsa-oaep-mgf1p (SHA-1) only: that is the RSA-OAEP a samlp IdP sends.
function encryptFor(certificate) {
  return {
    encryptionCert: certificate,
    encryptionPublicKey: crypto.createPublicKey(certificate).export({ type: 'spki', format: 'pem' }),
    encryptionAlgorithm: AES256_GCM,
  };
}

function assertEncrypted(xml) {
  assert.match(xml, /<saml:EncryptedAssertion/);
  assert.doesNotMatch(xml, /<saml:Assertion[\s>]/);
  assert.ok(xml.includes(`Algorithm="${AES256_GCM}"`), xml);
  assert.ok(xml.includes(`Algorithm="${XENC}rsa-oaep-mgf1p"`), xml);
}

for (const signResponse of [false, true]) {
  test(`samlp encrypts the signed assertion with AES-256-GCM and RSA-OAEP${signResponse ? ' inside a signed response' : ''}: the ID token carries the profile`, async () => {
    idp.state.encryption = encryptFor(connection.sp.certificate);
    try {
      let xml = '';
      const tokens = await login(signResponse, (seen) => { xml = seen; });
      assertEncrypted(xml);
      const claims = tokens.claims();
      assert.equal(claims.sub, `${connection.id};jo-123`);
      assert.equal(claims.email, 'jo@samlp.example');
      assert.equal(claims.given_name, 'Jo');
    } finally {
      idp.state.encryption = {};
    }
  });
}

test('samlp encrypting for another certificate is refused, with the reason in the event log', async () => {
  idp.state.encryption = encryptFor(idp.cert);
  try {
    let xml = '';
    const { params } = await answer(false, (seen) => { xml = seen; });
    assertEncrypted(xml);
    assert.equal(params.error, 'access_denied', JSON.stringify(params));
    assert.equal(params.code, undefined);
    const events = (await broker.api('GET', `/events?connection_id=${connection.id}`)).json.data;
    assert.equal(events[0].outcome, 'failure', JSON.stringify(events[0]));
    // samlp names the certificate it encrypted to (X509Data), so the reason names it too.
    assert.match(events[0].reason, /the EncryptedKey is encrypted to a retired or unknown SP certificate \(its X509Data names SHA-256 [0-9A-F:]{95}\)/);
  } finally {
    idp.state.encryption = {};
  }
});
