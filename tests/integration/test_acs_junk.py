"""Anonymous junk at the ACS grows no stored state (issue 16, item 5).

A POST to /sso/saml/<anything>/acs that belongs to no open login transaction (an unknown
connection, an unknown, missing, empty, over-long or already used RelayState, no SAMLResponse)
is answered 400, writes no login event and is counted in the gateway's /metrics as
sso_service_events_total{service="saml",name="acs_anonymous"}, with one rate-limited log line.
A failed login of a real transaction still writes its event."""
import secrets
import subprocess
import urllib.parse

import pytest

from apihelpers import db_counts, service_counter

DOMAIN = "acs-junk.example"
REDIRECT_URI = "https://app.acs-junk.example/callback"


def anonymous_count(broker):
    return service_counter(broker, "saml", "acs_anonymous")


def event_rows(broker):
    return db_counts(broker)[("sso.db", "login_events")]


@pytest.fixture(scope="module")
def setup(broker, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("acs-junk")
    key, cert = tmp / "idp.key", tmp / "idp.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=junk idp", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    client = broker.api("POST", "/clients", {"name": "acs-junk",
                                             "redirect_uris": [REDIRECT_URI]}).json()
    org = broker.api("POST", "/organizations", {"display_name": "ACS Junk Corp"}).json()
    assert broker.api("POST", f"/organizations/{org['id']}/domains",
                      {"domain": DOMAIN}).status_code == 201
    r = broker.api("POST", f"/organizations/{org['id']}/connections", {
        "type": "saml",
        "saml": {"idp_entity_id": "https://idp.acs-junk.example/metadata",
                 "idp_sso_url": "https://idp.acs-junk.example/sso",
                 "idp_certificates": [cert.read_text()]}})
    assert r.status_code == 201, r.text
    conn = r.json()
    assert broker.api("POST", f"/connections/{conn['id']}/enable").status_code == 200
    return {"client": client, "conn": conn}


def start_login(broker, setup):
    """A real login transaction: its RelayState and the client's state."""
    state = "st-" + secrets.token_hex(6)
    params = {"response_type": "code", "client_id": setup["client"]["client_id"],
              "redirect_uri": REDIRECT_URI, "scope": "openid email", "state": state,
              "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
              "code_challenge_method": "S256", "login_hint": f"jo@{DOMAIN}"}
    r = broker.get("/oauth/authorize?" + urllib.parse.urlencode(params), allow_redirects=False)
    assert r.status_code == 302, r.text
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(r.headers["Location"]).query))
    return query["RelayState"], state


def junk_posts(broker, setup):
    """(path, form) of every shape of anonymous ACS POST."""
    acs = f"/sso/saml/{setup['conn']['id']}/acs"
    body = "PHNhbWxwOlJlc3BvbnNlLz4="  # <samlp:Response/>
    unknown = "txn_" + secrets.token_hex(16)
    return [
        ("/sso/saml/conn_doesnotexist0/acs", {"SAMLResponse": body, "RelayState": unknown}),
        ("/sso/saml/conn_doesnotexist0/acs", {"SAMLResponse": body}),
        (acs, {"SAMLResponse": body, "RelayState": unknown}),
        (acs, {"SAMLResponse": body, "RelayState": "x"}),
        (acs, {"SAMLResponse": body}),
        (acs, {"SAMLResponse": body, "RelayState": ""}),
        (acs, {"SAMLResponse": body, "RelayState": "r" * 81}),
        (acs, {"RelayState": unknown}),
        (acs, {}),
    ]


def test_anonymous_acs_posts_store_nothing_and_are_counted(broker, setup):
    events, counted = event_rows(broker), anonymous_count(broker)
    posts = junk_posts(broker, setup) * 4
    for path, form in posts:
        r = broker.post(path, data=form, allow_redirects=False)
        assert r.status_code == 400, (path, form, r.status_code, r.text[:200])
        assert "Location" not in r.headers
    assert event_rows(broker) == events
    assert anonymous_count(broker) == counted + len(posts)
    # One log line for the burst, not one per POST (at most one per 10 s).
    lines = [line for line in broker.log_text().splitlines()
             if "refused a POST that has no open login transaction" in line]
    assert 1 <= len(lines) <= 2, lines


def test_a_failed_login_of_a_real_transaction_still_writes_its_event(broker, setup):
    relay_state, state = start_login(broker, setup)
    events, counted = event_rows(broker), anonymous_count(broker)
    acs = f"/sso/saml/{setup['conn']['id']}/acs"
    r = broker.post(acs, data={"SAMLResponse": "PHNhbWxwOlJlc3BvbnNlLz4=",
                               "RelayState": relay_state}, allow_redirects=False)
    assert r.status_code == 302, r.text
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(r.headers["Location"]).query))
    assert query.get("error") == "access_denied" and query.get("state") == state, query
    assert event_rows(broker) == events + 1
    newest = broker.api("GET", f"/events?connection_id={setup['conn']['id']}").json()["data"][0]
    assert newest["outcome"] == "failure" and newest["reason"], newest
    assert anonymous_count(broker) == counted
    # The same RelayState again: its transaction is used, so this one is anonymous.
    r = broker.post(acs, data={"SAMLResponse": "PHNhbWxwOlJlc3BvbnNlLz4=",
                               "RelayState": relay_state}, allow_redirects=False)
    assert r.status_code == 400, r.text
    assert event_rows(broker) == events + 1
    assert anonymous_count(broker) == counted + 1


def test_service_counters_are_not_sent_to_the_client(broker, setup):
    r = broker.post(f"/sso/saml/{setup['conn']['id']}/acs", data={}, allow_redirects=False)
    assert r.status_code == 400
    assert "acs_anonymous" not in r.text
    assert not any("acs_anonymous" in f"{k}: {v}" for k, v in r.headers.items()), r.headers
