// A customer's OpenID Provider for the interop tests: npm `oidc-provider` (a certified OP) on
// 127.0.0.1, with one confidential client (the broker), accounts whose claims go into the ID
// token, PKCE required and its development login pages; and a cookie-jar "browser" that walks
// those pages over plain HTTP.
'use strict';
const crypto = require('node:crypto');
const http = require('node:http');
const { formOf, unescape } = require('./login');

// A fresh RSA signing key as a private JWK with its own kid.
function signingKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: crypto.randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server.address().port));
  });
}

// Starts the OP. `accounts` maps an account id (what is typed into the login page; it becomes
// `sub`) to the claims the OP asserts for it. `client` is {client_id, client_secret,
// redirect_uris, token_endpoint_auth_method}; the OP's discovery offers that auth method only,
// so the broker must use the one the discovery lists. The OP keeps its issuer across restart(), which
// can give it new signing keys (a key rotation). `extraClaims`: more claim names it releases
// (with the profile scope), for custom claims. `hostname` names 127.0.0.1 in the issuer:
// "localhost" makes the OP another site than a broker at 127.0.0.1 (as a real IdP is).
async function startOidcProvider({ accounts, client, port = 0, extraClaims = [],
                                   hostname = '127.0.0.1' }) {
  const { default: Provider } = await import('oidc-provider');
  const cookieKeys = [crypto.randomBytes(32).toString('hex')];
  // requests: "METHOD /path" of every request served, across restarts.
  const state = { keys: [signingKey()], server: null, port, issuer: null, requests: [] };

  function configuration() {
    return {
      clients: [{ grant_types: ['authorization_code'], response_types: ['code'], ...client }],
      clientAuthMethods: [client.token_endpoint_auth_method],
      // The dev login page's "login" becomes the account id.
      async findAccount(_ctx, id) {
        const claims = accounts[id];
        if (!claims) return undefined;
        return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
      },
      // Scope -> claims it releases; the broker reads the profile from the ID token only.
      claims: {
        openid: ['sub'],
        email: ['email', 'email_verified'],
        profile: ['name', 'given_name', 'family_name', 'preferred_username', 'upn', 'oid', 'tid', ...extraClaims],
        groups: ['groups'],
      },
      conformIdTokenClaims: false,
      pkce: { required: () => true },
      features: { devInteractions: { enabled: true } },
      jwks: { keys: state.keys },
      cookies: { keys: cookieKeys },
    };
  }

  async function start() {
    const server = http.createServer();
    state.port = await listen(server, state.port);
    state.issuer = `http://${hostname}:${state.port}`;
    const provider = new Provider(state.issuer, configuration());
    const serve = provider.callback();
    server.on('request', (req, res) => {
      state.requests.push(`${req.method} ${new URL(req.url, state.issuer).pathname}`);
      serve(req, res);
    });
    state.server = server;
  }

  async function stop() {
    if (!state.server) return;
    const server = state.server;
    state.server = null;
    await new Promise((resolve) => {
      server.close(resolve);
      server.closeAllConnections();
    });
    // Lets clients (this process's fetch among them) see their kept-alive sockets closed
    // before anyone talks to the restarted OP.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  await start();
  return {
    get issuer() { return state.issuer; },
    // The public keys the OP signs with now.
    get kids() { return state.keys.map((k) => k.kid); },
    get requests() { return state.requests; },
    // Stops and starts again on the same port (same issuer), with new signing keys when
    // rotateKeys: the old keys are gone from its JWKS.
    async restart({ rotateKeys = false } = {}) {
      await stop();
      if (rotateKeys) state.keys = [signingKey()];
      await start();
    },
    close: stop,
  };
}

// A browser's cookie store, enough for these flows: cookies by host (as browsers do, ports
// share them) and path, replaced by name, dropped when expired.
class CookieJar {
  constructor() { this.cookies = []; }

  store(url, response) {
    const { hostname, pathname } = new URL(url);
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const cookie = { name: pair.slice(0, eq), value: pair.slice(eq + 1), host: hostname,
        path: pathname.replace(/\/[^/]*$/, '') || '/', expired: false };
      for (const attribute of attributes) {
        const [key, value = ''] = attribute.split('=');
        const k = key.toLowerCase();
        if (k === 'path' && value.startsWith('/')) cookie.path = value;
        if (k === 'max-age' && Number(value) <= 0) cookie.expired = true;
        if (k === 'expires' && Date.parse(value) <= Date.now()) cookie.expired = true;
      }
      this.cookies = this.cookies.filter((c) => !(c.name === cookie.name && c.host === cookie.host
        && c.path === cookie.path));
      if (!cookie.expired) this.cookies.push(cookie);
    }
  }

  header(url) {
    const { hostname, pathname } = new URL(url);
    const matching = this.cookies.filter((c) => c.host === hostname && (pathname === c.path
      || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)));
    return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }
}

// Walks a login from `url` (the client's authorization request to the broker) through the
// OP's dev pages like a browser: follows every redirect (broker -> OP -> broker callback) with
// the cookie jar, signs in as `account` on the login page and confirms the consent page, or
// presses the page's Cancel link when `abort`. Stops at the first redirect to `redirectUri`
// (the client's) and returns it, with every URL visited (`visited`) to show the path taken.
async function providerLogin(url, { account, redirectUri, abort = false, jar = new CookieJar() }) {
  const visited = [];
  let request = { url, method: 'GET' };
  for (let step = 0; step < 30; step++) {
    visited.push(`${request.method} ${request.url}`);
    const headers = {};
    const cookie = jar.header(request.url);
    if (cookie) headers.cookie = cookie;
    if (request.body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(request.url, {
      method: request.method, headers, body: request.body, redirect: 'manual',
    });
    jar.store(request.url, response);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      const next = new URL(location, request.url).toString();
      if (next.startsWith(redirectUri)) return { location: next, visited };
      request = { url: next, method: 'GET' };
      continue;
    }
    const body = await response.text();
    if (response.status !== 200 || !/<form/i.test(body)) {
      return { status: response.status, body, url: request.url, visited };
    }
    if (abort) {
      const cancel = body.match(/<a href="([^"]*\/abort)"/);
      if (!cancel) throw new Error(`no Cancel link on ${request.url}`);
      request = { url: new URL(unescape(cancel[1]), request.url).toString(), method: 'GET' };
      continue;
    }
    const form = formOf(body);
    const fields = form.fields.prompt === 'login'
      ? { ...form.fields, login: account, password: 'any' }
      : form.fields;
    request = {
      url: new URL(form.action, request.url).toString(),
      method: 'POST',
      body: new URLSearchParams(fields).toString(),
    };
  }
  throw new Error(`login did not end: ${visited.join('\n')}`);
}

module.exports = { startOidcProvider, providerLogin, CookieJar, signingKey };
