// The broker's webhooks against npm standardwebhooks, the specification's own TypeScript
// library: a node receiver verifies every delivery with its Webhook.verify (signature over
// webhook-id, webhook-timestamp and the body, and the timestamp's tolerance) and refuses the
// first one, so the retry arrives too; what it verified is exactly the events expected, in
// order: a simulator login's login.succeeded and login.failed, then a connection's
// connection.deactivated. A receiver holding another secret refuses everything it gets.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { Webhook } = require('standardwebhooks');
const { generators } = require('openid-client');
const { startBroker } = require('./broker');
const { simulatorLogin } = require('./login');

let broker;
before(async () => { broker = await startBroker({ SSO_WEBHOOK_FIRST_RETRY_MS: '50' }); });
after(async () => { if (broker) await broker.stop(); });

// A receiver verifying with secret (set later); answers 500 to the first `fail` requests.
async function receiver(fail) {
  const state = { secret: null, verified: [], refused: 0, requests: 0 };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      state.requests += 1;
      let payload = null;
      try {
        payload = new Webhook(state.secret).verify(body, req.headers);
      } catch (e) {
        state.refused += 1;
      }
      if (payload && state.requests > fail) state.verified.push({ id: req.headers['webhook-id'], payload });
      res.writeHead(payload && state.requests > fail ? 204 : 500);
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${server.address().port}/hooks`;
  state.close = () => server.close();
  return state;
}

async function until(check, what) {
  for (let i = 0; i < 300; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`waited in vain for ${what}`);
}

test('deliveries verify with standardwebhooks, retried, in order, exactly the events expected', async () => {
  const good = await receiver(1);
  const wrong = await receiver(0);
  try {
    const events = ['login.succeeded', 'login.failed', 'connection.deactivated'];
    const made = await broker.api('POST', '/webhooks', { url: good.url, events });
    assert.equal(made.status, 201, JSON.stringify(made.json));
    good.secret = made.json.secret;
    const other = await broker.api('POST', '/webhooks', { url: wrong.url, events: ['login.succeeded'] });
    assert.equal(other.status, 201);
    // The other receiver holds a secret of its own, not the one it was given.
    wrong.secret = 'whsec_' + Buffer.alloc(32, 7).toString('base64');

    const redirectUri = 'https://tenant.webhooks.test/login/callback';
    const rp = await broker.auth0Client(redirectUri);
    for (const scenario of ['success', 'wrong_audience']) {
      const url = rp.authorizationUrl({ scope: 'openid email', state: generators.state(), login_hint: 'jo@example.com' });
      await simulatorLogin(broker.url, url, { email: 'jo@example.com', given_name: 'Jo', family_name: 'Doe', scenario });
    }
    assert.equal((await broker.api('POST', '/connections/conn_simulator/disable')).status, 200);
    await until(() => good.verified.length >= 3, 'three verified deliveries');
    await until(() => wrong.requests >= 1, 'a delivery to the other receiver');
    assert.deepEqual(good.verified.map((v) => v.payload.type), events);
    assert.equal(good.refused, 0);
    assert.equal(good.requests, 4); // the first refused by the receiver, then retried
    const [succeeded, failed, deactivated] = good.verified.map((v) => v.payload);
    assert.equal(succeeded.data.email, 'jo@example.com');
    assert.equal(succeeded.data.organization_id, 'org_test');
    assert.equal(succeeded.data.connection_id, 'conn_simulator');
    assert.equal(failed.data.subject, null);
    assert.match(failed.data.reason, /audience/i);
    assert.equal(deactivated.data.id, 'conn_simulator');
    assert.equal(deactivated.data.status, 'inactive');
    assert.equal(new Set(good.verified.map((v) => v.id)).size, 3);
    assert.ok(wrong.refused >= 1 && wrong.verified.length === 0);
  } finally {
    await broker.api('POST', '/connections/conn_simulator/enable');
    good.close();
    wrong.close();
  }
});
