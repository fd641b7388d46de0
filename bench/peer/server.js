// The peer for bench/login.sh: @boxyhq/saml-jackson (Ory Polis) embedded in a minimal Node HTTP
// server with its in-memory store ("mem" engine), serving the same four legs of a login:
//   GET  /api/oauth/authorize   -> 302 to the IdP with SAMLRequest + RelayState (HTTP-Redirect)
//   POST /api/oauth/saml        -> the ACS: 302 to the redirect_uri with code
//   POST /api/oauth/token       -> access_token + RS256 id_token (scope openid)
//   GET  /api/oauth/userinfo    -> the profile
// Listens on 127.0.0.1 only, on an ephemeral port, and prints one JSON line of facts (port,
// client, ACS URL, audience) once the SAML connection (IdP = the benchmark's own certificate)
// exists.
//   node server.js IDP_CERT_PEM IDP_ENTITY_ID TENANT REDIRECT_URI JWT_KEY_PEM JWT_PUB_PEM
'use strict';
const fs = require('fs');
const http = require('http');

async function main() {
  const [certPath, idpEntity, tenant, redirectUri, jwtKey, jwtPub] = process.argv.slice(2);
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  const externalUrl = `http://127.0.0.1:${port}`;
  const jackson = await require('@boxyhq/saml-jackson').controllers({
    externalUrl,
    samlPath: '/api/oauth/saml',
    samlAudience: 'https://saml.boxyhq.com',
    db: { engine: 'mem', ttl: 300 },
    openid: {
      jwsAlg: 'RS256',
      jwtSigningKeys: {
        private: Buffer.from(fs.readFileSync(jwtKey, 'utf8')).toString('base64'),
        public: Buffer.from(fs.readFileSync(jwtPub, 'utf8')).toString('base64'),
      },
    },
    noAnalytics: true,
  });
  const certBody = fs.readFileSync(certPath, 'utf8').replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const metadata = `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${idpEntity}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${certBody}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.bench.example/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`;
  const conn = await jackson.connectionAPIController.createSAMLConnection({
    rawMetadata: metadata, tenant, product: 'bench', name: 'bench',
    redirectUrl: JSON.stringify([redirectUri]), defaultRedirectUrl: redirectUri,
  });
  const oauth = jackson.oauthController;

  function send(res, status, headers, body) {
    res.writeHead(status, headers);
    res.end(body);
  }
  function redirect(res, url) { send(res, 302, { location: url, 'content-length': 0 }, ''); }
  function fail(res, err) {
    const status = err && err.statusCode ? err.statusCode : 500;
    send(res, status, { 'content-type': 'application/json' },
      JSON.stringify({ error: String((err && err.message) || err) }));
  }
  async function readForm(req) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
  }

  server.on('request', async (req, res) => {
    const url = new URL(req.url, externalUrl);
    try {
      if (req.method === 'GET' && url.pathname === '/api/oauth/authorize') {
        const r = await oauth.authorize(Object.fromEntries(url.searchParams));
        if (!r.redirect_url) return fail(res, new Error('authorize gave no redirect_url'));
        return redirect(res, r.redirect_url);
      }
      if (req.method === 'POST' && url.pathname === '/api/oauth/saml') {
        const body = await readForm(req);
        const r = await oauth.samlResponse({ SAMLResponse: body.SAMLResponse, RelayState: body.RelayState });
        if (!r.redirect_url) return fail(res, new Error(r.error || 'samlResponse gave no redirect_url'));
        return redirect(res, r.redirect_url);
      }
      if (req.method === 'POST' && url.pathname === '/api/oauth/token') {
        const body = await readForm(req);
        const r = await oauth.token(body, req.headers.authorization);
        return send(res, 200, { 'content-type': 'application/json', 'cache-control': 'no-store' }, JSON.stringify(r));
      }
      if (req.method === 'GET' && url.pathname === '/api/oauth/userinfo') {
        const token = (req.headers.authorization || '').replace(/^Bearer /, '');
        const r = await oauth.userInfo(token);
        return send(res, 200, { 'content-type': 'application/json' }, JSON.stringify({ sub: r.id, ...r }));
      }
      send(res, 404, { 'content-type': 'text/plain' }, 'not found');
    } catch (err) {
      fail(res, err);
    }
  });
  process.stdout.write(JSON.stringify({
    port, client_id: conn.clientID, client_secret: conn.clientSecret,
    acs_url: `${externalUrl}/api/oauth/saml`, audience: 'https://saml.boxyhq.com',
  }) + '\n');
}

main().catch((err) => { console.error(err); process.exit(1); });
