"""The developer dashboard's "Try it" end to end through the gateway: a signed-in admin starts
a try, the browser walks the normal login (authorize, the IdP simulator's page, the ACS) to
/dashboard/try/callback, where the token service shows the ID token it minted for the built-in
client cli_dashboard_try. Refused: the callback in another admin's browser or in none, the same
callback twice, the try client's code at /oauth/token, and Try it with the simulator off."""
import html
import re
import urllib.parse

import requests

from test_dashboard_accounts import account
from test_op import query_of, simulator_login

PERSON = {"email": "ada@example.com", "given_name": "Ada", "family_name": "<b>Lovelace</b>",
          "groups": "engineering", "scenario": "success"}


def start(broker, s, csrf):
    r = s.post(broker.url + "/dashboard/api/try", headers={"X-CSRF-Token": csrf}, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()["authorize_url"]


def login(broker, s, csrf, person=PERSON):
    """A try up to its callback: the callback URL (code and state) in the login's browser."""
    url = start(broker, s, csrf)
    assert url.startswith(broker.url + "/oauth/authorize?")
    params = query_of(url)
    location = simulator_login(broker, params, person, session=s)
    assert location.startswith(broker.url + "/dashboard/try/callback?"), location
    return urllib.parse.urljoin(broker.url, location)


def claims_of(page):
    """The claims table of the callback's page: name -> the text shown."""
    table = page.split('data-testid="claims"', 1)[1].split("</table>", 1)[0]
    return {html.unescape(name): html.unescape(value) for name, value in re.findall(
        r'<th scope="row">(.*?)</th><td><code>(.*?)</code></td>', table)}


def test_try_shows_the_minted_id_token(broker):
    _, s, csrf = account(broker, "try.shows@example.com")
    params = query_of(start(broker, s, csrf))
    assert params["client_id"] == "cli_dashboard_try" and params["organization_id"] == "org_test"
    assert params["code_challenge_method"] == "S256" and "code_verifier" not in params
    location = simulator_login(broker, params, PERSON, session=s)
    assert location.startswith(broker.url + "/dashboard/try/callback?"), location
    callback = urllib.parse.urljoin(broker.url, location)
    r = s.get(callback, timeout=10)
    assert r.status_code == 200, r.text
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp, csp
    assert "<script" not in r.text and "<b>Lovelace" not in r.text
    claims = claims_of(r.text)
    assert claims["iss"] == broker.url and claims["aud"] == "cli_dashboard_try"
    assert claims["azp"] == "cli_dashboard_try" and claims["oid"] == "org_test"
    assert claims["email"] == "ada@example.com" and claims["family_name"] == "<b>Lovelace</b>"
    assert claims["sub"].startswith("conn_simulator;") and claims["connection_type"] == "saml"
    assert claims["nonce"] == params["nonce"]
    # The raw JWT shown is a real one: it verifies as any client's would (the claims match).
    jwt = re.search(r'data-testid="jwt"><code>([A-Za-z0-9_.-]+)</code>', r.text).group(1)
    assert jwt.count(".") == 2
    # The same callback again: the try and the code are spent.
    again = s.get(callback, timeout=10)
    assert again.status_code == 410 and "used already" in again.text, again.text
    # The login is in the event log as any other.
    events = broker.api("GET", "/events?connection_id=conn_simulator").json()["data"]
    assert any(e.get("email") == "ada@example.com" and e["client_id"] == "cli_dashboard_try"
               for e in events), events[:3]


def test_the_callback_needs_the_browser_that_started_the_try(broker):
    _, s, csrf = account(broker, "try.owner@example.com")
    _, other, _ = account(broker, "try.other@example.com")
    callback = login(broker, s, csrf)
    # No dashboard session: refused, nothing spent.
    r = requests.get(callback, timeout=10)
    assert r.status_code == 403 and "not signed in" in r.text, r.text
    # Another admin's session (a login CSRF: someone else's try in this browser): refused.
    r = other.get(callback, timeout=10)
    assert r.status_code == 403 and "another dashboard session" in r.text, r.text
    # A state that names no try.
    assert s.get(callback.replace("state=", "state=x"), timeout=10).status_code == 404
    # The owner still gets the token: the refusals spent nothing.
    r = s.get(callback, timeout=10)
    assert r.status_code == 200 and claims_of(r.text)["aud"] == "cli_dashboard_try", r.text


def test_the_try_client_has_no_way_in_at_the_token_endpoint(broker):
    _, s, csrf = account(broker, "try.token@example.com")
    callback = login(broker, s, csrf)
    code = query_of(callback)["code"]
    # The API cannot give it a secret, another redirect URI, or take it away...
    for method, path, body in (("POST", "/clients/cli_dashboard_try/rotate_secret", {}),
                               ("PATCH", "/clients/cli_dashboard_try",
                                {"redirect_uris": ["https://evil.example/cb"]}),
                               ("DELETE", "/clients/cli_dashboard_try", None)):
        r = broker.api(method, path, body)
        assert r.status_code == 409 and "built-in" in r.json()["error_description"], r.text
    # ...and no secret opens /oauth/token for it: not the empty one, not its stored marker.
    for secret in ("", "internal"):
        r = requests.post(broker.url + "/oauth/token", data={
            "grant_type": "authorization_code", "code": code, "client_id": "cli_dashboard_try",
            "client_secret": secret, "redirect_uri": broker.url + "/dashboard/try/callback"},
            timeout=10)
        assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text
    # The code is still the try's.
    assert s.get(callback, timeout=10).status_code == 200


def test_try_is_off_without_the_simulator(fresh_broker):
    b = fresh_broker(extra_env={"SSO_ENVIRONMENT": "production"})
    _, s, csrf = account(b, "try.prod@example.com")
    r = s.post(b.url + "/dashboard/api/try", headers={"X-CSRF-Token": csrf}, timeout=10)
    assert r.status_code == 404, r.text
    assert b.api("GET", "/clients/cli_dashboard_try").status_code == 404
    r = s.get(b.url + "/dashboard/try/callback?code=x&state=y", timeout=10)
    assert r.status_code == 404 and "simulator" in r.text, r.text
