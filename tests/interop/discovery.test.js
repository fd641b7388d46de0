// openid-client (a certified relying party, standing in for Auth0) reads the broker's
// discovery document and JWKS, and gets the management token with client_credentials by
// both client authentication methods.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Issuer, errors } = require('openid-client');
const jose = require('jose');
const { startBroker } = require('./broker');

let broker;
before(async () => { broker = await startBroker(); });
after(async () => { await broker.stop(); });

test('discovery: the issuer is the public URL byte for byte and the metadata is usable', async () => {
  const issuer = await Issuer.discover(`${broker.url}/.well-known/openid-configuration`);
  assert.equal(issuer.issuer, broker.url);
  assert.deepEqual(issuer.code_challenge_methods_supported, ['S256']);
  assert.equal(issuer.token_endpoint_auth_methods_supported[0], 'client_secret_post');
  assert.ok(issuer.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
  assert.ok(issuer.id_token_signing_alg_values_supported.includes('RS256'));
  assert.deepEqual(issuer.subject_types_supported, ['public']);
  assert.ok(issuer.userinfo_endpoint.startsWith(broker.url));
});

test('JWKS: every published key imports as an RS256 public key; no private parts', async () => {
  const issuer = await Issuer.discover(broker.url);
  const r = await fetch(issuer.jwks_uri);
  assert.equal(r.status, 200);
  const { keys } = await r.json();
  assert.ok(keys.length >= 1);
  for (const key of keys) {
    const imported = await jose.importJWK(key, 'RS256');
    assert.equal(imported.type, 'public');
    assert.equal(key.kty, 'RSA');
    assert.equal(key.use, 'sig');
    assert.equal(key.alg, 'RS256');
    assert.ok(key.kid);
    assert.equal(key.d, undefined);
  }
});

for (const method of ['client_secret_post', 'client_secret_basic']) {
  test(`client_credentials with ${method}`, async () => {
    const issuer = await Issuer.discover(broker.url);
    const client = new issuer.Client({
      client_id: broker.admin.id,
      client_secret: broker.admin.secret,
      token_endpoint_auth_method: method,
    });
    const tokens = await client.grant({ grant_type: 'client_credentials' });
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.ok(tokens.access_token);
    assert.ok(tokens.expires_in > 0);
    const r = await fetch(`${broker.url}/api/v1/organizations`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(r.status, 200);
  });
}

test('a wrong client secret is invalid_client', async () => {
  const issuer = await Issuer.discover(broker.url);
  const client = new issuer.Client({
    client_id: broker.admin.id, client_secret: 'wrong', token_endpoint_auth_method: 'client_secret_post',
  });
  await assert.rejects(client.grant({ grant_type: 'client_credentials' }), (err) => {
    assert.ok(err instanceof errors.OPError);
    assert.equal(err.error, 'invalid_client');
    return true;
  });
});
