"""IdP-initiated SAML login (issue 21): an unsolicited Response from the simulator's app tile
(/simulator/idp-initiated, an HTTP-POST page that submits itself through /static/autopost.js)
is refused with its reason in the event log while the connection's allow_idp_initiated is off;
on, it is verified and the browser goes (303) to the client's initiate_login_uri with iss,
login_hint and idp_initiated_login (a JWT signed with the broker's keys), and the client's
SP-initiated login that follows completes. The same Response again is refused as a replay."""
import time
import urllib.parse

import jwt
import requests

from test_op import (REDIRECT_URI, form_of, login_code, make_client, query_of, redeem,
                     verified_claims)

CONN = "conn_simulator"
START = "https://app.example.net/start-login"
TILE = "/simulator/idp-initiated"


def tile_post(broker, email="ada@example.com", relay_state=""):
    """The simulator's IdP-initiated button: the page that posts the Response to the ACS
    (checked to submit itself), and its fields."""
    session = requests.Session()
    page = session.get(broker.url + TILE, timeout=10)
    assert page.status_code == 200, page.text[:500]
    form = form_of(page.text)
    fields = dict(form.fields)
    fields.update(email=email, RelayState=relay_state)
    posted = session.post(broker.url + TILE, data=fields, timeout=10, allow_redirects=False)
    assert posted.status_code == 200, posted.text[:500]
    assert '<script src="/static/autopost.js"></script>' in posted.text, posted.text[:800]
    assert "<noscript><button type=\"submit\">Continue</button></noscript>" in posted.text
    assert "script-src 'self'" in posted.headers["Content-Security-Policy"]
    auto = form_of(posted.text)
    assert auto.action == f"{broker.url}/sso/saml/{CONN}/acs", auto.action
    return dict(auto.fields)


def acs(broker, fields):
    return requests.post(f"{broker.url}/sso/saml/{CONN}/acs", data=fields, timeout=10,
                         allow_redirects=False)


def reasons(broker):
    return [e.get("reason") or "" for e in broker.api("GET", f"/events?connection_id={CONN}")
            .json()["data"]]


def test_idp_initiated_login(broker):
    client = make_client(broker, "idp-initiated app", [REDIRECT_URI])
    cid = client["client_id"]
    # initiate_login_uri: https only, like redirect URIs; shown by GET.
    r = broker.api("PATCH", f"/clients/{cid}", {"initiate_login_uri": "http://app.example.net/s"})
    assert r.status_code == 400 and "initiate_login_uri" in r.json()["error_description"], r.text
    r = broker.api("PATCH", f"/clients/{cid}", {"initiate_login_uri": START})
    assert r.status_code == 200 and r.json()["initiate_login_uri"] == START, r.text
    assert broker.api("GET", f"/clients/{cid}").json()["initiate_login_uri"] == START
    org = broker.api("GET", f"/connections/{CONN}").json()["organization_id"]

    # Off (the default): refused, and the event log says how to turn it on.
    fields = tile_post(broker)
    assert "RelayState" not in fields or not fields["RelayState"], fields
    r = acs(broker, fields)
    assert r.status_code == 400 and "Location" not in r.headers, r.status_code
    assert any("does not accept IdP-initiated logins" in x and "allow_idp_initiated" in x
               for x in reasons(broker)), reasons(broker)[:3]

    # The option needs a client that can take the login.
    r = broker.api("PATCH", f"/connections/{CONN}", {"options": {"allow_idp_initiated": True}})
    assert r.status_code == 400 and "idp_initiated_client_id" in r.json()["error_description"]
    r = broker.api("PATCH", f"/connections/{CONN}", {"options": {
        "allow_idp_initiated": True, "idp_initiated_client_id": cid}})
    assert r.status_code == 200, r.text
    assert r.json()["options"]["allow_idp_initiated"] is True
    try:
        fields = tile_post(broker, relay_state="tile-7")
        r = acs(broker, fields)
        assert r.status_code == 303, (r.status_code, r.text[:500], reasons(broker)[:3])
        location = r.headers["Location"]
        assert location.startswith(START + "?"), location
        query = query_of(location)
        issuer = broker.get("/.well-known/openid-configuration").json()["issuer"]
        assert query["iss"] == issuer and query["login_hint"] == "ada@example.com", query
        claims = verified_claims(broker, client, query["idp_initiated_login"])
        assert claims["iss"] == issuer and claims["aud"] == cid, claims
        assert 0 < claims["exp"] - claims["iat"] <= 300, claims
        assert claims["organization_id"] == org and claims["connection_id"] == CONN, claims
        assert claims["login_hint"] == "ada@example.com" and claims["relay_state"] == "tile-7"
        assert len(claims["jti"]) >= 16, claims
        header = jwt.get_unverified_header(query["idp_initiated_login"])
        assert header["alg"] == "RS256" and header["kid"], header
        # Typed apart from ID tokens (typ JWT), so it never passes for one.
        assert header["typ"] == "idp-initiated-login+jwt", header

        # The same Response again: a replay, refused with its reason.
        r = acs(broker, fields)
        assert r.status_code == 400 and "Location" not in r.headers, r.status_code
        assert any("idp-initiated: replay" in x for x in reasons(broker)), reasons(broker)[:3]

        # What the app does with it: a normal SP-initiated login with the login_hint.
        code, _ = login_code(broker, {"client": client}, login_hint=query["login_hint"])
        r = redeem(broker, client, code)
        assert r.status_code == 200, r.text
        assert verified_claims(broker, client, r.json()["id_token"])["email"] == "ada@example.com"
    finally:
        assert broker.api("PATCH", f"/connections/{CONN}", {"options": {
            "allow_idp_initiated": None, "idp_initiated_client_id": None}}).status_code == 200


def test_a_flood_of_refused_unsolicited_responses_writes_a_bounded_number_of_events(fresh_broker):
    """One signed Response of one's own, posted again and again with no RelayState (the
    option off), is refused every time; the event log takes a burst of 20 such refusals per
    connection, then about one per 6 s, and the service's log counts the rest."""
    b = fresh_broker()
    fields = tile_post(b)
    started = time.monotonic()
    for _ in range(30):
        r = acs(b, fields)
        assert r.status_code == 400, r.text[:300]
    # Refills that may have landed during the loop on a slow machine (one per 6 s).
    refills = int((time.monotonic() - started) / 6) + 1
    refused = [reason for reason in reasons(b) if "allow_idp_initiated" in reason]
    assert 20 <= len(refused) <= min(29, 20 + refills), (len(refused), refills)
    assert "not written to the event log" in b.log_text()
