// events.js: the login events view: filters (organization, connection, outcome and time, all
// applied by GET /api/v1/events on the broker), the events newest first with each failure's
// expected-versus-received reason, and logins per hour.
import { api, listAll, plainId, query } from './api.js';
import { chartCard } from './chart.js';
import { expectedReceived } from '../common/reason.js';
import { badge, fill, h, newId, when } from '../common/dom.js';
import { card, errorLine, listTable, pageTitle, selectField } from './ui.js';

const PERIODS = [['', 'Any time'], ['3600', 'Last hour'], ['86400', 'Last 24 hours'], ['604800', 'Last 7 days']];
const OUTCOMES = [['', 'Any outcome'], ['success', 'Successful'], ['failure', 'Failed']];
const PAGE = 50;

// The organizations' names, loaded once per app (the first 1000).
async function orgNames(ctx) {
  if (!ctx.orgs) {
    const list = await listAll('v1/organizations', 1000);
    ctx.orgs = new Map(list.map((o) => [o.id, o.display_name]));
  }
  return ctx.orgs;
}

function reasonCell(event) {
  if (event.outcome === 'success') return '';
  const parts = expectedReceived(event.reason);
  if (!parts) return h('span', { class: 'reason', testid: 'event-reason' }, event.reason || 'No reason was recorded.');
  return h('div', { class: 'reason-split', testid: 'event-reason' },
    h('span', { class: 'reason-what' }, parts.what),
    h('dl', {},
      h('div', {}, h('dt', {}, 'Expected'), h('dd', { class: 'mono', testid: 'event-expected' }, parts.expected)),
      h('div', {}, h('dt', {}, 'Received'), h('dd', { class: 'mono', testid: 'event-received' }, parts.received))));
}

function eventRow(event, names) {
  const cells = [
    ['Time', when(event.created_at)],
    ['Result', h('span', {}, event.outcome === 'success' ? badge('Success', 'ok', 'event-outcome') : badge('Failed', 'bad', 'event-outcome'),
      event.test ? ' ' : null, event.test ? badge('Test', 'muted') : null)],
    ['Organization', event.organization_id
      ? h('a', { href: `#/organizations/${plainId(event.organization_id) || ''}` }, (names && names.get(event.organization_id)) || event.organization_id)
      : h('span', { class: 'muted' }, 'Not found')],
    ['Connection', h('span', { class: 'mono' }, event.connection_id || '')],
    ['Who', event.email || event.subject || ''],
    ['Reason', reasonCell(event)],
  ];
  return h('tr', { testid: 'event-row', 'data-outcome': event.outcome },
    cells.map(([label, content]) => h('td', { 'data-label': label }, content)));
}

// A table of events (the organization view's recent logins); names: organization id → name.
export function eventsTable(events, names) {
  if (!events.length) return h('p', { class: 'muted', testid: 'events-empty' }, 'No login yet.');
  return eventsShell(h('tbody', {}, events.map((e) => eventRow(e, names))));
}

function eventsShell(body) {
  return listTable(['Time', 'Result', 'Organization', 'Connection', 'Who', 'Reason'], body, 'events-table');
}

export async function eventsView(view, params, ctx) {
  const filters = {
    organization_id: plainId(params.get('organization_id') || '') || '',
    connection_id: plainId(params.get('connection_id') || '') || '',
    outcome: ['success', 'failure'].includes(params.get('outcome')) ? params.get('outcome') : '',
    period: PERIODS.some(([v]) => v && v === params.get('period')) ? params.get('period') : '',
  };
  const names = await orgNames(ctx);
  const org = selectField('Organization', [['', 'All organizations'], ...[...names].map(([id, name]) => [id, name])], { testid: 'filter-org' });
  const conn = selectField('Connection', [['', 'All connections']], { testid: 'filter-connection' });
  const outcome = selectField('Outcome', OUTCOMES, { testid: 'filter-outcome' });
  const period = selectField('Time', PERIODS, { testid: 'filter-period' });
  org.select.value = filters.organization_id;
  outcome.select.value = filters.outcome;
  period.select.value = filters.period;
  async function fillConnections() {
    const orgId = plainId(org.select.value);
    const options = [['', 'All connections']];
    if (orgId) {
      const list = await listAll(`v1/organizations/${orgId}/connections`).catch(() => []);
      options.push(...list.map((c) => [c.id, c.name ? `${c.name} (${c.id})` : c.id]));
    }
    if (filters.connection_id && !options.some(([v]) => v === filters.connection_id)) options.push([filters.connection_id, filters.connection_id]);
    fill(conn.select, options.map(([value, text]) => h('option', { value }, text)));
    conn.select.value = orgId === filters.organization_id ? filters.connection_id : '';
  }
  org.select.addEventListener('change', fillConnections);
  await fillConnections();
  const form = h('form', { class: 'filters', 'aria-label': 'Filter the login events', on: { submit: (event) => {
    event.preventDefault();
    window.location.hash = `#/events${query({ organization_id: org.select.value, connection_id: conn.select.value,
      outcome: outcome.select.value, period: period.select.value })}`;
  } } }, h('div', { class: 'grid-4' }, org.field, conn.field, outcome.field, period.field),
  h('div', { class: 'actions' }, h('button', { type: 'submit', testid: 'filter-apply' }, 'Apply filters'),
    h('a', { href: '#/events', class: 'button secondary', testid: 'filter-clear' }, 'Clear')));

  const rows = h('tbody', {});
  const error = errorLine('events-error');
  const status = h('p', { class: 'muted', role: 'status', testid: 'events-status' });
  const more = h('button', { type: 'button', class: 'secondary', testid: 'load-more', hidden: true }, 'Load more');
  // The period counts back from when the view opened, once, so "Load more" keeps its start.
  const since = filters.period ? Math.floor(Date.now() / 1000) - Number(filters.period) : '';
  let token = '';
  let shown = 0;
  async function loadPage() {
    more.disabled = true;
    error.say('');
    try {
      const answer = await api('GET', `v1/events${query({ organization_id: filters.organization_id,
        connection_id: filters.connection_id, outcome: filters.outcome, since, page_size: PAGE, page_token: token })}`);
      const data = (answer && answer.data) || [];
      token = answer && typeof answer.next_page_token === 'string' ? answer.next_page_token : '';
      rows.append(...data.map((e) => eventRow(e, names)));
      shown += data.length;
    } catch (e) {
      if (e.status !== 401) error.say(`Could not load the events: ${e.description}`);
    }
    more.disabled = false;
    more.hidden = !token;
    status.textContent = `${shown} event${shown === 1 ? '' : 's'} shown${token ? '; older ones with Load more' : ''}.`;
  }
  more.addEventListener('click', loadPage);
  const table = eventsShell(rows);
  const chartHolder = h('div', {});
  const chartTitleId = newId('chart');
  fill(view,
    pageTitle('Login events', 'Every login through the broker, newest first; a failure says exactly what was expected and what was received.', 'events-title'),
    form,
    h('section', { class: 'card', 'aria-labelledby': chartTitleId, testid: 'chart-card' },
      h('h2', { id: chartTitleId }, filters.organization_id ? `Logins per hour: ${names.get(filters.organization_id) || filters.organization_id}` : 'Logins per hour'),
      chartHolder),
    card('Events', 'events-card', null, status, table, error, h('div', { class: 'actions' }, more)));
  await Promise.all([
    chartCard(chartHolder, (range) => api('GET', `stats${query({ range, organization_id: filters.organization_id })}`)),
    loadPage(),
  ]);
}
