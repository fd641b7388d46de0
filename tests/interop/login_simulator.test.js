// A full login driven by openid-client (a certified relying party, standing in for Auth0, with
// client_secret_post) through the broker's IdP simulator: authorize -> simulator page -> signed
// SAML Response -> ACS -> code -> token -> ID token -> userinfo.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { generators } = require('openid-client');
const { startBroker } = require('./broker');
const { simulatorLogin } = require('./login');

const REDIRECT_URI = 'https://app.example.net/login/callback';
let broker;
let client;

before(async () => {
  broker = await startBroker();
  client = await broker.auth0Client(REDIRECT_URI);
});
after(async () => { await broker.stop(); });

async function login(person, extra = {}) {
  const state = generators.state();
  const nonce = generators.nonce();
  const verifier = generators.codeVerifier();
  const url = client.authorizationUrl({
    scope: 'openid profile email',
    state, nonce,
    code_challenge: generators.codeChallenge(verifier),
    code_challenge_method: 'S256',
    login_hint: person.email,
    ...extra,
  });
  const answer = await simulatorLogin(broker.url, url, person);
  return { answer, state, nonce, verifier };
}

test('a simulator login ends with an ID token carrying the identity and the organization', async () => {
  const person = { email: 'jo@example.com', given_name: 'Jo', family_name: 'Doe', groups: 'admins, devs', scenario: 'success' };
  const { answer, state, nonce, verifier } = await login(person);
  assert.equal(answer.status, 302, answer.body);
  assert.ok(answer.location.startsWith(REDIRECT_URI), answer.location);
  const params = client.callbackParams(answer.location);
  const tokens = await client.callback(REDIRECT_URI, params, { state, nonce, code_verifier: verifier });
  const claims = tokens.claims();
  assert.equal(claims.iss, broker.url);
  assert.equal(claims.aud, client.client_id);
  assert.equal(claims.azp, client.client_id);
  assert.equal(claims.nonce, nonce);
  assert.equal(claims.email, 'jo@example.com');
  assert.equal(claims.email_verified, true);
  assert.equal(claims.given_name, 'Jo');
  assert.equal(claims.family_name, 'Doe');
  assert.equal(claims.name, 'Jo Doe');
  assert.deepEqual(claims.groups, ['admins', 'devs']);
  assert.equal(claims.connection_type, 'saml');
  assert.ok(claims.connection_id.startsWith('conn_'));
  assert.equal(claims.sub, `${claims.connection_id};jo@example.com`);
  assert.deepEqual(claims.amr, [claims.connection_id]);
  assert.ok(claims.oid.startsWith('org_'));
  assert.ok(claims.at_hash);
  const userinfo = await client.userinfo(tokens);
  assert.equal(userinfo.sub, claims.sub);
  assert.equal(userinfo.email, 'jo@example.com');
  assert.equal(userinfo.oid, claims.oid);
});

for (const scenario of ['idp_error', 'expired', 'wrong_audience', 'bad_signature']) {
  test(`the simulator's ${scenario} scenario is refused: access_denied, no code`, async () => {
    const { answer, state } = await login({ email: 'jo@example.com', scenario });
    assert.equal(answer.status, 302, answer.body);
    const url = new URL(answer.location);
    assert.equal(url.searchParams.get('error'), 'access_denied');
    assert.ok(url.searchParams.get('error_description'));
    assert.equal(url.searchParams.get('state'), state);
    assert.equal(url.searchParams.get('code'), null);
  });
}

test('an email outside the organization\'s domains is refused', async () => {
  const { answer } = await login({ email: 'jo@example.com', scenario: 'success' }, {});
  assert.equal(answer.status, 302);
  const { answer: outsider } = await login({ email: 'mallory@gmail.com', scenario: 'success' }, { login_hint: 'x@example.com' });
  const url = new URL(outsider.location);
  assert.equal(url.searchParams.get('error'), 'access_denied');
  assert.match(url.searchParams.get('error_description'), /gmail\.com/);
});

test('the event log has the failures with their precise reasons', async () => {
  const events = await broker.api('GET', '/events');
  assert.equal(events.status, 200);
  const reasons = events.json.data.map((e) => e.reason || '');
  assert.ok(reasons.some((r) => /audience/.test(r)), JSON.stringify(reasons));
  assert.ok(reasons.some((r) => /invalid_user_domain/.test(r)), JSON.stringify(reasons));
  assert.ok(events.json.data.some((e) => e.outcome === 'success' && e.email === 'jo@example.com'));
});
