// audit.js: the audit log view: every change made through the dashboard or the management
// API (who, what, when, from where), newest first, page by page; filters by who and what.
import { api, query } from './api.js';
import { badge, fill, h, when } from '../common/dom.js';
import { card, errorLine, inputField, listTable, pageTitle, pager } from './ui.js';

function statusBadge(status) {
  const ok = status >= 200 && status < 400;
  return badge(String(status), ok ? 'ok' : 'bad', 'audit-status');
}

function auditRow(entry) {
  const cells = [
    ['When', when(entry.created_at)],
    ['Who', h('span', {}, h('span', { testid: 'audit-actor' }, entry.actor || ''), h('br'),
      h('span', { class: 'muted' }, entry.actor_type === 'client' ? 'API client' : entry.actor_type === 'admin' ? 'Dashboard' : entry.actor_type || ''))],
    ['What', h('span', { class: 'mono', testid: 'audit-action' }, entry.action || '')],
    ['Target', h('span', { class: 'mono' }, entry.target || '')],
    ['Result', statusBadge(entry.status)],
    ['From', h('span', { class: 'mono' }, entry.remote_addr || '')],
  ];
  return h('tr', { testid: 'audit-row' }, cells.map(([label, content]) => h('td', { 'data-label': label }, content)));
}

export async function auditView(view, params) {
  const actor = inputField('Who', { testid: 'audit-actor-filter', value: params.get('actor') || '' },
    'An admin\'s email or a client id, exactly.');
  const action = inputField('What', { testid: 'audit-action-filter', value: params.get('action') || '' },
    'The beginning of the action: "DELETE", "POST /dashboard/api/v1/organizations"…');
  const rows = h('tbody', {});
  const error = errorLine('audit-error');
  const filters = { actor: params.get('actor') || '', action: params.get('action') || '' };
  const list = pager(rows, (token) => api('GET', `v1/audit${query({ ...filters, page_size: 50, page_token: token })}`),
    (entries) => entries.map(auditRow), error);
  fill(view,
    pageTitle('Audit log', 'Every change made in this dashboard or through the management API: who, what, when and from where.', 'audit-title'),
    h('form', { class: 'card filters', 'aria-label': 'Filter the audit log', on: { submit: (event) => {
      event.preventDefault();
      window.location.hash = `#/audit${query({ actor: actor.input.value.trim(), action: action.input.value.trim() })}`;
    } } }, h('div', { class: 'grid-2' }, actor.field, action.field),
    h('div', { class: 'actions' }, h('button', { type: 'submit', testid: 'audit-apply' }, 'Apply filters'),
      h('a', { href: '#/audit', class: 'button secondary' }, 'Clear'))),
    card('Changes', 'audit-card', null,
      listTable(['When', 'Who', 'What', 'Target', 'Result', 'From'], rows, 'audit-table'),
      error, h('div', { class: 'actions' }, list.more)));
  await list.reload();
  if (!rows.children.length && error.hidden) rows.append(h('tr', {}, h('td', { colspan: '6', class: 'muted', testid: 'audit-empty' }, 'No change recorded yet.')));
}
