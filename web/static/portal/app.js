// app.js: the admin portal (/portal/). The views are hash routes:
//   #/                      the organization: domains, connections, recent sign-ins
//   #/add                   pick the identity provider
//   #/add/<idp>             its protocol and steps, then the draft connection is made
//   #/connections/<id>      set up, test, enable one connection
// Everything shown comes from the portal API and is put in the page as text (dom.js).
import { api, plainId, setCsrfToken, whenSessionEnds } from './api.js';
import { connectionView } from './connection.js';
import { badge, certificateLine, day, fill, h, statusBadge, table, when } from '../common/dom.js';
import { guideFor, loadGuides, protocolName, stepList } from './guides.js';
import { showView, startSession } from '../common/start.js';
import { startTest } from './testing.js';

const root = document.getElementById('portal-app');
const state = { session: null, org: null, connections: [], stops: [] };
let view = null;

function stopPolls() {
  for (const stop of state.stops.splice(0)) stop();
}

// The session is gone: the page says so and offers nothing else.
function sessionEnded(error) {
  stopPolls();
  fill(root, h('section', { class: 'card card-narrow', testid: 'session-ended' },
    h('h1', { tabindex: '-1' }, 'Your session has ended'),
    h('p', {}, 'For your security, a portal session ends after 30 minutes without activity, after 8 hours, or when you log out.'),
    h('p', {}, 'Ask the person who sent you the portal link for a new link.'),
    error && error.description ? h('p', { class: 'muted' }, error.description) : null));
  root.querySelector('h1').focus();
}

async function logout() {
  stopPolls();
  try {
    await api('POST', 'logout');
  } catch (error) {
    if (error.status === 401) return;
    alertIn(view, error.description);
    return;
  }
  fill(root, h('section', { class: 'card card-narrow', testid: 'logged-out' },
    h('h1', { tabindex: '-1' }, 'You have logged out'),
    h('p', {}, 'You can close this tab. To come back, ask for a new portal link.')));
  root.querySelector('h1').focus();
}

function alertIn(el, text) {
  const old = el && el.querySelector(':scope > .alert');
  if (old) old.remove();
  if (el) el.prepend(h('p', { class: 'alert error', role: 'alert', testid: 'page-error' }, text));
}

function frame() {
  view = h('div', { id: 'view' });
  fill(root,
    h('header', { class: 'portal-header' },
      h('div', {},
        h('p', { class: 'portal-brand' }, 'Single sign-on setup'),
        h('p', { class: 'portal-org', testid: 'header-org-name' }, state.org.display_name)),
      h('nav', { 'aria-label': 'Portal' },
        h('a', { href: '#/', class: 'nav-link' }, 'Overview'),
        h('a', { href: '#/add', class: 'nav-link' }, 'Add a connection'),
        h('button', { type: 'button', class: 'secondary', testid: 'logout', on: { click: logout } },
          'Log out'))),
    view);
}

// Every page of the organization's connections (a page holds up to 200).
async function loadConnections() {
  const all = [];
  let token = '';
  for (let pages = 0; pages < 50; pages++) {
    const query = new URLSearchParams({ page_size: '200' });
    if (token) query.set('page_token', token);
    const answer = await api('GET', `connections?${query}`);
    if (answer && Array.isArray(answer.data)) all.push(...answer.data);
    token = answer && typeof answer.next_page_token === 'string' ? answer.next_page_token : '';
    if (!token) break;
  }
  state.connections = all;
  return state.connections;
}

// ---- overview ------------------------------------------------------------------------------

function connectionCard(connection) {
  const id = connection.id;
  const result = h('div', { class: 'test-holder', 'aria-live': 'polite' });
  const error = h('p', { class: 'error', role: 'alert', testid: 'connection-error', hidden: true });
  const details = (connection.saml && connection.saml.idp_certificate_details) || [];
  const toggle = connection.status === 'active'
    ? h('button', { type: 'button', class: 'secondary', testid: 'disable-button',
      on: { click: () => setEnabled(id, false, error) } }, 'Disable')
    : h('button', { type: 'button', testid: 'enable-button',
      on: { click: () => setEnabled(id, true, error) } }, 'Enable');
  return h('article', { class: 'connection', testid: 'connection', 'data-connection-id': id },
    h('div', { class: 'connection-head' },
      h('h3', {}, h('a', { href: `#/connections/${id}` }, connection.name || protocolName(connection.type))),
      statusBadge(connection.status, 'connection-status')),
    h('p', { class: 'muted' }, `${protocolName(connection.type)} · created ${day(connection.created_at)}`),
    details.length ? h('ul', { class: 'certs', 'aria-label': 'Signing certificates' },
      details.map(certificateLine)) : null,
    h('div', { class: 'actions' },
      h('a', { class: 'button secondary', href: `#/connections/${id}`, testid: 'open-connection' },
        connection.status === 'draft' ? 'Continue setup' : 'Settings'),
      h('button', { type: 'button', class: 'secondary', testid: 'test-button',
        on: { click: () => startTest(connection, result, error, state.stops) } }, 'Test sign-in'),
      toggle),
    error, result);
}

async function setEnabled(id, on, error) {
  error.hidden = true;
  try {
    await api('POST', `connections/${plainId(id)}/${on ? 'enable' : 'disable'}`);
    route();
  } catch (e) {
    if (e.status === 401) return;
    error.textContent = e.description;
    error.hidden = false;
  }
}

function eventsTable(events) {
  const names = new Map(state.connections.map((c) => [c.id, c.name || protocolName(c.type)]));
  if (!events.length) return h('p', { class: 'muted', testid: 'events-empty' }, 'No sign-ins yet.');
  return table(['Time', 'Result', 'Connection', 'Who', 'Reason'], events.map((e) => [
    when(e.created_at),
    h('span', {}, e.outcome === 'success' ? badge('Success', 'ok') : badge('Failed', 'bad'),
      e.test ? ' ' : null, e.test ? badge('Test', 'muted') : null),
    names.get(e.connection_id) || e.connection_id || '',
    e.email || e.subject || '',
    h('span', { class: 'reason' }, e.reason || ''),
  ]), { 'data-testid': 'events-table' });
}

async function overview() {
  const events = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Loading…'));
  const list = h('div', { class: 'connections' }, h('p', { class: 'muted' }, 'Loading…'));
  const domains = state.org.domains || [];
  fill(view,
    h('h1', { tabindex: '-1', testid: 'org-name' }, state.org.display_name),
    h('p', { class: 'lead' }, 'Connect your identity provider so your people sign in to the app with their work account.'),
    h('section', { class: 'card', 'aria-labelledby': 'domains-h' },
      h('h2', { id: 'domains-h' }, 'Email domains'),
      domains.length ? h('ul', { class: 'chips', testid: 'domains' }, domains.map((d) => h('li', { class: 'chip' }, d)))
        : h('p', { testid: 'domains' }, 'No domains yet.'),
      h('p', { class: 'muted', testid: 'domains-note' },
        'People whose email address is at these domains sign in through your enabled connection. The app\'s developer manages this list: ask them to add or remove a domain.')),
    h('section', { class: 'card', 'aria-labelledby': 'connections-h' },
      h('div', { class: 'card-head' },
        h('h2', { id: 'connections-h' }, 'Connections'),
        h('a', { class: 'button', href: '#/add', testid: 'add-connection' }, 'Add a connection')),
      list),
    h('section', { class: 'card', 'aria-labelledby': 'events-h' },
      h('div', { class: 'card-head' },
        h('h2', { id: 'events-h' }, 'Recent sign-ins'),
        h('button', { type: 'button', class: 'secondary', testid: 'events-refresh',
          on: { click: () => loadEvents(events) } }, 'Refresh')),
      events));
  try {
    const connections = await loadConnections();
    fill(list, connections.length ? connections.map(connectionCard)
      : h('div', { class: 'empty', testid: 'connections-empty' },
        h('p', {}, 'No connection yet. Add one to let your people sign in with your identity provider.')));
  } catch (error) {
    if (error.status !== 401) fill(list, h('p', { class: 'error', role: 'alert' }, `Could not load the connections: ${error.description}`));
  }
  loadEvents(events);
}

async function loadEvents(holder) {
  try {
    const answer = await api('GET', 'events?limit=20');
    fill(holder, eventsTable((answer && answer.data) || []));
  } catch (error) {
    if (error.status !== 401) fill(holder, h('p', { class: 'error', role: 'alert' }, `Could not load the sign-ins: ${error.description}`));
  }
}

// ---- add a connection ----------------------------------------------------------------------

async function pickIdp() {
  const guides = await loadGuides();
  fill(view,
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, '← Overview')),
    h('h1', { tabindex: '-1' }, 'Add a connection'),
    h('section', { class: 'card', 'aria-labelledby': 'pick-h' },
      h('h2', { id: 'pick-h' }, 'Which identity provider do your people sign in with?'),
      h('div', { class: 'tiles', testid: 'idp-tiles' }, guides.idps.map((idp) =>
        h('button', { type: 'button', class: 'tile', testid: `idp-${idp.id}`,
          on: { click: () => { window.location.hash = `#/add/${idp.id}`; } } },
        h('span', { class: 'tile-name' }, idp.name),
        h('span', { class: 'tile-meta' }, [idp.saml && 'SAML', idp.oidc && 'OpenID Connect'].filter(Boolean).join(' · ')))))));
}

async function addIdp(idpId, chosen) {
  const guides = await loadGuides();
  const idp = guides.idps.find((x) => x.id === idpId);
  if (!idp) {
    window.location.hash = '#/add';
    return;
  }
  const types = ['saml', 'oidc'].filter((t) => idp[t]);
  const type = types.includes(chosen) ? chosen : types[0];
  const nameId = 'new-connection-name';
  const error = h('p', { class: 'error', role: 'alert', id: 'create-error', testid: 'create-error', hidden: true });
  const nameInput = h('input', { id: nameId, type: 'text', value: idp.name, maxlength: '200',
    testid: 'connection-name', autocomplete: 'off' });
  const create = h('button', { type: 'submit', testid: 'create-connection' }, 'Create the connection');
  async function submit(event) {
    event.preventDefault();
    create.disabled = true;
    error.hidden = true;
    try {
      const name = nameInput.value.trim() || idp.name;
      const connection = await api('POST', 'connections', { type, name });
      rememberGuide(connection.id, idp.id);
      window.location.hash = `#/connections/${connection.id}`;
    } catch (e) {
      create.disabled = false;
      if (e.status === 401) return;
      error.textContent = e.description;
      error.hidden = false;
    }
  }
  fill(view,
    h('p', { class: 'crumbs' }, h('a', { href: '#/add' }, '← Choose another identity provider')),
    h('h1', { tabindex: '-1' }, `Connect ${idp.name}`),
    types.length > 1 ? h('section', { class: 'card', 'aria-labelledby': 'proto-h' },
      h('h2', { id: 'proto-h' }, 'Protocol'),
      h('p', {}, `${idp.name} can sign people in with SAML or OpenID Connect. Either works; choose the one your team knows.`),
      h('div', { class: 'segmented', role: 'group', 'aria-label': 'Protocol' }, types.map((t) =>
        h('button', { type: 'button', class: t === type ? 'segment selected' : 'segment',
          'aria-pressed': t === type ? 'true' : 'false', testid: `protocol-${t}`,
          on: { click: () => { window.location.hash = `#/add/${idp.id}/${t}`; } } }, protocolName(t))))) : null,
    h('section', { class: 'card', 'aria-labelledby': 'steps-h' },
      h('h2', { id: 'steps-h' }, `What you will do in ${idp.name}`),
      h('p', { class: 'muted' }, 'You will see these steps again with this connection\'s own values once it is created.'),
      stepList(idp[type].steps, null, state.org)),
    h('form', { class: 'card', 'aria-labelledby': 'create-h', on: { submit } },
      h('h2', { id: 'create-h' }, 'Create the connection'),
      h('p', {}, 'This makes a draft: nobody signs in through it until you test it and enable it.'),
      h('div', { class: 'field' }, h('label', { for: nameId }, 'Connection name'), nameInput),
      error,
      h('div', { class: 'actions' }, create)));
}

function rememberGuide(connectionId, idpId) {
  try {
    window.sessionStorage.setItem(`portal-guide:${connectionId}`, idpId);
  } catch (_) {
    // Storage off: the guide is then found by the connection's name.
  }
}

// ---- routing -------------------------------------------------------------------------------

async function route() {
  stopPolls();
  if (!view) return;
  const parts = (window.location.hash || '#/').slice(1).split('/').filter(Boolean);
  await showView(view, async () => {
    if (parts[0] === 'add' && parts[1]) await addIdp(parts[1], parts[2]);
    else if (parts[0] === 'add') await pickIdp();
    else if (parts[0] === 'connections' && plainId(parts[1])) {
      await connectionView(view, parts[1], { state, rememberGuide, guideFor });
    } else await overview();
  }, ['#/', 'Back to the overview']);
}

async function main() {
  whenSessionEnds(sessionEnded);
  const started = await startSession({ api, setCsrfToken }, root, 'portal', async (session) => {
    state.session = session;
    state.org = await api('GET', 'organization');
  });
  if (!started) return;
  frame();
  window.addEventListener('hashchange', route);
  await route();
}

export { route };
main();
