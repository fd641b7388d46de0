"""The admin portal's pages through the gateway: the shells of the app (/portal/) and of a test
login's result (/portal/tests/<id>) with their headers (a CSP with no inline script or style,
no-store, no referrer), a bad test id as the 404 page that quotes nothing, the portal's static
files (and the dashboard's, and those they share) with types a browser runs, and a browser's link exchange (Origin: null under our
no-referrer policy, told apart by Sec-Fetch-Site)."""
import os
import re

import requests

SHELL_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
             "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
TEST_ID = "tst_0123456789abcdefghjkmnpqrstvwxyz"
WEB = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                   "web", "static")


def check_shell(r, script):
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Content-Security-Policy"] == SHELL_CSP
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    body = r.text
    assert f'<script type="module" src="{script}"></script>' in body
    # Nothing inline: every script has a src, no style element or attribute, no handler.
    assert not re.search(r"<script(?![^>]*\ssrc=)", body)
    assert "<style" not in body and "style=" not in body and not re.search(r"\son[a-z]+=", body)
    assert '<link rel="stylesheet" href="/static/portal/portal.css">' in body


def test_app_shell(broker):
    check_shell(requests.get(broker.url + "/portal/", timeout=10), "/static/portal/app.js")
    r = requests.post(broker.url + "/portal/", timeout=10)
    assert r.status_code == 405


def test_test_result_shell(broker):
    r = requests.get(f"{broker.url}/portal/tests/{TEST_ID}?error=access_denied&"
                     "error_description=%3Cscript%3E", timeout=10)
    check_shell(r, "/static/portal/test-page.js")
    # The page quotes neither the id nor the query: its script reads them.
    assert TEST_ID not in r.text and "access_denied" not in r.text and "&lt;script" not in r.text


def test_bad_test_ids_are_404(broker):
    for bad in ("", "tst_", "x", "tst_ABC", "tst_a/b", "tst_a%3Cscript%3E", "tst_%22q",
                "tst_" + "a" * 61, "..%2f"):
        r = requests.get(f"{broker.url}/portal/tests/{bad}", timeout=10)
        assert r.status_code == 404, (bad, r.status_code)
        assert "No such page" in r.text
        assert "<script" not in r.text.replace('<script src="/static/', "")
        if len(bad) > 4:
            assert bad not in r.text
    for other in ("/portal/app", "/portal/index.html", "/portal/test/" + TEST_ID):
        assert requests.get(broker.url + other, timeout=10).status_code == 404


def test_static_files(broker):
    """Every file of the web apps (the portal, the dashboard, what they share) with a type a
    browser runs; the portal's own list, so that a file the pages import cannot go missing."""
    types = {".js": "text/javascript", ".css": "text/css", ".json": "application/json"}
    expected = {"portal": {"app.js", "test-page.js", "api.js", "connection.js", "guides.js",
                           "result.js", "testing.js", "portal.css", "idp-guides.json"},
                "common": {"dom.js", "api.js", "reason.js", "start.js"}}
    for folder in ("portal", "common", "dashboard"):
        names = set(os.listdir(os.path.join(WEB, folder)))
        assert expected.get(folder, names) <= names, folder
        for name in sorted(names):
            r = requests.get(f"{broker.url}/static/{folder}/{name}", timeout=10)
            assert r.status_code == 200, name
            kind = types[os.path.splitext(name)[1]]
            assert r.headers["Content-Type"].startswith(kind), (name, r.headers["Content-Type"])
            if name.endswith(".js"):
                # Markup only through the DOM (common/dom.js): no HTML parsing of any value.
                assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(",
                                     r.text), name


def test_static_files_revalidate(broker):
    """Each file carries a strong ETag of its bytes and Cache-Control: no-cache; the browser's
    If-None-Match with it gets a 304 without the bytes, any other tag the file."""
    url = f"{broker.url}/static/portal/app.js"
    first = requests.get(url, timeout=10)
    tag = first.headers.get("ETag", "")
    assert first.status_code == 200 and re.fullmatch(r'"[0-9a-f]{32}"', tag), first.headers
    assert first.headers["Cache-Control"] == "no-cache"
    again = requests.get(url, headers={"If-None-Match": tag}, timeout=10)
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == tag
    listed = requests.get(url, headers={"If-None-Match": f'"0", W/{tag}'}, timeout=10)
    assert listed.status_code == 304
    for stale in ('"0123"', "", "W/", tag[:-2] + '"'):
        r = requests.get(url, headers={"If-None-Match": stale}, timeout=10)
        assert r.status_code == 200 and r.content == first.content, stale
    other = requests.get(f"{broker.url}/static/portal/api.js", timeout=10)
    assert other.headers["ETag"] != tag


def test_browser_exchange_with_null_origin(broker):
    """Every page says Referrer-Policy: no-referrer, so a browser's form POST from the start
    page carries "Origin: null"; Sec-Fetch-Site, which no page can forge, says it came from the
    broker's own page. Without it, or from another site, "null" opens nothing."""
    org = broker.api("POST", "/organizations", {"display_name": "Null Origin Org"}).json()["id"]

    def link():
        r = broker.api("POST", f"/organizations/{org}/portal_links")
        assert r.status_code == 201, r.text
        return r.json()["location"].split("#", 1)[1]

    for site in (None, "cross-site", "same-site", "none"):
        headers = {"Origin": "null"}
        if site:
            headers["Sec-Fetch-Site"] = site
        r = requests.post(broker.url + "/portal/start", data={"token": link()}, headers=headers,
                          allow_redirects=False, timeout=10)
        assert r.status_code == 403 and "Set-Cookie" not in r.headers, (site, r.status_code)
    r = requests.post(broker.url + "/portal/start", data={"token": link()},
                      headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
                      allow_redirects=False, timeout=10)
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == broker.url + "/portal/"
    assert "sso_portal=" in r.headers["Set-Cookie"]
