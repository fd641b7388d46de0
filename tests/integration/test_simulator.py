"""The IdP simulator's limits (issue 16, item 7): off in production unless SSO_SIMULATOR=1 (no
routes, no Test Organization); it signs only for an open login transaction the broker started
for its own connection and only for that login's AuthnRequest; its form is CSRF-protected;
and the ACS refuses a response whose connection was disabled after the login started."""
import base64
import os
import signal
import subprocess
import urllib.parse
import zlib

import pytest
import requests

from apihelpers import list_all
from conftest import BIN, Broker
from test_op import (REDIRECT_URI, base_params, form_of, make_client, pem_certificate,
                     query_of, simulator_page)

SIM = "/simulator/sso"
PERSON = {"email": "ada@example.com", "given_name": "Ada", "family_name": "Lovelace",
          "groups": "", "scenario": "success"}


@pytest.fixture(scope="module")
def sim(broker, tmp_path_factory):
    client = make_client(broker, "sim-rp", [REDIRECT_URI])
    # A customer's SAML connection: its logins are not the simulator's to sign.
    org = broker.api("POST", "/organizations", {"display_name": "Other IdP Corp"}).json()
    assert broker.api("POST", f"/organizations/{org['id']}/domains",
                      {"domain": "other-idp.example"}).status_code == 201
    cert = pem_certificate(tmp_path_factory.mktemp("sim"))
    other = broker.api("POST", f"/organizations/{org['id']}/connections", {
        "type": "saml", "saml": {"idp_entity_id": "urn:test:other-idp",
                                 "idp_sso_url": "https://other-idp.example/sso",
                                 "idp_certificates": [cert]}}).json()
    assert broker.api("POST", f"/connections/{other['id']}/enable").status_code == 200
    return {"client": client, "other": other}


def params(sim, **extra):
    return base_params({"client": sim["client"]}, **dict({"login_hint": "ada@example.com"},
                                                          **extra))


class Login:
    """A login started at /oauth/authorize, up to the simulator's page, in its own session."""

    def __init__(self, broker, sim):
        self.session = requests.Session()
        self.page, self.url = simulator_page(broker, params(sim), self.session)
        assert self.page.status_code == 200 and SIM in self.url, (self.page.status_code, self.url)
        self.form = dict(form_of(self.page.text).fields)
        self.broker = broker

    def post(self, fields=None, cookies=None, **changes):
        """POSTs the simulator's form (with changes) in this session or with the given cookies."""
        data = dict(self.form)
        data.update(PERSON)
        data.update(fields or {})
        for name, value in changes.items():
            if value is None:
                data.pop(name, None)
            else:
                data[name] = value
        if cookies is not None:
            return requests.post(self.broker.url + SIM, data=data, cookies=cookies,
                                 allow_redirects=False, timeout=10)
        return self.session.post(self.broker.url + SIM, data=data, allow_redirects=False,
                                 timeout=10)

    def acs(self, signed):
        """Posts the simulator's signed answer to the ACS; the Location it redirects to."""
        acs = form_of(signed.text)
        r = self.session.post(urllib.parse.urljoin(self.url, acs.action), data=acs.fields,
                              allow_redirects=False, timeout=10)
        assert r.status_code in (302, 303), (r.status_code, r.text[:500])
        return r.headers["Location"]


def assert_nothing_signed(r, status):
    assert r.status_code == status, (r.status_code, r.text[:600])
    assert "SAMLResponse" not in r.text and "Signature" not in r.text, r.text[:600]


def authn_request(request_id, acs):
    """An AuthnRequest of the HTTP-Redirect binding (raw DEFLATE, base64)."""
    xml = (f'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
           f'ID="{request_id}" Version="2.0" IssueInstant="2030-01-01T00:00:00Z" '
           f'AssertionConsumerServiceURL="{acs}"/>').encode()
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(deflate.compress(xml) + deflate.flush()).decode()


def acs_of(saml_request):
    xml = zlib.decompress(base64.b64decode(saml_request), -15).decode()
    start = xml.index('AssertionConsumerServiceURL="') + len('AssertionConsumerServiceURL="')
    return xml[start:xml.index('"', start)]


# ---- the happy path still works, and the form carries its token ------------------------------

def test_a_login_through_the_simulator_still_works(broker, sim):
    login = Login(broker, sim)
    cookie = login.page.headers.get("Set-Cookie", "")
    assert cookie.startswith("sso_sim_csrf=") and "HttpOnly" in cookie and \
        "SameSite=Lax" in cookie and "Path=/simulator/sso" in cookie, cookie
    assert login.form["sso_csrf"] == cookie.split(";")[0].split("=", 1)[1]
    signed = login.post()
    assert signed.status_code == 200 and "SAMLResponse" in signed.text, signed.text[:500]
    query = query_of(login.acs(signed))
    assert "code" in query and "error" not in query, query


# ---- (2) it signs only for the broker's own open transactions --------------------------------

def test_a_forged_in_response_to_is_not_signed(broker, sim):
    login = Login(broker, sim)
    forged = authn_request("_forged-" + os.urandom(8).hex(), acs_of(login.form["SAMLRequest"]))
    assert_nothing_signed(login.post(SAMLRequest=forged), 400)
    # Not on the page either.
    r = login.session.get(broker.url + SIM, params={"SAMLRequest": forged,
                                                    "RelayState": login.form["RelayState"]})
    assert_nothing_signed(r, 400)
    # The genuine request of the same login still signs.
    assert login.post().status_code == 200


@pytest.mark.parametrize("relay_state", ["forged-relay-state-0123456789", "x", "", None,
                                         "a" * 81, "bad relay\nstate"])
def test_an_unknown_or_absent_relay_state_is_not_signed(broker, sim, relay_state):
    login = Login(broker, sim)
    assert_nothing_signed(login.post(RelayState=relay_state), 400)
    q = {"SAMLRequest": login.form["SAMLRequest"]}
    if relay_state is not None:
        q["RelayState"] = relay_state
    assert_nothing_signed(login.session.get(broker.url + SIM, params=q), 400)


def test_the_relay_state_of_another_login_is_not_signed(broker, sim):
    first, second = Login(broker, sim), Login(broker, sim)
    # One login's AuthnRequest with another's (open) transaction.
    assert_nothing_signed(first.post(RelayState=second.form["RelayState"]), 400)


def test_a_transaction_of_another_connection_is_not_signed(broker, sim):
    login = Login(broker, sim)
    r = broker.get("/oauth/authorize?" + urllib.parse.urlencode(
        params(sim, login_hint=None, connection_id=sim["other"]["id"])), allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(
        "https://other-idp.example/sso?"), (r.status_code, r.headers)
    other_relay = query_of(r.headers["Location"])["RelayState"]
    assert_nothing_signed(login.post(RelayState=other_relay), 400)


def test_a_used_transaction_is_not_signed_again(broker, sim):
    login = Login(broker, sim)
    signed = login.post()
    assert "code" in query_of(login.acs(signed))
    again = login.post()
    assert_nothing_signed(again, 400)
    assert "already used" in again.text, again.text[:600]


# ---- (3) the form is CSRF-protected ----------------------------------------------------------

def test_the_form_without_its_csrf_token_is_refused(broker, sim):
    login = Login(broker, sim)
    token = login.form.get("sso_csrf", "")
    other = "A" * 32 if token != "A" * 32 else "B" * 32
    refused = [
        login.post(cookies={}),                              # no cookie
        login.post(cookies={"sso_sim_csrf": other}),         # another (well-formed) cookie
        login.post(cookies={"sso_sim_csrf": ""}),            # an empty one
        login.post(sso_csrf=None),                           # no field
        login.post(sso_csrf=""),                             # an empty field
        login.post(sso_csrf=other),                          # the wrong field
    ]
    for r in refused:
        assert_nothing_signed(r, 403)
    # The page's own pair still signs.
    assert login.post().status_code == 200


# ---- (4) the ACS re-checks the connection -----------------------------------------------------

def test_a_connection_disabled_during_the_login_is_refused_at_the_acs(broker, sim):
    login = Login(broker, sim)
    signed = login.post()
    assert signed.status_code == 200
    assert broker.api("POST", "/connections/conn_simulator/disable").status_code == 200
    try:
        location = login.acs(signed)
    finally:
        assert broker.api("POST", "/connections/conn_simulator/enable").status_code == 200
    assert location.startswith(REDIRECT_URI + "?"), location
    query = query_of(location)
    assert query.get("error") == "access_denied" and "code" not in query, query
    events = list_all(broker, "/events?connection_id=conn_simulator")
    assert events and events[0]["outcome"] == "failure", events[:2]
    assert events[0]["reason"] == "connection conn_simulator is not active", events[0]


# ---- (1) SSO_ENVIRONMENT ---------------------------------------------------------------------

def assert_no_simulator(b):
    for method, path in [("GET", SIM), ("GET", SIM + "?SAMLRequest=x&RelayState=y"),
                         ("POST", SIM), ("GET", "/simulator/")]:
        r = b.get(path) if method == "GET" else b.post(path, data={"SAMLRequest": "x"})
        assert r.status_code == 404, (method, path, r.status_code, r.text[:300])


def seeded_parts(b):
    orgs = [o for o in list_all(b, "/organizations") if o["display_name"] == "Test Organization"]
    conn = b.api("GET", "/connections/conn_simulator")
    return orgs, conn


def test_production_has_no_simulator_and_no_test_organization(fresh_broker):
    b = fresh_broker(extra_env={"SSO_ENVIRONMENT": "production"})
    assert_no_simulator(b)
    orgs, conn = seeded_parts(b)
    assert orgs == [] and conn.status_code == 404, (orgs, conn.text)
    # example.com is nobody's: an organization may claim it, and a login hint finds nothing.
    org = b.api("POST", "/organizations", {"display_name": "Claims example.com"}).json()
    assert b.api("POST", f"/organizations/{org['id']}/domains",
                 {"domain": "example.com"}).status_code == 201
    assert "seeded Test Organization" not in b.log_text()


def test_production_with_the_simulator_switched_on(fresh_broker):
    b = fresh_broker(extra_env={"SSO_ENVIRONMENT": "production", "SSO_SIMULATOR": "1"})
    orgs, conn = seeded_parts(b)
    assert len(orgs) == 1 and conn.status_code == 200 and conn.json()["status"] == "active"
    client = make_client(b, "prod-sim", [REDIRECT_URI])
    login = Login(b, {"client": client})
    query = query_of(login.acs(login.post()))
    assert "code" in query, query


def test_a_seeded_database_started_in_production(tmp_path):
    """The Test Organization of an earlier development run: its connection is switched off
    (logins through it refused) and back on when the simulator is on again."""
    data_dir = str(tmp_path / "data")
    os.makedirs(data_dir)
    runs = [Broker(data_dir=data_dir, extra_env=env) for env in
            ({}, {"SSO_ENVIRONMENT": "production"}, {})]
    for b in runs[1:]:
        # The same broker restarted: the same address (so the same ACS) and admin client.
        b.http_port, b.url, b.env = runs[0].http_port, runs[0].url, dict(b.env)
        for name in ("SSO_PUBLIC_URL", "SSO_HTTP_ADDR", "SSO_ADMIN_CLIENT_ID",
                     "SSO_ADMIN_CLIENT_SECRET"):
            b.env[name] = runs[0].env[name]
        b.admin_id, b.admin_secret = runs[0].admin_id, runs[0].admin_secret
    try:
        runs[0].start()
        client = make_client(runs[0], "restart", [REDIRECT_URI])
        login = Login(runs[0], {"client": client})   # started in development ...
        signed = login.post()
        assert signed.status_code == 200
        runs[0].stop()
        runs[1].start()                               # ... finished in production
        assert_no_simulator(runs[1])
        assert runs[1].api("GET", "/connections/conn_simulator").json()["status"] == "inactive"
        query = query_of(login.acs(signed))
        assert query.get("error") == "access_denied" and "code" not in query, query
        events = list_all(runs[1], "/events?connection_id=conn_simulator")
        assert events[0]["reason"] == "connection conn_simulator is not active", events[0]
        # Nor can a new login start through it.
        r = runs[1].get("/oauth/authorize?" + urllib.parse.urlencode(
            params({"client": client})), allow_redirects=False)
        assert r.status_code == 302 and "error=" in r.headers["Location"], r.headers
        runs[1].stop()
        runs[2].start()                               # development again: back on
        assert runs[2].api("GET", "/connections/conn_simulator").json()["status"] == "active"
        login = Login(runs[2], {"client": client})
        assert "code" in query_of(login.acs(login.post()))
    finally:
        for b in runs:
            b.stop()


@pytest.mark.parametrize("name,value,message", [
    ("SSO_ENVIRONMENT", "staging", "SSO_ENVIRONMENT must be development or production"),
    ("SSO_ENVIRONMENT", "Production", "SSO_ENVIRONMENT must be development or production"),
    ("SSO_SIMULATOR", "yes", "SSO_SIMULATOR must be 0 or 1"),
])
def test_an_invalid_environment_stops_every_process(tmp_path, name, value, message):
    env = dict(os.environ, SSO_DATA_DIR=str(tmp_path), SSO_BROKER_ENDPOINT="tcp://127.0.0.1:1",
               SSO_HTTP_ADDR="127.0.0.1:1")
    env[name] = value
    for binary in ["sso-supervisor", "sso-gateway", "sso-saml", "sso-directory", "sso-token"]:
        args = [os.path.join(BIN, binary)]
        if binary == "sso-supervisor":
            args += ["--bin-dir", BIN]
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        try:
            _, stderr = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            pytest.fail(f"{binary} kept running with {name}={value}")
        assert proc.returncode != 0, (binary, stderr)
        assert message in stderr, (binary, stderr)
