// The developer dashboard end to end, in headless Chromium against the real broker: the first
// account set up from its link, sign-in, Auth0's callback registered as a redirect URI (with
// the API's own refusal shown inline), an organization with a domain, the API's search finding
// one that no loaded page has (by name and by domain, kept in the hash), a portal link opened in
// a second browser context, a login through the IdP simulator seen in the events page and the
// chart, the signing keys with their state and a rotation, a wrong password and the lockout, values with <script> shown as text, the audit log,
// sign-out; screenshots of each page under <build>/artifacts/dashboard/pages/.
//
// Skipped until the back end is in the tree (GET /dashboard/signin answers 200 with its shell).
// The pages' hooks (data-testid) it relies on:
//   setup:   setup-form setup-password setup-password-confirm setup-submit setup-error
//            setup-done setup-gone setup-no-token setup-signin-link
//   sign-in: signin-form signin-email signin-password signin-submit signin-error
//   frame:   admin-email environment signout nav-config nav-organizations nav-events nav-keys
//            nav-audit page-error
//   config:  config-title public-url discovery-url client (data-client-id) client-id
//            redirect-uris redirect-uri redirect-uri-value redirect-uri-new redirect-uri-add
//            redirect-uri-edit redirect-uri-input redirect-uri-save redirect-uri-remove
//            redirect-error rotate-form overlap-<seconds> rotate-secret rotated-secret
//            previous-secret-expires client-name client-redirect-uri create-client
//            create-client-error created created-warning created-client-id created-secret
//            auth0-client auth0-domain auth0-connection-name auth0-curl auth0-curl-copy
//   orgs:    orgs-title org-search org-search-form org-count orgs-table org-row org-link
//            load-more
//            org-name-input org-external-input org-create org-create-error
//   org:     org-title org-id org-edit org-rename-input org-external-edit org-save org-saved
//            domains domains-empty domain domain-name domain-remove domain-input domain-add
//            domain-error connections-table connections-empty connection-name
//            connection-status certificate cert-expiring cert-expired create-portal-link
//            portal-link link-shown links-table links-empty link-revoke link-error
//            org-events-all events-table events-empty
//   events:  events-title filter-org filter-connection filter-outcome filter-period
//            filter-apply filter-clear event-row (data-outcome) event-outcome event-reason
//            event-expected event-received events-status chart-card chart chart-svg
//            chart-bucket (data-success, data-failure) chart-summary chart-table
//            chart-range-day chart-range-week
//   keys:    keys-title keys-summary key-states key-state-row (data-state) key-state-kid
//            key-state key-signs-from key-states-error rotate-key rotate-confirm-step
//            rotate-delay rotate-confirm rotate-cancel rotate-key-error rotate-done
//            jwks-uri keys-table key-row key-kid key-alg key-use keys-error
//   audit:   audit-title audit-actor-filter audit-action-filter audit-apply audit-table
//            audit-row audit-actor audit-action audit-status audit-empty
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { generators } = require('openid-client');
const { startBroker } = require('./broker');
const { simulatorLogin } = require('./login');
const path = require('node:path');
const { HAVE_CHROMIUM, NO_CHROMIUM, ROOT, Shots, accessibility, launch, watchedContext } = require('./dashboard_kit');

const EMAIL = 'first.admin@example.com';
const PASSWORD = 'a long passphrase of the first admin';
const CALLBACK = 'https://acme-e2e.eu.auth0.com/login/callback';
const HOSTILE = '<script>window.__owned = 1</script><img src=x onerror="window.__owned = 2">';
const NO_BACK_END = 'the dashboard back end is not in this tree yet (GET /dashboard/signin is not its shell)';

let broker;
let browser;
let shots;
let backEnd = false;
const state = {}; // what one step hands the next: the app's context and page, the client, the org

before(async () => {
  if (!HAVE_CHROMIUM) return;
  // The gateway serves this tree's web/static (its default is relative to the working directory).
  broker = await startBroker({ SSO_WEB_DIR: path.join(ROOT, 'web', 'static') });
  const signin = await fetch(`${broker.url}/dashboard/signin`);
  backEnd = signin.status === 200 && (await signin.text()).includes('/static/dashboard/signin.js');
  if (!backEnd) return;
  browser = await launch();
  shots = new Shots('pages');
});

after(async () => {
  if (browser) await browser.close();
  if (broker) await broker.stop();
});

function ready(t) {
  if (!HAVE_CHROMIUM) { t.skip(NO_CHROMIUM); return false; }
  if (!backEnd) { t.skip(NO_BACK_END); return false; }
  return true;
}

async function inert(page) {
  assert.deepEqual(await page.evaluate(() => ({ owned: window.__owned, imgs: document.images.length })), { owned: undefined, imgs: 0 });
}

test('the first account is set up from its link, then signs in (a wrong password said first)', async (t) => {
  if (!ready(t)) return;
  const admin = await broker.api('POST', '/admins', { email: EMAIL });
  assert.equal(admin.status, 201, JSON.stringify(admin.json));
  assert.match(admin.json.setup_url, new RegExp(`^${broker.url}/dashboard/setup#`));
  const context = await watchedContext(browser);
  const page = await context.newPage();
  await page.goto(admin.json.setup_url);
  await page.getByTestId('setup-form').waitFor();
  assert.equal(new URL(page.url()).hash, '', 'the setup token stayed in the address bar');
  await shots.take(page, 'setup');
  await page.getByTestId('setup-password').fill('short');
  await page.getByTestId('setup-password-confirm').fill('short');
  await page.getByTestId('setup-submit').click();
  await page.getByTestId('setup-error').waitFor();
  assert.match(await page.getByTestId('setup-error').textContent(), /12/);
  await page.getByTestId('setup-password').fill(PASSWORD);
  await page.getByTestId('setup-password-confirm').fill(PASSWORD);
  await page.getByTestId('setup-submit').click();
  await page.getByTestId('setup-done').waitFor();
  await shots.take(page, 'setup-done');
  // The link worked once.
  const again = await context.newPage();
  await again.goto(admin.json.setup_url);
  await again.getByTestId('setup-password').fill(PASSWORD);
  await again.getByTestId('setup-password-confirm').fill(PASSWORD);
  await again.getByTestId('setup-submit').click();
  await again.getByTestId('setup-gone').waitFor();
  await again.close();

  await page.getByTestId('setup-signin-link').click();
  await page.getByTestId('signin-form').waitFor();
  await shots.take(page, 'signin');
  await page.getByTestId('signin-email').fill(EMAIL);
  await page.getByTestId('signin-password').fill(`${PASSWORD}x`);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('signin-error').getByText('Email or password is wrong.').waitFor();
  await page.getByTestId('signin-password').fill(PASSWORD);
  await Promise.all([page.waitForURL(`${broker.url}/dashboard/`), page.getByTestId('signin-submit').click()]);
  await page.getByTestId('config-title').waitFor();
  assert.equal(await page.getByTestId('admin-email').textContent(), EMAIL);
  assert.deepEqual(await accessibility(page, shots, 'config'), []);
  Object.assign(state, { context, page });
});

test('API config: a client for Auth0 with its callback, the secret shown once, an invalid URI refused inline', async (t) => {
  if (!ready(t)) return;
  assert.ok(state.page, 'the first test did not sign in');
  const { page } = state;
  assert.equal(await page.getByTestId('discovery-url').inputValue(), `${broker.url}/.well-known/openid-configuration`);
  await page.getByTestId('client-name').fill('Auth0 e2e tenant');
  await page.getByTestId('client-redirect-uri').fill(CALLBACK);
  await page.getByTestId('create-client').click();
  await page.getByTestId('created-secret').waitFor();
  const clientId = await page.getByTestId('created-client-id').inputValue();
  const secret = await page.getByTestId('created-secret').inputValue();
  const card = page.locator(`[data-client-id="${clientId}"]`);
  assert.deepEqual(await card.getByTestId('redirect-uri-value').allTextContents(), [CALLBACK]);
  // The API's validation, shown where the URI was typed.
  await card.getByTestId('redirect-uri-new').fill('http://acme.example/<script>');
  await card.getByTestId('redirect-uri-add').click();
  await card.getByTestId('redirect-error').waitFor();
  assert.match(await card.getByTestId('redirect-error').textContent(), /redirect_uris/);
  await card.getByTestId('redirect-uri-new').fill('http://localhost:3000/callback');
  await card.getByTestId('redirect-uri-add').click();
  await page.locator(`[data-client-id="${clientId}"] [data-testid="redirect-uri-value"]`).nth(1).waitFor();
  const stored = await broker.api('GET', `/clients/${clientId}`);
  assert.deepEqual(stored.json.redirect_uris, [CALLBACK, 'http://localhost:3000/callback']);
  // Its initiate_login_uri: an http one refused inline by the API, an https one stored.
  await card.getByTestId('initiate-login-uri').fill('http://app.example/login');
  await card.getByTestId('initiate-login-uri-save').click();
  await card.getByTestId('initiate-error').filter({ hasText: /initiate_login_uri/ }).waitFor();
  await page.locator(`[data-client-id="${clientId}"] [data-testid="initiate-login-uri"]`).fill('https://app.example/login');
  await page.locator(`[data-client-id="${clientId}"] [data-testid="initiate-login-uri-save"]`).click();
  for (let i = 0; i < 50 && (await broker.api('GET', `/clients/${clientId}`)).json.initiate_login_uri !== 'https://app.example/login'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal((await broker.api('GET', `/clients/${clientId}`)).json.initiate_login_uri, 'https://app.example/login');
  // The Try it client is the broker's: shown without controls, never offered for Auth0.
  const tryCard = page.locator('[data-client-id="cli_dashboard_try"]');
  await tryCard.getByTestId('client-built-in-note').waitFor();
  assert.equal(await tryCard.getByTestId('redirect-uri-edit').count(), 0);
  assert.equal(await tryCard.getByTestId('redirect-uri-new').count(), 0);
  const offered = await page.getByTestId('auth0-client').locator('option').evaluateAll((os) => os.map((o) => o.value));
  assert.ok(offered.includes(clientId) && !offered.includes('cli_dashboard_try'), offered.join());
  await page.getByTestId('auth0-client').selectOption(clientId);
  const curl = await page.getByTestId('auth0-curl').textContent();
  assert.ok(curl.includes(`"client_id": "${clientId}"`) && curl.includes('"type": "back_channel"'));
  await shots.take(page, 'config-client');
  state.client = { clientId, secret };
  await page.getByTestId('nav-organizations').click();
  await page.getByTestId('orgs-title').waitFor();
  assert.ok(!(await page.content()).includes(secret), 'the secret stayed in the page after leaving it');
});

test('organizations: one created with a domain, a portal link opened in a second browser context, <script> shown as text', async (t) => {
  if (!ready(t)) return;
  assert.ok(state.page, 'the first test did not sign in');
  const { page } = state;
  const hostile = await broker.api('POST', '/organizations', { display_name: `${HOSTILE} Corp`, external_id: HOSTILE });
  assert.equal(hostile.status, 201);
  await page.reload();
  await page.getByTestId('org-row').first().waitFor();
  await page.getByTestId('org-search').fill('owned');
  await page.getByTestId('org-link').filter({ hasText: `${HOSTILE} Corp` }).waitFor();
  await inert(page);
  assert.deepEqual(await accessibility(page, shots, 'organizations'), []);
  await page.getByTestId('org-name-input').fill('Initech E2E');
  await page.getByTestId('org-external-input').fill('crm-e2e-1');
  await page.getByTestId('org-create').click();
  await page.getByTestId('org-title').getByText('Initech E2E').waitFor();
  const orgId = await page.getByTestId('org-id').textContent();
  await page.getByTestId('domain-input').fill('initech-e2e.example');
  await page.getByTestId('domain-add').click();
  await page.getByTestId('domain-name').getByText('initech-e2e.example').waitFor();
  const domains = await broker.api('GET', `/organizations/${orgId}/domains`);
  assert.deepEqual(domains.json.data.map((d) => d.domain), ['initech-e2e.example']);
  await state.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: broker.url });
  await page.getByTestId('create-portal-link').click();
  await page.getByTestId('portal-link').waitFor();
  const location = await page.getByTestId('portal-link').inputValue();
  assert.match(location, new RegExp(`^${broker.url}/portal/start#[A-Za-z0-9_-]{43}$`));
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), location);
  await page.getByTestId('link-revoke').waitFor();
  await shots.take(page, 'organization');
  // The customer's IT admin opens it elsewhere.
  const other = await watchedContext(browser);
  const portal = await other.newPage();
  await portal.goto(location);
  await Promise.all([portal.waitForURL(`${broker.url}/portal/`), portal.getByRole('button', { name: 'Open the portal' }).click()]);
  await portal.getByTestId('org-name').getByText('Initech E2E').waitFor();
  await shots.take(portal, 'portal-opened');
  await other.close();
  await page.reload();
  await page.getByTestId('links-table').waitFor();
  assert.ok(!(await page.getByTestId('links-table').textContent()).includes('Not yet'), 'the opened link is not shown as opened');
  state.orgId = orgId;
});

test('a login through the IdP simulator shows in the events (a failure split as expected vs received) and the chart', async (t) => {
  if (!ready(t)) return;
  assert.ok(state.client, 'the second test made no client');
  const { Issuer } = require('openid-client');
  const issuer = await Issuer.discover(broker.url);
  const client = new issuer.Client({ client_id: state.client.clientId, client_secret: state.client.secret,
    redirect_uris: [CALLBACK], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post' });
  for (const scenario of ['success', 'wrong_audience']) {
    const url = client.authorizationUrl({ scope: 'openid profile email', state: generators.state(), nonce: generators.nonce(), login_hint: 'jo@example.com' });
    const answer = await simulatorLogin(broker.url, url, { email: 'jo@example.com', given_name: 'Jo', family_name: 'Doe', scenario });
    if (scenario === 'success') assert.ok(answer.location && answer.location.startsWith(CALLBACK), answer.body);
  }
  const { page } = state;
  await page.getByTestId('nav-events').click();
  await page.getByTestId('event-row').nth(1).waitFor();
  const outcomes = await page.getByTestId('event-row').evaluateAll((rows) => rows.map((r) => r.dataset.outcome));
  assert.deepEqual(outcomes.slice(0, 2), ['failure', 'success']);
  assert.ok(await page.getByTestId('event-expected').count() >= 1, 'the failure is not split as expected vs received');
  await page.getByTestId('chart-svg').waitFor();
  const counted = await page.getByTestId('chart-bucket').evaluateAll((gs) => gs.reduce((n, g) => n + Number(g.dataset.success) + Number(g.dataset.failure), 0));
  assert.equal(counted, 2);
  assert.match(await page.getByTestId('chart-summary').textContent(), /1 successful and 1 failed/);
  assert.deepEqual(await accessibility(page, shots, 'events'), []);
  // The outcome filter, applied by the broker: the failures only, the same ones as the API's.
  await page.getByTestId('filter-outcome').selectOption('failure');
  await page.getByTestId('filter-period').selectOption('3600');
  await page.getByTestId('events-table').evaluate((el) => { el.dataset.before = 'yes'; });
  await page.getByTestId('filter-apply').click();
  await page.waitForURL(/outcome=failure&period=3600/);
  await page.locator('[data-testid="events-table"]:not([data-before]) [data-testid="event-row"]').first().waitFor();
  const failed = await page.getByTestId('event-row').evaluateAll((rows) => rows.map((r) => r.dataset.outcome));
  const apiFailures = (await broker.api('GET', `/events?outcome=failure&since=${Math.floor(Date.now() / 1000) - 3600}`)).json.data;
  assert.ok(failed.length >= 1 && failed.every((o) => o === 'failure'), failed.join());
  assert.equal(failed.length, apiFailures.length);
  assert.equal(await page.getByTestId('events-status').textContent(), `${failed.length} event${failed.length === 1 ? '' : 's'} shown.`);
  await shots.take(page, 'events-failures');
  await page.getByTestId('nav-keys').click();
  await page.getByTestId('key-row').first().waitFor();
  await page.getByTestId('key-state-row').first().waitFor();
  const statesOf = () => page.getByTestId('key-state-row').evaluateAll((rows) => rows.map((r) => r.dataset.state));
  const before = await statesOf();
  assert.deepEqual(before.filter((s) => s === 'signing'), ['signing']);
  const signing = (await broker.api('GET', '/keys')).json.data.find((k) => k.state === 'signing');
  assert.match(await page.getByTestId('keys-summary').textContent(), new RegExp(`Signing now: ${signing.kid}`));
  assert.deepEqual(await accessibility(page, shots, 'keys'), []);
  // Rotate: a confirm step that says the delay; cancelling rotates nothing.
  await page.getByTestId('rotate-key').click();
  assert.match(await page.getByTestId('rotate-delay').textContent(), /publication delay of 1 hour/);
  await page.getByTestId('rotate-cancel').click();
  assert.equal(await page.getByTestId('rotate-confirm-step').isHidden(), true);
  assert.equal((await broker.api('GET', '/keys')).json.data.length, before.length);
  await page.getByTestId('rotate-key').click();
  await shots.take(page, 'keys-rotate-confirm');
  await page.getByTestId('rotate-confirm').click();
  await page.getByTestId('rotate-done').waitFor();
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="key-state-row"]').length === n, before.length + 1);
  const after = await statesOf();
  assert.deepEqual(after.filter((s) => s === 'signing'), ['signing']);
  assert.deepEqual(after.filter((s) => s === 'next').length, before.filter((s) => s === 'next').length + 1);
  const rotated = (await page.getByTestId('rotate-done').textContent()).match(/Key (\S+) is made/)[1];
  const listed = (await broker.api('GET', '/keys')).json.data.find((k) => k.kid === rotated);
  assert.equal(listed && listed.state, 'next');
  assert.match(await page.getByTestId('keys-summary').textContent(), new RegExp(`Next: ${rotated}`));
  const audited = (await broker.api('GET', `/audit?actor=${encodeURIComponent(EMAIL)}&action=${encodeURIComponent('POST /dashboard/api/v1/keys/rotate')}`)).json.data;
  assert.deepEqual(audited.map((a) => a.status), [201]);
  await shots.take(page, 'keys-rotated');
});

test('Try it: a test sign-in through the simulator in a new window ends on the ID token\'s claims', async (t) => {
  if (!ready(t)) return;
  assert.ok(state.page, 'the first test did not sign in');
  const { page, context } = state;
  await page.getByTestId('nav-try').click();
  await page.getByTestId('try-title').waitFor();
  await shots.take(page, 'try');
  assert.deepEqual(await accessibility(page, shots, 'try'), []);
  const [win] = await Promise.all([context.waitForEvent('page'), page.getByTestId('try-button').click()]);
  // Opened blank in the click, then sent to /oauth/authorize for the Test Organization: the
  // simulator's page comes first.
  await win.waitForURL(/\/simulator\//, { timeout: 15000 });
  await win.fill('input[name="email"]', 'try.it@example.com');
  await win.fill('input[name="given_name"]', 'Try <b>It</b>');
  await win.click('form [type="submit"]');
  const callback = `${broker.url}/dashboard/try/callback`;
  const arrived = await win.waitForURL((u) => u.href.startsWith(callback), { timeout: 3000 }).then(() => true, () => false);
  if (!arrived) {
    // The auto-post page without script: its Continue button.
    await win.locator('form [type="submit"], form button').first().click();
    await win.waitForURL((u) => u.href.startsWith(callback), { timeout: 10000 });
  }
  const text = await win.textContent('body');
  await shots.take(win, 'try-claims');
  assert.match(text, /cli_dashboard_try/, 'the ID token is the try client\'s');
  assert.match(text, /try\.it@example\.com/);
  assert.match(text, /Try <b>It<\/b>/, 'the given name shown as text');
  assert.equal(await win.locator('b').count(), 0);
  assert.equal(await win.evaluate(() => window.opener), null, 'the try window has no handle on the dashboard');
  // Once: the same callback again shows nothing of the token.
  await win.reload();
  assert.doesNotMatch(await win.textContent('body'), /try\.it@example\.com/);
  await win.close();
});

test('the audit log lists each change with its author; sign-out ends the session', async (t) => {
  if (!ready(t)) return;
  assert.ok(state.page, 'the first test did not sign in');
  const { page, context } = state;
  await page.getByTestId('nav-audit').click();
  await page.getByTestId('audit-row').first().waitFor();
  const actions = await page.getByTestId('audit-action').allTextContents();
  for (const wanted of [/POST .*\/v1\/clients$/, /PATCH .*\/v1\/clients\//, /POST .*\/v1\/organizations$/, /POST .*\/domains$/, /POST .*\/portal_links$/]) {
    assert.ok(actions.some((a) => wanted.test(a)), `no ${wanted} in ${actions.join(', ')}`);
  }
  assert.ok((await page.getByTestId('audit-actor').allTextContents()).includes(EMAIL));
  assert.deepEqual(await accessibility(page, shots, 'audit'), []);
  await Promise.all([page.waitForURL(`${broker.url}/dashboard/signin`), page.getByTestId('signout').click()]);
  await page.goto(`${broker.url}/dashboard/#/organizations`);
  await page.waitForURL(`${broker.url}/dashboard/signin`);
  assert.deepEqual(context.problems, []);
});

test('five wrong passwords lock the account: the sign-in page says when to try again', async (t) => {
  if (!ready(t)) return;
  const context = await watchedContext(browser);
  const page = await context.newPage();
  await page.goto(`${broker.url}/dashboard/signin`);
  await page.getByTestId('signin-email').fill(EMAIL);
  for (let i = 0; i < 5; i++) {
    await page.getByTestId('signin-password').fill(`wrong ${i}`);
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('signin-error').getByText('Email or password is wrong.').waitFor();
  }
  await page.getByTestId('signin-password').fill(PASSWORD);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('signin-error').getByText(/^Too many attempts; try again in \d+ s\.$/).waitFor();
  await shots.take(page, 'signin-locked');
  await context.close();
});

// Last, as it adds 61 changes to the audit log that the audit test reads a page of; with an
// account of its own, as the lockout test locked the first.
test('organizations: the API\'s search finds one on no page loaded, by a part of its name and by its domain; its pages; kept in the hash', async (t) => {
  if (!ready(t)) return;
  const email = 'search.admin@example.com';
  const admin = await broker.api('POST', '/admins', { email });
  assert.equal(admin.status, 201, JSON.stringify(admin.json));
  const context = await watchedContext(browser);
  const page = await context.newPage();
  await page.goto(admin.json.setup_url);
  await page.getByTestId('setup-password').fill(PASSWORD);
  await page.getByTestId('setup-password-confirm').fill(PASSWORD);
  await page.getByTestId('setup-submit').click();
  await page.getByTestId('setup-signin-link').click();
  await page.getByTestId('signin-email').fill(email);
  await page.getByTestId('signin-password').fill(PASSWORD);
  await Promise.all([page.waitForURL(`${broker.url}/dashboard/`), page.getByTestId('signin-submit').click()]);
  const bulk = [];
  for (let i = 0; i < 60; i++) {
    const made = await broker.api('POST', '/organizations', { display_name: `Bulk E2E ${String(i).padStart(2, '0')} Inc` });
    assert.equal(made.status, 201);
    bulk.push(made.json);
  }
  const last = bulk.at(-1);
  assert.equal((await broker.api('POST', `/organizations/${last.id}/domains`, { domain: 'bulk-e2e-59.example' })).status, 201);
  await page.goto(`${broker.url}/dashboard/#/organizations`);
  const status = page.getByTestId('org-count');
  await status.getByText(/^50 organizations shown; “Load more” shows the next ones\.$/).waitFor();
  assert.equal(await page.getByTestId('org-link').filter({ hasText: last.display_name }).count(), 0);
  await page.getByTestId('org-search').fill('bulk e2e 59');
  await status.getByText('1 organization matching “bulk e2e 59” shown.', { exact: true }).waitFor();
  assert.equal(await page.getByTestId('org-link').textContent(), last.display_name);
  await page.getByTestId('org-search').fill('BULK-E2E-59.Example');
  await status.getByText('1 organization matching “BULK-E2E-59.Example” shown.', { exact: true }).waitFor();
  assert.equal(await page.getByTestId('org-link').textContent(), last.display_name);
  assert.equal(new URL(page.url()).hash, `#/organizations?search=${encodeURIComponent('BULK-E2E-59.Example')}`);
  // Back from the organization, and a reload: the search is still there.
  await page.getByTestId('org-link').click();
  await page.getByTestId('org-title').getByText(last.display_name).waitFor();
  await page.goBack();
  await status.getByText('1 organization matching “BULK-E2E-59.Example” shown.', { exact: true }).waitFor();
  await page.reload();
  await status.getByText('1 organization matching “BULK-E2E-59.Example” shown.', { exact: true }).waitFor();
  assert.equal(await page.getByTestId('org-search').inputValue(), 'BULK-E2E-59.Example');
  // The search's own pages, in order; nothing found said plainly; '%' only itself.
  await page.getByTestId('org-search').fill('Bulk E2E');
  await status.getByText('50 organizations matching “Bulk E2E” shown; “Load more” shows the next ones.', { exact: true }).waitFor();
  await page.getByTestId('load-more').click();
  await status.getByText('60 organizations matching “Bulk E2E” shown.', { exact: true }).waitFor();
  assert.deepEqual(await page.getByTestId('org-link').allTextContents(), bulk.map((o) => o.display_name));
  await page.getByTestId('org-search').fill('Bulk E2E %');
  await status.getByText('No organization matches “Bulk E2E %”.', { exact: true }).waitFor();
  assert.ok(await page.getByTestId('orgs-table').isHidden());
  assert.deepEqual(await accessibility(page, shots, 'organizations-search'), []);
  assert.deepEqual(context.problems, []);
  await context.close();
});
