// The developer dashboard's browser-test harness, shared by dashboard_pages.test.js (against
// the real broker) and dashboard_mocked.test.js (the pages alone, their API answered by an
// in-memory fake through Playwright's page routing): headless Chromium, screenshots of every
// page under <build>/artifacts/dashboard/<file>/, an axe-core WCAG check, and the pages'
// data-testid hooks in one place.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

// Chromium is found as the admin portal's harness finds it.
const { HAVE_CHROMIUM, NO_CHROMIUM } = require('./portal_kit');

const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(__dirname, '..', '..');
const BUILD = process.env.SSO_BUILD_DIR || path.join(ROOT, 'build');
const ARTIFACTS = process.env.SSO_ARTIFACTS_DIR
  ? path.join(process.env.SSO_ARTIFACTS_DIR, 'dashboard')
  : path.join(BUILD, 'artifacts', 'dashboard');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const PHONE = { width: 390, height: 844 };
const LAPTOP = { width: 1280, height: 900 };

// The shells' CSP, as the directory serves them (services/directory/web, DIR_WEB_APP_CSP).
const APP_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
  + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async function launch() {
  const { chromium } = require('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'] });
}

// Screenshots of one test file, numbered in the order taken.
class Shots {
  constructor(name) {
    this.dir = path.join(ARTIFACTS, name);
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(this.dir, { recursive: true });
    this.count = 0;
  }

  async take(page, step) {
    this.count += 1;
    const file = path.join(this.dir, `${String(this.count).padStart(2, '0')}-${step.replace(/[^A-Za-z0-9_-]+/g, '-')}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  }
}

// A context whose pages' console errors and uncaught exceptions are kept in context.problems.
async function watchedContext(browser, options = {}) {
  const context = await browser.newContext({ viewport: LAPTOP, ...options });
  context.problems = [];
  context.on('page', (page) => {
    // axe-core adds style elements, which the page's CSP refuses; and the browser reports each
    // 4xx the tests provoke on purpose. Neither is the page's problem.
    page.on('console', (m) => {
      if (m.type() === 'error' && !page.axeRunning && !m.text().startsWith('Failed to load resource: the server responded with a status of 4')) {
        context.problems.push(`${page.url()}: ${m.text()}`);
      }
    });
    page.on('pageerror', (e) => context.problems.push(`${page.url()}: ${e.message}`));
  });
  return context;
}

// axe-core's WCAG 2.1 A/AA findings on page at a laptop's and a phone's width, with a
// screenshot at each; also whether anything is wider than the phone's screen.
async function accessibility(page, shots, step) {
  const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  const found = [];
  for (const size of [LAPTOP, PHONE]) {
    await page.setViewportSize(size);
    await shots.take(page, `${step}-${size.width}`);
    // Given over the DevTools protocol, which the page's CSP does not govern.
    page.axeRunning = true;
    await page.evaluate(axeSource);
    const rules = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } })
      .then((r) => r.violations.flatMap((v) => v.nodes.map((n) => `${v.id} at ${n.target.join(' ')}: ${v.help}`))), AXE_TAGS);
    await page.evaluate(() => new Promise((r) => setTimeout(r, 50)));
    page.axeRunning = false;
    found.push(...rules.map((r) => `${size.width}px ${r}`));
    const wider = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (wider > 1) found.push(`${size.width}px: the page is ${wider}px wider than the screen`);
  }
  await page.setViewportSize(LAPTOP);
  return found;
}

module.exports = { APP_CSP, ARTIFACTS, HAVE_CHROMIUM, LAPTOP, NO_CHROMIUM, PHONE, ROOT, Shots, accessibility, launch, watchedContext };
