// The admin portal's journeys (issue 19), in headless Chromium against independent IdPs: an IT
// admin opens a fresh portal link, configures SAML from the metadata of npm `samlp` (or OIDC
// against npm `oidc-provider`), tests it in a second window and sees the profile, enables it;
// then a user of the organization's domain signs in through /oauth/authorize. A failed test
// login shows the precise reason.
//
// Two layers. The API layer (runs now): the same journeys through the portal API from the
// admin's page and the test window a real browser walks; where a step's portal route is not
// merged yet (PORTAL_MERGED.routes in portal_kit.js) it takes the management API instead and
// says so in the test's name. The page layer (skipped until PORTAL_MERGED.pages): the same
// journeys clicked through the pages, written against these hooks, to align with the page
// engineer's list:
//
// Accessible names (getByRole / getByLabel):
//   button "Open the portal"                 start page (exists)
//   radio|button "Generic SAML", "Generic OIDC" (and Okta, Entra ID, Google Workspace, ADFS,
//                                            OneLogin, JumpCloud, PingFederate): the IdP pick
//   label "Metadata XML file"                <input type=file> for the IdP's metadata
//   label "Issuer", "Client ID", "Client secret", "Scopes"   the OIDC form
//   button "Save", "Test connection", "Enable", "Disable"
// data-testid:
//   org-name                 the organization's display name (portal header)
//   org-domains              the organization's domains (read-only list)
//   sp-entity-id, sp-acs-url, sp-metadata-url   SAML values to paste into the IdP (text)
//   oidc-redirect-uri        the OIDC redirect URI to register (text)
//   field-error              an inline error next to the field it names
//   connection-status        "Draft" | "Active" | "Inactive"
//   certificate-expiry       one per IdP certificate, its not_after date
//   test-status              on /portal/tests/{id}: "Succeeded" | "Failed" | "Pending"
//   profile-subject, profile-email, profile-given-name, profile-family-name, profile-groups
//   raw-attributes           the raw SAML attributes / OIDC claims, as text
//   test-reason              the failure's reason (expected against received), as text
//   events                   the recent login events table (one row per event)
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { PortalKit, PORTAL_MERGED, NEEDS_PAGES, HAVE_CHROMIUM, NO_CHROMIUM } = require('./portal_kit');
const { startSamlp } = require('./idp');
const { startOidcProvider } = require('./oidc_idp');

const VIA = PORTAL_MERGED.routes ? 'the portal API' : 'the management API until the portal routes are merged';
const PAGES_SKIP = !PORTAL_MERGED.pages && NEEDS_PAGES;
// Attribute values the test result page must show as text.
const HOSTILE_GIVEN = 'Jo "<script>alert(3)</script>"';
const HOSTILE_FAMILY = 'Ünal <img src=x onerror=alert(4)> 山田';

let kit, client, samlIdp, oidcIdp;
const metadataFile = path.join(os.tmpdir(), `samlp-metadata-${crypto.randomBytes(4).toString('hex')}.xml`);

before(async () => {
  if (!HAVE_CHROMIUM) return;
  kit = await PortalKit.start('journey');
  client = await kit.client();
  samlIdp = await startSamlp({
    issuer: 'urn:test:portal-samlp',
    user: {
      id: 'jo-123', displayName: 'Jo Doe',
      name: { givenName: HOSTILE_GIVEN, familyName: HOSTILE_FAMILY },
      emails: [{ value: 'jo@saml-journey.example' }],
    },
    acs: 'about:blank',
  });
  fs.writeFileSync(metadataFile, await (await fetch(samlIdp.metadataUrl)).text());
});
after(async () => {
  fs.rmSync(metadataFile, { force: true });
  if (samlIdp) await samlIdp.close();
  if (oidcIdp) await oidcIdp.close();
  if (kit) await kit.stop();
});

// ---- steps shared by the API layer ----

// A connection of the session's organization from body (the management API's shape): through
// the portal when its routes are merged, else through the management API.
async function createConnection(session, orgId, body) {
  if (PORTAL_MERGED.routes) {
    const r = await kit.call(session.page, 'POST', 'connections', body);
    assert.equal(r.status, 201, r.text);
    return r.json;
  }
  return kit.expectApi(201, 'POST', `/organizations/${orgId}/connections`, body);
}

async function enable(session, connectionId) {
  if (PORTAL_MERGED.routes) {
    const r = await kit.call(session.page, 'POST', `connections/${connectionId}/enable`);
    assert.equal(r.status, 200, r.text);
    return r.json;
  }
  return kit.expectApi(200, 'POST', `/connections/${connectionId}/enable`);
}

async function events(session, connectionId) {
  if (PORTAL_MERGED.routes) {
    const r = await kit.call(session.page, 'GET', 'events?limit=20');
    assert.equal(r.status, 200, r.text);
    return r.json.data.filter((e) => e.connection_id === connectionId);
  }
  return (await kit.expectApi(200, 'GET', `/events?connection_id=${connectionId}`)).data;
}

// The test window's walk ends on the portal's test result page, /portal/tests/{id}.
async function testWindowDone(win, testId, step) {
  await win.waitForURL((u) => u.pathname === `/portal/tests/${testId}`, { timeout: 15000 }).catch(async () => {
    await kit.shot(win, `${step}-stuck`);
    throw new Error(`${step}: the test window never reached /portal/tests/${testId}; at ${win.url()}`);
  });
  await win.waitForLoadState('load');
  await kit.shot(win, `${step}-result-page`);
  assert.ok(!win.url().includes('code='), `a test login never reaches an app: ${win.url()}`);
}

// oidc-provider's development pages: sign in as account, confirm the consent, until the
// browser leaves the OP (a bound on the steps, not a timer).
async function opSignIn(page, issuer, account, step) {
  for (let i = 0; i < 6; i++) {
    await page.waitForLoadState('load');
    if (!page.url().startsWith(issuer)) return;
    if (await page.locator('input[name="login"]').count()) {
      await page.fill('input[name="login"]', account);
      await page.fill('input[name="password"]', 'any');
      await kit.shot(page, `${step}-op-login`);
      await Promise.all([page.waitForEvent('framenavigated'), page.click('button[type="submit"]')]);
    } else if (await page.locator('button[type="submit"]').count()) {
      await kit.shot(page, `${step}-op-consent`);
      await Promise.all([page.waitForEvent('framenavigated'), page.click('button[type="submit"]')]);
    } else {
      await page.waitForURL((u) => !u.toString().startsWith(issuer), { timeout: 5000 });
    }
  }
}

// ---- the API layer: runs now ----

test(`SAML: a fresh link; a connection from samlp's metadata (via ${VIA}); a test login in a second window shows the profile; enabled (via ${VIA}); a user of the domain signs in through /oauth/authorize`, async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(NO_CHROMIUM); return; }
  const org = await kit.organization('SAML Journey Inc', 'saml-journey.example');
  const admin = await kit.session(org.id, { step: 'saml-admin' });
  const metadata = fs.readFileSync(metadataFile, 'utf8');
  const connection = await createConnection(admin, org.id, { type: 'saml', name: 'samlp', saml: { idp_metadata_xml: metadata } });
  assert.equal(connection.status, 'draft');
  assert.equal(connection.saml.idp_entity_id, samlIdp.issuer);
  assert.equal(connection.saml.idp_sso_url, samlIdp.url);
  assert.equal(connection.saml.idp_certificates.length, 1);
  assert.equal(connection.saml.idp_certificates[0].replace(/\s+/g, ''), samlIdp.cert.replace(/\s+/g, ''));
  assert.ok(connection.sp.acs_url.startsWith(kit.url), connection.sp.acs_url);
  samlIdp.state.acs = connection.sp.acs_url;

  // Before it is enabled, a user of the domain does not get to the IdP.
  const early = await kit.context();
  const page = await early.newPage();
  await page.goto(`${kit.url}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri: client.app.redirectUri, scope: 'openid', state: 's', nonce: 'n', login_hint: 'jo@saml-journey.example' })}`);
  assert.ok(!page.url().startsWith(samlIdp.url), `a draft connection took a user to the IdP: ${page.url()}`);

  // The test login: a second window, through samlp and the ACS, to the result page.
  const appVisits = client.app.landed.length;
  const { test_id: testId, window: win } = await kit.startTest(admin, connection.id, 'saml-test');
  await testWindowDone(win, testId, 'saml-test');
  const result = await kit.testResult(admin, testId);
  assert.equal(result.status, 200, result.text);
  assert.equal(result.json.status, 'success', result.text);
  assert.equal(result.json.connection_id, connection.id);
  assert.equal(result.json.profile.subject, 'jo-123');
  assert.equal(result.json.profile.email, 'jo@saml-journey.example');
  assert.equal(result.json.profile.given_name, HOSTILE_GIVEN);
  assert.equal(result.json.profile.family_name, HOSTILE_FAMILY);
  assert.ok(JSON.stringify(result.json.raw).includes(JSON.stringify(HOSTILE_FAMILY).slice(1, -1)), JSON.stringify(result.json.raw));
  assert.deepEqual(client.app.landed.slice(appVisits), [], 'the test login reached the app');
  assert.deepEqual(admin.context.dialogs, []);

  // Enabled, a user of the domain signs in (in their own browser).
  assert.equal((await enable(admin, connection.id)).status, 'active');
  const claims = await kit.authorize(await kit.context(), client, 'jo@saml-journey.example', undefined, 'saml-login');
  assert.equal(claims.email, 'jo@saml-journey.example');
  assert.equal(claims.sub, `${connection.id};jo-123`);
  assert.equal(claims.oid, org.id);
  assert.equal(claims.connection_type, 'saml');
  const log = await events(admin, connection.id);
  assert.ok(log.some((e) => e.outcome === 'success' && !e.test), JSON.stringify(log));
});

test('a failed SAML test login (the IdP\'s entity ID is not the one configured) gives the precise reason, expected against received', async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(NO_CHROMIUM); return; }
  const org = await kit.organization('SAML Mismatch Inc', 'saml-mismatch.example');
  const admin = await kit.session(org.id, { step: 'saml-fail-admin' });
  const connection = await createConnection(admin, org.id, {
    type: 'saml', name: 'wrong issuer',
    saml: { idp_entity_id: 'urn:test:expected-issuer', idp_sso_url: samlIdp.url, idp_certificates: [samlIdp.cert] },
  });
  samlIdp.state.acs = connection.sp.acs_url;
  const { test_id: testId, window: win } = await kit.startTest(admin, connection.id, 'saml-fail-test');
  await testWindowDone(win, testId, 'saml-fail-test');
  const result = await kit.testResult(admin, testId);
  assert.equal(result.json.status, 'failure', result.text);
  assert.equal(result.json.profile, null);
  assert.equal(result.json.reason, 'issuer: expected urn:test:expected-issuer, got urn:test:portal-samlp');
  const log = await events(admin, connection.id);
  assert.ok(log.some((e) => e.outcome === 'failure' && e.reason === result.json.reason), JSON.stringify(log));
});

test(`OIDC: a connection to oidc-provider (via ${VIA}), its secret never shown back; a test login shows the claims; enabled; a user of the domain signs in`, async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(NO_CHROMIUM); return; }
  const org = await kit.organization('OIDC Journey Inc', 'oidc-journey.example');
  const admin = await kit.session(org.id, { step: 'oidc-admin' });
  const secret = crypto.randomBytes(24).toString('base64url');
  const opClient = { client_id: 'portal-broker', client_secret: secret, redirect_uris: [`${kit.url}/placeholder`], token_endpoint_auth_method: 'client_secret_basic' };
  oidcIdp = await startOidcProvider({
    client: opClient,
    accounts: { 'ada-1': { email: 'ada@oidc-journey.example', email_verified: true, given_name: HOSTILE_GIVEN, family_name: HOSTILE_FAMILY, groups: ['eng'] } },
  });
  const connection = await createConnection(admin, org.id, {
    type: 'oidc', name: 'oidc-provider',
    oidc: { issuer: oidcIdp.issuer, client_id: opClient.client_id, client_secret: secret, scopes: ['openid', 'email', 'profile', 'groups'] },
  });
  assert.equal(connection.status, 'draft');
  assert.ok(!JSON.stringify(connection).includes(secret), 'the client secret came back');
  // The redirect URI the admin registers at the IdP.
  assert.equal(connection.oidc.redirect_uri, `${kit.url}/sso/oidc/callback/${connection.id}`);
  opClient.redirect_uris = [connection.oidc.redirect_uri];
  await oidcIdp.restart();

  const appVisits = client.app.landed.length;
  const { test_id: testId, window: win } = await kit.startTest(admin, connection.id, 'oidc-test');
  await opSignIn(win, oidcIdp.issuer, 'ada-1', 'oidc-test');
  await testWindowDone(win, testId, 'oidc-test');
  const result = await kit.testResult(admin, testId);
  assert.equal(result.json.status, 'success', result.text);
  assert.equal(result.json.profile.subject, 'ada-1');
  assert.equal(result.json.profile.email, 'ada@oidc-journey.example');
  assert.equal(result.json.profile.given_name, HOSTILE_GIVEN);
  assert.equal(result.json.profile.family_name, HOSTILE_FAMILY);
  assert.deepEqual(result.json.profile.groups, ['eng']);
  assert.deepEqual(client.app.landed.slice(appVisits), [], 'the test login reached the app');

  assert.equal((await enable(admin, connection.id)).status, 'active');
  const claims = await kit.authorize(await kit.context(), client, 'ada@oidc-journey.example',
    (page) => opSignIn(page, oidcIdp.issuer, 'ada-1', 'oidc-login'), 'oidc-login');
  assert.equal(claims.email, 'ada@oidc-journey.example');
  assert.equal(claims.sub, `${connection.id};ada-1`);
  assert.equal(claims.connection_type, 'oidc');
  assert.deepEqual(claims.groups, ['eng']);
});

// ---- the page layer: skipped until the pages are merged ----

// Opens a fresh link for org in a context with the pages' own CSP; the portal app loaded.
async function portal(org, step) {
  const context = await kit.context();
  const link = await kit.link(org.id);
  const opened = await kit.open(context, link, step);
  assert.equal(opened.status, 303);
  await opened.page.getByTestId('org-name').waitFor({ state: 'visible', timeout: 10000 });
  assert.equal((await opened.page.getByTestId('org-name').textContent()).trim(), org.display_name);
  return { context, page: opened.page };
}

// Clicks Test connection; the result page in the window it opens.
async function testThroughPage(admin, step) {
  const [win] = await Promise.all([
    admin.context.waitForEvent('page'),
    admin.page.getByRole('button', { name: 'Test connection' }).click(),
  ]);
  await win.waitForLoadState('domcontentloaded');
  return win;
}

async function resultPage(win, step) {
  await win.waitForURL((u) => /^\/portal\/tests\/[^/]+$/.test(u.pathname), { timeout: 15000 });
  const status = win.getByTestId('test-status');
  await status.waitFor({ state: 'visible', timeout: 15000 });
  await win.waitForFunction(() => !/pending/i.test(document.querySelector('[data-testid="test-status"]').textContent), null, { timeout: 15000 });
  await kit.shot(win, `${step}-result`);
  return (await status.textContent()).trim();
}

test('pages: SAML set up by uploading samlp\'s metadata, tested (the profile shown as text), enabled; the user signs in', { skip: PAGES_SKIP }, async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(NO_CHROMIUM); return; }
  const org = await kit.organization('Pages SAML Inc', 'pages-saml.example');
  const admin = await portal(org, 'pages-saml');
  const { page } = admin;
  await kit.shot(page, 'pages-saml-home');
  assert.deepEqual((await page.getByTestId('org-domains').innerText()).split(/\s+/).filter(Boolean), ['pages-saml.example']);
  await page.getByRole('radio', { name: 'Generic SAML' }).or(page.getByRole('button', { name: 'Generic SAML' })).first().click();
  await kit.shot(page, 'pages-saml-picked');
  const acs = (await page.getByTestId('sp-acs-url').textContent()).trim();
  assert.match(acs, new RegExp(`^${kit.url}/`));
  assert.match((await page.getByTestId('sp-entity-id').textContent()).trim(), /\S/);
  assert.match((await page.getByTestId('sp-metadata-url').textContent()).trim(), new RegExp(`^${kit.url}/`));
  await page.getByLabel('Metadata XML file').setInputFiles(metadataFile);
  await kit.shot(page, 'pages-saml-metadata');
  assert.equal(await page.getByTestId('field-error').filter({ hasText: /\S/ }).count(), 0);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByTestId('connection-status').filter({ hasText: 'Draft' }).waitFor({ timeout: 10000 });
  assert.ok(await page.getByTestId('certificate-expiry').count() >= 1);
  await kit.shot(page, 'pages-saml-saved');
  samlIdp.state.acs = acs;

  const win = await testThroughPage(admin, 'pages-saml-test');
  assert.equal(await resultPage(win, 'pages-saml-test'), 'Succeeded');
  assert.equal((await win.getByTestId('profile-subject').textContent()).trim(), 'jo-123');
  assert.equal((await win.getByTestId('profile-email').textContent()).trim(), 'jo@saml-journey.example');
  assert.equal((await win.getByTestId('profile-given-name').textContent()).trim(), HOSTILE_GIVEN);
  assert.equal((await win.getByTestId('profile-family-name').textContent()).trim(), HOSTILE_FAMILY);
  assert.ok((await win.getByTestId('raw-attributes').innerText()).includes(HOSTILE_FAMILY));
  assert.equal(await win.locator('img[src="x"], script:not([src])').count(), 0, 'an attribute value became markup');

  await page.bringToFront();
  await page.getByRole('button', { name: 'Enable' }).click();
  await page.getByTestId('connection-status').filter({ hasText: 'Active' }).waitFor({ timeout: 10000 });
  await kit.shot(page, 'pages-saml-enabled');
  const claims = await kit.authorize(await kit.context(), client, 'jo@pages-saml.example', undefined, 'pages-saml-login');
  assert.equal(claims.oid, org.id);
  await page.reload();
  await page.getByTestId('events').getByText('success').first().waitFor({ timeout: 10000 });
  await kit.shot(page, 'pages-saml-events');
  assert.deepEqual(admin.context.dialogs, []);
  assert.deepEqual(admin.context.consoleErrors, [], 'the pages run under their CSP with a clean console');
});

test('pages: OIDC set up by its form, the secret write-only, tested, enabled; the user signs in', { skip: PAGES_SKIP }, async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(NO_CHROMIUM); return; }
  const org = await kit.organization('Pages OIDC Inc', 'pages-oidc.example');
  const admin = await portal(org, 'pages-oidc');
  const { page } = admin;
  const secret = crypto.randomBytes(24).toString('base64url');
  const opClient = { client_id: 'pages-broker', client_secret: secret, redirect_uris: [`${kit.url}/placeholder`], token_endpoint_auth_method: 'client_secret_basic' };
  const op = await startOidcProvider({ client: opClient, accounts: { 'bo-2': { email: 'bo@pages-oidc.example', email_verified: true } } });
  t.after(() => op.close());
  await page.getByRole('radio', { name: 'Generic OIDC' }).or(page.getByRole('button', { name: 'Generic OIDC' })).first().click();
  await page.getByLabel('Issuer').fill(op.issuer);
  await page.getByLabel('Client ID').fill(opClient.client_id);
  await page.getByLabel('Client secret').fill(secret);
  await kit.shot(page, 'pages-oidc-form');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByTestId('connection-status').filter({ hasText: 'Draft' }).waitFor({ timeout: 10000 });
  const redirectUri = (await page.getByTestId('oidc-redirect-uri').textContent()).trim();
  assert.match(redirectUri, new RegExp(`^${kit.url}/sso/oidc/callback/`));
  assert.equal(await page.getByLabel('Client secret').inputValue(), '', 'the secret is shown again');
  assert.ok(!(await page.content()).includes(secret), 'the secret is in the page');
  await kit.shot(page, 'pages-oidc-saved');
  opClient.redirect_uris = [redirectUri];
  await op.restart();

  const win = await testThroughPage(admin, 'pages-oidc-test');
  await opSignIn(win, op.issuer, 'bo-2', 'pages-oidc-test');
  assert.equal(await resultPage(win, 'pages-oidc-test'), 'Succeeded');
  assert.equal((await win.getByTestId('profile-email').textContent()).trim(), 'bo@pages-oidc.example');
  await page.bringToFront();
  await page.getByRole('button', { name: 'Enable' }).click();
  await page.getByTestId('connection-status').filter({ hasText: 'Active' }).waitFor({ timeout: 10000 });
  const claims = await kit.authorize(await kit.context(), client, 'bo@pages-oidc.example',
    (p) => opSignIn(p, op.issuer, 'bo-2', 'pages-oidc-login'), 'pages-oidc-login');
  assert.equal(claims.oid, org.id);
  assert.deepEqual(admin.context.consoleErrors, []);
});

test('pages: a failed test login shows the precise reason on the result page', { skip: PAGES_SKIP }, async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(NO_CHROMIUM); return; }
  const org = await kit.organization('Pages Mismatch Inc', 'pages-mismatch.example');
  const connection = await kit.expectApi(201, 'POST', `/organizations/${org.id}/connections`, {
    type: 'saml', saml: { idp_entity_id: 'urn:test:expected-issuer', idp_sso_url: samlIdp.url, idp_certificates: [samlIdp.cert] },
  });
  samlIdp.state.acs = connection.sp.acs_url;
  const admin = await portal(org, 'pages-fail');
  const win = await testThroughPage(admin, 'pages-fail-test');
  assert.equal(await resultPage(win, 'pages-fail-test'), 'Failed');
  const reason = (await win.getByTestId('test-reason').innerText()).trim();
  assert.ok(reason.includes('issuer: expected urn:test:expected-issuer, got urn:test:portal-samlp'), reason);
});

// Last: the run's access log against every link token, session cookie, CSRF token and test
// start handle of this file (the test windows walked /sso/test/<handle>).
test('the access log of the journeys holds no portal secret; the test windows\' start paths are masked', async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(NO_CHROMIUM); return; }
  const log = await kit.assertAccessLogClean(['portal link token', 'portal session cookie', 'portal CSRF token', 'test start handle']);
  assert.match(log, /GET \/sso\/test\/~ 30\d /);
});
