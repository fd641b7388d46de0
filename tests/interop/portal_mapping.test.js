// The admin portal's attribute mapping and SAML options (issue 21), in headless Chromium under
// the pages' own CSP: the Test Organization's IT admin maps profile fields of its SAML
// connection to the built-in simulator on the connection page, a test sign-in (the page's Test
// button, the simulator's form in the test window) shows the mapped profile, and emptying the
// fields puts the defaults back; a bad name shows the API's reason next to its field, takes the
// focus and changes nothing. The SAML options save only what changed, and the portal API
// refuses the developer's options (IdP-initiated login). The defaults the page shows are
// checked against the C sources that apply them.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { PortalKit, HAVE_CHROMIUM, NO_CHROMIUM } = require('./portal_kit');

const ROOT = path.resolve(__dirname, '..', '..');
const ORG = 'org_test';
const CONN = 'conn_simulator';

let kit;
before(async () => {
  if (!HAVE_CHROMIUM) return;
  kit = await PortalKit.start('portal_mapping');
});
after(async () => { if (kit) await kit.stop(); });

// The C string literals of `static const char *const name[] = {...}` in text, with the
// file's #define'd string prefixes expanded.
function cList(text, name) {
  const defines = Object.fromEntries([...text.matchAll(/#define (\w+) "([^"]*)"/g)].map((m) => [m[1], m[2]]));
  const body = new RegExp(`${name}\\[\\] = \\{([^}]*)\\}`).exec(text);
  assert.ok(body, `no ${name} in the C source`);
  return [...body[1].matchAll(/(?:(\w+) )?"([^"]*)"/g)].map((m) => (m[1] ? defines[m[1]] : '') + m[2]);
}

test('the defaults the page shows are the ones the SAML and OIDC services read', async () => {
  const d = await import(path.join(ROOT, 'web', 'static', 'portal', 'mapping-defaults.js'));
  const saml = fs.readFileSync(path.join(ROOT, 'services', 'saml', 'saml_attributes.c'), 'utf8');
  const names = { email: 's_default_email', given_name: 's_default_given', family_name: 's_default_family', name: 's_default_name', groups: 's_default_groups' };
  for (const [field, cName] of Object.entries(names)) assert.deepEqual(d.SAML_DEFAULTS[field], cList(saml, cName), field);
  const options = fs.readFileSync(path.join(ROOT, 'services', 'directory', 'api', 'dir_conn_options.c'), 'utf8');
  assert.deepEqual(d.MAPPING_FIELDS.map(([key]) => key).sort(), cList(options, 's_fields').sort());
  assert.ok(options.includes(`"${d.NAMEID_SOURCE}"`) || fs.readFileSync(path.join(ROOT, 'lib', 'sso_upstream.h'), 'utf8').includes(`"${d.NAMEID_SOURCE}"`));
  const oidc = fs.readFileSync(path.join(ROOT, 'services', 'oidc', 'oidc_claims.c'), 'utf8');
  for (const claims of Object.values(d.OIDC_DEFAULTS)) for (const c of claims) assert.ok(oidc.includes(`"${c}"`), `oidc_claims.c reads no claim "${c}"`);
});

async function connection() {
  return kit.expectApi(200, 'GET', `/connections/${CONN}`);
}

// The Test button on the page, the simulator's form in the test window, the result there.
async function testSignIn(page, context, person, step) {
  const started = page.waitForResponse((r) => r.request().method() === 'POST'
    && new URL(r.url()).pathname === `/portal/api/connections/${CONN}/test`);
  const [win] = await Promise.all([context.waitForEvent('page'), page.getByRole('button', { name: 'Test sign-in' }).click()]);
  const answer = await (await started).json();
  kit.keep('test start handle', new URL(answer.start_url, kit.url).pathname.split('/').pop());
  await win.waitForURL(/\/simulator\//, { timeout: 15000 });
  for (const [name, value] of Object.entries(person)) await win.fill(`input[name="${name}"]`, value);
  await win.click('form [type="submit"]');
  const done = await win.waitForURL((u) => u.pathname === `/portal/tests/${answer.test_id}`, { timeout: 3000 }).then(() => true, () => false);
  if (!done) {
    // The auto-post page without script: its Continue button.
    await win.locator('form [type="submit"], form button').first().click();
    await win.waitForURL((u) => u.pathname === `/portal/tests/${answer.test_id}`, { timeout: 10000 });
  }
  const result = win.locator('[data-testid="test-result"]:not([data-status="pending"])');
  await result.waitFor({ timeout: 15000 });
  await kit.shot(win, `${step}-result`);
  const status = await result.getAttribute('data-status');
  const profile = {};
  for (const field of ['subject', 'email', 'name', 'given_name', 'family_name', 'groups']) {
    const cell = win.getByTestId(`test-profile-${field}`);
    profile[field] = (await cell.count()) ? (await cell.innerText()).trim() : null;
  }
  await win.close();
  return { status, profile };
}

async function openConnection(page) {
  await page.goto(`${kit.url}/portal/#/connections/${CONN}`);
  await page.getByTestId('mapping-form').waitFor({ timeout: 10000 });
}

test('the IT admin maps the simulator\'s attributes on the connection page, a test sign-in shows the mapped profile, and empty fields put the defaults back', { skip: !HAVE_CHROMIUM && NO_CHROMIUM }, async () => {
  const admin = await kit.session(ORG, { step: 'mapping', bypassCSP: false });
  const { page, context } = admin;
  const person = { email: 'map.me@example.com', given_name: 'Ada', family_name: 'Lovelace', groups: 'eng, ops' };
  await openConnection(page);
  // The defaults are shown: the SAML names the service reads, and the NameID fallback.
  const emailHint = await page.locator(`#${await page.getByLabel('Email', { exact: true }).getAttribute('id')}-hint`).innerText();
  assert.match(emailHint, /^Empty: the first of these attributes that comes \(any case\): email, mail, emailAddress/);
  assert.match(emailHint, /emailAddress NameID/);
  assert.equal(await page.getByLabel('Email', { exact: true }).getAttribute('placeholder'), 'email');
  assert.equal(await page.getByLabel('Email', { exact: true }).inputValue(), '');

  // Before: the defaults (firstName, lastName; the name built from both).
  const before = await testSignIn(page, context, person, 'mapping-default');
  assert.equal(before.status, 'success');
  assert.deepEqual([before.profile.given_name, before.profile.family_name, before.profile.name], ['Ada', 'Lovelace', 'Ada Lovelace']);

  // Mapped: the given name from the attribute the simulator sends the last name in (and the
  // other way round), the name from firstName alone, the email from the NameID.
  await page.getByLabel('Given name', { exact: true }).fill('lastName');
  await page.getByLabel('Family name', { exact: true }).fill(' firstName ');
  await page.getByLabel('Name (display name)', { exact: true }).fill('firstName');
  await page.getByLabel('Use the NameID for Email').check();
  assert.ok(await page.getByLabel('Email', { exact: true }).isDisabled());
  const patched = page.waitForRequest((r) => r.method() === 'PATCH' && new URL(r.url()).pathname === `/portal/api/connections/${CONN}`);
  await page.getByRole('button', { name: 'Save the mapping' }).click();
  // Only the changed keys are sent.
  assert.deepEqual(JSON.parse((await patched).postData()), { attribute_mapping: { email: '$nameid', name: 'firstName', given_name: 'lastName', family_name: 'firstName' } });
  await page.getByTestId('notice').filter({ hasText: /^Saved the attribute mapping/ }).waitFor({ timeout: 10000 });
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'notice');
  assert.deepEqual((await connection()).attribute_mapping, { email: '$nameid', name: 'firstName', given_name: 'lastName', family_name: 'firstName' });
  // The page shows what is saved now.
  assert.equal(await page.getByLabel('Given name', { exact: true }).inputValue(), 'lastName');
  assert.ok(await page.getByLabel('Use the NameID for Email').isChecked());
  await kit.shot(page, 'mapping-saved');

  const mapped = await testSignIn(page, context, person, 'mapping-mapped');
  assert.equal(mapped.status, 'success');
  assert.deepEqual([mapped.profile.given_name, mapped.profile.family_name, mapped.profile.name, mapped.profile.email],
    ['Lovelace', 'Ada', 'Ada', 'map.me@example.com']);

  // Back to the defaults: the fields emptied, the NameID unticked; each sent as null.
  for (const label of ['Given name', 'Family name', 'Name (display name)']) await page.getByLabel(label, { exact: true }).fill('');
  await page.getByLabel('Use the NameID for Email').uncheck();
  const reset = page.waitForRequest((r) => r.method() === 'PATCH');
  await page.getByRole('button', { name: 'Save the mapping' }).click();
  assert.deepEqual(JSON.parse((await reset).postData()), { attribute_mapping: { email: null, name: null, given_name: null, family_name: null } });
  await page.getByTestId('notice').filter({ hasText: /^Saved the attribute mapping/ }).waitFor({ timeout: 10000 });
  assert.deepEqual((await connection()).attribute_mapping, {});
  const after = await testSignIn(page, context, person, 'mapping-reset');
  assert.deepEqual([after.profile.given_name, after.profile.family_name, after.profile.name], ['Ada', 'Lovelace', 'Ada Lovelace']);

  // Nothing changed: nothing is sent.
  await page.getByRole('button', { name: 'Save the mapping' }).click();
  await page.getByTestId('mapping-form-status').filter({ hasText: /^Nothing to save/ }).waitFor();
  assert.deepEqual(context.consoleErrors, []);
});

test('a bad name (too long, a control character) shows the API\'s reason next to its field, takes the focus and changes nothing', { skip: !HAVE_CHROMIUM && NO_CHROMIUM }, async () => {
  const admin = await kit.session(ORG, { step: 'mapping-bad', bypassCSP: false });
  const { page } = admin;
  await kit.expectApi(200, 'PATCH', `/connections/${CONN}`, { attribute_mapping: { groups: 'memberOf' } });
  await openConnection(page);
  assert.equal(await page.getByLabel('Groups', { exact: true }).inputValue(), 'memberOf');
  const cases = [
    ['Name (display name)', 'name', 'x'.repeat(300), 'attribute_mapping.name must be an attribute or claim name of 1 to 256 characters'],
    ['Family name', 'family_name', 'last\u0001Name', 'attribute_mapping.family_name must not contain spaces or control characters'],
  ];
  for (const [label, key, value, reason] of cases) {
    await page.getByLabel('Given name', { exact: true }).fill('lastName'); // a good change beside it
    await page.getByLabel(label, { exact: true }).fill(value);
    await page.getByRole('button', { name: 'Save the mapping' }).click();
    const error = page.getByTestId(`mapping-${key}-error`);
    await error.waitFor({ state: 'visible', timeout: 10000 });
    assert.equal(await error.innerText(), reason);
    const input = page.getByLabel(label, { exact: true });
    assert.equal(await input.getAttribute('aria-invalid'), 'true');
    assert.ok((await input.getAttribute('aria-describedby')).split(' ').includes(await error.getAttribute('id')));
    assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), `mapping-${key}`, 'the focus is on the field in error');
    assert.match(await page.getByTestId('mapping-form-status').innerText(), /^Not saved/);
    await kit.shot(page, `mapping-bad-${key}`);
    assert.deepEqual((await connection()).attribute_mapping, { groups: 'memberOf' }, 'nothing changed');
    await page.getByLabel(label, { exact: true }).fill('');
  }
  await kit.expectApi(200, 'PATCH', `/connections/${CONN}`, { attribute_mapping: { groups: null } });
});

test('the SAML options: each shown as saved, only the changed ones sent, a value out of range refused next to its field; the developer\'s options are refused', { skip: !HAVE_CHROMIUM && NO_CHROMIUM }, async () => {
  const admin = await kit.session(ORG, { step: 'options', bypassCSP: false });
  const { page } = admin;
  await openConnection(page);
  const card = page.getByTestId('saml-options-card');
  await card.waitFor();
  assert.equal(await page.getByLabel('Clock skew tolerated (seconds)').inputValue(), '');
  assert.ok(!(await page.getByLabel('Allow 3DES-CBC encryption').isChecked()));
  assert.match(await card.locator('.warning').innerText(), /^Warning: 3DES/);

  await page.getByLabel('Clock skew tolerated (seconds)').fill('601');
  await page.getByRole('button', { name: 'Save the SAML options' }).click();
  const error = page.getByTestId('option-clock_skew_s-error');
  await error.waitFor({ state: 'visible', timeout: 10000 });
  assert.equal(await error.innerText(), 'options.clock_skew_s must be a whole number from 0 to 600, got 601');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'option-clock_skew_s');
  assert.equal((await connection()).options.clock_skew_s, undefined);

  await page.getByLabel('Clock skew tolerated (seconds)').fill('300');
  await page.getByLabel('How the sign-in request reaches your IdP').selectOption('http-post');
  await page.getByLabel('Allow 3DES-CBC encryption').check();
  const patched = page.waitForRequest((r) => r.method() === 'PATCH');
  await page.getByRole('button', { name: 'Save the SAML options' }).click();
  assert.deepEqual(JSON.parse((await patched).postData()), { options: { binding: 'http-post', allow_3des: true, clock_skew_s: 300 } });
  await page.getByTestId('notice').filter({ hasText: /^Saved the SAML options/ }).waitFor({ timeout: 10000 });
  assert.deepEqual((await connection()).options, { binding: 'http-post', allow_3des: true, clock_skew_s: 300 });
  assert.equal(await page.getByLabel('How the sign-in request reaches your IdP').inputValue(), 'http-post');
  assert.ok(await page.getByLabel('Allow 3DES-CBC encryption').isChecked());
  await kit.shot(page, 'options-saved');

  // Back to the defaults: sent as null.
  await page.getByLabel('Clock skew tolerated (seconds)').fill('');
  await page.getByLabel('How the sign-in request reaches your IdP').selectOption('http-redirect');
  await page.getByLabel('Allow 3DES-CBC encryption').uncheck();
  const reset = page.waitForRequest((r) => r.method() === 'PATCH');
  await page.getByRole('button', { name: 'Save the SAML options' }).click();
  assert.deepEqual(JSON.parse((await reset).postData()), { options: { binding: null, allow_3des: null, clock_skew_s: null } });
  await page.getByTestId('notice').filter({ hasText: /^Saved the SAML options/ }).waitFor({ timeout: 10000 });
  assert.deepEqual((await connection()).options, {});

  // Not on the page, and refused by the portal API.
  assert.equal(await page.getByText(/idp.initiated/i).count(), 0);
  page.csrf = admin.csrf;
  const r = await kit.call(page, 'PATCH', `connections/${CONN}`, { options: { allow_idp_initiated: true } });
  assert.equal(r.status, 403, r.text);
  assert.match(r.json.error_description, /^options\.allow_idp_initiated names the app's clients/);
  // The refusals above are the browser's only complaints.
  assert.deepEqual(admin.context.consoleErrors.filter((e) => !/Failed to load resource: the server responded with a status of 40[03]/.test(e)), []);
});
