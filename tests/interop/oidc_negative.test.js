// OIDC connections against a forging provider (forger_idp.js: express + npm jose): one good
// login first, then every way an upstream ID token, callback or token endpoint can be wrong.
// Each refusal must give the client no code and leave the precise reason in the event log.
// The browser's part is driven by hand over plain HTTP; openid-client stands in for Auth0.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { Issuer, generators } = require('openid-client');
const { startBroker } = require('./broker');
const { startForgerIdp, signingKey, goodClaims, tokenAnswer, forge } = require('./forger_idp');

const REDIRECT_URI = 'https://app.example.net/login/callback';
let broker;
let idp;
let client;
let tenantCount = 0;

before(async () => {
  [broker, idp] = await Promise.all([startBroker(), startForgerIdp()]);
  const created = await broker.api('POST', '/clients', { name: 'Auth0 stand-in', redirect_uris: [REDIRECT_URI] });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const issuer = await Issuer.discover(broker.url);
  client = new issuer.Client({
    client_id: created.json.client_id,
    client_secret: created.json.client_secret,
    redirect_uris: [REDIRECT_URI],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  });
});
after(async () => {
  await idp?.close();
  await broker?.stop();
});

// An organization with its own domain, a tenant at the forging IdP whose user is in that
// domain, and an enabled OIDC connection to it.
async function setup(options = {}) {
  const n = ++tenantCount;
  const domain = `neg${n}-${crypto.randomBytes(3).toString('hex')}.example.com`;
  const tenant = await idp.tenant(`t${n}`, { user: { email: `ann@${domain}`, given_name: 'Ann', family_name: 'Lee' }, ...options });
  const org = await broker.api('POST', '/organizations', { display_name: `Negative ${n}` });
  assert.equal(org.status, 201, JSON.stringify(org.json));
  const dom = await broker.api('POST', `/organizations/${org.json.id}/domains`, { domain });
  assert.equal(dom.status, 201, JSON.stringify(dom.json));
  const conn = await broker.api('POST', `/organizations/${org.json.id}/connections`, {
    type: 'oidc',
    oidc: { issuer: tenant.issuer, client_id: tenant.clientId, client_secret: tenant.clientSecret, scopes: ['openid', 'email', 'profile'] },
  });
  assert.equal(conn.status, 201, JSON.stringify(conn.json));
  const enabled = await broker.api('POST', `/connections/${conn.json.id}/enable`);
  assert.equal(enabled.status, 200, JSON.stringify(enabled.json));
  return { tenant, connectionId: conn.json.id, orgId: org.json.id, domain };
}

// The browser's cookies for the broker (name -> value; each login is a fresh browser). Every
// broker cookie goes back to the broker, as the callback may require the login's own.
function keepCookies(jar, response) {
  for (const line of response.headers.getSetCookie()) {
    const pair = line.split(';')[0];
    const eq = pair.indexOf('=');
    if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
}

function cookieHeader(jar) {
  return [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
}

// /oauth/authorize with connection_id -> the IdP's authorization endpoint -> the broker's
// callback URL (not fetched yet), with the browser's cookie jar.
async function startLogin(connectionId) {
  const state = generators.state();
  const nonce = generators.nonce();
  const verifier = generators.codeVerifier();
  const url = client.authorizationUrl({
    scope: 'openid profile email', state, nonce,
    code_challenge: generators.codeChallenge(verifier), code_challenge_method: 'S256',
    connection_id: connectionId,
  });
  const jar = new Map();
  const atBroker = await fetch(url, { redirect: 'manual' });
  assert.equal(atBroker.status, 302, await atBroker.text());
  keepCookies(jar, atBroker);
  const toIdp = atBroker.headers.get('location');
  assert.ok(toIdp.startsWith(idp.base), toIdp);
  const atIdp = await fetch(toIdp, { redirect: 'manual' });
  assert.equal(atIdp.status, 302);
  const callbackUrl = atIdp.headers.get('location');
  assert.ok(callbackUrl.startsWith(`${broker.url}/sso/oidc/callback/${connectionId}?`), callbackUrl);
  return { state, nonce, verifier, callbackUrl, jar, upstream: new URL(toIdp) };
}

// The callback's answer (not followed): an error page, or a redirect to the client.
async function callback(callbackUrl, jar = new Map()) {
  const r = await fetch(callbackUrl, { redirect: 'manual', headers: jar.size ? { cookie: cookieHeader(jar) } : {} });
  keepCookies(jar, r);
  return { status: r.status, location: r.headers.get('location'), body: await r.text() };
}

async function login(connectionId) {
  const started = await startLogin(connectionId);
  const answer = await callback(started.callbackUrl, started.jar);
  return { ...started, answer };
}

async function events(connectionId) {
  const query = connectionId ? `?connection_id=${encodeURIComponent(connectionId)}` : '';
  const r = await broker.api('GET', `/events${query}`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.data;
}

// The client got an error redirect (no code) and the newest event of the connection is a
// failure whose reason matches.
async function assertRefused(connectionId, { answer, state }, reason, error = 'access_denied') {
  assert.equal(answer.status, 302, answer.body);
  assert.ok(answer.location.startsWith(REDIRECT_URI), answer.location);
  const url = new URL(answer.location);
  assert.equal(url.searchParams.get('code'), null);
  assert.equal(url.searchParams.get('error'), error, answer.location);
  assert.equal(url.searchParams.get('state'), state);
  const [newest] = await events(connectionId);
  assert.ok(newest, 'no event');
  assert.equal(newest.outcome, 'failure', JSON.stringify(newest));
  if (typeof reason === 'string') assert.ok(newest.reason.includes(reason), `${JSON.stringify(newest.reason)} lacks ${JSON.stringify(reason)}`);
  else assert.match(newest.reason, reason);
  return newest;
}

test('a good OIDC login: the broker\'s ID token carries the upstream email and connection_type oidc', async () => {
  const { tenant, connectionId, orgId } = await setup();
  const { answer, state, nonce, verifier } = await login(connectionId);
  assert.equal(answer.status, 302, answer.body);
  assert.ok(answer.location.startsWith(REDIRECT_URI), answer.location);
  // openid-client checks the broker's ID token against the broker's JWKS.
  const tokens = await client.callback(REDIRECT_URI, client.callbackParams(answer.location), { state, nonce, code_verifier: verifier });
  const claims = tokens.claims();
  assert.equal(claims.email, tenant.user.email);
  assert.equal(claims.connection_type, 'oidc');
  assert.equal(claims.connection_id, connectionId);
  assert.equal(claims.oid, orgId);
  assert.equal(claims.given_name, 'Ann');
  const [newest] = await events(connectionId);
  assert.equal(newest.outcome, 'success', JSON.stringify(newest));
  assert.equal(tenant.hits.token, 1);
});

test('userinfo: an ID token without email gets it from the userinfo endpoint; another sub there is refused', async () => {
  const { tenant, connectionId } = await setup();
  const withoutEmail = async (t, l) => {
    const claims = goodClaims(t, l);
    delete claims.email;
    delete claims.email_verified;
    return tokenAnswer(await forge.good(t, l, claims));
  };
  tenant.answer = withoutEmail;
  tenant.userinfo = (sub) => ({ sub, email: tenant.user.email, email_verified: true, nonce: 'not-taken' });
  const { answer, state, nonce, verifier } = await login(connectionId);
  assert.equal(answer.status, 302, answer.body);
  const tokens = await client.callback(REDIRECT_URI, client.callbackParams(answer.location), { state, nonce, code_verifier: verifier });
  assert.equal(tokens.claims().email, tenant.user.email);
  assert.equal(tenant.hits.userinfo, 1);
  // A userinfo answer about someone else must not be used: the login fails.
  tenant.userinfo = (sub) => ({ sub: `${sub}-other`, email: 'mallory@evil.example' });
  const second = await login(connectionId);
  await assertRefused(connectionId, second, /userinfo sub: expected user-\w+, got user-\w+-other/);
});

// ---- what a genuine ID token may say that the broker does not take ------------------------

// The tenant's ID tokens are good ones with `changes` (a function of the login's claims).
function answerWith(tenant, changes) {
  tenant.answer = async (t, l) => {
    const claims = goodClaims(t, l);
    return tokenAnswer(await forge.good(t, l, { ...claims, ...changes(claims) }));
  };
}

test('email_verified false (also the string "false"): refused unless the connection\'s allow_unverified_email; then email_verified false in the ID token', async () => {
  const { tenant, connectionId } = await setup();
  const reason = `email_verified: expected true, got false for ${tenant.user.email} (the connection's options.allow_unverified_email accepts it)`;
  for (const said of [false, 'false']) {
    answerWith(tenant, () => ({ email_verified: said }));
    await assertRefused(connectionId, await login(connectionId), reason);
  }
  const patched = await broker.api('PATCH', `/connections/${connectionId}`, { options: { allow_unverified_email: true } });
  assert.equal(patched.status, 200, JSON.stringify(patched.json));
  assert.equal(patched.json.options.allow_unverified_email, true);
  const { answer, state, nonce, verifier } = await login(connectionId);
  assert.equal(answer.status, 302, answer.body);
  const tokens = await client.callback(REDIRECT_URI, client.callbackParams(answer.location), { state, nonce, code_verifier: verifier });
  assert.equal(tokens.claims().email, tenant.user.email);
  assert.equal(tokens.claims().email_verified, false, 'as the IdP said it');
  assert.equal((await events(connectionId))[0].outcome, 'success');
});

test('a 300-character sub: refused at the callback (no code), the limit for this connection in the event log', async () => {
  const { tenant, connectionId } = await setup();
  answerWith(tenant, () => ({ sub: 's'.repeat(300) }));
  const started = await login(connectionId);
  assert.equal(tenant.hits.token, 1, 'the broker exchanged the code');
  // The token service's sub is "<connection id>;<sub>", 255 characters at most.
  await assertRefused(connectionId, started, `sub: at most ${255 - connectionId.length - 1} characters for this connection, got 300`);
  // Not printable ASCII: refused the same way.
  answerWith(tenant, () => ({ sub: 'zo\u00eb' }));
  await assertRefused(connectionId, await login(connectionId), 'sub: expected printable ASCII, got the byte 0xc3 at position 3 of the subject');
});

// ---- forged ID tokens --------------------------------------------------------------------
// Each: how the claims differ from a good token, how it is signed, and the reason the event log
// must give (a function of the tenant, the login and the claims sent).
const now = () => Math.floor(Date.now() / 1000);
const forgeries = [
  {
    name: 'alg none',
    sign: (t, l, claims) => forge.unsecured(claims),
    reason: () => 'id_token alg: none is never accepted',
  },
  {
    name: 'HS256 signed with the IdP\'s public key as the secret',
    sign: (t, l, claims) => forge.hmacWithPublicKey(t.keys[0], claims),
    reason: () => /^id_token alg: "?HS256"? \(HMAC\) is never accepted/,
  },
  {
    name: 'a wrong iss',
    claims: () => ({ iss: 'https://evil.example' }),
    reason: (t) => `id_token iss: expected ${t.issuer}, got https://evil.example`,
  },
  {
    name: 'a wrong aud',
    claims: () => ({ aud: 'someone-else' }),
    reason: (t) => `id_token aud: expected ${t.clientId} among the audiences, got someone-else`,
  },
  {
    name: 'several audiences without azp',
    claims: (t) => ({ aud: [t.clientId, 'someone-else'] }),
    reason: (t) => `id_token azp: expected ${t.clientId} (the token has 2 audiences), got none`,
  },
  {
    name: 'a wrong nonce',
    claims: () => ({ nonce: 'not-the-nonce' }),
    reason: (t, l) => `id_token nonce: expected ${l.nonce}, got not-the-nonce`,
  },
  {
    name: 'no nonce',
    claims: () => ({ nonce: undefined }),
    reason: (t, l) => `id_token nonce: expected ${l.nonce}, got none`,
  },
  {
    name: 'an expired token',
    claims: () => ({ iat: now() - 7200, exp: now() - 3600 }),
    reason: (t, l, c) => `id_token exp: expired at ${c.exp}, now `,
  },
  {
    name: 'a token not yet valid (nbf)',
    claims: () => ({ nbf: now() + 3600, exp: now() + 7200 }),
    reason: (t, l, c) => `id_token nbf: not valid before ${c.nbf}, now `,
  },
  {
    name: 'iat far in the future',
    claims: () => ({ iat: now() + 3600, exp: now() + 7200 }),
    reason: (t, l, c) => `id_token iat: issued in the future at ${c.iat}, now `,
  },
  {
    name: 'a signature by another key under the IdP\'s kid',
    sign: async (t, l, claims) => forge.withKey(await signingKey('RS256', 'other'), t.keys[0].kid, claims),
    reason: () => 'id_token signature: does not verify',
  },
  {
    name: 'an ES256 signature by another key under the IdP\'s ES256 kid',
    sign: async (t, l, claims) => forge.withKey(await signingKey('ES256', 'other'), t.keys[1].kid, claims),
    reason: () => 'id_token signature: does not verify',
  },
];

for (const forgery of forgeries) {
  test(`forged ID token, ${forgery.name}: no code, the reason in the event log`, async () => {
    const { tenant, connectionId } = await setup();
    let sent;
    tenant.answer = async (t, l) => {
      const claims = { ...goodClaims(t, l), ...(forgery.claims ? forgery.claims(t) : {}) };
      for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
      sent = { login: l, claims };
      return tokenAnswer(await (forgery.sign || forge.good)(t, l, claims));
    };
    const started = await login(connectionId);
    assert.equal(tenant.hits.token, 1, 'the broker exchanged the code');
    assert.equal(sent.login.nonce, started.upstream.searchParams.get('nonce'));
    await assertRefused(connectionId, started, forgery.reason(tenant, sent.login, sent.claims));
  });
}

test('an ES256 ID token by the IdP\'s published key is accepted (the forgeries fail for their flaw alone)', async () => {
  const { tenant, connectionId } = await setup();
  tenant.answer = async (t, l) => tokenAnswer(await forge.withKey(t.keys[1], t.keys[1].kid, goodClaims(t, l)));
  const { answer } = await login(connectionId);
  assert.ok(new URL(answer.location).searchParams.get('code'), answer.location);
  assert.equal((await events(connectionId))[0].outcome, 'success');
});

test('an unknown kid: the JWKS is fetched again once, then the token is refused', async () => {
  const { tenant, connectionId } = await setup();
  tenant.answer = async (t, l) => tokenAnswer(await forge.withKey(t.keys[0], 'ghost-kid', goodClaims(t, l)));
  const first = await login(connectionId);
  await assertRefused(connectionId, first, /^id_token kid: no key "?ghost-kid"? in the JWKS/);
  assert.equal(tenant.hits.jwks, 2, 'one fetch, one refetch');
  // Within 30 s another unknown kid gets no refetch: a forger cannot make the broker hammer.
  const second = await login(connectionId);
  await assertRefused(connectionId, second, /^id_token kid: no key "?ghost-kid"? in the JWKS/);
  assert.equal(tenant.hits.jwks, 2);
});

test('the IdP rotates its keys between two logins: both succeed, the new JWKS fetched once', async () => {
  const { tenant, connectionId } = await setup();
  const first = await login(connectionId);
  assert.ok(new URL(first.answer.location).searchParams.get('code'), first.answer.location);
  assert.equal(tenant.hits.jwks, 1);
  const oldKid = tenant.keys[0].kid;
  await tenant.rotate();
  assert.notEqual(tenant.keys[0].kid, oldKid);
  const second = await login(connectionId);
  assert.equal(second.answer.status, 302, second.answer.body);
  const params = client.callbackParams(second.answer.location);
  assert.ok(params.code, second.answer.location);
  const tokens = await client.callback(REDIRECT_URI, params, { state: second.state, nonce: second.nonce, code_verifier: second.verifier });
  assert.equal(tokens.claims().email, tenant.user.email);
  assert.equal(tenant.hits.jwks, 2);
  const [newest, older] = await events(connectionId);
  assert.equal(newest.outcome, 'success');
  assert.equal(older.outcome, 'success');
});

// ---- the callback ------------------------------------------------------------------------

test('the IdP\'s error=access_denied reaches the client as access_denied', async () => {
  const { tenant, connectionId } = await setup();
  tenant.refuseWith = { error: 'access_denied', description: 'User said no <b>' };
  const started = await login(connectionId);
  const event = await assertRefused(connectionId, started, 'provider error: access_denied: User said no <b>');
  assert.equal(tenant.hits.token, 0);
  assert.equal(event.connection_id, connectionId);
});

test('a callback with a state no login has: 400, no event; the real login still completes', async () => {
  const { tenant, connectionId } = await setup();
  const started = await startLogin(connectionId);
  const forged = new URL(started.callbackUrl);
  forged.searchParams.set('state', generators.state());
  const before = (await events()).length;
  const answer = await callback(forged.toString(), started.jar);
  assert.equal(answer.status, 400);
  assert.equal(answer.location, null);
  assert.doesNotMatch(answer.body, /code=/);
  assert.equal((await events()).length, before);
  assert.equal(tenant.hits.token, 0);
  const real = await callback(started.callbackUrl, started.jar);
  assert.ok(new URL(real.location).searchParams.get('code'), real.location);
});

test('a callback from another browser (without the login\'s cookie): 400, no exchange, the login untouched', async () => {
  const { tenant, connectionId } = await setup();
  const started = await startLogin(connectionId);
  assert.ok(started.jar.has('sso_browser'), [...started.jar.keys()]);
  const before = (await events(connectionId)).length;
  // The victim's browser follows a callback URL an attacker started: it has no binding
  // cookie, or its own (from its own logins), never the attacker's.
  for (const victim of [new Map(), new Map([['sso_browser', crypto.randomBytes(24).toString('base64url')]])]) {
    const answer = await callback(started.callbackUrl, victim);
    assert.equal(answer.status, 400);
    assert.equal(answer.location, null);
  }
  // A wrong value is no better.
  const wrongJar = new Map([...started.jar].map(([name]) => [name, 'not-the-binder']));
  const wrong = await callback(started.callbackUrl, wrongJar);
  assert.equal(wrong.status, 400);
  assert.equal(tenant.hits.token, 0);
  assert.equal((await events(connectionId)).length, before);
  // Whoever learned the state cannot end the login: its own browser still completes it.
  const real = await callback(started.callbackUrl, started.jar);
  assert.ok(new URL(real.location).searchParams.get('code'), real.location);
});

test('the mix-up attack: a login\'s answer at another connection\'s callback is refused before any exchange', async () => {
  const victim = await setup();
  const attacker = await setup();
  const started = await startLogin(victim.connectionId);
  // A malicious provider of another tenant relays the victim provider's answer to its own
  // connection's callback (or the other way round): the path names the wrong connection.
  const relayed = new URL(started.callbackUrl);
  relayed.pathname = `/sso/oidc/callback/${attacker.connectionId}`;
  const answer = await callback(relayed.toString(), started.jar);
  assert.equal(answer.status, 400);
  assert.equal(answer.location, null);
  assert.equal(victim.tenant.hits.token, 0);
  assert.equal(attacker.tenant.hits.token, 0);
  // The victim's own login at its own callback still completes.
  const real = await callback(started.callbackUrl, started.jar);
  assert.ok(new URL(real.location).searchParams.get('code'), real.location);
});

test('a reused state (the same callback twice): the second gives no code and no exchange', async () => {
  const { tenant, connectionId } = await setup();
  const { callbackUrl, answer, jar } = await login(connectionId);
  assert.ok(new URL(answer.location).searchParams.get('code'), answer.location);
  const count = (await events(connectionId)).length;
  const again = await callback(callbackUrl, jar);
  assert.notEqual(again.status, 302, again.location);
  assert.equal(again.status, 400);
  assert.equal(tenant.hits.token, 1);
  const after = await events(connectionId);
  assert.equal(after.length, count);
  assert.equal(after[0].outcome, 'success');
});

test('a callback with no state at all: 400, no event', async () => {
  const before = (await events()).length;
  for (const query of ['code=abc', 'error=access_denied', '']) {
    const answer = await callback(`${broker.url}/sso/oidc/callback/conn_none?${query}`);
    assert.equal(answer.status, 400, query);
    assert.equal(answer.location, null);
  }
  assert.equal((await events()).length, before);
});

// ---- the token endpoint ------------------------------------------------------------------

test('the token endpoint unreachable: server_error, the reason names the token endpoint', async () => {
  // The tenant's discovery points at the token endpoint of a second IdP that has shut down.
  const gone = await startForgerIdp();
  await gone.close();
  const port = new URL(gone.base).port;
  const { connectionId } = await setup({ tokenEndpoint: `${gone.base}/gone/token` });
  const started = await login(connectionId);
  const event = await assertRefused(connectionId, started, /^token endpoint: /, 'server_error');
  assert.match(event.reason, new RegExp(`127\\.0\\.0\\.1:${port}|connect|refused`, 'i'));
});

// No timing assertions: the reason names the fetch timeout, and the test's own timeout says
// the callback never hangs.
test('the token endpoint hanging: the callback answers with an error, never hangs', { timeout: 60000 }, async () => {
  const { tenant, connectionId } = await setup();
  tenant.answer = async () => ({ hang: true });
  const started = await startLogin(connectionId);
  const answer = await callback(started.callbackUrl, started.jar);
  await assertRefused(connectionId, { ...started, answer }, 'token endpoint: the upstream did not answer within 4000 ms', 'server_error');
});

test('a hanging issuer: the first login fails at the fetch timeout, the next from the remembered failure without asking again', { timeout: 60000 }, async () => {
  const { tenant, connectionId } = await setup();
  tenant.discoveryHang = true;
  const asked = tenant.hits.discovery;
  const authorize = async () => {
    const url = client.authorizationUrl({ scope: 'openid', state: generators.state(), nonce: generators.nonce(), connection_id: connectionId });
    const r = await fetch(url, { redirect: 'manual' });
    assert.equal(r.status, 302, await r.text());
    const location = new URL(r.headers.get('location'));
    assert.ok(location.href.startsWith(REDIRECT_URI), location.href);
    assert.equal(location.searchParams.get('code'), null);
    assert.equal(location.searchParams.get('error'), 'server_error');
  };
  await authorize();
  assert.equal(tenant.hits.discovery, asked + 1);
  let [newest] = await events(connectionId);
  assert.match(newest.reason, /did not answer within 4000 ms/);
  assert.doesNotMatch(newest.reason, /remembered/);
  // The second is answered from the remembered failure: no new fetch, and the reason says so.
  await authorize();
  assert.equal(tenant.hits.discovery, asked + 1, 'the second login asked the hanging issuer again');
  [newest] = await events(connectionId);
  assert.match(newest.reason, /did not answer within 4000 ms \(a failure of the fetch at \d{4}-\d\d-\d\dT[\d:]+Z, remembered for 15 s\)/);
});

const badAnswers = [
  ['HTTP 500', { status: 500, raw: '<html>oops</html>', type: 'text/html' }, 'token endpoint: expected HTTP 200 with a JSON object, got HTTP 500 with no JSON'],
  ['invalid JSON', { status: 200, raw: '{"id_token": ', type: 'application/json' }, 'token endpoint: expected HTTP 200 with a JSON object, got HTTP 200 with no JSON'],
  ['the provider\'s error', { status: 400, json: { error: 'invalid_grant', error_description: 'code expired' } }, 'token endpoint error: invalid_grant (code expired) with HTTP 400'],
];
for (const [name, reply, reason] of badAnswers) {
  test(`the token endpoint answering ${name}: server_error, the reason in the event log`, async () => {
    const { tenant, connectionId } = await setup();
    tenant.answer = async () => reply;
    const started = await login(connectionId);
    assert.equal(tenant.hits.token, 1);
    await assertRefused(connectionId, started, reason, 'server_error');
  });
}

// ---- discovery ---------------------------------------------------------------------------

test('discovery whose issuer differs: creating the connection is 400 with the reason', async () => {
  const tenant = await idp.tenant(`t${++tenantCount}`, { user: { email: 'x@example.net' } });
  tenant.discoveryIssuer = 'https://evil.example';
  const org = await broker.api('POST', '/organizations', { display_name: 'Wrong issuer' });
  const conn = await broker.api('POST', `/organizations/${org.json.id}/connections`, {
    type: 'oidc', oidc: { issuer: tenant.issuer, client_id: tenant.clientId, client_secret: tenant.clientSecret },
  });
  assert.equal(conn.status, 400, JSON.stringify(conn.json));
  assert.equal(conn.json.error, 'invalid_request');
  assert.ok(conn.json.error_description.includes(`discovery issuer: expected ${tenant.issuer}, got https://evil.example`), conn.json.error_description);
  assert.equal(tenant.hits.discovery, 1);
});

test('with the guard on (no SSO_ALLOW_PRIVATE_UPSTREAMS), an issuer on loopback is refused unfetched', async () => {
  const guarded = await startBroker({ SSO_ALLOW_PRIVATE_UPSTREAMS: '0' });
  try {
    const tenant = await idp.tenant(`t${++tenantCount}`, { user: { email: 'x@example.net' } });
    const org = await guarded.api('POST', '/organizations', { display_name: 'Guarded' });
    assert.equal(org.status, 201);
    const conn = await guarded.api('POST', `/organizations/${org.json.id}/connections`, {
      type: 'oidc', oidc: { issuer: tenant.issuer, client_id: tenant.clientId, client_secret: tenant.clientSecret },
    });
    assert.equal(conn.status, 400, JSON.stringify(conn.json));
    assert.match(conn.json.error_description, /^oidc\.issuer: .*(private|loopback|https)/i);
    assert.equal(tenant.hits.discovery, 0);
  } finally {
    await guarded.stop();
  }
});
