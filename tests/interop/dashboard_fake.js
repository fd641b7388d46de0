// An in-memory stand-in for the dashboard's API (/dashboard/api/, POST /dashboard/setup),
// answering a browser context's requests through Playwright's routing, so that the pages can
// be checked on their own: it keeps to the contract (docs: /work contract of issue 20, and
// services/directory/api/openapi.json for /v1/), refuses a change without the session's CSRF
// token as the directory does, and records every change for the test to inspect.
'use strict';
const HOUR = 3600 * 1000;
const iso = (ms) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

const HOSTILE = '<script>window.__owned = 1</script><img src=x onerror="window.__owned = 2">';

class FakeDashboard {
  constructor() {
    this.csrf = 'csrf-token-of-the-fake-session-0123456789';
    this.signedIn = true;
    this.failures = 0;
    this.changes = [];
    this.origins = []; // the Origin of each sign-in and setup POST (they are checked without a session)
    this.now = Date.now();
    this.clients = [
      { id: 'interop-admin', client_id: 'interop-admin', name: 'Management API', redirect_uris: [], is_admin: true, built_in: true, created_at: iso(this.now - 40 * 24 * HOUR), updated_at: iso(this.now - 40 * 24 * HOUR) },
      { id: 'cli_auth0', client_id: 'cli_auth0', name: 'Auth0 production tenant', redirect_uris: ['https://acme.eu.auth0.com/login/callback'], is_admin: false, built_in: false, created_at: iso(this.now - 30 * 24 * HOUR), updated_at: iso(this.now - 2 * HOUR) },
    ];
    this.orgs = [];
    for (let i = 1; i <= 60; i++) {
      this.orgs.push({ id: `org_${String(i).padStart(3, '0')}`, display_name: i === 1 ? `${HOSTILE} Ωmega Corp` : `Customer ${i} Ltd`,
        external_id: i === 1 ? HOSTILE : (i % 3 ? `crm-${1000 + i}` : null), created_at: iso(this.now - (70 - i) * 24 * HOUR), updated_at: iso(this.now - i * HOUR) });
    }
    const soon = iso(this.now + 12 * 24 * HOUR);
    this.domains = [{ id: 'dom_1', domain: 'omega.example', organization_id: 'org_001', created_at: iso(this.now - 9 * 24 * HOUR) }];
    this.connections = [
      { id: 'conn_okta', organization_id: 'org_001', type: 'saml', status: 'active', name: 'Okta', created_at: iso(this.now - 8 * 24 * HOUR), updated_at: iso(this.now - 8 * 24 * HOUR),
        saml: { idp_certificate_details: [{ subject: 'CN=okta.omega.example', issuer: 'CN=okta.omega.example', not_before: iso(this.now - 300 * 24 * HOUR), not_after: soon, expired: false }] } },
      { id: 'conn_entra', organization_id: 'org_001', type: 'oidc', status: 'draft', name: `Entra ${HOSTILE}`, created_at: iso(this.now - 2 * 24 * HOUR), updated_at: iso(this.now - 2 * 24 * HOUR), oidc: {} },
    ];
    this.links = [{ id: 'pl_old', organization_id: 'org_001', created_at: iso(this.now - 3 * 24 * HOUR), expires_at: iso(this.now + 4 * 24 * HOUR), used_at: iso(this.now - 2 * 24 * HOUR) }];
    this.events = [];
    for (let i = 0; i < 130; i++) {
      const failure = i % 4 === 1;
      this.events.push({ id: `evt_${i}`, created_at: iso(this.now - i * 1.7 * HOUR), organization_id: i % 5 === 4 ? 'org_002' : 'org_001',
        connection_id: i % 5 === 4 ? 'conn_other' : 'conn_okta', client_id: 'cli_auth0', outcome: failure ? 'failure' : 'success',
        reason: failure ? (i % 8 === 1 ? 'audience: expected https://sso.example/sso/saml/conn_okta, got https://wrong.example/sp' : `signature: ${HOSTILE}`) : null,
        subject: `user${i}`, email: i === 0 ? `${HOSTILE}@omega.example` : `user${i}@omega.example`, test: i === 3 });
    }
    this.eventQueries = []; // the query of each GET /v1/events
    this.audit = [];
    for (let i = 0; i < 70; i++) {
      this.audit.push({ id: `aud_${i}`, created_at: iso(this.now - i * 2 * HOUR), actor_type: i % 3 ? 'admin' : 'client', actor: i % 3 ? 'dev@example.com' : 'cli_auth0',
        action: i % 2 ? 'POST /api/v1/organizations' : 'PATCH /api/v1/clients/cli_auth0', target: i % 2 ? `org_${i}` : 'cli_auth0', status: i === 5 ? 400 : 201, remote_addr: '203.0.113.7' });
    }
    this.nextId = 1;
  }

  // Installs the fake on a Playwright context.
  async attach(context) {
    await context.route('**/dashboard/api/**', (route) => this.answer(route));
    await context.route('**/dashboard/setup', (route) => (route.request().method() === 'POST' ? this.answer(route) : route.fallback()));
  }

  async answer(route) {
    const request = route.request();
    const url = new URL(request.url());
    const method = request.method();
    let body;
    try { body = request.postDataJSON(); } catch (_) { body = undefined; }
    const headers = await request.allHeaders();
    if (url.pathname === '/dashboard/setup' || url.pathname === '/dashboard/api/signin') this.origins.push(headers.origin);
    const [status, json] = this.route(method, url, body, headers);
    await route.fulfill({ status, contentType: 'application/json', headers: { 'cache-control': 'no-store' },
      body: json === null ? '' : JSON.stringify(json) });
  }

  page(list, url, size = 50) {
    const want = Math.min(Number(url.searchParams.get('page_size') || size), 200);
    const from = Number(url.searchParams.get('page_token') || 0);
    const data = list.slice(from, from + want);
    return [200, { data, next_page_token: from + want < list.length ? String(from + want) : '' }];
  }

  route(method, url, body, headers) {
    const p = url.pathname;
    if (p === '/dashboard/setup') return this.setup(body);
    if (p === '/dashboard/api/signin') return this.signin(body);
    if (!this.signedIn) return [401, { error: 'invalid_session', error_description: 'sign in again' }];
    if (method !== 'GET') {
      this.changes.push({ method, path: p, csrf: headers['x-csrf-token'], body });
      if (headers['x-csrf-token'] !== this.csrf) return [403, { error: 'csrf', error_description: 'the CSRF token is missing or wrong' }];
    }
    if (p === '/dashboard/api/session') return [200, { admin: { id: 'adm_1', email: 'dev@example.com' }, csrf_token: this.csrf, expires_at: iso(this.now + 12 * HOUR), idle_timeout: 1800 }];
    if (p === '/dashboard/api/signout') { this.signedIn = false; return [204, null]; }
    if (p === '/dashboard/api/config') {
      const origin = url.origin;
      return [200, { public_url: origin, discovery_url: `${origin}/.well-known/openid-configuration`, environment: 'development', simulator: true, test_organization_id: 'org_test' }];
    }
    if (p === '/dashboard/api/stats') return this.stats(url);
    const v1 = p.startsWith('/dashboard/api/v1/') ? p.slice('/dashboard/api/v1/'.length).split('/') : null;
    if (!v1) return [404, { error: 'not_found', error_description: 'no such path' }];
    return this.management(method, v1, url, body);
  }

  setup(body) {
    if (!body || body.token !== 'S'.repeat(43)) {
      return body && body.token === 'U'.repeat(43) ? [410, { error: 'link_used', error_description: 'this setup link was used already: a link works once; ask for a new one' }]
        : [400, { error: 'invalid_link', error_description: 'this is not a setup link' }];
    }
    if (typeof body.password !== 'string' || body.password.length < 12) return [400, { error: 'invalid_password', error_description: 'the password must have at least 12 characters' }];
    if (body.password !== body.password_confirm) return [400, { error: 'invalid_password', error_description: 'the two passwords differ' }];
    return [200, { admin: { id: 'adm_1', email: 'dev@example.com' }, signin_url: '/dashboard/signin' }];
  }

  signin(body) {
    if (this.failures >= 5) return [429, { error: 'locked', error_description: 'too many failed sign-ins', retry_after: 57 }];
    if (body && body.email === 'dev@example.com' && body.password === 'correct horse battery staple') {
      this.signedIn = true;
      return [200, { admin: { id: 'adm_1', email: 'dev@example.com' }, csrf_token: this.csrf }];
    }
    this.failures += 1;
    return [401, { error: 'invalid_credentials', error_description: 'the email or the password is wrong' }];
  }

  stats(url) {
    const range = url.searchParams.get('range');
    if (range !== 'day' && range !== 'week') return [400, { error: 'invalid_request', error_description: 'range must be day or week' }];
    const n = range === 'day' ? 24 : 168;
    const end = (Math.floor(this.now / HOUR) + 1) * HOUR;
    const buckets = [];
    for (let i = 0; i < n; i++) {
      const start = end - (n - i) * HOUR;
      const mine = this.events.filter((e) => {
        const t = Date.parse(e.created_at);
        return t >= start && t < start + HOUR && (!url.searchParams.get('organization_id') || e.organization_id === url.searchParams.get('organization_id'));
      });
      buckets.push({ start: iso(start), success: mine.filter((e) => e.outcome === 'success').length * 3, failure: mine.filter((e) => e.outcome === 'failure').length });
    }
    return [200, { range, bucket_seconds: 3600, buckets }];
  }

  id(prefix) { this.nextId += 1; return `${prefix}_new${this.nextId}`; }

  management(method, parts, url, body) {
    const [collection, id, sub, subId] = parts;
    if (collection === 'clients') return this.clientsRoute(method, id, sub, body);
    if (collection === 'organizations') return this.orgsRoute(method, id, sub, subId, url, body);
    if (collection === 'events' && method === 'GET') return this.eventsRoute(url);
    if (collection === 'audit' && method === 'GET') {
      const actor = url.searchParams.get('actor') || '';
      return this.page(this.audit.filter((a) => !actor || a.actor === actor), url);
    }
    return [404, { error: 'not_found', error_description: 'no such path' }];
  }

  // GET /v1/events: filtered as the directory does, with its refusals; each query is kept.
  eventsRoute(url) {
    const q = url.searchParams;
    this.eventQueries.push(Object.fromEntries(q));
    const [org, conn, outcome] = ['organization_id', 'connection_id', 'outcome'].map((name) => q.get(name) || '');
    if (outcome && outcome !== 'success' && outcome !== 'failure') {
      return [400, { error: 'invalid_request', error_description: 'outcome must be success or failure (or empty for any)' }];
    }
    const bounds = {};
    for (const name of ['since', 'until']) {
      if (q.has(name) && !/^\d+$/.test(q.get(name))) return [400, { error: 'invalid_request', error_description: `${name} must be a time in Unix seconds` }];
      bounds[name] = Number(q.get(name) || 0) * 1000;
    }
    return this.page(this.events.filter((e) => (!org || e.organization_id === org) && (!conn || e.connection_id === conn)
      && (!outcome || e.outcome === outcome) && Date.parse(e.created_at) >= bounds.since
      && (!bounds.until || Date.parse(e.created_at) < bounds.until)), url);
  }

  clientsRoute(method, id, sub, body) {
    if (!id && method === 'GET') return this.page(this.clients, new URL('http://x/?page_size=200'));
    if (!id && method === 'POST') {
      const uris = body.redirect_uris || [];
      const bad = uris.findIndex((u) => !/^https:\/\//.test(u));
      if (bad >= 0) return [400, { error: 'invalid_request', error_description: `redirect_uris[${bad}] must be an https URL` }];
      const client = { id: this.id('cli'), name: body.name, redirect_uris: uris, is_admin: false, built_in: false, created_at: iso(this.now), updated_at: iso(this.now) };
      client.client_id = client.id;
      this.clients.push(client);
      return [201, { ...client, client_secret: `secret-of-${client.id}-0123456789abcdefghijklmnop` }];
    }
    const client = this.clients.find((c) => c.id === id);
    if (!client) return [404, { error: 'not_found', error_description: 'no such client' }];
    if (method === 'PATCH') {
      const bad = (body.redirect_uris || []).findIndex((u) => !/^https:\/\/[^<>"]+$/.test(u));
      if (bad >= 0) return [400, { error: 'invalid_request', error_description: `redirect_uris[${bad}] must be an https URL without '<', '>' or quotes` }];
      client.redirect_uris = [...new Set(body.redirect_uris)];
      return [200, client];
    }
    if (method === 'POST' && sub === 'rotate_secret') {
      const overlap = body.overlap_seconds;
      return [200, { id, client_id: id, client_secret: `rotated-secret-${this.nextId++}-abcdefghijklmnopqrstuvwxyz`,
        previous_secret_expires_at: overlap ? iso(this.now + overlap * 1000) : null }];
    }
    return [405, { error: 'method_not_allowed', error_description: 'no' }];
  }

  orgsRoute(method, id, sub, subId, url, body) {
    if (!id && method === 'GET') {
      // As the API searches: a part of the name (ASCII letters in any case), or the whole
      // external id, id or domain.
      const text = (url.searchParams.get('search') || '').trim();
      if (Buffer.byteLength(url.searchParams.get('search') || '') > 200) return [400, { error: 'invalid_request', error_description: 'search is too long (at most 200 bytes)' }];
      const ascii = (x) => x.replace(/[A-Z]/g, (c) => c.toLowerCase());
      const found = this.orgs.filter((o) => !text || ascii(o.display_name).includes(ascii(text)) || o.external_id === text
        || o.id === text || this.domains.some((d) => d.organization_id === o.id && d.domain === ascii(text)));
      return this.page(found, url);
    }
    if (!id && method === 'POST') {
      const org = { id: this.id('org'), display_name: body.display_name, external_id: body.external_id || null, created_at: iso(this.now), updated_at: iso(this.now) };
      this.orgs.push(org);
      return [201, org];
    }
    const org = this.orgs.find((o) => o.id === id);
    if (!org) return [404, { error: 'not_found', error_description: 'no such organization' }];
    if (!sub && method === 'GET') return [200, org];
    if (!sub && method === 'PATCH') {
      if (body.external_id && this.orgs.some((o) => o !== org && o.external_id === body.external_id)) return [409, { error: 'conflict', error_description: 'external_id is taken by another organization' }];
      Object.assign(org, body);
      return [200, org];
    }
    const mine = (list) => list.filter((x) => x.organization_id === id);
    if (sub === 'domains') {
      if (method === 'GET') return this.page(mine(this.domains), url);
      if (method === 'POST') {
        const domain = String(body.domain || '').trim().toLowerCase();
        if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$/.test(domain)) return [400, { error: 'invalid_request', error_description: 'domain must be a DNS name with a dot' }];
        const d = { id: this.id('dom'), domain, organization_id: id, created_at: iso(this.now) };
        this.domains.push(d);
        return [201, d];
      }
      if (method === 'DELETE') { this.domains = this.domains.filter((d) => d.id !== subId); return [204, null]; }
    }
    if (sub === 'connections' && method === 'GET') return this.page(mine(this.connections), url);
    if (sub === 'portal_links') {
      if (method === 'GET') return this.page(mine(this.links), url);
      if (method === 'POST') {
        const link = { id: this.id('pl'), organization_id: id, created_at: iso(this.now), expires_at: iso(this.now + 7 * 24 * HOUR), used_at: null };
        this.links.push(link);
        return [201, { ...link, location: `${url.origin}/portal/start#${'L'.repeat(43)}` }];
      }
      if (method === 'DELETE') { this.links = this.links.filter((l) => l.id !== subId); return [204, null]; }
    }
    return [405, { error: 'method_not_allowed', error_description: 'no' }];
  }
}

module.exports = { FakeDashboard, HOSTILE };
