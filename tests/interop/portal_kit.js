// The admin portal's end-to-end harness, shared by the portal_*.test.js files: one broker and
// one headless Chromium per file; organizations and portal links made through the management
// API; a link opened in a fresh browser context as an IT admin opens it (the start page, the
// click, the 303 to /portal/ with the session cookie); the portal API called from the page
// (fetch with the browser's cookies and the session's CSRF token); a screenshot of every step;
// and every secret handed out (link tokens, session cookies, CSRF tokens, test start handles)
// kept, so that a file can check at its end that the gateway's access log holds none of them.
'use strict';
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { startBroker } = require('./broker');

const ROOT = path.resolve(__dirname, '..', '..');
const BUILD = process.env.SSO_BUILD_DIR || path.join(ROOT, 'build');
const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = fs.existsSync(CHROMIUM);
const NO_CHROMIUM = `${CHROMIUM} is missing: apt-get install -y chromium`;
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
// Screenshots go to $SSO_ARTIFACTS_DIR/portal, else <build dir>/artifacts/portal (the build
// directories are git-ignored): one directory per test file, emptied when the file starts.
const ARTIFACTS = process.env.SSO_ARTIFACTS_DIR
  ? path.join(process.env.SSO_ARTIFACTS_DIR, 'portal')
  : path.join(BUILD, 'artifacts', 'portal');

// What of issue 19 is merged into this tree. The lead flips each to true when the branch lands:
// routes: the contract's new /portal/api routes (GET/POST connections, GET/PATCH/DELETE
//   connections/{id}, connections/{id}/enable|disable, saml/check, events);
// pages: the portal's pages (GET /portal/ and /portal/tests/{id}, web/static/portal/).
// portal_access.test.js fails with a message naming the flag when a route or page exists
// while its flag is still false, so that a merge cannot leave the stricter checks off.
const PORTAL_MERGED = { routes: true, pages: true };
const NEEDS_PAGES = 'needs the portal pages (GET /portal/, /portal/tests/{id}): set PORTAL_MERGED.pages in portal_kit.js once merged';

const COOKIE = 'sso_portal'; // over http; __Host-sso_portal over https
const START_BUTTON = 'Open the portal';

function wait(ms) { return new Promise((r) => setTimeout(r, ms)); }

// Polls fn until it returns a truthy value; throws describe() after `within` ms.
async function until(fn, { within = 10000, every = 100, describe = () => 'condition' } = {}) {
  const deadline = Date.now() + within;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${await describe()}`);
    await wait(every);
  }
}

// A relying party's redirect URI: a tiny server that records the callbacks that reach it.
function startApp() {
  return new Promise((resolve) => {
    const landed = [];
    const server = http.createServer((req, res) => {
      const url = new URL(req.url, `http://${req.headers.host}`);
      if (url.pathname === '/callback') landed.push(url.toString()); // not the favicon
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>App</title><h1>Signed in to the app</h1>');
    });
    server.listen(0, '127.0.0.1', () => resolve({
      server, landed,
      redirectUri: `http://127.0.0.1:${server.address().port}/callback`,
      close: () => new Promise((r) => server.close(r)),
    }));
  });
}

class PortalKit {
  // A broker (sso-supervisor, the repository's web/static) and Chromium, for the file `name`.
  static async start(name, brokerEnv = {}) {
    const kit = new PortalKit(name);
    kit.broker = await startBroker({ SSO_WEB_DIR: path.join(ROOT, 'web', 'static'), ...brokerEnv });
    if (HAVE_CHROMIUM) {
      const { chromium } = require('playwright-core');
      kit.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    }
    return kit;
  }

  constructor(name) {
    this.name = name;
    this.dir = path.join(ARTIFACTS, name);
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(this.dir, { recursive: true });
    this.shots = 0;
    this.secrets = new Map(); // value -> what it is (for the access-log check)
    this.contexts = [];
    this.apps = [];
    this.logText = null;
  }

  get url() { return this.broker.url; }

  keep(kind, value) {
    if (value) this.secrets.set(value, kind);
    return value;
  }

  async stop() {
    for (const c of this.contexts) await c.close().catch(() => {});
    if (this.browser) await this.browser.close();
    for (const app of this.apps) await app.close();
    if (this.broker) {
      this.logText = this.readLog();
      await this.broker.stop();
    }
  }

  // ---- the management API (the app developer's side) ----

  async api(method, p, body) {
    return this.broker.api(method, p, body);
  }

  async expectApi(status, method, p, body) {
    const r = await this.api(method, p, body);
    if (r.status !== status) {
      throw new Error(`${method} /api/v1${p}: expected ${status}, got ${r.status} ${JSON.stringify(r.json)}`);
    }
    return r.json;
  }

  // An organization named displayName owning `domain` (none when absent).
  async organization(displayName, domain) {
    const org = await this.expectApi(201, 'POST', '/organizations', { display_name: displayName });
    if (domain) await this.expectApi(201, 'POST', `/organizations/${org.id}/domains`, { domain });
    return { ...org, domain };
  }

  // A portal link of the organization: {id, location, expires_at, token}.
  async link(orgId, body) {
    const link = await this.expectApi(201, 'POST', `/organizations/${orgId}/portal_links`, body);
    const hash = new URL(link.location).hash;
    link.token = this.keep('portal link token', hash.slice(1));
    return link;
  }

  async revoke(orgId, linkId) {
    await this.expectApi(204, 'DELETE', `/organizations/${orgId}/portal_links/${linkId}`);
  }

  // Ends a link's lifetime now. The API's shortest is 300 s (expires_in), too long to wait
  // out in a test; the directory reads expires_at on every exchange, so this ages the row.
  expire(linkId) {
    const db = path.join(this.broker.dataDir, 'sso.db');
    execFileSync('/usr/bin/python3', ['-c', [
      'import sqlite3, sys, time',
      'db = sqlite3.connect(sys.argv[1], timeout=10)',
      'n = db.execute("UPDATE portal_links SET expires_at = ? WHERE id = ?", (int(time.time()) - 60, sys.argv[2])).rowcount',
      'db.commit()',
      'sys.exit(0 if n == 1 else 3)',
    ].join('\n'), db, linkId]);
  }

  // A relying party registered with the broker, its redirect URI a local server.
  async client() {
    const app = await startApp();
    this.apps.push(app);
    const client = await this.expectApi(201, 'POST', '/clients', { name: 'portal e2e app', redirect_uris: [app.redirectUri] });
    return { ...client, app };
  }

  // ---- the browser (the customer's IT admin) ----

  // A fresh browser context (no cookies). Every page's dialogs are recorded and dismissed, its
  // console errors kept. bypassCSP: for calling the API with fetch from a page whose own CSP
  // forbids connections (the error pages, the placeholder 404 at /portal/ before the pages
  // exist); never for a check that a page works under its own policy.
  async context({ bypassCSP = false } = {}) {
    const context = await this.browser.newContext({ bypassCSP, viewport: { width: 1200, height: 800 } });
    context.dialogs = [];
    context.consoleErrors = [];
    const watch = (page) => {
      page.on('dialog', (d) => { context.dialogs.push(`${page.url()}: ${d.type()} ${d.message()}`); d.dismiss().catch(() => {}); });
      page.on('console', (m) => { if (m.type() === 'error') context.consoleErrors.push(`${page.url()}: ${m.text()}`); });
      page.on('pageerror', (e) => context.consoleErrors.push(`${page.url()}: pageerror ${e.message}`));
    };
    context.on('page', watch);
    this.contexts.push(context);
    return context;
  }

  async shot(page, step) {
    this.shots += 1;
    const file = path.join(this.dir, `${String(this.shots).padStart(2, '0')}-${step.replace(/[^A-Za-z0-9_-]+/g, '-')}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  }

  // Opens link.location in context as the admin does: the start page, then its button. Returns
  // {page, status (of the start POST), heading (the h1 shown after), cookie (the portal
  // session cookie the browser now holds, or undefined)}.
  async open(context, link, step = 'link') {
    const page = await context.newPage();
    await page.goto(link.location);
    await this.shot(page, `${step}-start-page`);
    const button = page.getByRole('button', { name: START_BUTTON });
    await button.waitFor({ state: 'visible', timeout: 5000 });
    const posted = page.waitForResponse((r) => r.request().method() === 'POST'
      && new URL(r.url()).pathname === '/portal/start');
    await Promise.all([page.waitForEvent('framenavigated'), button.click()]);
    const status = (await posted).status();
    await page.waitForLoadState('load');
    await this.shot(page, `${step}-after-open`);
    const heading = (await page.locator('h1').first().textContent({ timeout: 5000 }).catch(() => '')).trim();
    const cookie = await this.portalCookie(context);
    this.keep('portal session cookie', cookie && cookie.value);
    return { page, status, heading, cookie };
  }

  async portalCookie(context) {
    return (await context.cookies(`${this.url}/portal/`)).find((c) => c.name === COOKIE);
  }

  // A portal session for org: a fresh link opened in a fresh context; {context, page, csrf}.
  async session(orgId, { step = 'session', bypassCSP = true } = {}) {
    const context = await this.context({ bypassCSP });
    const link = await this.link(orgId);
    const opened = await this.open(context, link, step);
    if (!opened.cookie) throw new Error(`${step}: no portal session after the start page (${opened.status} "${opened.heading}")`);
    const s = await this.call(opened.page, 'GET', 'session');
    if (s.status !== 200) throw new Error(`${step}: GET /portal/api/session: ${s.status} ${s.text}`);
    opened.page.csrf = this.keep('portal CSRF token', s.json.csrf_token);
    return { context, page: opened.page, csrf: s.json.csrf_token, link, session: s.json };
  }

  // A portal API call (path after /portal/api/) made by the page with fetch, as the portal's
  // own script makes it: the browser's cookies, the page's CSRF token on every method but
  // GET/HEAD (pass csrf: null for none, or another value). body: an object (sent as JSON) or
  // a string (sent as it is). Returns {status, json, text}.
  async call(page, method, apiPath, body, { csrf } = {}) {
    const token = csrf === undefined ? page.csrf : csrf;
    const r = await page.evaluate(async ({ method, url, body, token }) => {
      const headers = {};
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (token && method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] = token;
      const response = await fetch(url, {
        method, headers, credentials: 'same-origin', cache: 'no-store',
        body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
      });
      return { status: response.status, text: await response.text() };
    }, { method, url: `/portal/api/${apiPath}`, body, token });
    let json = null;
    try { json = r.text ? JSON.parse(r.text) : null; } catch (_) { /* not JSON: kept as text */ }
    return { ...r, json };
  }

  // Starts a test login of connectionId from the session's page and opens its start_url in a
  // new window, as the portal's Test button does; returns {test_id, window}.
  async startTest(session, connectionId, step = 'test') {
    const started = await this.call(session.page, 'POST', `connections/${connectionId}/test`);
    if (started.status !== 201) throw new Error(`${step}: POST connections/${connectionId}/test: ${started.status} ${started.text}`);
    const handle = new URL(started.json.start_url).pathname.split('/').pop();
    this.keep('test start handle', handle);
    const [win] = await Promise.all([
      session.context.waitForEvent('page'),
      session.page.evaluate((u) => { window.open(u, '_blank'); }, started.json.start_url),
    ]);
    await win.waitForLoadState('domcontentloaded');
    return { test_id: started.json.test_id, window: win };
  }

  // Polls GET tests/{id} from the session's page until it is no longer pending (bounded).
  async testResult(session, testId) {
    let last;
    await until(async () => {
      last = await this.call(session.page, 'GET', `tests/${testId}`);
      return last.status !== 200 || last.json.status !== 'pending';
    }, { within: 15000, describe: () => `test ${testId} to finish (last: ${last && last.text})` });
    return last;
  }

  // The browser part of a login at the broker: /oauth/authorize with login_hint; idpSteps(page)
  // does whatever the IdP's pages need; ends at the client's redirect URI. Returns the ID
  // token's claims after redeeming the code.
  async authorize(context, client, loginHint, idpSteps = async () => {}, step = 'login') {
    const page = await context.newPage();
    const state = crypto.randomBytes(8).toString('hex');
    const nonce = crypto.randomBytes(8).toString('hex');
    const u = new URL('/oauth/authorize', this.url);
    u.search = new URLSearchParams({
      response_type: 'code', client_id: client.client_id, redirect_uri: client.app.redirectUri,
      scope: 'openid profile email', state, nonce, login_hint: loginHint,
    }).toString();
    const appOrigin = new URL(client.app.redirectUri).origin;
    await page.goto(u.toString());
    await idpSteps(page);
    await page.waitForURL((x) => x.origin === appOrigin, { timeout: 15000 }).catch(async () => {
      await this.shot(page, `${step}-stuck`);
      throw new Error(`${step}: never reached the app; at ${page.url()} "${await page.title()}"`);
    });
    await this.shot(page, `${step}-at-app`);
    const landed = new URL(page.url());
    if (landed.searchParams.get('error')) throw new Error(`${step}: ${landed}`);
    if (landed.searchParams.get('state') !== state) throw new Error(`${step}: state ${landed}`);
    const r = await fetch(`${this.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code: landed.searchParams.get('code'),
        redirect_uri: client.app.redirectUri, client_id: client.client_id, client_secret: client.client_secret,
      }).toString(),
    });
    const tokens = await r.json();
    if (r.status !== 200) throw new Error(`${step}: token: ${r.status} ${JSON.stringify(tokens)}`);
    const claims = JSON.parse(Buffer.from(tokens.id_token.split('.')[1], 'base64url').toString('utf8'));
    if (claims.nonce !== nonce) throw new Error(`${step}: nonce ${claims.nonce}`);
    await page.close();
    return claims;
  }

  // ---- the access log ----

  readLog() {
    return fs.readFileSync(path.join(this.broker.dataDir, 'broker.log'), 'utf8');
  }

  // The supervisor's output (every service's log, the gateway's access log among them), once a
  // marker request made now shows in it: every earlier request's line is written by then.
  async accessLog() {
    const marker = `/static/e2e-log-marker-${crypto.randomBytes(6).toString('hex')}`;
    await fetch(`${this.url}${marker}`);
    return until(() => { const text = this.readLog(); return text.includes(marker) && text; },
      { within: 10000, describe: () => `the access-log line of GET ${marker}` });
  }

  // The access log, once checked: secrets of each of kinds were handed out (so the check
  // looked for something) and none of those kept occurs in it.
  async assertAccessLogClean(kinds) {
    const log = await this.accessLog();
    const handed = new Set(this.secrets.values());
    const missing = kinds.filter((k) => !handed.has(k));
    if (missing.length) throw new Error(`none handed out, so none looked for: ${missing.join(', ')}`);
    const leaks = this.leaks(log);
    if (leaks.length) throw new Error(`the access log holds secrets:\n${leaks.map((l) => `${l.kind}: ${l.line}`).join('\n')}`);
    return log;
  }

  // The secrets kept so far that occur in text: [{kind, line}] (the value itself never shown).
  leaks(text) {
    const found = [];
    for (const [value, kind] of this.secrets) {
      const at = text.indexOf(value);
      if (at >= 0) found.push({ kind, line: text.slice(text.lastIndexOf('\n', at) + 1, at).slice(-120) + '<secret>' });
    }
    return found;
  }
}

module.exports = { PortalKit, PORTAL_MERGED, NEEDS_PAGES, HAVE_CHROMIUM, NO_CHROMIUM, COOKIE, until };
