"""What one SAML login costs, counted from /metrics (issue 17, "What to measure"): the bus
round trips the broker routed (sso_bus_requests_total) and the directory's write transactions
(sso_directory_write_transactions_total), step by step. The expected numbers are those of the
code today, in LOGIN_COST below: lower them there when a login gets cheaper."""
import re
import urllib.parse

import requests

from test_op import (PERSON, REDIRECT_URI, base_params, form_of, make_client, pkce, query_of,
                     redeem)

# Per step of a login: (bus round trips, directory write transactions). A round trip is one
# request the broker sent to a service instance: the gateway's HTTP request to the service
# that owns the path counts as one, and so does every RPC a service makes to another.
# Before issue 17's round-trip work: 11 round trips and 3 write transactions in all
# (authorize was 4: gateway->token, authorize_lookup, saml_start, txn_create).
LOGIN_COST = {
    "authorize": (3, 1),   # gateway->token, TokenWrites.AuthorizeBegin, UpstreamStart.Start
    "acs": (2, 1),         # gateway->saml, UpstreamWrites.LoginComplete (the saml service
                           # keeps the connection; the directory checks its version)
    "token": (2, 1),       # gateway->token, TokenWrites.CodeRedeem
    "userinfo": (2, 0),    # gateway->token, TokenReads.AccessTokenCheck
}

_SERIES = re.compile(r'^(sso_bus_requests_total|sso_directory_write_transactions_total)'
                     r'(\{[^}]*\})? (\d+)$')


def counters(broker):
    """The bus requests by 'service caller rpc', their total, and the write transactions."""
    text = broker.get("/metrics").text
    requests_by, writes = {}, None
    for line in text.splitlines():
        m = _SERIES.match(line)
        if not m:
            continue
        if m.group(1) == "sso_bus_requests_total":
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
            requests_by[f"{labels['service']} {labels['caller']} {labels['rpc']}"] = int(m.group(3))
        else:
            writes = int(m.group(3))
    assert writes is not None, "no sso_directory_write_transactions_total in /metrics"
    return requests_by, writes


class Meter:
    """Counter deltas around each step of a login."""

    def __init__(self, broker):
        self.broker = broker
        self.steps = {}

    def step(self, name, action):
        before, writes_before = counters(self.broker)
        result = action()
        after, writes_after = counters(self.broker)
        moved = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
        self.steps[name] = (sum(moved.values()), writes_after - writes_before, moved)
        return result


def login(broker, client, meter):
    """One complete login through the simulator, each step measured: authorize (the 302 to the
    IdP), the simulator's page and form (the IdP's work, not the broker's), the ACS, the token
    request and userinfo."""
    verifier, challenge = pkce()
    params = base_params({"client": client}, login_hint="ada@example.com", nonce="n-1",
                         code_challenge=challenge, code_challenge_method="S256")
    session = requests.Session()
    authorize = broker.url + "/oauth/authorize?" + urllib.parse.urlencode(params)
    r = meter.step("authorize", lambda: session.get(authorize, allow_redirects=False, timeout=10))
    assert r.status_code in (302, 303), (r.status_code, r.text[:500])
    page_url = urllib.parse.urljoin(authorize, r.headers["Location"])
    assert page_url.startswith(broker.url + "/simulator/"), page_url
    page = meter.step("simulator page", lambda: session.get(page_url, timeout=10))
    assert page.status_code == 200, (page.status_code, page.text[:500])
    form = form_of(page.text)
    fields = dict(form.fields)
    fields.update(PERSON)
    posted = meter.step("simulator form", lambda: session.post(
        urllib.parse.urljoin(page_url, form.action), data=fields, allow_redirects=False,
        timeout=10))
    assert posted.status_code == 200, (posted.status_code, posted.text[:500])
    acs = form_of(posted.text)
    acs_url = urllib.parse.urljoin(page_url, acs.action)
    answered = meter.step("acs", lambda: session.post(acs_url, data=acs.fields,
                                                      allow_redirects=False, timeout=10))
    assert answered.status_code in (302, 303), (answered.status_code, answered.text[:500])
    location = answered.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    code = query_of(location)["code"]
    tokens = meter.step("token", lambda: redeem(broker, client, code, verifier=verifier))
    assert tokens.status_code == 200, tokens.text
    access = tokens.json()["access_token"]
    info = meter.step("userinfo", lambda: broker.get(
        "/userinfo", headers={"Authorization": "Bearer " + access}))
    assert info.status_code == 200 and info.json()["email"] == "ada@example.com", info.text


def test_one_login_costs_what_the_code_makes_today(broker):
    client = make_client(broker, "login-cost-rp", [REDIRECT_URI])
    # The first login fills the services' caches (keys, connection configs); the cost of a
    # login is that of every one after it.
    login(broker, client, Meter(broker))
    meter = Meter(broker)
    login(broker, client, meter)
    measured = {name: meter.steps[name][:2] for name in LOGIN_COST}
    detail = {name: meter.steps[name][2] for name in LOGIN_COST}
    assert measured == LOGIN_COST, detail
