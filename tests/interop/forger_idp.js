// A forging OpenID Provider for negative tests: express + jose on loopback. Each tenant (a path
// prefix, so each test has its own issuer and the broker's per-issuer caches never mix) serves
// discovery, a rotatable JWKS, an authorization endpoint that redirects straight back to the
// broker's callback (remembering the nonce per code), and a token endpoint whose answer the test
// scripts per login: an ID token forged as it says, HTTP 500, invalid JSON, a hang, or an error.
'use strict';
const crypto = require('node:crypto');
const express = require('express');
const jose = require('jose');

async function signingKey(alg, kid) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg);
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, publicKey, privateKey, jwk };
}

// The ID token claims a well-behaved provider would send for the login (code's nonce).
function goodClaims(tenant, login) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: tenant.issuer,
    sub: `user-${login.code.slice(0, 8)}`,
    aud: tenant.clientId,
    iat: now,
    exp: now + 300,
    nonce: login.nonce,
    email: tenant.user.email,
    email_verified: true,
    given_name: tenant.user.given_name,
    family_name: tenant.user.family_name,
    name: `${tenant.user.given_name} ${tenant.user.family_name}`,
  };
}

// An answer of the token endpoint: a JSON body with the ID token (compact JWS) given.
function tokenAnswer(idToken) {
  return { status: 200, json: { access_token: crypto.randomBytes(16).toString('hex'), token_type: 'Bearer', expires_in: 300, id_token: idToken } };
}

// Ways to forge the ID token. Each takes (tenant, login, claims) and returns the compact JWS.
const forge = {
  // Signed by the tenant's current RS256 key, as a real provider does.
  async good(tenant, login, claims) {
    const key = tenant.keys[0];
    return new jose.SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(key.privateKey);
  },
  async withKey(key, kid, claims) {
    return new jose.SignJWT(claims).setProtectedHeader({ alg: key.alg, kid }).sign(key.privateKey);
  },
  // {"alg":"none"} and an empty signature.
  unsecured(claims) {
    return new jose.UnsecuredJWT(claims).encode();
  },
  // The classic key confusion: HS256 whose secret is the provider's public key (PEM bytes).
  async hmacWithPublicKey(key, claims) {
    const pem = await jose.exportSPKI(key.publicKey);
    return new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: key.kid })
      .sign(new TextEncoder().encode(pem));
  },
};

async function startForgerIdp() {
  const app = express();
  const tenants = new Map();
  const hanging = new Set();
  app.use(express.urlencoded({ extended: false }));

  function tenantOf(req, res) {
    const tenant = tenants.get(req.params.tenant);
    if (!tenant) res.status(404).json({ error: 'no such tenant' });
    return tenant;
  }

  app.get('/:tenant/.well-known/openid-configuration', (req, res) => {
    const tenant = tenantOf(req, res);
    if (!tenant) return;
    tenant.hits.discovery++;
    if (tenant.discoveryHang) return hanging.add(res);
    res.json({
      issuer: tenant.discoveryIssuer || tenant.issuer,
      authorization_endpoint: `${tenant.issuer}/authorize`,
      token_endpoint: tenant.tokenEndpoint || `${tenant.issuer}/token`,
      jwks_uri: `${tenant.issuer}/jwks`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256', 'ES256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: ['openid', 'email', 'profile'],
      ...(tenant.userinfo ? { userinfo_endpoint: `${tenant.issuer}/userinfo` } : {}),
    });
  });

  // The userinfo endpoint, when the tenant has one: tenant.userinfo(login's sub) is its answer.
  app.get('/:tenant/userinfo', (req, res) => {
    const tenant = tenantOf(req, res);
    if (!tenant || !tenant.userinfo) return res.status(404).end();
    tenant.hits.userinfo = (tenant.hits.userinfo || 0) + 1;
    const sub = tenant.accessTokens.get((req.headers.authorization || '').replace(/^Bearer /, ''));
    if (!sub) return res.status(401).json({ error: 'invalid_token' });
    res.json(tenant.userinfo(sub));
  });

  app.get('/:tenant/jwks', (req, res) => {
    const tenant = tenantOf(req, res);
    if (!tenant) return;
    tenant.hits.jwks++;
    res.json({ keys: tenant.keys.map((k) => k.jwk) });
  });

  // No login page: straight back to the broker with a fresh code and the state it was given.
  app.get('/:tenant/authorize', (req, res) => {
    const tenant = tenantOf(req, res);
    if (!tenant) return;
    tenant.hits.authorize++;
    const back = new URL(req.query.redirect_uri);
    if (tenant.refuseWith) {
      back.searchParams.set('error', tenant.refuseWith.error);
      back.searchParams.set('error_description', tenant.refuseWith.description);
    } else {
      const code = crypto.randomBytes(16).toString('hex');
      tenant.logins.set(code, { code, nonce: req.query.nonce, state: req.query.state, challenge: req.query.code_challenge });
      back.searchParams.set('code', code);
    }
    if (req.query.state !== undefined) back.searchParams.set('state', req.query.state);
    res.redirect(302, back.toString());
  });

  app.post('/:tenant/token', async (req, res) => {
    const tenant = tenantOf(req, res);
    if (!tenant) return;
    tenant.hits.token++;
    const expected = 'Basic ' + Buffer.from(`${encodeURIComponent(tenant.clientId)}:${encodeURIComponent(tenant.clientSecret)}`).toString('base64');
    const login = tenant.logins.get(req.body.code);
    if (req.headers.authorization !== expected) {
      res.status(401).json({ error: 'invalid_client' });
      return;
    }
    if (!login || req.body.grant_type !== 'authorization_code') {
      res.status(400).json({ error: 'invalid_grant' });
      return;
    }
    const verifier = req.body.code_verifier || '';
    if (crypto.createHash('sha256').update(verifier).digest('base64url') !== login.challenge) {
      res.status(400).json({ error: 'invalid_grant', error_description: 'PKCE verifier' });
      return;
    }
    tenant.logins.delete(req.body.code);
    const answer = await tenant.answer(tenant, login);
    // The access token names the login's user, for the userinfo endpoint.
    if (answer.json && answer.json.access_token) tenant.accessTokens.set(answer.json.access_token, `user-${login.code.slice(0, 8)}`);
    if (answer.hang) {
      // Never answered: the broker must give up on its own. Ended when the IdP closes.
      hanging.add(res);
      return;
    }
    if (answer.raw !== undefined) {
      res.status(answer.status).type(answer.type || 'application/json').send(answer.raw);
      return;
    }
    res.status(answer.status).set('Cache-Control', 'no-store').json(answer.json);
  });

  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${server.address().port}`;

  return {
    base,
    // A tenant whose issuer is base/name. user: who signs in; tokenEndpoint: another URL for
    // discovery to give. answer(tenant, login): the token
    // endpoint's answer ({status, json} | {status, raw, type} | {hang: true}); by default a
    // good ID token. Fields may be changed by the test at any time.
    async tenant(name, { user, clientId, clientSecret, tokenEndpoint } = {}) {
      const tenant = {
        name,
        issuer: `${base}/${name}`,
        clientId: clientId || `client-${name}`,
        clientSecret: clientSecret || crypto.randomBytes(12).toString('hex'),
        user,
        keys: [await signingKey('RS256', `${name}-k1`), await signingKey('ES256', `${name}-k2`)],
        logins: new Map(),
        accessTokens: new Map(),
        userinfo: undefined,
        hits: { discovery: 0, jwks: 0, authorize: 0, token: 0 },
        answer: async (t, login) => tokenAnswer(await forge.good(t, login, goodClaims(t, login))),
        discoveryIssuer: undefined,
        discoveryHang: false, // discovery never answers
        tokenEndpoint,
        refuseWith: undefined,
        // New keys with new kids replace the old ones in the JWKS.
        async rotate() {
          const n = tenant.keys.length + 1;
          tenant.keys = [await signingKey('RS256', `${name}-k${n}`), await signingKey('ES256', `${name}-k${n + 1}`)];
        },
      };
      tenants.set(name, tenant);
      return tenant;
    },
    close() {
      for (const res of hanging) res.destroy();
      hanging.clear();
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

module.exports = { startForgerIdp, signingKey, goodClaims, tokenAnswer, forge };
