// OIDC connections with response_mode=form_post, driven by a real browser (Debian's Chromium
// through playwright-core), because only a browser shows what SameSite does: npm `oidc-provider`
// is the customer's IdP at http://localhost:<port>, another site than the broker at
// http://127.0.0.1:<port>, so its form POST to the callback is cross-site and brings no
// SameSite=Lax binding cookie. The broker answers it with a page that posts the same answer
// again from its own origin (same-site: the cookie comes along). Also: an answer in the other
// response mode refused with its reason, the re-post without the cookie refused, the option
// refused when discovery lacks form_post, and the binding cookie over https (__Host-, one per
// browser, kept and reused across logins).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { generators } = require('openid-client');
const { startBroker } = require('./broker');
const { startOidcProvider } = require('./oidc_idp');
const { startForgerIdp } = require('./forger_idp');

const ROOT = path.resolve(__dirname, '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = fs.existsSync(CHROMIUM);
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const SCOPES = ['openid', 'email', 'profile'];
const ACCOUNT = 'form-user';

let broker, browser, app, redirectUri, client, op, connection, forger;
const landed = [];

// The client's redirect URI (records what lands), and /attack: another site's page that
// posts the fields of its query to ?target= (a forged answer), when reached as localhost.
function startApp() {
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      const url = new URL(req.url, `http://${req.headers.host}`);
      if (url.pathname === '/attack') {
        const fields = [...url.searchParams].filter(([k]) => k !== 'target')
          .map(([k, v]) => `<input type="hidden" name="${k}" value="${v.replace(/[&"<>]/g, '')}">`).join('');
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(`<!doctype html><title>Attacker</title><form method="post" action="${url.searchParams.get('target')}">${fields}</form>`
          + '<script>document.forms[0].submit()</script>');
        return;
      }
      landed.push(url.toString());
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>App</title><p>signed in</p>');
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

// An organization owning `domain` with an OIDC connection to `issuer` taking `options`.
async function connect({ name, domain, issuer, clientId, secret, options }) {
  const org = await broker.api('POST', '/organizations', { display_name: name });
  assert.equal(org.status, 201, JSON.stringify(org.json));
  assert.equal((await broker.api('POST', `/organizations/${org.json.id}/domains`, { domain })).status, 201);
  return broker.api('POST', `/organizations/${org.json.id}/connections`, {
    type: 'oidc', oidc: { issuer, client_id: clientId, client_secret: secret, scopes: SCOPES }, options,
  });
}

before(async () => {
  broker = await startBroker({ SSO_WEB_DIR: path.join(ROOT, 'web', 'static') });
  app = await startApp();
  redirectUri = `http://127.0.0.1:${app.address().port}/callback`;
  client = await broker.auth0Client(redirectUri);
  forger = await startForgerIdp();
  const secret = crypto.randomBytes(24).toString('base64url');
  const opClient = { client_id: 'broker-form', client_secret: secret, redirect_uris: [`${broker.url}/placeholder`], token_endpoint_auth_method: 'client_secret_basic' };
  op = await startOidcProvider({
    hostname: 'localhost', client: opClient,
    accounts: { [ACCOUNT]: { email: 'fay@form.example', email_verified: true, given_name: 'Fay', family_name: 'Post', name: 'Fay Post' } },
  });
  const conn = await connect({ name: 'Form Post Corp', domain: 'form.example', issuer: op.issuer, clientId: opClient.client_id, secret, options: { response_mode: 'form_post' } });
  assert.equal(conn.status, 201, JSON.stringify(conn.json));
  connection = conn.json;
  assert.equal(connection.options.response_mode, 'form_post');
  opClient.redirect_uris = [connection.oidc.redirect_uri];
  await op.restart();
  assert.equal((await broker.api('POST', `/connections/${connection.id}/enable`)).status, 200);
  if (HAVE_CHROMIUM) {
    const { chromium } = require('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  }
});

after(async () => {
  if (browser) await browser.close();
  if (op) await op.close();
  if (forger) await forger.close();
  if (app) await new Promise((r) => app.close(r));
  if (broker) await broker.stop();
});

function authorizeRequest() {
  const state = generators.state(), nonce = generators.nonce(), verifier = generators.codeVerifier();
  const url = client.authorizationUrl({
    scope: 'openid profile email', state, nonce, login_hint: 'fay@form.example',
    code_challenge: generators.codeChallenge(verifier), code_challenge_method: 'S256',
  });
  return { url, state, nonce, verifier };
}

// A fresh browser profile whose requests to the broker's callback are recorded with their
// method, status and whether they brought a binding cookie, and whose requests to the OP's
// authorization endpoint are kept.
async function profile() {
  const context = await browser.newContext();
  const page = await context.newPage();
  const callbacks = [], authorizations = [];
  const callbackPath = `${broker.url}/sso/oidc/callback/`;
  page.on('request', (r) => {
    if (r.url().startsWith(`${op.issuer}/auth?`)) authorizations.push(new URL(r.url()));
  });
  page.on('response', (r) => {
    if (!r.url().startsWith(callbackPath)) return;
    callbacks.push(r.request().allHeaders().then((h) => ({
      method: r.request().method(), status: r.status(),
      cookie: /(^|; )sso_browser=/.test(h.cookie || ''),
    })));
  });
  return { context, page, callbacks: async () => Promise.all(callbacks), authorizations };
}

// Signs in at the OP's development pages (login, then consent when asked) until the browser
// reaches the client's redirect URI.
async function signIn(page) {
  await page.waitForSelector('input[name="login"]', { timeout: 10000 });
  await page.fill('input[name="login"]', ACCOUNT);
  await page.fill('input[name="password"]', 'any');
  await page.click('button[type="submit"]');
  const appOrigin = new URL(redirectUri).origin;
  for (let i = 0; i < 4; i++) {
    if (await page.waitForURL((u) => u.origin === appOrigin, { timeout: 4000 }).then(() => true, () => false)) {
      return new URL(page.url());
    }
    if (await page.locator('input[name="prompt"][value="consent"]').count()) await page.click('button[type="submit"]');
  }
  throw new Error(`never reached the client: "${await page.title()}" at ${page.url()}`);
}

async function events(conn) {
  const r = await broker.api('GET', `/events?connection_id=${conn.id}`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.data;
}

// Starts a login in the browser and stops at the OP's login page; the state the broker gave.
async function startInBrowser(page, authorizations) {
  await page.goto(authorizeRequest().url);
  await page.waitForSelector('input[name="login"]', { timeout: 10000 });
  const state = authorizations[0] && authorizations[0].searchParams.get('state');
  assert.ok(state, 'no authorization request to the OP');
  return state;
}

test('form_post in Chromium: the IdP\'s cross-site POST brings no Lax cookie, the broker re-posts it same-site, the login completes; the browser keeps its one cookie, which its next login reuses', async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(`${CHROMIUM} is missing`); return; }
  const { context, page, callbacks, authorizations } = await profile();
  t.after(() => context.close());
  const request = authorizeRequest();
  await page.goto(request.url);
  const at = await signIn(page);
  // The authorization request asked for form_post.
  assert.equal(authorizations.length, 1);
  assert.equal(authorizations[0].searchParams.get('response_mode'), 'form_post');
  assert.equal(authorizations[0].searchParams.get('redirect_uri'), connection.oidc.redirect_uri);
  // The OP's POST came without the cookie (cross-site, SameSite=Lax): the re-post page; the
  // broker's own POST brought it and ended the login with the redirect to the client.
  assert.deepEqual(await callbacks(), [
    { method: 'POST', status: 200, cookie: false },
    { method: 'POST', status: 302, cookie: true },
  ]);
  assert.equal(at.searchParams.get('error'), null, at.toString());
  assert.equal(at.searchParams.get('state'), request.state);
  const tokens = await client.callback(redirectUri, client.callbackParams(at.toString()),
    { state: request.state, nonce: request.nonce, code_verifier: request.verifier });
  const claims = tokens.claims();
  assert.equal(claims.email, 'fay@form.example');
  assert.equal(claims.sub, `${connection.id};${ACCOUNT}`);
  assert.equal(claims.connection_type, 'oidc');
  assert.equal((await events(connection))[0].outcome, 'success');
  // The login is over; the browser keeps its one binding cookie (it binds its other logins).
  const bindings = async () => (await context.cookies(broker.url)).filter((c) => c.name.startsWith('sso_'));
  const kept = await bindings();
  assert.deepEqual(kept.map((c) => [c.name, c.path, c.httpOnly, c.sameSite]), [['sso_browser', '/', true, 'Lax']]);
  assert.match(kept[0].value, /^[A-Za-z0-9_-]{32}$/);
  // The same browser's next logins (here two, through the context's own cookie store) reuse
  // it: still one cookie, the same value, refreshed.
  for (let i = 0; i < 2; i++) {
    const again = await context.request.get(authorizeRequest().url, { maxRedirects: 0 });
    assert.equal(again.status(), 302);
    assert.match(again.headers()['set-cookie'] || '', new RegExp(`^sso_browser=${kept[0].value}; Path=/; Max-Age=600; HttpOnly; SameSite=Lax$`));
  }
  assert.deepEqual((await bindings()).map((c) => `${c.name}=${c.value}`), [`sso_browser=${kept[0].value}`]);
});

test('form_post: a code in the callback\'s query (from the login\'s own browser) is refused with the reason', async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(`${CHROMIUM} is missing`); return; }
  const { context, page, authorizations } = await profile();
  t.after(() => context.close());
  const state = await startInBrowser(page, authorizations);
  await page.goto(`${connection.oidc.redirect_uri}?state=${state}&code=injected-code`);
  const at = new URL(page.url());
  assert.equal(at.origin + at.pathname, redirectUri, page.url());
  assert.equal(at.searchParams.get('error'), 'access_denied');
  assert.equal(at.searchParams.get('code'), null);
  const event = (await events(connection))[0];
  assert.equal(event.outcome, 'failure');
  assert.match(event.reason, /the code came in the query, but connection \S+ uses response_mode=form_post/, event.reason);
  // The browser's binding cookie stays (it is the browser's, not this login's).
  assert.deepEqual((await context.cookies(broker.url)).filter((c) => c.name.startsWith('sso_')).map((c) => c.name), ['sso_browser']);
});

test('form_post: another site\'s forged POST is re-posted, arrives without the cookie, and is refused; the login is left as it was', async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(`${CHROMIUM} is missing`); return; }
  // A login started elsewhere (here, by this process): its state, and its cookie, not the
  // victim browser's.
  const started = await fetch(authorizeRequest().url, { redirect: 'manual' });
  assert.equal(started.status, 302);
  const state = new URL(started.headers.get('location')).searchParams.get('state');
  const binding = started.headers.getSetCookie().find((c) => c.startsWith('sso_browser='));
  assert.ok(state && binding, started.headers.get('location'));
  const before = (await events(connection)).length;

  const { context, page, callbacks } = await profile();
  t.after(() => context.close());
  const attack = new URL(`http://localhost:${app.address().port}/attack`);
  attack.search = new URLSearchParams({ target: connection.oidc.redirect_uri, state, code: 'attacker-code' }).toString();
  await page.goto(attack.toString());
  await page.waitForFunction(() => document.title === 'This sign-in cannot continue', null, { timeout: 10000 });
  assert.deepEqual(await callbacks(), [
    { method: 'POST', status: 200, cookie: false },
    { method: 'POST', status: 400, cookie: false },
  ]);
  assert.equal((await events(connection)).length, before, 'nothing recorded, the login not ended');
  // The login is still open: its own browser (with its cookie) can still end it.
  const own = await fetch(connection.oidc.redirect_uri, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: binding.split(';')[0] },
    body: new URLSearchParams({ state, error: 'access_denied' }).toString(),
  });
  assert.equal(own.status, 302);
  assert.match(own.headers.get('location'), /error=access_denied/);
});

test('a query connection: a POSTed code from the login\'s own browser is refused with the reason', async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(`${CHROMIUM} is missing`); return; }
  assert.equal((await broker.api('PATCH', `/connections/${connection.id}`, { options: { response_mode: 'query' } })).status, 200);
  t.after(async () => {
    const back = await broker.api('PATCH', `/connections/${connection.id}`, { options: { response_mode: 'form_post' } });
    assert.equal(back.status, 200, JSON.stringify(back.json));
  });
  const { context, page, authorizations } = await profile();
  t.after(() => context.close());
  const state = await startInBrowser(page, authorizations);
  assert.equal(authorizations[0].searchParams.get('response_mode'), null);
  // A same-site POST (from a broker page), so the browser sends the login's cookie.
  await page.goto(`${broker.url}/healthz`);
  await Promise.all([
    page.waitForURL((u) => u.toString().startsWith(redirectUri), { timeout: 10000 }),
    page.evaluate(({ action, fields }) => {
      const form = document.createElement('form');
      form.method = 'post';
      form.action = action;
      for (const [name, value] of Object.entries(fields)) {
        const input = document.createElement('input');
        input.type = 'hidden';
        input.name = name;
        input.value = value;
        form.appendChild(input);
      }
      document.body.appendChild(form);
      form.submit();
    }, { action: connection.oidc.redirect_uri, fields: { state, code: 'posted-code' } }),
  ]);
  const at = new URL(page.url());
  assert.equal(at.searchParams.get('error'), 'access_denied', page.url());
  const event = (await events(connection))[0];
  assert.match(event.reason, /the code came in a POSTed form, but connection \S+ uses response_mode=query/, event.reason);
});

test('form_post is refused at create and at a change when the provider\'s discovery does not list it', async () => {
  const tenant = await forger.tenant('noform', { user: { email: 'x@noform.example' } });
  const reason = `options.response_mode: form_post is not in the response_modes_supported of ${tenant.issuer}'s discovery`;
  const refused = await connect({ name: 'No Form Corp', domain: 'noform.example', issuer: tenant.issuer, clientId: tenant.clientId, secret: tenant.clientSecret, options: { response_mode: 'form_post' } });
  assert.equal(refused.status, 400, JSON.stringify(refused.json));
  assert.equal(refused.json.error, 'invalid_request');
  assert.equal(refused.json.error_description, reason);
  const made = await connect({ name: 'No Form Corp 2', domain: 'noform2.example', issuer: tenant.issuer, clientId: tenant.clientId, secret: tenant.clientSecret });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  const changed = await broker.api('PATCH', `/connections/${made.json.id}`, { options: { response_mode: 'form_post' } });
  assert.equal(changed.status, 400, JSON.stringify(changed.json));
  assert.equal(changed.json.error_description, reason);
});

test('over https the binding cookie is __Host- (Secure, Path=/), one per browser however many logins it starts, kept by the callback and reused by the next login', async () => {
  const secure = await startBroker({ SSO_PUBLIC_URL: 'https://sso.form.test' });
  try {
    const secureClient = await secure.api('POST', '/clients', { name: 'https app', redirect_uris: [redirectUri] });
    assert.equal(secureClient.status, 201);
    const tenant = await forger.tenant('hostcookie', { user: { email: 'hal@host.example', given_name: 'Hal', family_name: 'Host' } });
    const org = await secure.api('POST', '/organizations', { display_name: 'Host Corp' });
    await secure.api('POST', `/organizations/${org.json.id}/domains`, { domain: 'host.example' });
    const conn = await secure.api('POST', `/organizations/${org.json.id}/connections`, {
      type: 'oidc', oidc: { issuer: tenant.issuer, client_id: tenant.clientId, client_secret: tenant.clientSecret, scopes: SCOPES },
    });
    assert.equal(conn.status, 201, JSON.stringify(conn.json));
    assert.equal((await secure.api('POST', `/connections/${conn.json.id}/enable`)).status, 200);
    const authorize = new URL(`${secure.url}/oauth/authorize`);
    authorize.search = new URLSearchParams({
      response_type: 'code', client_id: secureClient.json.client_id, redirect_uri: redirectUri,
      scope: 'openid email', state: 'app-state', login_hint: 'hal@host.example',
    }).toString();
    // The browser's cookies for the broker (name -> value), as it would keep them.
    const jar = new Map();
    const keep = (response) => {
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const eq = pair.indexOf('=');
        if (/Max-Age=0(;|$)/.test(line) || eq === pair.length - 1) jar.delete(pair.slice(0, eq));
        else jar.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
    };
    const cookies = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const started = await fetch(authorize, { redirect: 'manual' });
    assert.equal(started.status, 302);
    keep(started);
    const set = started.headers.getSetCookie().find((c) => c.includes('sso_browser='));
    assert.match(set || '', /^__Host-sso_browser=[A-Za-z0-9_-]{32}; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax; Secure$/);
    const binding = set.split(';')[0];
    // A provider bouncing the browser back to /oauth/authorize 50 times: still one cookie,
    // the same value (refreshed), and the logins it started all bound to it.
    for (let i = 0; i < 50; i++) {
      const bounced = await fetch(authorize, { redirect: 'manual', headers: { cookie: cookies() } });
      assert.equal(bounced.status, 302);
      keep(bounced);
    }
    assert.deepEqual(cookies(), binding);
    // The IdP sends the browser back to the https callback; this test reaches the gateway
    // over plain http at the same path.
    const atIdp = await fetch(started.headers.get('location'), { redirect: 'manual' });
    const back = new URL(atIdp.headers.get('location'));
    assert.equal(`${back.origin}${back.pathname}`, `https://sso.form.test/sso/oidc/callback/${conn.json.id}`);
    // The unprefixed name (which a sibling subdomain could set) is not the binding.
    const unprefixed = await fetch(`${secure.url}${back.pathname}${back.search}`, {
      redirect: 'manual', headers: { cookie: binding.replace('__Host-', '') },
    });
    assert.equal(unprefixed.status, 400);
    const done = await fetch(`${secure.url}${back.pathname}${back.search}`, {
      redirect: 'manual', headers: { cookie: cookies() },
    });
    assert.equal(done.status, 302);
    assert.ok(new URL(done.headers.get('location')).searchParams.get('code'), done.headers.get('location'));
    // The login ended; the browser's cookie is not cleared: its next login reuses it.
    assert.deepEqual(done.headers.getSetCookie(), []);
    const next = await fetch(authorize, { redirect: 'manual', headers: { cookie: cookies() } });
    assert.equal(next.status, 302);
    assert.deepEqual(next.headers.getSetCookie(), [`${binding}; Path=/; Max-Age=600; HttpOnly; SameSite=Lax; Secure`]);
    const nextBack = new URL((await fetch(next.headers.get('location'), { redirect: 'manual' })).headers.get('location'));
    const nextDone = await fetch(`${secure.url}${nextBack.pathname}${nextBack.search}`, {
      redirect: 'manual', headers: { cookie: binding },
    });
    assert.equal(nextDone.status, 302);
    assert.ok(new URL(nextDone.headers.get('location')).searchParams.get('code'), nextDone.headers.get('location'));
    // An unprefixed cookie at /oauth/authorize over https is not reused either: a new binder.
    const planted = await fetch(authorize, { redirect: 'manual', headers: { cookie: binding.replace('__Host-', '') } });
    const fresh = planted.headers.getSetCookie().find((c) => c.startsWith('__Host-sso_browser=')) || '';
    assert.match(fresh, /^__Host-sso_browser=[A-Za-z0-9_-]{32};/);
    assert.notEqual(fresh.split(';')[0], binding);
  } finally {
    await secure.stop();
  }
});
