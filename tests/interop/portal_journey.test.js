// The admin portal's journeys (issue 19), in headless Chromium against independent IdPs: an IT
// admin opens a fresh portal link, configures SAML from the metadata of npm `samlp` (or OIDC
// against npm `oidc-provider`), tests it in a second window and sees the profile, enables it;
// then a user of the organization's domain signs in through /oauth/authorize. A failed test
// login shows the precise reason.
//
// Two layers. The API layer: the same journeys through the portal API from the admin's page
// and the test window a real browser walks (where a step's portal route is not merged,
// PORTAL_MERGED.routes in portal_kit.js, it takes the management API and says so in the
// test's name). The page layer (PORTAL_MERGED.pages): the journeys clicked through the pages
// under their own CSP, by accessible names (roles, labels) where the pages give them, else by
// the pages' data-testid hooks (web/static/portal/; e.g. org-name, connection-status,
// check-summary, notice, test-result with data-status, test-profile-<field>, test-reason,
// test-expected, test-received, events-table). Every step's screenshot, laptop and phone
// width, goes to the artifacts directory (portal_kit.js); on a phone nothing may stick out.
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

// ---- the page layer: the same journeys clicked through the portal's pages ----
// In Chromium under the pages' own Content-Security-Policy (no bypassCSP): the admin only
// clicks, types and uploads; the management API only sets up what the app's developer does
// and reads back what the pages stored.

const PHONE = { width: 390, height: 844 };
const IDP_TILES = ['okta', 'entra', 'google', 'adfs', 'onelogin', 'jumpcloud', 'pingfederate', 'saml', 'oidc'];
const HOSTILE_ORG = 'Pages SAML <script>alert(5)</script> "Ünal" & 山田 Inc';
const HOSTILE_CONNECTION = 'samlp — 山田 "<b>x</b>"';

// A screenshot of step; with phone, one at a phone's width too, where nothing may stick out
// sideways (the elements that do are named).
async function pageShot(page, step, { phone = false } = {}) {
  await kit.shot(page, step);
  if (!phone) return;
  const wide = page.viewportSize();
  await page.setViewportSize(PHONE);
  try {
    await kit.shot(page, `${step}-phone`);
    const over = await page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      if (document.documentElement.scrollWidth <= width) return [];
      return [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > width + 0.5)
        .slice(0, 5).map((el) => `${el.tagName.toLowerCase()}.${el.className}[${el.dataset.testid || ''}]`);
    });
    assert.deepEqual(over, [], `${step}: on a phone these stick out sideways`);
  } finally {
    await page.setViewportSize(wide);
  }
}

// The console errors of the broker's own pages (an IdP's pages are not the portal's).
function portalErrors(admin) {
  return admin.context.consoleErrors.filter((e) => e.startsWith(`${kit.url}/`));
}

// Opens a fresh link for org in a fresh context under the pages' CSP: the overview, the
// organization's name and domains shown as text.
async function portal(org, step) {
  const context = await kit.context();
  const link = await kit.link(org.id);
  const opened = await kit.open(context, link, step);
  assert.equal(opened.status, 303);
  const { page } = opened;
  await page.getByTestId('org-name').waitFor({ state: 'visible', timeout: 10000 });
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), org.display_name);
  assert.equal(await page.getByTestId('header-org-name').textContent(), org.display_name);
  assert.deepEqual(await page.getByTestId('domains').getByRole('listitem').allTextContents(), [org.domain]);
  await page.getByTestId('events-empty').or(page.getByTestId('events-table')).waitFor({ timeout: 10000 });
  await pageShot(page, `${step}-overview`, { phone: true });
  return { context, page };
}

// Overview -> Add a connection -> the IdP's tile (every IdP of the issue offered) -> the draft
// made with name. Returns the connection as the management API has it.
async function addConnection(page, tileName, name, step) {
  await page.getByTestId('add-connection').click();
  await page.getByRole('heading', { level: 1, name: 'Add a connection' }).waitFor({ timeout: 10000 });
  for (const id of IDP_TILES) assert.equal(await page.getByTestId(`idp-${id}`).count(), 1, `no tile idp-${id}`);
  await pageShot(page, `${step}-pick-idp`, { phone: true });
  await page.getByRole('button', { name: new RegExp(`^${tileName}`) }).click();
  await page.getByRole('heading', { level: 1, name: `Connect ${tileName}` }).waitFor({ timeout: 10000 });
  assert.ok(await page.getByTestId('idp-steps').getByRole('listitem').count() >= 3, 'the IdP\'s steps');
  await page.getByLabel('Connection name').fill(name);
  await pageShot(page, `${step}-create`);
  await page.getByRole('button', { name: 'Create the connection' }).click();
  await page.waitForURL((u) => /^#\/connections\/[A-Za-z0-9_.-]+$/.test(u.hash), { timeout: 10000 });
  const id = new URL(page.url()).hash.split('/').pop();
  await page.getByRole('heading', { level: 1, name }).waitFor({ timeout: 10000 });
  assert.equal(await page.getByTestId('connection-status').textContent(), 'Draft: not enabled');
  return kit.expectApi(200, 'GET', `/connections/${id}`);
}

// Clicks the Test sign-in button (the first one in scope): the test window it opens (blank,
// then sent to the test's start URL) and the test's id; its start handle is kept for the
// access-log check.
async function testThroughPage(admin, scope) {
  const started = admin.page.waitForResponse((r) => r.request().method() === 'POST'
    && /^\/portal\/api\/connections\/[^/]+\/test$/.test(new URL(r.url()).pathname));
  const [win] = await Promise.all([
    admin.context.waitForEvent('page'),
    scope.getByRole('button', { name: 'Test sign-in' }).first().click(),
  ]);
  const answer = await (await started).json();
  kit.keep('test start handle', new URL(answer.start_url, kit.url).pathname.split('/').pop());
  return { win, testId: answer.test_id };
}

// The test window on /portal/tests/{id}, once its result is in: {status, text}.
async function resultPage(win, testId, step) {
  await win.waitForURL((u) => u.pathname === `/portal/tests/${testId}`, { timeout: 15000 }).catch(async () => {
    await kit.shot(win, `${step}-stuck`);
    throw new Error(`${step}: the test window never reached /portal/tests/${testId}; at ${win.url()}`);
  });
  assert.ok(!win.url().includes('code='), `a test login never reaches an app: ${win.url()}`);
  const result = win.locator('[data-testid="test-result"]:not([data-status="pending"])');
  await result.waitFor({ timeout: 15000 });
  await pageShot(win, `${step}-result`, { phone: true });
  return { status: await result.getAttribute('data-status'), text: await win.getByTestId('test-status').textContent() };
}

// Enable on the connection page: its status Enabled, in the page and the management API.
async function enableThroughPage(page, connectionId, step) {
  await page.bringToFront();
  await page.getByRole('button', { name: 'Enable', exact: true }).click();
  await page.getByTestId('connection-status').filter({ hasText: /^Enabled$/ }).waitFor({ timeout: 10000 });
  assert.match(await page.getByTestId('notice').textContent(), /^Enabled/);
  assert.equal(await page.getByRole('button', { name: 'Disable', exact: true }).count(), 1);
  assert.equal((await kit.expectApi(200, 'GET', `/connections/${connectionId}`)).status, 'active');
  await pageShot(page, `${step}-enabled`);
}

// Back on the overview: the connection Enabled and the user's sign-in (not a test) listed.
async function overviewAfterLogin(page, connectionId, step) {
  await page.getByRole('link', { name: 'Overview' }).first().click();
  const card = page.locator(`[data-testid="connection"][data-connection-id="${connectionId}"]`);
  await card.getByTestId('connection-status').filter({ hasText: /^Enabled$/ }).waitFor({ timeout: 10000 });
  const signIns = page.getByTestId('events-table').locator('tbody tr');
  await signIns.first().waitFor({ timeout: 10000 });
  assert.ok(await signIns.filter({ hasText: 'Success' }).filter({ hasNotText: 'Test' }).count() >= 1,
    (await signIns.allInnerTexts()).join('\n'));
  assert.ok(await signIns.filter({ hasText: 'Test' }).count() >= 1, 'the test sign-in is listed as a test');
  await pageShot(page, `${step}-overview-events`, { phone: true });
}

test('pages: SAML set up by uploading samlp\'s metadata, tested (the profile shown as text), enabled; the user signs in', { skip: PAGES_SKIP }, async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(NO_CHROMIUM); return; }
  const org = await kit.organization(HOSTILE_ORG, 'pages-saml.example');
  const admin = await portal(org, 'pages-saml');
  const { page } = admin;
  const connection = await addConnection(page, 'Other SAML 2.0 IdP', HOSTILE_CONNECTION, 'pages-saml');
  assert.equal(connection.name, HOSTILE_CONNECTION);
  assert.equal(connection.type, 'saml');

  // The values to paste into the IdP, as the API has them; the metadata download.
  assert.equal(await page.getByLabel(/^SP entity ID/).inputValue(), connection.sp.entity_id);
  assert.equal(await page.getByLabel(/^Assertion Consumer Service \(ACS\) URL/).inputValue(), connection.sp.acs_url);
  assert.equal(await page.getByLabel(/^SP metadata URL/).inputValue(), connection.sp.metadata_url);
  assert.match(connection.sp.acs_url, new RegExp(`^${kit.url}/`));
  assert.equal(await page.getByRole('link', { name: 'Download the SP metadata' }).getAttribute('href'), connection.sp.metadata_url);
  await pageShot(page, 'pages-saml-sp-values', { phone: true });

  // samlp's metadata file, uploaded: checked at once, its entity ID and certificate shown.
  await page.getByRole('radio', { name: 'Upload a metadata file' }).check();
  await page.getByLabel('Metadata file (XML)').setInputFiles(metadataFile);
  await page.getByTestId('check-summary-entity-id').filter({ hasText: samlIdp.issuer }).waitFor({ timeout: 10000 });
  assert.equal(await page.getByTestId('check-summary-sso-url').textContent(), samlIdp.url);
  assert.ok(await page.getByTestId('idp-metadata-file-error').isHidden());
  await pageShot(page, 'pages-saml-metadata-checked');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByTestId('notice').filter({ hasText: /^Saved/ }).waitFor({ timeout: 10000 });
  assert.equal(await page.getByTestId('saved-idp-entity-id').textContent(), samlIdp.issuer);
  assert.match(await page.getByTestId('saved-idp').getByTestId('cert-not-after').first().textContent(), /^expires /);
  assert.equal(await page.getByTestId('connection-status').textContent(), 'Draft: not enabled');
  const saved = await kit.expectApi(200, 'GET', `/connections/${connection.id}`);
  assert.equal(saved.saml.idp_entity_id, samlIdp.issuer);
  assert.equal(saved.saml.idp_certificates[0].replace(/\s+/g, ''), samlIdp.cert.replace(/\s+/g, ''));
  await pageShot(page, 'pages-saml-saved', { phone: true });
  samlIdp.state.acs = connection.sp.acs_url;
  // A user at this organization's domain (a test login is checked against its domains too).
  const user = samlIdp.state.user;
  samlIdp.state.user = { ...user, emails: [{ value: 'jo@pages-saml.example' }] };
  t.after(() => { samlIdp.state.user = user; });

  // The test window walks samlp to the result page: the profile, hostile values as text.
  const appVisits = client.app.landed.length;
  const { win, testId } = await testThroughPage(admin, page);
  const result = await resultPage(win, testId, 'pages-saml-test');
  assert.deepEqual(result, { status: 'success', text: 'Sign-in worked' }, await win.getByTestId('test-result').innerText());
  const profile = (field) => win.getByTestId(`test-profile-${field}`).textContent();
  assert.equal(await profile('subject'), 'jo-123');
  assert.equal(await profile('email'), 'jo@pages-saml.example');
  assert.equal(await profile('given_name'), HOSTILE_GIVEN);
  assert.equal(await profile('family_name'), HOSTILE_FAMILY);
  const raw = await win.getByTestId('test-raw').innerText();
  assert.ok(raw.includes(HOSTILE_GIVEN) && raw.includes(HOSTILE_FAMILY), raw);
  assert.ok((await win.getByTestId('test-result').innerText()).includes(`through ${HOSTILE_CONNECTION}`));
  assert.equal(await win.locator('img, b, script:not([src])').count(), 0, 'a value became markup');
  assert.deepEqual(client.app.landed.slice(appVisits), [], 'the test login reached the app');
  // The admin's page shows the same result.
  await page.locator('[data-testid="test-result"][data-status="success"]').waitFor({ timeout: 10000 });
  assert.equal(await page.getByTestId('test-profile-family_name').textContent(), HOSTILE_FAMILY);
  await pageShot(page, 'pages-saml-test-on-admin-page');
  await win.close();

  await enableThroughPage(page, connection.id, 'pages-saml');
  const claims = await kit.authorize(await kit.context(), client, 'jo@pages-saml.example', undefined, 'pages-saml-login');
  assert.equal(claims.oid, org.id);
  assert.equal(claims.sub, `${connection.id};jo-123`);
  assert.equal(claims.connection_type, 'saml');
  await overviewAfterLogin(page, connection.id, 'pages-saml');
  assert.equal(await page.locator('img, b, script:not([src])').count(), 0, 'a name became markup');
  // The connection's page shows the user's sign-in (not the test's) with its attributes as text.
  await page.locator(`[data-testid="connection"][data-connection-id="${connection.id}"]`).getByTestId('open-connection').click();
  await page.getByTestId('last-login-subject').filter({ hasText: 'jo-123' }).waitFor({ timeout: 10000 });
  const lastRaw = await page.getByTestId('last-login-raw').innerText();
  assert.ok(lastRaw.includes(HOSTILE_GIVEN) && lastRaw.includes(HOSTILE_FAMILY), lastRaw);
  assert.equal(await page.locator('img, b, script:not([src])').count(), 0, 'an attribute became markup');
  await pageShot(page, 'pages-saml-last-login', { phone: true });
  assert.deepEqual(admin.context.dialogs, []);
  assert.deepEqual(portalErrors(admin), [], 'the pages run under their CSP with a clean console');
});

test('pages: OIDC set up by its form, the secret write-only, tested, enabled; the user signs in', { skip: PAGES_SKIP }, async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(NO_CHROMIUM); return; }
  const org = await kit.organization('Pages OIDC Inc', 'pages-oidc.example');
  const admin = await portal(org, 'pages-oidc');
  const { page } = admin;
  const secret = crypto.randomBytes(24).toString('base64url');
  const opClient = { client_id: 'pages-broker', client_secret: secret, redirect_uris: [`${kit.url}/placeholder`], token_endpoint_auth_method: 'client_secret_basic' };
  const op = await startOidcProvider({ client: opClient, accounts: { 'bo-2': { email: 'bo@pages-oidc.example', email_verified: true, given_name: 'Bo', family_name: 'Ødegård' } } });
  t.after(() => op.close());
  const connection = await addConnection(page, 'Other OpenID Connect provider', 'oidc-provider', 'pages-oidc');
  assert.equal(connection.type, 'oidc');

  // The redirect URI to register, shown before anything else is known.
  const redirectUri = await page.getByLabel(/^Redirect URI/).inputValue();
  assert.equal(redirectUri, `${kit.url}/sso/oidc/callback/${connection.id}`);
  assert.equal(redirectUri, connection.oidc.redirect_uri);
  assert.equal(await page.getByTestId('oidc-secret-set').textContent(), 'No client secret yet');
  await page.getByLabel('Issuer', { exact: true }).fill(op.issuer);
  await page.getByLabel('Client ID', { exact: true }).fill(opClient.client_id);
  await page.getByLabel('Client secret', { exact: true }).fill(secret);
  await page.getByLabel(/^Scopes/).fill('openid email profile');
  await pageShot(page, 'pages-oidc-form', { phone: true });
  await page.getByRole('button', { name: 'Save and check' }).click();
  await page.getByTestId('notice').filter({ hasText: /^Saved/ }).waitFor({ timeout: 15000 });
  await pageShot(page, 'pages-oidc-saved');
  // Write-only: the field empty, the page (and after a reload too) without it; only "set".
  assert.equal(await page.getByLabel('Client secret', { exact: true }).inputValue(), '');
  assert.equal(await page.getByTestId('oidc-secret-set').textContent(), 'Client secret is set');
  assert.ok(!(await page.content()).includes(secret), 'the secret is in the page');
  await page.reload();
  await page.getByTestId('oidc-form').waitFor({ timeout: 10000 });
  assert.equal(await page.getByLabel('Issuer', { exact: true }).inputValue(), op.issuer);
  assert.equal(await page.getByLabel('Client secret', { exact: true }).inputValue(), '');
  assert.equal(await page.getByTestId('oidc-secret-set').textContent(), 'Client secret is set');
  assert.ok(!(await page.content()).includes(secret), 'the secret is in the page after a reload');
  const saved = await kit.expectApi(200, 'GET', `/connections/${connection.id}`);
  assert.equal(saved.oidc.issuer, op.issuer);
  assert.deepEqual(saved.oidc.scopes, ['openid', 'email', 'profile']);
  assert.ok(!JSON.stringify(saved).includes(secret));
  opClient.redirect_uris = [redirectUri];
  await op.restart();

  const appVisits = client.app.landed.length;
  const { win, testId } = await testThroughPage(admin, page);
  await win.waitForURL((u) => u.toString().startsWith(op.issuer), { timeout: 15000 });
  await opSignIn(win, op.issuer, 'bo-2', 'pages-oidc-test');
  const result = await resultPage(win, testId, 'pages-oidc-test');
  assert.deepEqual(result, { status: 'success', text: 'Sign-in worked' }, await win.getByTestId('test-result').innerText());
  assert.equal(await win.getByTestId('test-profile-subject').textContent(), 'bo-2');
  assert.equal(await win.getByTestId('test-profile-email').textContent(), 'bo@pages-oidc.example');
  assert.equal(await win.getByTestId('test-profile-family_name').textContent(), 'Ødegård');
  assert.ok((await win.getByTestId('test-raw').innerText()).includes('bo@pages-oidc.example'));
  assert.deepEqual(client.app.landed.slice(appVisits), [], 'the test login reached the app');
  await win.close();

  await enableThroughPage(page, connection.id, 'pages-oidc');
  const claims = await kit.authorize(await kit.context(), client, 'bo@pages-oidc.example',
    (p) => opSignIn(p, op.issuer, 'bo-2', 'pages-oidc-login'), 'pages-oidc-login');
  assert.equal(claims.oid, org.id);
  assert.equal(claims.sub, `${connection.id};bo-2`);
  assert.equal(claims.connection_type, 'oidc');
  await overviewAfterLogin(page, connection.id, 'pages-oidc');
  assert.deepEqual(admin.context.dialogs, []);
  assert.deepEqual(portalErrors(admin), [], 'the pages run under their CSP with a clean console');
});

test('pages: a failed test login shows the precise reason on the result page', { skip: PAGES_SKIP }, async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(NO_CHROMIUM); return; }
  const org = await kit.organization('Pages Mismatch Inc', 'pages-mismatch.example');
  const connection = await kit.expectApi(201, 'POST', `/organizations/${org.id}/connections`, {
    type: 'saml', name: 'wrong issuer',
    saml: { idp_entity_id: 'urn:test:expected-issuer', idp_sso_url: samlIdp.url, idp_certificates: [samlIdp.cert] },
  });
  samlIdp.state.acs = connection.sp.acs_url;
  const admin = await portal(org, 'pages-fail');
  // From the overview's card: a draft can be tested before it is enabled.
  const card = admin.page.locator(`[data-testid="connection"][data-connection-id="${connection.id}"]`);
  const { win, testId } = await testThroughPage(admin, card);
  const result = await resultPage(win, testId, 'pages-fail-test');
  assert.deepEqual(result, { status: 'failure', text: 'Sign-in failed' });
  const reason = 'issuer: expected urn:test:expected-issuer, got urn:test:portal-samlp';
  assert.equal(await win.getByTestId('test-reason').textContent(), reason);
  assert.equal(await win.getByTestId('test-expected').textContent(), 'urn:test:expected-issuer');
  assert.equal(await win.getByTestId('test-received').textContent(), 'urn:test:portal-samlp');
  assert.equal(await win.getByTestId('test-profile').count(), 0);
  // The admin's page and the overview's sign-ins show the same reason.
  await card.locator('[data-testid="test-result"][data-status="failure"]').waitFor({ timeout: 10000 });
  assert.equal(await card.getByTestId('test-reason').textContent(), reason);
  await admin.page.getByTestId('events-refresh').click();
  await admin.page.getByTestId('events-table').locator('tbody tr').filter({ hasText: reason }).first().waitFor({ timeout: 10000 });
  await pageShot(admin.page, 'pages-fail-overview', { phone: true });
  assert.equal((await kit.expectApi(200, 'GET', `/connections/${connection.id}`)).status, 'draft');
  assert.deepEqual(portalErrors(admin), []);
});

// Last: the run's access log against every link token, session cookie, CSRF token and test
// start handle of this file (the test windows walked /sso/test/<handle>).
test('the access log of the journeys holds no portal secret; the test windows\' start paths are masked', async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(NO_CHROMIUM); return; }
  const log = await kit.assertAccessLogClean(['portal link token', 'portal session cookie', 'portal CSRF token', 'test start handle']);
  assert.match(log, /GET \/sso\/test\/~ 30\d /);
});
