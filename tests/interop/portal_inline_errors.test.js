// The SAML form's inline errors (issue 19), in headless Chromium under the portal's own CSP: an
// IT admin opens a fresh portal link, starts a generic SAML connection, and types what is
// wrong into each field; each field is checked at once (POST /portal/api/saml/check) and the
// server's own reason is shown next to that field (fields.js setError: the field's error
// element, aria-invalid, aria-describedby), the same reasons as the API-level test
// (tests/integration/test_portal_config.py::test_saml_check_reasons): metadata XML that is
// not XML, a metadata URL over http, a pasted certificate that is not one, an expired
// certificate. Each time: nothing is saved (the connection as the portal API gives it is
// unchanged, no change request left the page), no CSP violation, a screenshot; with the
// errors shown the page passes axe (WCAG 2.1 A and AA).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const { PortalKit, PORTAL_MERGED, NEEDS_PAGES, HAVE_CHROMIUM, NO_CHROMIUM } = require('./portal_kit');

const PAGES_SKIP = !PORTAL_MERGED.pages && NEEDS_PAGES;
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

let kit;

before(async () => {
  if (!HAVE_CHROMIUM) return;
  kit = await PortalKit.start('inline_errors');
});

after(async () => { if (kit) await kit.stop(); });

// A self-signed certificate (PEM) valid from 2023-01-01 to 2024-01-31, long expired. OpenSSL
// 3.0's req has no -not_before/-not_after, so Python's cryptography (the integration tests'
// dependency) makes it.
function expiredCertificate(cn) {
  return execFileSync('/usr/bin/python3', ['-c', [
    'import datetime, sys',
    'from cryptography import x509',
    'from cryptography.hazmat.primitives import hashes, serialization',
    'from cryptography.hazmat.primitives.asymmetric import rsa',
    'from cryptography.x509.oid import NameOID',
    'key = rsa.generate_private_key(public_exponent=65537, key_size=2048)',
    'name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, sys.argv[1])])',
    'cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)',
    '        .public_key(key.public_key()).serial_number(x509.random_serial_number())',
    '        .not_valid_before(datetime.datetime(2023, 1, 1)).not_valid_after(datetime.datetime(2024, 1, 31))',
    '        .sign(key, hashes.SHA256()))',
    'sys.stdout.write(cert.public_bytes(serialization.Encoding.PEM).decode())',
  ].join('\n'), cn], { encoding: 'utf8' });
}

// axe's violations on the whole document (evaluated over the DevTools protocol, which the
// page's CSP does not govern), as "rule: target (impact) help" lines.
async function axeViolations(page) {
  await page.evaluate(AXE);
  return page.evaluate(async (tags) => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return r.violations.map((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')} (${v.impact}) ${v.help}`)).flat();
  }, TAGS);
}

test('pages: each SAML field\'s check shows the server\'s precise reason next to that field; nothing is saved, no CSP violation', { skip: PAGES_SKIP }, async (t) => {
  if (!HAVE_CHROMIUM) { t.skip(NO_CHROMIUM); return; }
  const org = await kit.organization('Inline Errors Ltd', 'inline-errors.example');
  const context = await kit.context(); // the pages' own CSP: no bypass
  // Every CSP violation any page of the context reports, kept in that page (also the ones the
  // console would not show).
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const opened = await kit.open(context, await kit.link(org.id), 'inline');
  assert.equal(opened.status, 303);
  assert.ok(opened.cookie, `no portal session (${opened.status} "${opened.heading}")`);
  const { page } = opened;
  await page.getByTestId('org-name').waitFor({ state: 'visible', timeout: 10000 });

  // Every request of the page to the portal API that is not a read or a check: none may leave.
  const changes = [];
  page.on('request', (r) => {
    const p = new URL(r.url()).pathname;
    if (p.startsWith('/portal/api/') && r.method() !== 'GET' && p !== '/portal/api/saml/check') changes.push(`${r.method()} ${p}`);
  });

  // A generic SAML draft, through the pages' own buttons.
  await page.getByTestId('add-connection').click();
  await page.getByTestId('idp-saml').click();
  const protocol = page.getByTestId('protocol-saml');
  if (await protocol.count()) await protocol.click();
  await page.getByTestId('create-connection').click();
  await page.waitForURL((u) => /^#\/connections\/[A-Za-z0-9_.-]+$/.test(u.hash), { timeout: 10000 });
  const id = new URL(page.url()).hash.split('/').pop();
  await page.getByTestId('saml-form').waitFor({ state: 'visible', timeout: 10000 });
  changes.length = 0; // the draft's own POST connections

  const stored = async () => {
    const r = await kit.call(page, 'GET', `connections/${id}`);
    assert.equal(r.status, 200, `GET connections/${id}: ${r.text}`);
    return r.json;
  };
  const before = await stored();
  assert.equal(before.type, 'saml');

  // Types value into the field testid (of the panel method), leaves the field as an admin does
  // (Tab: the change event), and waits for that field's check. Returns the check's answer.
  async function enter(method, testid, value) {
    await page.getByTestId(`method-${method}`).check();
    const input = page.getByTestId(testid);
    await input.waitFor({ state: 'visible' });
    await input.fill(value);
    const checked = page.waitForResponse((r) => r.request().method() === 'POST'
      && new URL(r.url()).pathname === '/portal/api/saml/check', { timeout: 15000 });
    await input.press('Tab');
    const response = await checked;
    return { status: response.status(), body: await response.json() };
  }

  // The error shown next to testid's field: visible, inside the field's own wrapper (label,
  // input, error), tied to the input for assistive technology; returns its text.
  async function inlineError(testid, step) {
    const input = page.getByTestId(testid);
    const error = page.getByTestId(`${testid}-error`);
    await error.waitFor({ state: 'visible', timeout: 10000 });
    const text = (await error.innerText()).trim();
    const tie = await input.evaluate((el) => {
      const err = document.getElementById(`${el.id}-error`);
      return {
        sameField: Boolean(err) && err.parentElement === el.parentElement && el.parentElement.classList.contains('field'),
        described: (el.getAttribute('aria-describedby') || '').split(' ').includes(`${el.id}-error`),
        invalid: el.getAttribute('aria-invalid'),
      };
    });
    assert.deepEqual(tie, { sameField: true, described: true, invalid: 'true' }, `${step}: the error is not tied to its field`);
    await kit.shot(page, `inline-${step}`);
    return text;
  }

  async function nothingSaved(step) {
    assert.deepEqual(await stored(), before, `${step}: the connection changed`);
    assert.deepEqual(changes, [], `${step}: the page sent a change`);
    const csp = await page.evaluate(() => window.__cspViolations);
    assert.deepEqual(csp, [], `${step}: CSP violations`);
    assert.deepEqual(context.consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e)), [], `${step}: CSP errors in the console`);
  }

  const cases = [
    { step: 'metadata-not-xml', method: 'paste', testid: 'idp-metadata-xml', value: '<a', want: 'not well-formed XML' },
    { step: 'metadata-url-http', method: 'url', testid: 'idp-metadata-url', value: 'http://idp.inline-errors.example/md', want: 'must use https' },
    { step: 'certificate-not-a-certificate', method: 'manual', testid: 'idp-certificate', value: 'hello, this is not a certificate',
      want: 'saml.idp_certificates[0] is not an X.509 certificate in PEM form' },
    { step: 'certificate-expired', method: 'manual', testid: 'idp-certificate', value: expiredCertificate('Inline Old IdP'),
      want: 'saml.idp_certificates[0] expired on 2024-01-31 (CN=Inline Old IdP)' },
  ];
  for (const c of cases) {
    const answer = await enter(c.method, c.testid, c.value);
    assert.equal(answer.status, 400, `${c.step}: saml/check answered ${answer.status} ${JSON.stringify(answer.body)}`);
    assert.ok(answer.body.error_description.includes(c.want), `${c.step}: the server's reason: ${answer.body.error_description}`);
    const shown = await inlineError(c.testid, c.step);
    // The server's very words, next to the field; the form-level error stays empty.
    assert.equal(shown, answer.body.error_description, `${c.step}: shown "${shown}"`);
    assert.ok(shown.includes(c.want), `${c.step}: shown "${shown}", want "${c.want}"`);
    assert.ok(await page.getByTestId('save-error').isHidden(), `${c.step}: a form-level error`);
    await nothingSaved(c.step);
  }

  // The errors shown (the certificate's on the manual panel; back to the URL panel for its
  // own): WCAG 2.1 A and AA hold.
  for (const method of ['manual', 'url']) {
    await page.getByTestId(`method-${method}`).check();
    await kit.shot(page, `inline-axe-${method}`);
    const found = await axeViolations(page);
    assert.deepEqual(found, [], `axe on the ${method} panel with its error shown:\n  ${found.join('\n  ')}`);
  }
  assert.ok(await page.getByTestId('idp-metadata-url-error').isVisible(), 'the URL\'s error is gone after switching panels');
  await nothingSaved('after axe');
  // The only console errors are the browser's notes of the checks' 400 answers.
  assert.deepEqual(context.consoleErrors.filter((e) => !/status of 400/.test(e)), [], 'console errors');
  assert.deepEqual(context.dialogs, [], 'dialogs');
});
