// The upstream OpenID Provider of bench/oidc.sh: node:http and node:crypto only, on 127.0.0.1
// with an ephemeral port, signing ES256 ID tokens with a key made before the run (a PEM file).
// No login page: its authorization endpoint redirects straight back to the redirect_uri with a
// fresh code and the state, remembering the nonce and the PKCE challenge per code; its token
// endpoint checks the client (client_secret_basic), the code (once) and the PKCE verifier, and
// answers the ID token for that code's nonce. Prints {"port": N} on stdout when listening.
//   node oidc_idp.js KEY_PEM CLIENT_ID CLIENT_SECRET EMAIL
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');

const [keyPath, clientId, clientSecret, email] = process.argv.slice(2);
if (!keyPath || !clientId || !clientSecret || !email) {
  process.stderr.write('usage: node oidc_idp.js KEY_PEM CLIENT_ID CLIENT_SECRET EMAIL\n');
  process.exit(2);
}
const privateKey = crypto.createPrivateKey(fs.readFileSync(keyPath));
const kid = 'bench-es256';
const jwks = JSON.stringify({ keys: [{ ...crypto.createPublicKey(privateKey).export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' }] });
const expectedAuth = 'Basic ' + Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid, typ: 'JWT' })).toString('base64url');
const pending = new Map(); // code -> { nonce, challenge, at }
const CODE_LIFETIME_MS = 60000;
let issuer = '';
let discovery = '';

function signIdToken(claims) {
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  // JWS wants the raw r||s form of the ECDSA signature, not DER.
  const sig = crypto.sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

function answer(res, status, type, body, extra = {}) {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

function json(res, status, obj) {
  answer(res, status, 'application/json', JSON.stringify(obj), { 'cache-control': 'no-store' });
}

function authorize(url, res) {
  const q = url.searchParams;
  let back;
  try {
    back = new URL(q.get('redirect_uri') || '');
  } catch (_) {
    json(res, 400, { error: 'invalid_request', error_description: 'redirect_uri' });
    return;
  }
  const code = crypto.randomBytes(16).toString('base64url');
  pending.set(code, { nonce: q.get('nonce'), challenge: q.get('code_challenge'), at: Date.now() });
  back.searchParams.set('code', code);
  if (q.has('state')) back.searchParams.set('state', q.get('state'));
  res.writeHead(302, { location: back.toString(), 'content-length': 0 });
  res.end();
}

function token(form, req, res) {
  if (req.headers.authorization !== expectedAuth) {
    json(res, 401, { error: 'invalid_client' });
    return;
  }
  const code = form.get('code') || '';
  const login = pending.get(code);
  pending.delete(code);
  if (!login || form.get('grant_type') !== 'authorization_code' || Date.now() - login.at > CODE_LIFETIME_MS) {
    json(res, 400, { error: 'invalid_grant' });
    return;
  }
  const verifier = form.get('code_verifier') || '';
  if (login.challenge && crypto.createHash('sha256').update(verifier).digest('base64url') !== login.challenge) {
    json(res, 400, { error: 'invalid_grant', error_description: 'PKCE verifier' });
    return;
  }
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: issuer, sub: 'bench-user-1', aud: clientId, iat: now, exp: now + 300, nonce: login.nonce,
    email, email_verified: true, given_name: 'Ada', family_name: 'Bench', name: 'Ada Bench',
  };
  json(res, 200, { access_token: crypto.randomBytes(16).toString('hex'), token_type: 'Bearer', expires_in: 300, id_token: signIdToken(claims) });
}

const server = http.createServer({ keepAliveTimeout: 60000 }, (req, res) => {
  const url = new URL(req.url, issuer);
  if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
    answer(res, 200, 'application/json', discovery, { 'cache-control': 'max-age=3600' });
  } else if (req.method === 'GET' && url.pathname === '/jwks') {
    answer(res, 200, 'application/json', jwks, { 'cache-control': 'max-age=3600' });
  } else if (req.method === 'GET' && url.pathname === '/authorize') {
    authorize(url, res);
  } else if (req.method === 'POST' && url.pathname === '/token') {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > 16384) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => token(new URLSearchParams(Buffer.concat(chunks).toString()), req, res));
  } else {
    json(res, 404, { error: 'not_found' });
  }
});

// Codes the broker never exchanged (failed logins) are dropped after their lifetime.
setInterval(() => {
  const old = Date.now() - CODE_LIFETIME_MS;
  for (const [code, login] of pending) if (login.at < old) pending.delete(code);
}, 10000).unref();

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  issuer = `http://127.0.0.1:${port}`;
  discovery = JSON.stringify({
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['ES256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: ['openid', 'email', 'profile'],
    claims_supported: ['sub', 'email', 'email_verified', 'given_name', 'family_name', 'name'],
  });
  process.stdout.write(JSON.stringify({ port, issuer }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
