// Test identity providers that are independent SAML implementations: npm `samlp` (Auth0's SAML
// IdP library) behind a tiny express app. Keys are made for each run with openssl.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

function keyPair(cn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sso-idp-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-subj', `/CN=${cn}`, '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')],
  { stdio: 'ignore' });
  const pair = { key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
  fs.rmSync(dir, { recursive: true, force: true });
  return pair;
}

function listen(app) {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });
}

// A samlp IdP at /saml. `user` is read per request so a test can change who signs in;
// `acs` is where it posts (the broker connection's ACS), also used as Destination/Recipient;
// `encryption` (samlp's encryptionCert, encryptionPublicKey, encryptionAlgorithm), when set,
// has it encrypt the signed assertion.
async function startSamlp({ issuer, user, acs, signResponse = false }) {
  const express = require('express');
  const samlp = require('samlp');
  const { key, cert } = keyPair(issuer);
  const app = express();
  const state = { user, acs, signResponse, encryption: {} };
  app.get('/saml', (req, res, next) => samlp.auth({
    issuer, key, cert, signResponse: state.signResponse,
    recipient: state.acs, destination: state.acs,
    getPostURL: (audience, dom, request, callback) => callback(null, state.acs),
    getUserFromRequest: () => state.user,
    ...state.encryption,
  })(req, res, next));
  // Its SAML metadata (entity ID, SSO URL for both bindings, signing certificate), as an
  // admin downloads it from the IdP's console.
  app.get('/saml/metadata', samlp.metadata({ issuer, cert, redirectEndpointPath: '/saml', postEndpointPath: '/saml' }));
  const server = await listen(app);
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    url: `${base}/saml`,
    metadataUrl: `${base}/saml/metadata`,
    issuer, cert, state,
    close: () => new Promise((r) => server.close(r)),
  };
}

module.exports = { keyPair, startSamlp };
