// app.js: the developer dashboard (/dashboard/). The views are hash routes:
//   #/config                  API config: URLs, OAuth clients, redirect URIs, the Auth0 request
//   #/organizations?search=T  organizations: search (by the API), paging, create
//   #/organizations/<id>      one organization: names, domains, connections, portal links, logins
//   #/events?<filters>        login events and logins per hour
//   #/keys                    the published signing keys
//   #/audit                   the audit log
//   #/try                     Try it: a test sign-in through the IdP simulator (development)
// Everything shown comes from the dashboard API and is put in the page as text (dom.js); a
// 401 anywhere goes to the sign-in page.
import { api, setCsrfToken, toSignIn, whenSessionEnds } from './api.js';
import { auditView } from './audit.js';
import { configView } from './config.js';
import { eventsView } from './events.js';
import { keysView } from './keys.js';
import { organizationsView, organizationView } from './orgs.js';
import { tryView } from './try.js';
import { leave } from './ui.js';
import { showView, startSession } from '../common/start.js';
import { badge, fill, h } from '../common/dom.js';

const root = document.getElementById('dashboard-app') || document.querySelector('main') || document.body;
const ctx = { session: null, config: null };
let view = null;

const NAV = [
  ['config', 'API config'],
  ['organizations', 'Organizations'],
  ['events', 'Login events'],
  ['keys', 'Signing keys'],
  ['audit', 'Audit log'],
];

// Try it only where the simulator is on (development).
function navItems() {
  return ctx.config && ctx.config.simulator ? [...NAV, ['try', 'Try it']] : NAV;
}

async function signOut(button) {
  button.disabled = true;
  leave();
  try {
    await api('POST', 'signout');
  } catch (error) {
    if (error.status === 401) return;
    button.disabled = false;
    alertIn(error.description);
    return;
  }
  toSignIn();
}

function alertIn(text) {
  const old = view && view.querySelector(':scope > .alert');
  if (old) old.remove();
  if (view) view.prepend(h('p', { class: 'alert error', role: 'alert', testid: 'page-error' }, text));
}

function frame() {
  view = h('div', { id: 'view' });
  const out = h('button', { type: 'button', class: 'secondary', testid: 'signout' }, 'Sign out');
  out.addEventListener('click', () => signOut(out));
  const env = ctx.config && ctx.config.environment;
  fill(root,
    h('header', { class: 'portal-header dash-header' },
      h('div', {},
        h('p', { class: 'portal-brand' }, 'Developer dashboard ',
          env ? badge(env === 'production' ? 'Production' : env, env === 'production' ? 'ok' : 'warn', 'environment') : null),
        h('p', { class: 'portal-org', testid: 'admin-email' }, ctx.session.admin.email)),
      out),
    h('nav', { class: 'dash-nav', 'aria-label': 'Dashboard' },
      h('ul', {}, navItems().map(([route, text]) => h('li', {},
        h('a', { href: `#/${route}`, class: 'nav-link', testid: `nav-${route}`, 'data-route': route }, text))))),
    view);
}

function markNav(current) {
  for (const link of root.querySelectorAll('.dash-nav a')) {
    if (link.dataset.route === current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

// "#/events?organization_id=x" → {parts: ['events'], params}.
function parseHash() {
  const hash = (window.location.hash || '#/').slice(1);
  const [path, search] = hash.split('?', 2);
  return { parts: path.split('/').filter(Boolean), params: new URLSearchParams(search || '') };
}

async function route() {
  leave();
  if (!view) return;
  const { parts, params } = parseHash();
  const page = parts[0] || 'config';
  markNav(page);
  // A new view's heading takes the focus, so that a screen reader says where the link led.
  await showView(view, async () => {
    if (page === 'organizations' && parts[1]) await organizationView(view, parts[1]);
    else if (page === 'organizations') await organizationsView(view, params);
    else if (page === 'events') await eventsView(view, params, ctx);
    else if (page === 'keys') await keysView(view, ctx);
    else if (page === 'audit') await auditView(view, params, ctx);
    else if (page === 'try') tryView(view, ctx);
    else await configView(view, ctx);
  }, ['#/config', 'Back to the API config'], 'always');
}

// The signed-in admin and the environment's URLs, which every view may use.
async function loadContext(session) {
  ctx.session = session;
  ctx.config = await api('GET', 'config');
}

function sessionEnded() {
  leave();
  toSignIn();
}

async function main() {
  whenSessionEnds(sessionEnded);
  if (!(await startSession({ api, setCsrfToken }, root, 'dashboard', loadContext))) return;
  frame();
  window.addEventListener('hashchange', route);
  window.addEventListener('pagehide', leave);
  await route();
}

export { route };
main();
