// config.js: the API config view: the environment's URLs, the OAuth clients with their
// redirect URIs (add, edit, remove, create a client, rotate a secret) and the Auth0
// Management API request that creates the broker's connection in the app's Auth0 tenant.
import { api, listAll, plainId } from './api.js';
import { badge, copyButton, copyField, day, fill, h, newId, when } from '../common/dom.js';
import { busy, card, errorLine, inputField, pageTitle, secretPanel, selectField } from './ui.js';

const OVERLAPS = [
  ['0', 'Now: the old secret stops working at once'],
  ['3600', '1 hour'],
  ['86400', '24 hours'],
  ['604800', '7 days'],
];

export async function configView(view, ctx) {
  const config = ctx.config || {};
  const clientsHolder = h('div', { testid: 'clients' }, h('p', { class: 'muted' }, 'Loading…'));
  const created = h('div', { 'aria-live': 'polite' });
  const auth0Holder = h('div', {});
  const state = { clients: [], reshow: null };
  // A client's change redraws the list; a new client the Auth0 request's choice of clients too.
  const redraw = (withAuth0) => {
    fill(clientsHolder, state.clients.length
      ? state.clients.map((client) => clientCard(client, state, redraw))
      : h('p', { class: 'empty', testid: 'clients-empty' }, 'No OAuth client yet. Create one for your Auth0 tenant below.'));
    if (withAuth0) fill(auth0Holder, auth0Request(config, state.clients.filter((c) => !c.built_in && !c.is_admin)));
  };
  fill(view,
    pageTitle('API config', 'What your Auth0 tenant needs to use this broker as its enterprise connection.', 'config-title'),
    card('Environment', 'environment-card', null,
      h('p', { class: 'muted' }, 'The broker\'s public address (SSO_PUBLIC_URL) is its issuer: Auth0 checks it byte for byte.'),
      copyField('Environment URL', config.public_url, 'public-url'),
      copyField('Discovery URL', config.discovery_url, 'discovery-url')),
    card('OAuth clients', 'clients-card', null,
      h('p', { class: 'muted' }, 'Auth0 signs in to the broker as an OAuth client: register Auth0\'s callback (https://YOUR_TENANT.auth0.com/login/callback) as its redirect URI.'),
      created, clientsHolder, createClientForm(state, created, redraw)),
    card('Auth0 Management API request', 'auth0-card', null, auth0Holder));
  try {
    state.clients = await listAll('v1/clients');
  } catch (error) {
    if (error.status === 401) return;
    fill(clientsHolder, h('p', { class: 'error', role: 'alert' }, `Could not load the clients: ${error.description}`));
    return;
  }
  redraw(true);
}

function replaceClient(state, client) {
  state.clients = state.clients.map((c) => (c.id === client.id ? client : c));
}

function clientCard(client, state, redraw) {
  const id = plainId(client.id);
  const error = errorLine('redirect-error');
  const shown = h('div', { 'aria-live': 'polite' });
  const article = h('article', { class: 'connection client', testid: 'client', 'data-client-id': client.id },
    h('div', { class: 'connection-head' }, h('h3', {}, client.name),
      client.is_admin ? badge('Management API client', 'muted', 'client-admin')
        : client.built_in ? badge('Built in', 'muted', 'client-built-in') : null),
    h('p', { class: 'muted' }, `Created ${day(client.created_at)}`),
    copyField('Client ID', client.client_id, 'client-id'));
  if (client.is_admin || !id) {
    article.append(h('p', { class: 'muted' }, 'This client calls the management API; it has no redirect URIs and its secret comes from the broker\'s configuration.'));
    return article;
  }
  // The dashboard's own Try it client: the broker keeps it (no secret, one redirect URI).
  if (client.built_in) {
    article.append(h('p', { class: 'muted', testid: 'client-built-in-note' },
      'The broker keeps this client for the dashboard\'s Try it page: it has no secret and its one redirect URI follows the environment URL, so it cannot be changed here.'),
    h('ul', { class: 'uri-list', testid: 'redirect-uris' }, client.redirect_uris.map((uri) =>
      h('li', { class: 'uri-row', testid: 'redirect-uri' }, h('span', { class: 'mono uri', testid: 'redirect-uri-value' }, uri)))));
    return article;
  }
  async function save(uris, button, input) {
    if (input) input.removeAttribute('aria-invalid');
    const answer = await busy(button, error, () => api('PATCH', `v1/clients/${id}`, { redirect_uris: uris }));
    if (!answer) {
      if (input) input.setAttribute('aria-invalid', 'true');
      if (input) input.focus();
      return false;
    }
    replaceClient(state, answer);
    redraw();
    return true;
  }
  const list = h('ul', { class: 'uri-list', testid: 'redirect-uris' });
  client.redirect_uris.forEach((uri, index) => list.append(uriRow(client, uri, index, save)));
  const add = inputField('New redirect URI', { type: 'url', testid: 'redirect-uri-new',
    placeholder: 'https://YOUR_TENANT.auth0.com/login/callback' });
  const addButton = h('button', { type: 'submit', testid: 'redirect-uri-add' }, 'Add redirect URI');
  const addForm = h('form', { class: 'inline-form', on: { submit: async (event) => {
    event.preventDefault();
    const uri = add.input.value.trim();
    if (!uri) { add.input.focus(); return; }
    await save([...client.redirect_uris, uri], addButton, add.input);
  } } }, add.field, h('div', { class: 'actions' }, addButton));
  article.append(h('h4', {}, 'Redirect URIs'),
    client.redirect_uris.length ? list : h('p', { class: 'muted', testid: 'redirect-uris' }, 'None yet: logins through this client are refused until you add one.'),
    addForm, error, initiateForm(client, state, redraw), rotateForm(id, shown), shown);
  return article;
}

// The client's initiate_login_uri: where a login that an IdP started (a tile in Okta or My
// Apps) is sent so that the app starts its own sign-in; empty removes it.
function initiateForm(client, state, redraw) {
  const error = errorLine('initiate-error');
  const field = inputField('Initiate login URI (optional)', { type: 'url', testid: 'initiate-login-uri',
    value: client.initiate_login_uri || '', placeholder: 'https://app.example.com/login' },
  'Where a sign-in that starts at the customer\'s IdP (a tile in its app dashboard) is sent, for connections that allow IdP-initiated logins.');
  const button = h('button', { type: 'submit', class: 'secondary', testid: 'initiate-login-uri-save' }, 'Save');
  return h('form', { class: 'inline-form', on: { submit: async (event) => {
    event.preventDefault();
    field.input.removeAttribute('aria-invalid');
    const answer = await busy(button, error, () => api('PATCH', `v1/clients/${plainId(client.id)}`,
      { initiate_login_uri: field.input.value.trim() }));
    if (!answer) {
      field.input.setAttribute('aria-invalid', 'true');
      field.input.focus();
      return;
    }
    replaceClient(state, answer);
    redraw();
  } } }, field.field, h('div', { class: 'actions' }, button), error);
}

// One redirect URI: shown, or being edited in place.
function uriRow(client, uri, index, save) {
  const row = h('li', { class: 'uri-row', testid: 'redirect-uri' });
  const show = () => fill(row,
    h('span', { class: 'mono uri', testid: 'redirect-uri-value' }, uri),
    h('span', { class: 'row-actions' },
      h('button', { type: 'button', class: 'secondary small', testid: 'redirect-uri-edit',
        'aria-label': `Edit ${uri}`, on: { click: edit } }, 'Edit'),
      h('button', { type: 'button', class: 'danger small', testid: 'redirect-uri-remove',
        'aria-label': `Remove ${uri}`,
        on: { click: (event) => save(client.redirect_uris.filter((_, i) => i !== index), event.currentTarget) } }, 'Remove')));
  function edit() {
    const field = inputField('Redirect URI', { type: 'url', value: uri, testid: 'redirect-uri-input' });
    const button = h('button', { type: 'submit', testid: 'redirect-uri-save' }, 'Save');
    fill(row, h('form', { class: 'inline-form', on: { submit: async (event) => {
      event.preventDefault();
      const next = client.redirect_uris.map((u, i) => (i === index ? field.input.value.trim() : u));
      await save(next, button, field.input);
    } } }, field.field, h('div', { class: 'actions' }, button,
      h('button', { type: 'button', class: 'secondary', on: { click: show } }, 'Cancel'))));
    field.input.focus();
  }
  show();
  return row;
}

function rotateForm(id, shown) {
  const name = newId('overlap');
  const error = errorLine('rotate-error');
  const button = h('button', { type: 'submit', class: 'secondary', testid: 'rotate-secret' }, 'Rotate secret');
  const form = h('form', { class: 'rotate', testid: 'rotate-form', on: { submit: async (event) => {
    event.preventDefault();
    const choice = form.querySelector(`input[name="${name}"]:checked`);
    const overlap = Number(choice ? choice.value : 0);
    const answer = await busy(button, error, () => api('POST', `v1/clients/${id}/rotate_secret`, { overlap_seconds: overlap }));
    if (!answer) return;
    const ends = answer.previous_secret_expires_at;
    fill(shown, secretPanel('New client secret', [['Client secret', answer.client_secret, 'rotated-secret']],
      h('p', { testid: 'previous-secret-expires' }, ends
        ? `The previous secret keeps working until ${when(ends)}.` : 'The previous secret stopped working now.'),
      'rotated'));
    shown.querySelector('h3').focus();
  } } },
  h('fieldset', { class: 'methods' }, h('legend', {}, 'Rotate the client secret: keep the old one valid for'),
    OVERLAPS.map(([value, text], i) => {
      const rid = newId('ov');
      return h('div', { class: 'radio' }, h('input', { type: 'radio', id: rid, name, value,
        checked: i === 2, testid: `overlap-${value}` }), h('label', { for: rid }, text));
    })),
  h('div', { class: 'actions' }, button), error);
  return h('details', { class: 'rotate-box' }, h('summary', {}, 'Rotate the secret'), form);
}

function createClientForm(state, created, redraw) {
  const name = inputField('Name', { testid: 'client-name', maxlength: '200', required: true, value: 'auth0' });
  const uri = inputField('Redirect URI (optional)', { type: 'url', testid: 'client-redirect-uri',
    placeholder: 'https://YOUR_TENANT.auth0.com/login/callback' }, 'Auth0\'s callback. You can add more later.');
  const error = errorLine('create-client-error');
  const button = h('button', { type: 'submit', testid: 'create-client' }, 'Create client');
  return h('form', { class: 'subform', 'aria-label': 'Create an OAuth client', on: { submit: async (event) => {
    event.preventDefault();
    const body = { name: name.input.value.trim() };
    if (uri.input.value.trim()) body.redirect_uris = [uri.input.value.trim()];
    const answer = await busy(button, error, () => api('POST', 'v1/clients', body));
    if (!answer) return;
    const { client_secret: secret, ...client } = answer;
    state.clients.push(client);
    uri.input.value = '';
    fill(created, secretPanel(`Client “${client.name}” created`, [
      ['Client ID', client.client_id, 'created-client-id'],
      ['Client secret', secret, 'created-secret']], null, 'created'));
    redraw(true);
    created.querySelector('h3').focus();
  } } },
  h('h3', {}, 'Create a client'), name.field, uri.field, error, h('div', { class: 'actions' }, button));
}

// The curl that creates the broker's connection in Auth0 (POST /api/v2/connections,
// strategy oidc, back channel: Auth0 redeems the code at the broker's token endpoint with the
// client's secret). The secret stays a placeholder: it is shown once, never kept.
function auth0Request(config, clients) {
  const pick = selectField('Client', clients.length ? clients.map((c) => [c.client_id, `${c.name} (${c.client_id})`])
    : [['', 'No client yet: create one above']], { testid: 'auth0-client' });
  const tenant = inputField('Auth0 domain', { testid: 'auth0-domain', value: '', placeholder: 'YOUR_TENANT.auth0.com' },
    'Your tenant\'s domain (or custom domain), without https://.');
  const connName = inputField('Connection name', { testid: 'auth0-connection-name', value: 'enterprise-sso' },
    'Letters, digits and dashes, as Auth0 requires.');
  const code = h('pre', { class: 'code', testid: 'auth0-curl', tabindex: '0', 'aria-label': 'The Auth0 Management API request' });
  const [copy, said] = copyButton('the Auth0 request', code, 'auth0-curl-copy');
  const draw = () => {
    const host = /^[A-Za-z0-9.-]{1,253}$/.test(tenant.input.value.trim()) ? tenant.input.value.trim() : 'YOUR_TENANT.auth0.com';
    const label = /^[A-Za-z0-9-]{1,128}$/.test(connName.input.value.trim()) ? connName.input.value.trim() : 'enterprise-sso';
    const body = {
      name: label,
      strategy: 'oidc',
      options: {
        type: 'back_channel',
        discovery_url: config.discovery_url || '',
        client_id: pick.select.value || '<client_id>',
        client_secret: '<client_secret: shown once when the client was created or its secret rotated>',
        scope: 'openid profile email',
      },
    };
    // The JSON goes in single quotes for the shell; a quote inside becomes '\''.
    const json = JSON.stringify(body, null, 2).replace(/'/g, "'\\''");
    code.textContent = [
      `curl -X POST 'https://${host}/api/v2/connections' \\`,
      '  -H "Authorization: Bearer $AUTH0_MGMT_TOKEN" \\',
      "  -H 'Content-Type: application/json' \\",
      `  -d '${json}'`,
    ].join('\n');
  };
  for (const el of [pick.select, tenant.input, connName.input]) el.addEventListener('input', draw);
  draw();
  return [
    h('p', {}, 'Creates this broker as an OpenID Connect enterprise connection in your Auth0 tenant (Auth0\'s dashboard cannot make a back-channel connection from a discovery URL of your own). AUTH0_MGMT_TOKEN is a Management API token with the create:connections scope.'),
    h('div', { class: 'grid-3' }, pick.field, tenant.field, connName.field),
    code, h('div', { class: 'actions' }, copy, said),
    h('p', { class: 'muted' }, 'Then enable the connection for your Auth0 application, and list your customers\' email domains in its domain_aliases for home realm discovery.'),
  ];
}
