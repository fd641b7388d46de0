"""The admin portal's pages through the gateway: a browser's link exchange (Origin: null under
our no-referrer policy, told apart by Sec-Fetch-Site)."""
import requests


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
