// OIDC connections authenticating the broker at the customer's IdP with private_key_jwt
// (RFC 7523): npm `oidc-provider` whose discovery lists only private_key_jwt, with the broker's
// client registered under the public JWKS the broker serves for the connection. A full login
// works; a connection whose key the IdP does not know is refused at the IdP's token endpoint.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { generators } = require('openid-client');
const { startBroker } = require('./broker');
const { startOidcProvider, providerLogin } = require('./oidc_idp');

const REDIRECT_URI = 'https://app.example.net/login/callback';
let broker, client;
const providers = [];

before(async () => {
  broker = await startBroker();
  client = await broker.auth0Client(REDIRECT_URI);
});
after(async () => {
  for (const op of providers) await op.close();
  await broker.stop();
});

// An organization owning `domain`, an IdP that takes only private_key_jwt, and an enabled
// OIDC connection to it configured for private_key_jwt without a secret. The IdP registers
// the broker's client with the JWKS the broker serves for the connection, or with
// `registeredJwks(brokerJwks)` when given (a key the broker does not hold).
async function customer({ name, domain, accounts, registeredJwks = (jwks) => jwks }) {
  const clientId = `broker-${crypto.randomBytes(4).toString('hex')}`;
  const placeholder = { kty: 'RSA', ...crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }) };
  const opClient = { client_id: clientId, redirect_uris: [`${broker.url}/placeholder`],
    token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [placeholder] } };
  const op = await startOidcProvider({ accounts, client: opClient });
  providers.push(op);
  const discovery = await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json();
  assert.deepEqual(discovery.token_endpoint_auth_methods_supported, ['private_key_jwt']);
  const org = await broker.api('POST', '/organizations', { display_name: name });
  assert.equal(org.status, 201, JSON.stringify(org.json));
  const dom = await broker.api('POST', `/organizations/${org.json.id}/domains`, { domain });
  assert.equal(dom.status, 201, JSON.stringify(dom.json));
  const conn = await broker.api('POST', `/organizations/${org.json.id}/connections`, {
    type: 'oidc', oidc: { issuer: op.issuer, client_id: clientId },
    options: { token_endpoint_auth_method: 'private_key_jwt' },
  });
  assert.equal(conn.status, 201, JSON.stringify(conn.json));
  const jwksUri = `${broker.url}/sso/oidc/${conn.json.id}/jwks`;
  assert.equal(conn.json.oidc.jwks_uri, jwksUri);
  assert.match(conn.json.oidc.client_certificate, /^-----BEGIN CERTIFICATE-----\n/);
  assert.equal(conn.json.oidc.client_secret_set, false);

  // The broker's public JWKS of the connection: one RSA key, no private part.
  const r = await fetch(jwksUri);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.match(r.headers.get('cache-control'), /max-age=\d+/);
  const jwks = await r.json();
  assert.equal(jwks.keys.length, 1);
  const [key] = jwks.keys;
  assert.equal(key.kty, 'RSA');
  assert.equal(key.alg, 'RS256');
  assert.equal(key.d, undefined);
  // The certificate shown is of the same key.
  const fromCert = new crypto.X509Certificate(conn.json.oidc.client_certificate).publicKey.export({ format: 'jwk' });
  assert.equal(fromCert.n, key.n);

  opClient.redirect_uris = [`${broker.url}/sso/oidc/callback/${conn.json.id}`];
  opClient.jwks = registeredJwks(jwks);
  await op.restart();
  const enabled = await broker.api('POST', `/connections/${conn.json.id}/enable`);
  assert.equal(enabled.status, 200, JSON.stringify(enabled.json));
  return { op, org: org.json, connection: conn.json, jwks };
}

async function login({ loginHint, account }) {
  const state = generators.state(), nonce = generators.nonce(), verifier = generators.codeVerifier();
  const url = client.authorizationUrl({
    scope: 'openid profile email', state, nonce, login_hint: loginHint,
    code_challenge: generators.codeChallenge(verifier), code_challenge_method: 'S256',
  });
  const walk = await providerLogin(url, { account, redirectUri: REDIRECT_URI });
  assert.ok(walk.location, `no redirect to the client: ${walk.status} ${walk.url}\n${walk.visited.join('\n')}`);
  return { params: client.callbackParams(walk.location), state, nonce, verifier };
}

async function newestEvent(connection) {
  const r = await broker.api('GET', `/events?connection_id=${connection.id}`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.ok(r.json.data.length > 0, 'no event');
  return r.json.data[0];
}

test('private_key_jwt: an IdP that takes only client assertions, with the broker\'s JWKS registered: a full login works', async () => {
  const { org, connection } = await customer({
    name: 'Key Corp', domain: 'pkjwt.example',
    accounts: { 'u-key': { email: 'kim@pkjwt.example', email_verified: true, name: 'Kim Key' } },
  });
  const result = await login({ loginHint: 'kim@pkjwt.example', account: 'u-key' });
  assert.equal(result.params.error, undefined, JSON.stringify(result.params));
  const tokens = await client.callback(REDIRECT_URI, result.params,
    { state: result.state, nonce: result.nonce, code_verifier: result.verifier });
  const claims = tokens.claims();
  assert.equal(claims.sub, `${connection.id};u-key`);
  assert.equal(claims.email, 'kim@pkjwt.example');
  assert.equal(claims.name, 'Kim Key');
  assert.equal(claims.oid, org.id);
  assert.equal(claims.connection_type, 'oidc');
  assert.equal((await newestEvent(connection)).outcome, 'success');
});

test('private_key_jwt: a connection whose key the IdP does not know is refused by the IdP, the reason in the event log', async () => {
  const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
  const { connection } = await customer({
    name: 'Stranger Corp', domain: 'stranger.example',
    accounts: { 'u-str': { email: 'sam@stranger.example', email_verified: true } },
    // The IdP has another key on file for the client, under the broker's kid.
    registeredJwks: (jwks) => ({ keys: [{ ...other, kid: jwks.keys[0].kid, alg: 'RS256', use: 'sig' }] }),
  });
  const result = await login({ loginHint: 'sam@stranger.example', account: 'u-str' });
  assert.equal(result.params.code, undefined, JSON.stringify(result.params));
  assert.ok(result.params.error, JSON.stringify(result.params));
  assert.equal(result.params.state, result.state);
  const event = await newestEvent(connection);
  assert.equal(event.outcome, 'failure', JSON.stringify(event));
  assert.match(event.reason, /token endpoint error: invalid_client/, event.reason);
});
