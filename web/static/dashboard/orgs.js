// orgs.js: the organizations views: the list (searched and paged by the API, the search kept
// in the URL's hash, create) and one organization (names, domains, connections, portal links,
// recent logins).
import { api, listAll, plainId, query } from './api.js';
import { eventsTable } from './events.js';
import { badge, certificateLine, copyText, day, fill, h, statusBadge, table, when } from '../common/dom.js';
import { busy, card, errorLine, inputField, listTable, onLeave, pageTitle, secretPanel } from './ui.js';

const TYPES = { saml: 'SAML', oidc: 'OpenID Connect' };
const SEARCH_DELAY_MS = 250; // typing pauses this long before the search is sent

function orgRow(org) {
  return h('tr', { testid: 'org-row' },
    h('td', { 'data-label': 'Name' }, h('a', { href: `#/organizations/${plainId(org.id) || ''}`, testid: 'org-link' }, org.display_name)),
    h('td', { 'data-label': 'External id', class: 'mono' }, org.external_id || ''),
    h('td', { 'data-label': 'Id', class: 'mono' }, org.id),
    h('td', { 'data-label': 'Created' }, day(org.created_at)));
}

// #/organizations?search=TEXT: the API searches (a part of the name, or the whole external id,
// id or domain) and pages; the hash keeps the search for reload and back/forward.
export async function organizationsView(view, params) {
  const rows = h('tbody', {});
  const error = errorLine('orgs-error');
  const search = inputField('Search', { type: 'search', testid: 'org-search', maxlength: '200',
    value: (params && params.get('search')) || '', placeholder: 'Name, external id, org_… or domain' },
    'A part of the name, or a whole external id, organization id or email domain.');
  const count = h('p', { class: 'muted', role: 'status', testid: 'org-count' });
  const list = listTable(['Name', 'External id', 'Id', 'Created'], rows, 'orgs-table');
  const more = h('button', { type: 'button', class: 'secondary', testid: 'load-more', hidden: true }, 'Load more');
  // What is listed (text: its search, token: its next page) and the latest search asked for;
  // run counts the searches, so that the answer to one that a newer one replaced is dropped.
  const state = { text: '', asked: null, token: '', run: 0 };
  let timer = null;

  const say = () => {
    const n = rows.children.length;
    const some = `${n} organization${n === 1 ? '' : 's'}`;
    const andMore = state.token ? '; “Load more” shows the next ones' : '';
    if (!n) count.textContent = state.text ? `No organization matches “${state.text}”.` : 'No organization yet: create the first one above.';
    else count.textContent = state.text ? `${some} matching “${state.text}” shown${andMore}.` : `${some} shown${andMore}.`;
    list.hidden = n === 0;
  };
  // The first page of a search (fresh) or the next page of the one listed.
  const load = async (fresh) => {
    if (fresh) {
      state.run += 1;
      state.asked = search.input.value.trim();
      more.hidden = true; // no next page of the old search once the new one is asked for
    }
    const { run } = state;
    const text = fresh ? state.asked : state.text;
    const answer = await busy(more, error, () => api('GET', `v1/organizations${query({ search: text, page_size: 50, page_token: fresh ? '' : state.token })}`));
    if (run !== state.run) return;
    if (fresh) {
      fill(rows);
      state.text = text;
      const hash = `#/organizations${query({ search: text })}`;
      if (window.location.hash !== hash) window.history.replaceState(window.history.state, '', hash);
    }
    if (!answer) { // said by busy in the error line; nothing of the failed search is listed
      if (fresh) {
        state.token = '';
        count.textContent = '';
        list.hidden = true;
      }
      return;
    }
    rows.append(...(answer.data || []).map(orgRow));
    state.token = typeof answer.next_page_token === 'string' ? answer.next_page_token : '';
    more.hidden = !state.token;
    say();
  };
  const soon = () => {
    clearTimeout(timer);
    timer = null;
    if (search.input.value.trim() !== state.asked) timer = setTimeout(() => load(true), SEARCH_DELAY_MS);
  };
  search.input.addEventListener('input', soon);
  more.addEventListener('click', () => load(false));
  onLeave(() => {
    clearTimeout(timer);
    state.run += 1; // an answer still on its way is for a view that is gone
  });
  const form = h('form', { role: 'search', 'aria-label': 'Organizations', testid: 'org-search-form', on: { submit: (event) => {
    event.preventDefault();
    clearTimeout(timer);
    load(true);
  } } }, search.field);
  fill(view,
    pageTitle('Organizations', 'Your enterprise customers: each has its email domains, its identity provider connections and its admin portal links.', 'orgs-title'),
    createOrgForm(),
    card('All organizations', 'orgs-card', null, form, count, list, error, h('div', { class: 'actions' }, more)));
  await load(true);
}

function createOrgForm() {
  const name = inputField('Display name', { testid: 'org-name-input', maxlength: '200', required: true });
  const external = inputField('External id (optional)', { testid: 'org-external-input', maxlength: '200' },
    'Your own id for this customer, unique among organizations.');
  const error = errorLine('org-create-error');
  const button = h('button', { type: 'submit', testid: 'org-create' }, 'Create organization');
  return h('form', { class: 'card', 'aria-labelledby': 'org-create-h', on: { submit: async (event) => {
    event.preventDefault();
    const body = { display_name: name.input.value.trim() };
    if (external.input.value.trim()) body.external_id = external.input.value.trim();
    const org = await busy(button, error, () => api('POST', 'v1/organizations', body));
    if (org && plainId(org.id)) window.location.hash = `#/organizations/${org.id}`;
  } } },
  h('h2', { id: 'org-create-h' }, 'Create an organization'),
  h('div', { class: 'grid-2' }, name.field, external.field), error, h('div', { class: 'actions' }, button));
}

// ---- one organization ----------------------------------------------------------------------

export async function organizationView(view, rawId) {
  const id = plainId(rawId);
  if (!id) {
    window.location.hash = '#/organizations';
    return;
  }
  const org = await api('GET', `v1/organizations/${id}`);
  const domains = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const connections = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const links = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const events = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const title = h('h1', { tabindex: '-1', testid: 'org-title' }, org.display_name);
  fill(view,
    h('p', { class: 'crumbs' }, h('a', { href: '#/organizations' }, '← Organizations')),
    h('div', { class: 'title-row' }, title, h('span', { class: 'mono muted', testid: 'org-id' }, org.id)),
    renameForm(org, title),
    card('Email domains', 'domains-card', null,
      h('p', { class: 'muted' }, 'People whose email is at one of these domains sign in through this organization\'s enabled connection.'),
      domains),
    card('Connections', 'connections-card', null, connections),
    card('Admin portal links', 'links-card', null,
      h('p', { class: 'muted' }, 'A link opens the admin portal once, where the customer\'s IT admin connects their identity provider. It is shown once: send it to them.'),
      links),
    card('Recent logins', 'org-events-card',
      h('a', { href: `#/events${query({ organization_id: id })}`, class: 'button secondary', testid: 'org-events-all' }, 'All of its login events'),
      events));
  await Promise.all([
    loadDomains(domains, id),
    loadConnections(connections, id),
    loadLinks(links, id),
    loadEvents(events, org),
  ]);
}

function renameForm(org, title) {
  const name = inputField('Display name', { testid: 'org-rename-input', value: org.display_name, maxlength: '200', required: true });
  const external = inputField('External id', { testid: 'org-external-edit', value: org.external_id || '', maxlength: '200' },
    'Leave empty to remove it.');
  const error = errorLine('org-rename-error');
  const saved = h('p', { class: 'save-status', role: 'status', testid: 'org-saved' });
  const button = h('button', { type: 'submit', testid: 'org-save' }, 'Save');
  return h('details', { class: 'card edit-box' }, h('summary', { testid: 'org-edit' }, 'Rename or change the external id'),
    h('form', { on: { submit: async (event) => {
      event.preventDefault();
      saved.textContent = '';
      const body = { display_name: name.input.value.trim(), external_id: external.input.value.trim() || null };
      const answer = await busy(button, error, () => api('PATCH', `v1/organizations/${plainId(org.id)}`, body));
      if (!answer) return;
      title.textContent = answer.display_name;
      saved.textContent = 'Saved.';
    } } }, h('div', { class: 'grid-2' }, name.field, external.field), error,
    h('div', { class: 'actions' }, button, saved)));
}

// Every item of a list of the organization's, or null once the failure is said in holder.
async function listOrSay(holder, route, what) {
  try {
    return await listAll(route);
  } catch (e) {
    if (e.status !== 401) fill(holder, h('p', { class: 'error', role: 'alert' }, `Could not load the ${what}: ${e.description}`));
    return null;
  }
}

async function loadDomains(holder, orgId) {
  const error = errorLine('domain-error');
  let list = await listOrSay(holder, `v1/organizations/${orgId}/domains`, 'domains');
  if (!list) return;
  const chips = h('ul', { class: 'chips', testid: 'domains' });
  const none = h('p', { class: 'muted', testid: 'domains-empty' }, 'No domain yet.');
  const draw = () => {
    none.hidden = list.length > 0;
    fill(chips, list.map(chip));
  };
  const chip = (d) => h('li', { class: 'chip chip-action', testid: 'domain' },
    h('span', { testid: 'domain-name' }, d.domain),
    h('button', { type: 'button', class: 'chip-remove', 'aria-label': `Remove ${d.domain}`, testid: 'domain-remove',
      on: { click: async (event) => {
        const done = await busy(event.currentTarget, error, () => api('DELETE', `v1/organizations/${orgId}/domains/${plainId(d.id)}`));
        if (done === undefined) return;
        list = list.filter((x) => x.id !== d.id);
        draw();
        input.input.focus(); // the button that had the focus is gone
      } } }, '×'));
  draw();
  const input = inputField('Add a domain', { testid: 'domain-input', placeholder: 'example.com' });
  const button = h('button', { type: 'submit', testid: 'domain-add' }, 'Add domain');
  fill(holder, none, chips, h('form', { class: 'inline-form', on: { submit: async (event) => {
    event.preventDefault();
    if (!input.input.value.trim()) return;
    const added = await busy(button, error, () => api('POST', `v1/organizations/${orgId}/domains`, { domain: input.input.value.trim() }));
    if (!added) return;
    input.input.value = '';
    list.push(added);
    draw();
  } } }, input.field, h('div', { class: 'actions' }, button)), error);
}

async function loadConnections(holder, orgId) {
  const list = await listOrSay(holder, `v1/organizations/${orgId}/connections`, 'connections');
  if (!list) return;
  if (!list.length) {
    fill(holder, h('p', { class: 'empty', testid: 'connections-empty' }, 'No connection yet: create a portal link below so the customer\'s IT admin can add one.'));
    return;
  }
  fill(holder, table(['Connection', 'Type', 'Status', 'Certificates'], list.map((c) => {
    const certs = (c.saml && c.saml.idp_certificate_details) || [];
    return [
      h('span', {}, h('span', { testid: 'connection-name' }, c.name || TYPES[c.type] || c.type), h('br'),
        h('span', { class: 'mono muted' }, c.id)),
      TYPES[c.type] || c.type,
      statusBadge(c.status, 'connection-status'),
      certs.length ? h('ul', { class: 'certs' }, certs.filter((d) => d.not_after).map(certificateLine))
        : h('span', { class: 'muted' }, c.type === 'saml' ? 'None yet' : 'Not used (OpenID Connect)'),
    ];
  }), { 'data-testid': 'connections-table' }));
}

async function loadLinks(holder, orgId) {
  const error = errorLine('link-error');
  const shown = h('div', { 'aria-live': 'polite' });
  const rows = h('div', {});
  const draw = async () => {
    let list;
    try {
      list = await listAll(`v1/organizations/${orgId}/portal_links`);
    } catch (e) {
      if (e.status !== 401) error.say(`Could not load the links: ${e.description}`);
      return;
    }
    fill(rows, list.length ? table(['Created', 'Expires', 'Opened', 'Action'], list.map((link) => [
      when(link.created_at), when(link.expires_at),
      link.used_at ? when(link.used_at) : badge('Not yet', 'muted'),
      h('button', { type: 'button', class: 'danger small', testid: 'link-revoke', 'aria-label': `Revoke the link created ${when(link.created_at)}`,
        on: { click: async (event) => {
          const done = await busy(event.currentTarget, error, () => api('DELETE', `v1/organizations/${orgId}/portal_links/${plainId(link.id)}`));
          if (done === undefined) return;
          await draw();
          create.focus(); // the button that had the focus is gone
        } } }, 'Revoke'),
    ]), { 'data-testid': 'links-table' }) : h('p', { class: 'muted', testid: 'links-empty' }, 'No live link.'));
  };
  const create = h('button', { type: 'button', testid: 'create-portal-link' }, 'Create portal link');
  create.addEventListener('click', async () => {
    const link = await busy(create, error, () => api('POST', `v1/organizations/${orgId}/portal_links`, {}));
    if (!link) return;
    const panel = secretPanel('New portal link', [['Portal link', link.location, 'portal-link']],
      h('p', { class: 'muted' }, `It opens the portal once, until ${when(link.expires_at)}.`), 'link-shown');
    fill(shown, panel);
    copyText(panel.querySelector('input'), panel.querySelector('.copy-said'));
    panel.querySelector('h3').focus();
    await draw();
  });
  fill(holder, h('div', { class: 'actions' }, create), shown, error, rows);
  await draw();
}

async function loadEvents(holder, org) {
  try {
    const answer = await api('GET', `v1/events${query({ organization_id: org.id, page_size: 10 })}`);
    fill(holder, eventsTable((answer && answer.data) || [], new Map([[org.id, org.display_name]])));
  } catch (e) {
    if (e.status !== 401) fill(holder, h('p', { class: 'error', role: 'alert' }, `Could not load the logins: ${e.description}`));
  }
}
