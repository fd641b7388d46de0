// Accessibility of the admin portal's pages, checked by an independent engine (axe-core, run
// in headless Chromium on each page as the admin sees it, under the page's own CSP): WCAG 2.x
// A and AA rules (labels, contrast, headings, landmarks, names of buttons and links, keyboard
// focus order by tabindex) on a laptop and a phone width. Keyboard use is walked by Tab too.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { PortalKit, HAVE_CHROMIUM, NO_CHROMIUM, until } = require('./portal_kit');

const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const PHONE = { width: 390, height: 844 };
const LAPTOP = { width: 1200, height: 800 };

let kit;
let org;

before(async () => {
  if (!HAVE_CHROMIUM) return;
  kit = await PortalKit.start('portal_a11y');
  org = await kit.organization('Ωmega Ltd 株式会社', 'omega-a11y.example');
});

after(async () => { if (kit) await kit.stop(); });

// axe's violations on page (its whole document), as "rule: target (impact)" lines.
async function violations(page) {
  // Evaluated over the DevTools protocol, which a page's CSP does not govern: the page keeps
  // its own policy for everything else.
  await page.evaluate(AXE);
  const result = await page.evaluate(async (tags) => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return r.violations.map((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')} (${v.impact}) ${v.help}`)).flat();
  }, TAGS);
  return result;
}

async function check(page, step) {
  for (const viewport of [LAPTOP, PHONE]) {
    await page.setViewportSize(viewport);
    const where = `${step} at ${viewport.width}px`;
    await kit.shot(page, `${step}-${viewport.width}`);
    const found = await violations(page);
    assert.deepEqual(found, [], `${where}: axe found\n  ${found.join('\n  ')}`);
    // Nothing is wider than the screen (a phone scrolls down, never sideways).
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 1, `${where}: the page is ${overflow}px wider than the screen`);
  }
  await page.setViewportSize(LAPTOP);
}

test('the start page, the overview, the IdP picker and the connection pages pass axe (WCAG 2.1 A and AA)', { skip: !HAVE_CHROMIUM && NO_CHROMIUM }, async () => {
  const context = await kit.context();
  const link = await kit.link(org.id);
  const start = await context.newPage();
  await start.goto(link.location);
  await start.getByRole('button', { name: /open the portal/i }).waitFor();
  await check(start, 'start-page');
  await start.close();

  const opened = await kit.open(context, link, 'a11y');
  const page = opened.page;
  assert.ok(opened.cookie, `no portal session (${opened.status} "${opened.heading}")`);
  await page.getByTestId('org-name').waitFor();
  await check(page, 'overview-empty');

  await page.goto(`${kit.url}/portal/#/add`);
  await page.getByTestId('idp-tiles').waitFor();
  await check(page, 'idp-picker');

  // A SAML and an OIDC draft, made through the pages' own buttons.
  for (const [tile, type] of [['idp-okta', 'saml'], ['idp-oidc', 'oidc']]) {
    await page.goto(`${kit.url}/portal/#/add`);
    await page.getByTestId(tile).click();
    const protocol = page.getByTestId(`protocol-${type}`);
    if (await protocol.count()) await protocol.click();
    await page.getByTestId('create-connection').click();
    await page.waitForURL(/#\/connections\/conn_/);
    await page.getByTestId(type === 'saml' ? 'saml-form' : 'oidc-form').waitFor();
    // The attribute mapping (both) and the SAML options (SAML only) are in what axe checks.
    await page.getByTestId('mapping-form').waitFor();
    assert.equal(await page.getByTestId('saml-options-form').count(), type === 'saml' ? 1 : 0);
    await check(page, `${type}-draft`);
  }

  // The overview with both, and the sign-ins table.
  await page.goto(`${kit.url}/portal/#/`);
  await until(async () => (await page.getByTestId('connection').count()) === 2, { describe: () => 'two connections on the overview' });
  await check(page, 'overview-two-connections');
  assert.deepEqual(context.consoleErrors, [], 'console errors');
});

test('an error page (a link used twice) passes axe', { skip: !HAVE_CHROMIUM && NO_CHROMIUM }, async () => {
  const link = await kit.link(org.id);
  await kit.open(await kit.context(), link, 'first-use');
  const { page, status } = await kit.open(await kit.context(), link, 'second-use');
  assert.equal(status, 410);
  await check(page, 'used-link');
});

test('the portal works from the keyboard: Tab reaches every control of the IdP picker in order, Enter picks a tile', { skip: !HAVE_CHROMIUM && NO_CHROMIUM }, async () => {
  const context = await kit.context();
  const { page } = await kit.open(context, await kit.link(org.id), 'keyboard');
  await page.goto(`${kit.url}/portal/#/add`);
  await page.getByTestId('idp-tiles').waitFor();
  const tiles = await page.getByTestId('idp-tiles').locator('button').count();
  assert.ok(tiles >= 9, `${tiles} IdP tiles`);
  // Tab from the top of the page until the Okta tile has the focus; every stop on the way is
  // a visible control with a name.
  await page.locator('body').focus();
  const stops = [];
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    const stop = await page.evaluate(() => {
      const el = document.activeElement;
      const box = el.getBoundingClientRect();
      return { testid: el.getAttribute('data-testid'), tag: el.tagName, name: (el.getAttribute('aria-label') || el.textContent || '').trim(), visible: box.width > 0 && box.height > 0 };
    });
    stops.push(stop);
    assert.ok(stop.visible && stop.name, `focus stop ${i} is invisible or has no name: ${JSON.stringify(stop)}`);
    if (stop.testid === 'idp-okta') break;
  }
  assert.equal(stops[stops.length - 1].testid, 'idp-okta', `Tab never reached the Okta tile: ${JSON.stringify(stops)}`);
  // The focus is visible: the focused tile draws an outline (or a box shadow).
  const ring = await page.evaluate(() => {
    const s = getComputedStyle(document.activeElement);
    return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 || s.boxShadow !== 'none';
  });
  assert.ok(ring, 'the focused tile shows no focus ring');
  await page.keyboard.press('Enter');
  await page.waitForURL(/#\/add\/okta/);
  await kit.shot(page, 'keyboard-okta-picked');
});

test('the attribute mapping and SAML options: Tab walks their controls in order, Space ticks, Enter saves; an error shown inline passes axe and has the focus', { skip: !HAVE_CHROMIUM && NO_CHROMIUM }, async () => {
  const context = await kit.context();
  const { page } = await kit.open(context, await kit.link(org.id), 'mapping-keyboard');
  await page.goto(`${kit.url}/portal/#/add`);
  await page.getByTestId('idp-okta').click();
  await page.getByTestId('create-connection').click();
  await page.waitForURL(/#\/connections\/conn_/);
  await page.getByTestId('mapping-form').waitFor();
  // From the first mapping field on, by Tab only: each field, then its NameID choice.
  await page.getByTestId('mapping-email').focus();
  const order = ['mapping-email'];
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press('Tab');
    order.push(await page.evaluate(() => document.activeElement.dataset.testid));
  }
  assert.deepEqual(order, ['mapping-email', 'mapping-email-nameid', 'mapping-name', 'mapping-name-nameid',
    'mapping-given_name', 'mapping-given_name-nameid', 'mapping-family_name', 'mapping-family_name-nameid',
    'mapping-groups', 'mapping-groups-nameid', 'mapping-form-save']);
  // Space on the NameID choice takes the field from the NameID (the input is then off).
  await page.getByTestId('mapping-email-nameid').focus();
  await page.keyboard.press('Space');
  assert.ok(await page.getByTestId('mapping-email').isDisabled());
  await page.keyboard.press('Space');
  assert.ok(await page.getByTestId('mapping-email').isEnabled());
  // A bad name, saved with Enter: the API's reason under the field, the focus on it.
  await page.getByTestId('mapping-name').fill('bad name');
  await page.keyboard.press('Enter');
  await page.getByTestId('mapping-name-error').waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'mapping-name');
  await check(page, 'mapping-error');
  // The SAML options: the 3DES warning is tied to its checkbox.
  const des = page.getByTestId('option-allow_3des');
  const described = (await des.getAttribute('aria-describedby')).split(' ')[0];
  assert.match(await page.locator(`#${described}`).innerText(), /^Warning: 3DES/);
  await des.focus();
  await page.keyboard.press('Space');
  assert.ok(await des.isChecked());
  await page.getByTestId('option-clock_skew_s').fill('ten');
  await page.getByTestId('option-clock_skew_s').press('Enter');
  await page.getByTestId('option-clock_skew_s-error').waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'option-clock_skew_s');
  await check(page, 'saml-options-error');
  assert.deepEqual(context.consoleErrors.filter((e) => !/status of 400/.test(e)), []);
});
