"""Several gateways (issue 23): each gateway embeds its broker and binds its own
SSO_BROKER_ENDPOINT; one instance of every service serves both (SSO_BROKER_ENDPOINTS lists
the two brokers). Logins go through either gateway, a code issued through one redeems through
the other, /readyz counts the services of each gateway's own broker, and when one gateway is
killed (-9) the other keeps serving; when it comes back the services register with it again.
A bad list (an empty item, a blank, a duplicate, nine brokers) stops a process at start.

The public URL (the issuer, every redirect's base) is one for the cluster, as behind a load
balancer: `Via` sends each of a client's requests for it to the gateway the test names."""
import os
import subprocess
import threading
import time
from types import SimpleNamespace

import pytest
import requests

from conftest import BIN, Gateway, two_gateways
from test_op import (REDIRECT_URI, base_params, make_client, query_of, redeem,
                     simulator_login, token_error, verified_claims)

SERVICES = "directory,token,saml,oidc,scim"
EXPECTED = {"directory", "token", "saml", "oidc", "scim"}


class _ToGateway(requests.adapters.HTTPAdapter):
    def __init__(self, via):
        super().__init__()
        self.via = via

    def send(self, request, **kw):
        request.url = self.via.gateway.url + request.url[len(self.via.url):]
        self.via.sent += 1
        return super().send(request, **kw)


class Via:
    """The cluster as a client sees it through one gateway; the helpers of test_op take it
    where they take a broker."""

    def __init__(self, broker, gateway):
        self.url = broker.url
        self.gateway = gateway
        self.sent = 0

    def session(self):
        s = requests.Session()
        s.mount(self.url + "/", _ToGateway(self))
        return s

    def post(self, path, **kw):
        kw.setdefault("timeout", 10)
        return self.session().post(self.url + path, **kw)


@pytest.fixture(scope="module")
def cluster():
    with two_gateways(SERVICES) as (broker, a, b):
        client = make_client(broker, "gateways-rp", [REDIRECT_URI])
        yield SimpleNamespace(broker=broker, a=a, b=b, client=client,
                              via_a=Via(broker, a), via_b=Via(broker, b))


def login(cluster, via):
    """A complete login through the simulator, every request through via's gateway: the code."""
    params = base_params({"client": cluster.client}, login_hint="ada@example.com")
    location = simulator_login(via, params, session=via.session())
    assert location.startswith(REDIRECT_URI + "?"), location
    query = query_of(location)
    assert "code" in query and "error" not in query, query
    return query["code"]


def redeemed(cluster, via, code):
    r = redeem(via, cluster.client, code)
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json()


@pytest.mark.parametrize("brokers", ["tcp://127.0.0.1:5555,,tcp://127.0.0.1:5556",
                                     "tcp://127.0.0.1:5555, tcp://127.0.0.1:5556",
                                     "tcp://127.0.0.1:5555,tcp://127.0.0.1:5555",
                                     ",".join(f"tcp://127.0.0.1:{5555 + i}" for i in range(9))])
def test_a_bad_broker_list_stops_a_service_at_start(tmp_path, brokers):
    env = dict(os.environ, SSO_DATA_DIR=str(tmp_path), SSO_BROKER_ENDPOINTS=brokers)
    for binary in ("sso-token", "sso-gateway"):
        done = subprocess.run([os.path.join(BIN, binary)], env=env, capture_output=True,
                              timeout=10)
        assert done.returncode == 2, (binary, done.returncode, done.stderr)
        assert b"SSO_BROKER_ENDPOINTS" in done.stderr, done.stderr
    assert not os.listdir(tmp_path)  # nothing made: not even the bus keys


def test_each_gateway_counts_its_own_broker(cluster):
    for gateway in (cluster.a, cluster.b):
        status, body = gateway.readyz()
        assert status == 200 and body["instances"] == {name: 1 for name in EXPECTED}, body
    # A third gateway whose broker no service lists: nothing registers with it.
    lone = Gateway(cluster.broker).start()
    try:
        deadline = time.time() + 15
        while lone.readyz()[0] is None and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)  # a service that connected would have said READY by now
        status, body = lone.readyz()
        assert status == 503 and set(body["missing"]) == EXPECTED, body
        assert all(count == 0 for count in body["instances"].values()), body
    finally:
        lone.stop()


def test_login_through_either_gateway(cluster):
    for via in (cluster.via_a, cluster.via_b):
        sent = via.sent
        tokens = redeemed(cluster, via, login(cluster, via))
        claims = verified_claims(cluster.broker, cluster.client, tokens["id_token"])
        assert claims["email"] == "ada@example.com"
        assert via.sent - sent >= 5  # authorize, the simulator's page and form, ACS, token


def test_a_code_from_one_gateway_redeems_through_the_other(cluster):
    code = login(cluster, cluster.via_a)
    tokens = redeemed(cluster, cluster.via_b, code)
    assert verified_claims(cluster.broker, cluster.client, tokens["id_token"])["sub"]
    # Single use across gateways: the same code again, through the first one, is refused.
    token_error(redeem(cluster.via_a, cluster.client, code), 400, "invalid_grant")
    code = login(cluster, cluster.via_b)
    redeemed(cluster, cluster.via_a, code)


def test_one_gateway_killed_the_other_serves_and_it_comes_back(cluster):
    """Logins through B, one after another, while A is killed (-9), stays down for 3 s and
    starts again: none that started after the kill fails, and A serves again within a few
    seconds of its start, with every service registered there again."""
    results = []  # (started, ended, error or None)
    stop = threading.Event()

    def through_b():
        while not stop.is_set():
            started = time.time()
            try:
                redeemed(cluster, cluster.via_b, login(cluster, cluster.via_b))
                results.append((started, time.time(), None))
            except Exception as e:  # recorded, judged below
                results.append((started, time.time(), repr(e)[:300]))

    worker = threading.Thread(target=through_b, daemon=True)
    worker.start()
    try:
        time.sleep(1.5)
        killed_at = time.time()
        cluster.a.kill()
        time.sleep(3)
        with pytest.raises(requests.ConnectionError):
            requests.get(cluster.a.url + "/healthz", timeout=2)
        down = [r for r in results if r[0] >= killed_at]
        assert cluster.b.readyz()[0] == 200, cluster.b.readyz()
        cluster.a.start()
        started_at = time.time()
        cluster.a.wait_ready(timeout=20)
        back_after = time.time() - started_at
        time.sleep(1)
    finally:
        stop.set()
        worker.join(timeout=30)
    after_kill = [r for r in results if r[0] >= killed_at]
    failed = [r for r in after_kill if r[2]]
    assert not failed, (failed, cluster.b.log_tail(), cluster.broker.log_tail())
    assert len(down) >= 3, (len(down), results)  # B served while A was down
    assert len([r for r in results if r[1] < killed_at and not r[2]]) >= 1, results
    assert back_after < 8, back_after
    status, body = cluster.a.readyz()
    assert status == 200 and body["instances"] == {name: 1 for name in EXPECTED}, body
    # A serves again, and codes cross between the two as before.
    redeemed(cluster, cluster.via_b, login(cluster, cluster.via_a))
    redeemed(cluster, cluster.via_a, login(cluster, cluster.via_b))
