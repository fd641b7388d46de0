// Logins through OIDC connections whose upstream IdP is npm `oidc-provider` (a certified
// OpenID Provider) on loopback, signed in headlessly through its development login pages, with
// openid-client standing in for Auth0 on the broker's side: Keycloak-style and Entra-style
// claims, the IdP refusing (access_denied), and the IdP rotating its signing keys.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { generators } = require('openid-client');
const { startBroker } = require('./broker');
const { startOidcProvider, providerLogin, CookieJar } = require('./oidc_idp');

const REDIRECT_URI = 'https://app.example.net/login/callback';
const SCOPES = ['openid', 'email', 'profile', 'groups'];
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

// An organization owning `domain`, a customer IdP (oidc-provider with `accounts`, the broker
// registered at it as a client authenticating with `authMethod`) and an enabled OIDC
// connection of the organization to it (with `settings`, e.g. its attribute_mapping; the OP
// releasing `extraClaims` too).
async function customer({ name, domain, accounts, authMethod = 'client_secret_basic', settings = {}, extraClaims }) {
  const secret = crypto.randomBytes(24).toString('base64url');
  const clientId = `broker-${crypto.randomBytes(4).toString('hex')}`;
  // The broker's redirect URI names the connection, which exists only once the OP answers
  // discovery: the OP starts with a placeholder and restarts with the real one below.
  const opClient = { client_id: clientId, client_secret: secret, redirect_uris: [`${broker.url}/placeholder`], token_endpoint_auth_method: authMethod };
  const op = await startOidcProvider({ accounts, client: opClient, extraClaims });
  providers.push(op);
  const org = await broker.api('POST', '/organizations', { display_name: name });
  assert.equal(org.status, 201, JSON.stringify(org.json));
  const dom = await broker.api('POST', `/organizations/${org.json.id}/domains`, { domain });
  assert.equal(dom.status, 201, JSON.stringify(dom.json));
  const conn = await broker.api('POST', `/organizations/${org.json.id}/connections`, {
    type: 'oidc', oidc: { issuer: op.issuer, client_id: clientId, client_secret: secret, scopes: SCOPES },
    ...settings,
  });
  assert.equal(conn.status, 201, JSON.stringify(conn.json));
  assert.equal(conn.json.type, 'oidc');
  const callback = `${broker.url}/sso/oidc/callback/${conn.json.id}`;
  assert.equal(conn.json.oidc.redirect_uri, callback);
  opClient.redirect_uris = [callback];
  await op.restart();
  assert.equal(conn.json.oidc.client_secret, undefined, 'the secret is never shown back');
  const enabled = await broker.api('POST', `/connections/${conn.json.id}/enable`);
  assert.equal(enabled.status, 200, JSON.stringify(enabled.json));
  return { op, org: org.json, connection: conn.json };
}

// Auth0's side of a login: the authorization request to the broker (selecting the connection
// by the email domain of login_hint), the browser's walk through the broker and the IdP's
// pages as `account`, and the client's redirect URI reached at the end.
async function login({ loginHint, account, abort = false, jar = new CookieJar() }) {
  const state = generators.state(), nonce = generators.nonce(), verifier = generators.codeVerifier();
  const url = client.authorizationUrl({
    scope: 'openid profile email', state, nonce, login_hint: loginHint,
    code_challenge: generators.codeChallenge(verifier), code_challenge_method: 'S256',
  });
  const walk = await providerLogin(url, { account, redirectUri: REDIRECT_URI, abort, jar });
  assert.ok(walk.location, `no redirect to the client: ${walk.status} ${walk.url}\n${(walk.body || '').slice(0, 400)}\n${walk.visited.join('\n')}`);
  return { walk, params: client.callbackParams(walk.location), state, nonce, verifier };
}

async function redeem({ params, state, nonce, verifier }) {
  assert.equal(params.error, undefined, JSON.stringify(params));
  return client.callback(REDIRECT_URI, params, { state, nonce, code_verifier: verifier });
}

async function newestEvent(connection) {
  const r = await broker.api('GET', `/events?connection_id=${connection.id}`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.ok(r.json.data.length > 0, 'no event');
  return r.json.data[0];
}

test('Keycloak-style claims: the ID token carries the upstream email, names, groups and the organization', async () => {
  const { op, org, connection } = await customer({
    name: 'Keycloak Corp', domain: 'kc.example',
    accounts: {
      'f81d4fae-7dec-11d0-a765-00a0c91e6bf6': {
        email: 'jo@kc.example', email_verified: true, name: 'Jo Doe', given_name: 'Jo',
        family_name: 'Doe', preferred_username: 'jo', groups: ['engineering', '/platform/sso-admins'],
      },
    },
  });
  // The browser's cookies, watched for its binding cookie.
  const jar = new CookieJar();
  const bindings = [];
  const store = jar.store.bind(jar);
  jar.store = (url, response) => {
    for (const line of response.headers.getSetCookie()) if (line.startsWith('sso_')) bindings.push(line);
    store(url, response);
  };
  const result = await login({ loginHint: 'jo@kc.example', account: 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6', jar });
  // Over plain http the binding cookie has no __Host- prefix (it needs Secure) and the public
  // URL's path; it is the browser's, so the callback that ended the login left it alone.
  assert.equal(bindings.length, 1, bindings.join('\n'));
  assert.match(bindings[0], /^sso_browser=[A-Za-z0-9_-]{32}; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax$/);
  const [binding] = bindings[0].split(';');
  assert.deepEqual(jar.cookies.filter((c) => c.name.startsWith('sso_')).map((c) => `${c.name}=${c.value}`), [binding]);
  // The same browser's second login reuses it (the same value, refreshed) and completes.
  const second = await login({ loginHint: 'jo@kc.example', account: 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6', jar });
  assert.deepEqual(bindings, [bindings[0], bindings[0]]);
  assert.equal((await redeem(second)).claims().email, 'jo@kc.example');
  assert.deepEqual(jar.cookies.filter((c) => c.name.startsWith('sso_')).map((c) => `${c.name}=${c.value}`), [binding]);

  // The broker's authorization request to the IdP: code flow with PKCE S256, a nonce, our
  // callback, the login hint passed on.
  const discovery = await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json();
  const upstream = result.walk.visited.map((v) => new URL(v.split(' ')[1]))
    .find((u) => `${u.origin}${u.pathname}` === discovery.authorization_endpoint);
  assert.ok(upstream, result.walk.visited.join('\n'));
  const q = upstream.searchParams;
  assert.equal(q.get('response_type'), 'code');
  assert.equal(q.get('redirect_uri'), `${broker.url}/sso/oidc/callback/${connection.id}`);
  assert.equal(q.get('code_challenge_method'), 'S256');
  assert.match(q.get('code_challenge') || '', /^[A-Za-z0-9_-]{43}$/);
  assert.ok(q.get('state') && q.get('nonce'), upstream.toString());
  assert.equal(q.get('login_hint'), 'jo@kc.example');
  assert.ok(q.get('scope').split(' ').includes('openid'), q.get('scope'));

  const tokens = await redeem(result);
  const claims = tokens.claims();
  assert.equal(claims.iss, broker.url);
  assert.equal(claims.aud, client.client_id);
  assert.equal(claims.nonce, result.nonce);
  assert.equal(claims.sub, `${connection.id};f81d4fae-7dec-11d0-a765-00a0c91e6bf6`);
  assert.equal(claims.email, 'jo@kc.example');
  assert.equal(claims.email_verified, true);
  assert.equal(claims.name, 'Jo Doe');
  assert.equal(claims.given_name, 'Jo');
  assert.equal(claims.family_name, 'Doe');
  assert.deepEqual(claims.groups, ['engineering', '/platform/sso-admins']);
  assert.equal(claims.oid, org.id);
  assert.equal(claims.connection_id, connection.id);
  assert.equal(claims.connection_type, 'oidc');
  assert.deepEqual(claims.amr, [connection.id]);
  const userinfo = await client.userinfo(tokens);
  assert.equal(userinfo.email, 'jo@kc.example');
  assert.equal((await newestEvent(connection)).outcome, 'success');
  // The connection's last sign-in keeps the claims as the provider sent them.
  const last = await broker.api('GET', `/connections/${connection.id}/last_login`);
  assert.equal(last.status, 200, JSON.stringify(last.json));
  assert.equal(last.json.subject, 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6');
  assert.ok(JSON.stringify(last.json.raw).includes('/platform/sso-admins'), JSON.stringify(last.json.raw));
});

test('Entra-style claims (client_secret_post): the email comes from upn, unverified; groups are the ids', async () => {
  const groupIds = ['6f2c1a5e-0b7d-4c8e-9a1f-3d4e5f607182', 'b3a9d8c7-1e2f-4a5b-8c6d-7e8f9a0b1c2d'];
  const upstreamOid = '00000000-0000-0000-66f3-3332eca7ea81';
  const { op, org, connection } = await customer({
    name: 'Entra Corp', domain: 'entra.example', authMethod: 'client_secret_post',
    accounts: {
      // Entra's sub is pairwise and opaque; no email claim; the address is the UPN.
      'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ': {
        name: 'Ada Lovelace', given_name: 'Ada', family_name: 'Lovelace',
        preferred_username: 'ada@entra.example', upn: 'ada@entra.example',
        oid: upstreamOid, tid: '9188040d-6c67-4c5b-b112-36a304b66dad', groups: groupIds,
      },
    },
  });
  const discovery = await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json();
  assert.deepEqual(discovery.token_endpoint_auth_methods_supported, ['client_secret_post']);
  const result = await login({ loginHint: 'ada@entra.example', account: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ' });
  const claims = (await redeem(result)).claims();
  assert.equal(claims.sub, `${connection.id};AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ`);
  assert.equal(claims.email, 'ada@entra.example');
  assert.equal(claims.email_verified, false);
  assert.equal(claims.name, 'Ada Lovelace');
  assert.equal(claims.given_name, 'Ada');
  assert.equal(claims.family_name, 'Lovelace');
  assert.deepEqual(claims.groups, groupIds);
  // The upstream's own `oid` (Entra's object id) does not pass for the organization.
  assert.equal(claims.oid, org.id);
  assert.equal(claims.connection_type, 'oidc');
  assert.equal(claims.connection_id, connection.id);
});

test('a connection\'s attribute_mapping: email, name and groups from the claims it names, the other fields by default', async () => {
  const account = 'mapped-user-1';
  const { connection } = await customer({
    name: 'Mapped Corp', domain: 'mapped.example',
    extraClaims: ['work_email', 'display_name', 'teams'],
    settings: { attribute_mapping: { email: 'work_email', name: 'display_name', groups: 'teams' } },
    accounts: {
      [account]: {
        // The standard claims say something else: the mapping wins for the fields it names.
        email: 'sam.home@elsewhere.example', email_verified: true, name: 'ignored', groups: ['ignored'],
        work_email: 'sam@mapped.example', display_name: 'Sam Mapped', teams: ['red-team', 'blue-team'],
        given_name: 'Sam', family_name: 'Mapped',
      },
    },
  });
  assert.deepEqual(connection.attribute_mapping, { email: 'work_email', name: 'display_name', groups: 'teams' });
  const result = await login({ loginHint: 'sam@mapped.example', account });
  const claims = (await redeem(result)).claims();
  assert.equal(claims.sub, `${connection.id};${account}`);
  assert.equal(claims.email, 'sam@mapped.example');
  // The IdP's email_verified speaks of its email claim, not of work_email.
  assert.equal(claims.email_verified, false);
  assert.equal(claims.name, 'Sam Mapped');
  assert.equal(claims.given_name, 'Sam');
  assert.equal(claims.family_name, 'Mapped');
  assert.deepEqual(claims.groups, ['red-team', 'blue-team']);
  assert.equal((await newestEvent(connection)).outcome, 'success');
});

test('the IdP answers access_denied: the client gets access_denied and no code; the event log has the reason', async () => {
  const { connection } = await customer({
    name: 'Refusing Corp', domain: 'deny.example',
    accounts: { 'u-deny': { email: 'max@deny.example', email_verified: true } },
  });
  const result = await login({ loginHint: 'max@deny.example', abort: true });
  // The walk went through the IdP's login page and its Cancel link to the broker's callback.
  assert.ok(result.walk.visited.some((v) => v.includes('/abort')), result.walk.visited.join('\n'));
  assert.ok(result.walk.visited.some((v) => v.startsWith(`GET ${broker.url}/sso/oidc/callback/`)
    && v.includes('error=access_denied')), result.walk.visited.join('\n'));
  assert.equal(result.params.error, 'access_denied', JSON.stringify(result.params));
  assert.equal(result.params.state, result.state);
  assert.equal(result.params.code, undefined);
  const event = await newestEvent(connection);
  assert.equal(event.outcome, 'failure', JSON.stringify(event));
  assert.match(event.reason, /access_denied/, event.reason);
  // oidc-provider's error_description for an aborted interaction.
  assert.match(event.reason, /End-User aborted interaction/, event.reason);
});

test('the IdP rotates its signing keys between two logins: the second login still works', async () => {
  const account = 'kid-user';
  const { op, connection } = await customer({
    name: 'Rotating Corp', domain: 'rotate.example',
    accounts: { [account]: { email: 'rey@rotate.example', email_verified: true, given_name: 'Rey' } },
  });
  const first = await login({ loginHint: 'rey@rotate.example', account });
  assert.equal((await redeem(first)).claims().email, 'rey@rotate.example');

  const [oldKid] = op.kids;
  await op.restart({ rotateKeys: true });
  const discovery = await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json();
  assert.equal(discovery.issuer, op.issuer, 'the same issuer after the restart');
  const jwks = await (await fetch(discovery.jwks_uri)).json();
  assert.deepEqual(jwks.keys.map((k) => k.kid), op.kids);
  assert.ok(!op.kids.includes(oldKid), 'the old key is gone from the JWKS');

  const mark = op.requests.length;
  const second = await login({ loginHint: 'rey@rotate.example', account });
  // The broker fetched the new JWKS from the restarted IdP for the token with the new kid.
  const jwksPath = new URL(discovery.jwks_uri).pathname;
  assert.ok(op.requests.slice(mark).includes(`GET ${jwksPath}`), op.requests.slice(mark).join('\n'));
  const claims = (await redeem(second)).claims();
  assert.equal(claims.email, 'rey@rotate.example');
  assert.equal(claims.sub, `${connection.id};${account}`);
  assert.equal((await newestEvent(connection)).outcome, 'success');
});
