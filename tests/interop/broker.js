// Starts the broker the way `make run` does (sso-supervisor over build/bin) on ephemeral
// loopback ports with a fresh data dir, and stops it. Shared by the interop tests.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');

const ROOT = path.resolve(__dirname, '..', '..');
const BUILD = process.env.SSO_BUILD_DIR || path.join(ROOT, 'build');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function startBroker(extraEnv = {}) {
  const httpPort = await freePort();
  const busPort = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sso-interop-'));
  const url = `http://127.0.0.1:${httpPort}`;
  const admin = { id: 'interop-admin', secret: crypto.randomBytes(16).toString('hex') };
  const env = {
    ...process.env,
    SSO_PUBLIC_URL: url,
    SSO_HTTP_ADDR: `127.0.0.1:${httpPort}`,
    SSO_BROKER_ENDPOINT: `tcp://127.0.0.1:${busPort}`,
    SSO_DATA_DIR: dataDir,
    SSO_ADMIN_CLIENT_ID: admin.id,
    SSO_ADMIN_CLIENT_SECRET: admin.secret,
    SSO_ALLOW_PRIVATE_UPSTREAMS: '1',
    SSO_ENVIRONMENT: 'development', // as `make run`: the IdP simulator is on
    ...extraEnv,
  };
  const bin = path.join(BUILD, 'bin');
  const log = fs.openSync(path.join(dataDir, 'broker.log'), 'a');
  const child = spawn(path.join(bin, 'sso-supervisor'), ['--bin-dir', bin], {
    env, stdio: ['ignore', log, log], detached: true,
  });
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`supervisor exited: ${readLog(dataDir)}`);
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.status === 200) break;
    } catch (_) { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`not ready: ${readLog(dataDir)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const broker = {
    url, dataDir, admin, child,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(-child.pid, 'SIGINT');
        let timer;
        await Promise.race([exited, new Promise((r) => { timer = setTimeout(r, 10000); })]);
        clearTimeout(timer); // a pending timer would keep the test file alive for 10 s
        if (child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
      }
      fs.closeSync(log);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
    async adminToken() {
      const r = await fetch(`${url}/oauth/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: 'Basic ' + Buffer.from(`${admin.id}:${admin.secret}`).toString('base64'),
        },
        body: 'grant_type=client_credentials',
      });
      if (r.status !== 200) throw new Error(`admin token: ${r.status} ${await r.text()}`);
      return (await r.json()).access_token;
    },
    async api(method, p, body) {
      const token = await broker.adminToken();
      const r = await fetch(`${url}/api/v1${p}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      return { status: r.status, json: text ? JSON.parse(text) : null };
    },
    // Registers a client as Auth0 registers itself, and returns it as an openid-client Client
    // (client_secret_post) built from the broker's discovery.
    async auth0Client(redirectUri) {
      const { Issuer } = require('openid-client');
      const created = await broker.api('POST', '/clients', { name: 'Auth0 stand-in', redirect_uris: [redirectUri] });
      if (created.status !== 201) throw new Error(`client: ${created.status} ${JSON.stringify(created.json)}`);
      const issuer = await Issuer.discover(url);
      return new issuer.Client({
        client_id: created.json.client_id, client_secret: created.json.client_secret,
        redirect_uris: [redirectUri], response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      });
    },
  };
  return broker;
}

function readLog(dataDir) {
  try {
    return fs.readFileSync(path.join(dataDir, 'broker.log'), 'utf8').split('\n').slice(-40).join('\n');
  } catch (_) {
    return '';
  }
}

module.exports = { startBroker };
