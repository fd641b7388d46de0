"""Admin portal links end to end through the gateway: create/list/revoke, the start page and
its exchange, the session cookie's attributes, the pages of expired, revoked and used links,
the 401/403 rules of the portal API, logout, and that no token reaches the access log (or any
log line of the run)."""
import re
import time

import pytest
import requests

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def make_org(broker, name):
    r = broker.api("POST", "/organizations", {"display_name": name})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def make_link(broker, org, body=None):
    r = broker.api("POST", f"/organizations/{org}/portal_links", body)
    assert r.status_code == 201, r.text
    link = r.json()
    assert link["location"].startswith(broker.url + "/portal/start#")
    return link, link["location"].split("#", 1)[1]


def exchange(broker, token, session=None):
    s = session or requests.Session()
    r = s.post(broker.url + "/portal/start", data={"token": token}, allow_redirects=False,
               headers={"Origin": broker.url}, timeout=10)
    return s, r


def portal_session(broker, org):
    link, token = make_link(broker, org)
    s, r = exchange(broker, token)
    assert r.status_code == 303, r.text
    csrf = s.get(broker.url + "/portal/api/session", timeout=10).json()["csrf_token"]
    return s, csrf, link, token


@pytest.fixture(scope="module")
def tokens():
    return []


def test_links_create_list_revoke(broker, tokens):
    org = make_org(broker, "Links Org")
    link, token = make_link(broker, org)
    tokens.append(token)
    assert link["id"].startswith("pl_")
    short, short_token = make_link(broker, org, {"expires_in": 300})
    tokens.append(short_token)
    for bad in (299, 2592001, "600", 1.5, 0, -1):
        r = broker.api("POST", f"/organizations/{org}/portal_links", {"expires_in": bad})
        assert r.status_code == 400 and "from 300 (5 minutes) to 2592000" in r.text, r.text
    r = broker.api("GET", f"/organizations/{org}/portal_links")
    assert r.status_code == 200
    listed = r.json()["data"]
    assert [x["id"] for x in listed] == [link["id"], short["id"]]
    assert token not in r.text and short_token not in r.text and "location" not in r.text
    r = broker.api("DELETE", f"/organizations/{org}/portal_links/{short['id']}")
    assert r.status_code == 204
    r = broker.api("GET", f"/organizations/{org}/portal_links")
    assert [x["id"] for x in r.json()["data"]] == [link["id"]]
    assert broker.api("DELETE", f"/organizations/{org}/portal_links/{short['id']}").status_code \
        == 404


def test_start_page_and_exchange(broker, tokens):
    org = make_org(broker, "Exchange Org")
    link, token = make_link(broker, org)
    tokens.append(token)
    page = requests.get(broker.url + "/portal/start", timeout=10)
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    # same-origin: a browser's POST then names our origin (under no-referrer it says "null");
    # the token is in the fragment, which no Referer carries.
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert '<script src="/static/portal-start.js"></script>' in page.text
    js = requests.get(broker.url + "/static/portal-start.js", timeout=10)
    assert js.status_code == 200 and "replaceState" in js.text

    s, r = exchange(broker, token)
    assert r.status_code == 303 and r.headers["Location"] == broker.url + "/portal/"
    cookie = r.headers["Set-Cookie"]
    # Over plain http: no __Host- prefix and no Secure; HttpOnly and Lax always.
    assert cookie.startswith("sso_portal=") and "; HttpOnly; SameSite=Lax" in cookie
    assert "Path=/portal/" in cookie and "Secure" not in cookie
    assert token not in cookie and token not in r.headers["Location"]
    r = s.get(broker.url + "/portal/api/organization", timeout=10)
    assert r.status_code == 200 and r.json()["id"] == org
    assert r.json()["display_name"] == "Exchange Org" and r.json()["domains"] == []

    # The same link again: already used, no cookie.
    _, again = exchange(broker, token)
    assert again.status_code == 410 and "already used" in again.text
    assert "Set-Cookie" not in again.headers
    # Another site's form: refused, link untouched.
    link2, token2 = make_link(broker, org)
    tokens.append(token2)
    r = requests.post(broker.url + "/portal/start", data={"token": token2}, timeout=10,
                      headers={"Origin": "https://evil.example"}, allow_redirects=False)
    assert r.status_code == 403 and "Set-Cookie" not in r.headers
    assert exchange(broker, token2)[1].status_code == 303


def test_expired_revoked_unknown_pages(broker, tokens):
    org = make_org(broker, "Pages Org")
    link, token = make_link(broker, org)
    tokens.append(token)
    # Expire it in the database (the directory reads expires_at on every exchange).
    db = broker.db()
    with db:
        db.execute("UPDATE portal_links SET expires_at = ? WHERE id = ?",
                   (int(time.time()) - 5, link["id"]))
    db.close()
    _, r = exchange(broker, token)
    assert r.status_code == 410 and "expired at" in r.text and "Set-Cookie" not in r.headers
    assert "text/html" in r.headers["Content-Type"]

    link, token = make_link(broker, org)
    tokens.append(token)
    assert broker.api("DELETE", f"/organizations/{org}/portal_links/{link['id']}").status_code \
        == 204
    _, r = exchange(broker, token)
    assert r.status_code == 410 and "revoked" in r.text and "Set-Cookie" not in r.headers

    _, r = exchange(broker, "A" * 43)
    assert r.status_code == 404 and "not valid" in r.text
    # A token typed into a path: a page, no session, nothing quoted back.
    link, token = make_link(broker, org)
    tokens.append(token)
    r = requests.get(broker.url + "/portal/" + token, timeout=10)
    assert r.status_code == 404 and token not in r.text and "Set-Cookie" not in r.headers
    assert exchange(broker, token)[1].status_code == 303  # and the link still works


def test_api_rules(broker, tokens):
    a = make_org(broker, "Org A")
    b = make_org(broker, "Org B")
    assert broker.api("POST", f"/organizations/{b}/domains",
                      {"domain": "org-b.example"}).status_code == 201
    sa, csrf_a, link_a, token_a = portal_session(broker, a)
    sb, csrf_b, _, token_b = portal_session(broker, b)
    tokens.extend([token_a, token_b])
    u = broker.url + "/portal/api"

    # No session: 401 everywhere.
    for path in ("/organization", "/session", "/nothing"):
        assert requests.get(u + path, timeout=10).status_code == 401
    assert requests.post(u + "/logout", timeout=10).status_code == 401

    # A asking for B in any way: 403, and nothing of B in the answer.
    for r in (sa.get(u + "/organization", params={"organization_id": b}),
              sa.get(u + f"/organizations/{b}"),
              sa.get(u + f"/organization/{b}/domains"),
              sa.post(u + "/logout", json={"organization_id": b},
                      headers={"X-CSRF-Token": csrf_a})):
        assert r.status_code == 403, (r.request.url, r.text)
        assert "org-b.example" not in r.text and "Org B" not in r.text
    r = sb.get(u + "/organization")
    assert r.status_code == 200 and r.json()["domains"] == ["org-b.example"]

    # CSRF: none, another session's, wrong: 403, and the session lives.
    for headers in ({}, {"X-CSRF-Token": csrf_b}, {"X-CSRF-Token": "0" * 32}):
        assert sa.post(u + "/logout", headers=headers).status_code == 403
    assert sa.get(u + "/organization").status_code == 200

    # Revoking A's link ends A's session; logout ends B's.
    assert broker.api("DELETE", f"/organizations/{a}/portal_links/{link_a['id']}").status_code \
        == 204
    assert sa.get(u + "/organization").status_code == 401
    r = sb.post(u + "/logout", headers={"X-CSRF-Token": csrf_b})
    assert r.status_code == 204 and "Max-Age=0" in r.headers["Set-Cookie"]
    assert sb.get(u + "/organization").status_code == 401


def test_idle_and_absolute_expiry(broker, tokens):
    org = make_org(broker, "Expiry Org")
    s, csrf, link, token = portal_session(broker, org)
    s2, _, _, token2 = portal_session(broker, org)
    tokens.extend([token, token2])
    db = broker.db()
    now = int(time.time())
    with db:
        db.execute("UPDATE portal_sessions SET last_seen = ? WHERE link_id = ?",
                   (now - 1800, link["id"]))
        db.execute("UPDATE portal_sessions SET expires_at = ? WHERE link_id <> ? AND "
                   "organization_id = ?", (now, link["id"], org))
    db.close()
    r = s.get(broker.url + "/portal/api/organization", timeout=10)
    assert r.status_code == 401 and "30 minutes" in r.text
    r = s2.get(broker.url + "/portal/api/organization", timeout=10)
    assert r.status_code == 401 and "lifetime" in r.text


def test_no_token_in_logs(broker, tokens):
    """Runs last in this module: every token the tests made, and the link ids are there."""
    assert len(tokens) >= 10
    text = broker.log_text()
    assert re.search(r"GET /portal/~ 404", text), "the access log has no masked portal path"
    for token in tokens:
        assert token not in text
