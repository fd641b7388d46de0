// A real browser (Debian's Chromium, driven by playwright-core) walks the hosted pages:
// authorize with no selector -> "Sign in with SSO" (CSRF cookie + hidden field, the page's CSP)
// -> IdP simulator page -> auto-post page -> ACS -> the client's redirect URI with a code.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { startBroker } = require('./broker');
const { keyPair } = require('./idp');

const ROOT = path.resolve(__dirname, '..', '..');

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = fs.existsSync(CHROMIUM);
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let broker;
let client;
let app;           // the client's redirect URI: a tiny HTTP server that records what lands
let redirectUri;
let landed = [];   // URLs that reached the redirect URI
let context;       // one browser profile for the whole file (the remembered domain lives in it)
let page;
let userDataDir;
const consoleErrors = [];

function startApp() {
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      landed.push(new URL(req.url, `http://${req.headers.host}`).toString());
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>App</title><p id="done">signed in</p>');
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function authorizeUrl(state, nonce) {
  const u = new URL('/oauth/authorize', broker.url);
  u.search = new URLSearchParams({
    response_type: 'code', client_id: client.client_id, redirect_uri: redirectUri,
    scope: 'openid profile email', state, nonce,
  }).toString();
  return u.toString();
}

function fail(message) {
  const errors = consoleErrors.length ? `\nbrowser console errors:\n  ${consoleErrors.join('\n  ')}` : '';
  return `${message}${errors}`;
}

before(async () => {
  if (!HAVE_CHROMIUM) return;
  // The gateway's default SSO_WEB_DIR (web/static) is relative to the working directory; the
  // tests run in tests/interop, so point it at the repository's, as `make run` finds it.
  broker = await startBroker({ SSO_WEB_DIR: path.join(ROOT, 'web', 'static') });
  app = await startApp();
  redirectUri = `http://127.0.0.1:${app.address().port}/callback`;
  const created = await broker.api('POST', '/clients', { name: 'browser app', redirect_uris: [redirectUri] });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  client = created.json;
  const { chromium } = require('playwright-core');
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sso-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM, headless: true, args: ARGS,
  });
  page = context.pages()[0] || await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`); });
  page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: pageerror ${e.message}`));
});

after(async () => {
  if (context) await context.close();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  if (app) await new Promise((r) => app.close(r));
  if (broker) await broker.stop();
});

// From the hosted page on: email, simulator form, auto-post page, until the redirect URI.
async function walkLogin(state, nonce) {
  await page.goto(authorizeUrl(state, nonce));
  assert.equal(await page.title(), 'Sign in with SSO', fail(`not the hosted page: ${page.url()}`));
  await page.fill('input[name="login_hint"]', 'jo@example.com');
  await page.click('button[type="submit"]');
  await page.waitForSelector('input[name="given_name"]', { timeout: 10000 }).catch(async () => {
    throw new Error(fail(`no simulator page after the email: "${await page.title()}" at ${page.url()}: ${(await page.textContent('body')).trim().slice(0, 300)}`));
  });
  const simulatorUrl = page.url();
  // The simulator does not carry the email typed on the hosted page: its field starts at
  // someone@example.com, so type it again.
  await page.fill('input[name="email"]', 'jo@example.com');
  await page.fill('input[name="given_name"]', 'Jo');
  await page.fill('input[name="family_name"]', 'Doe');
  await page.fill('input[name="groups"]', 'admins, devs');
  await pickScenario('success');
  const appOrigin = new URL(redirectUri).origin;
  await page.click('form [type="submit"]');
  // The auto-post page: auto-submits if it can, otherwise it has a Continue button.
  const arrived = await page.waitForURL((u) => u.origin === appOrigin, { timeout: 3000 }).then(() => true, () => false);
  if (!arrived) {
    const button = page.locator('form [type="submit"], form button').first();
    if (await button.count()) {
      await button.click();
    }
    await page.waitForURL((u) => u.origin === appOrigin, { timeout: 5000 }).catch(async () => {
      throw new Error(fail(`never reached the redirect URI; stuck on "${await page.title()}" at ${page.url()}`));
    });
  }
  return { simulatorUrl, landedAt: new URL(page.url()) };
}

async function pickScenario(scenario) {
  const select = page.locator('select[name="scenario"]');
  if (await select.count()) { await select.selectOption(scenario); return; }
  await page.check(`input[name="scenario"][value="${scenario}"]`);
}

test('a browser login through the hosted page and the simulator ends at the redirect URI with a code', async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(`${CHROMIUM} is missing: apt-get install -y chromium`); return; }
  const state = crypto.randomBytes(8).toString('hex');
  const nonce = crypto.randomBytes(8).toString('hex');
  let landedAt;
  try {
    ({ landedAt } = await walkLogin(state, nonce));
  } catch (e) {
    const events = await broker.api('GET', '/events');
    e.message += `\nbroker events: ${JSON.stringify(events.json && events.json.data)}\nreached the app: ${JSON.stringify(landed)}`;
    throw e;
  }
  assert.equal(landedAt.origin + landedAt.pathname, redirectUri);
  assert.equal(landedAt.searchParams.get('error'), null, landedAt.toString());
  assert.equal(landedAt.searchParams.get('state'), state);
  const code = landedAt.searchParams.get('code');
  assert.ok(code, landedAt.toString());
  assert.ok(landed.some((u) => u.includes(`code=${encodeURIComponent(code)}`)), JSON.stringify(landed));

  const r = await fetch(`${broker.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code, redirect_uri: redirectUri,
      client_id: client.client_id, client_secret: client.client_secret,
    }).toString(),
  });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  const claims = JSON.parse(Buffer.from(body.id_token.split('.')[1], 'base64url').toString('utf8'));
  assert.equal(claims.email, 'jo@example.com');
  assert.equal(claims.nonce, nonce);
  assert.equal(claims.given_name, 'Jo');
  assert.equal(claims.family_name, 'Doe');
  assert.deepEqual(claims.groups, ['admins', 'devs']);
  assert.deepEqual(consoleErrors, [], 'the browser console stayed clean');
});

test('the hosted pages load with a clean console (stylesheet applied, nothing blocked)', async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(`${CHROMIUM} is missing: apt-get install -y chromium`); return; }
  consoleErrors.length = 0;
  await page.goto(authorizeUrl('clean', 'n4'));
  await page.fill('input[name="login_hint"]', 'jo@example.com');
  await page.click('button[type="submit"]');
  await page.waitForSelector('input[name="given_name"]', { timeout: 10000 });
  const color = await page.evaluate(() => getComputedStyle(document.body).fontFamily);
  assert.match(color, /system-ui/, 'sso.css is applied');
  assert.deepEqual(consoleErrors, []);
});

test('back on the hosted page, the email field holds the remembered domain', async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(`${CHROMIUM} is missing: apt-get install -y chromium`); return; }
  const cookies = await context.cookies(`${broker.url}/oauth/authorize`);
  const remembered = cookies.find((c) => c.name === 'sso_last_domain');
  assert.ok(remembered, fail(`no sso_last_domain cookie: ${JSON.stringify(cookies)}`));
  assert.equal(remembered.value, 'example.com');
  await page.goto(authorizeUrl('again', 'n2'));
  assert.equal(await page.title(), 'Sign in with SSO');
  assert.equal(await page.inputValue('input[name="login_hint"]'), '@example.com');
});

test('screenshots of the hosted page and the simulator page are PNGs', async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(`${CHROMIUM} is missing: apt-get install -y chromium`); return; }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sso-shots-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const hosted = path.join(dir, 'hosted.png');
  const simulator = path.join(dir, 'simulator.png');
  await page.goto(authorizeUrl('shots', 'n3'));
  assert.equal(await page.title(), 'Sign in with SSO');
  await page.screenshot({ path: hosted, fullPage: true });
  await page.fill('input[name="login_hint"]', 'jo@example.com');
  await page.click('button[type="submit"]');
  await page.waitForSelector('input[name="given_name"]', { timeout: 10000 });
  await page.screenshot({ path: simulator, fullPage: true });
  for (const file of [hosted, simulator]) {
    const bytes = fs.readFileSync(file);
    assert.ok(bytes.length > PNG_MAGIC.length, `${file} is empty`);
    assert.ok(bytes.subarray(0, 8).equals(PNG_MAGIC), `${file} is not a PNG`);
  }
});

test('the hosted page hands the browser to a customer IdP on another origin', async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(`${CHROMIUM} is missing: apt-get install -y chromium`); return; }
  const org = (await broker.api('POST', '/organizations', { display_name: 'External IdP Inc' })).json;
  assert.equal((await broker.api('POST', `/organizations/${org.id}/domains`, { domain: 'ext.example' })).status, 201);
  const idpSso = `http://127.0.0.1:${app.address().port}/idp/sso`;
  const conn = await broker.api('POST', `/organizations/${org.id}/connections`, {
    type: 'saml', saml: { idp_entity_id: 'urn:test:ext-idp', idp_sso_url: idpSso, idp_certificates: [keyPair('ext-idp').cert] },
  });
  assert.equal(conn.status, 201, JSON.stringify(conn.json));
  assert.equal((await broker.api('POST', `/connections/${conn.json.id}/enable`)).status, 200);
  consoleErrors.length = 0;
  landed = [];
  await page.goto(authorizeUrl('ext', 'n5'));
  await page.fill('input[name="login_hint"]', 'jo@ext.example');
  await page.click('button[type="submit"]');
  await page.waitForURL((u) => u.toString().startsWith(idpSso), { timeout: 5000 }).catch(() => {
    throw new Error(fail(`the browser never reached the IdP ${idpSso}; it is at ${page.url()}; the IdP saw ${JSON.stringify(landed)}`));
  });
  assert.ok(new URL(page.url()).searchParams.get('SAMLRequest'), page.url());
});
