"""The portal's test button end to end through the gateway: a portal session starts a test
login of its organization's connection (the simulator's), the same browser opens the start URL,
signs in at the IdP simulator, the ACS sends it to the portal's result page, and the portal API
reads the result with the profile. Another organization's session can neither start a test of
that connection nor read the result."""
import urllib.parse

from test_op import PERSON, follow, form_of
from test_portal_links import make_org, portal_session


def start_test(broker, session, csrf, connection_id):
    return session.post(f"{broker.url}/portal/api/connections/{connection_id}/test",
                        headers={"X-CSRF-Token": csrf}, timeout=10)


def test_a_test_login_through_the_simulator(broker):
    s, csrf, _, _ = portal_session(broker, "org_test")
    r = start_test(broker, s, csrf, "conn_simulator")
    assert r.status_code == 201, r.text
    test = r.json()
    assert test["test_id"].startswith("tst_")
    assert test["start_url"].startswith(broker.url + "/sso/test/")
    assert s.cookies.get("sso_browser"), r.headers.get("Set-Cookie")
    r = s.get(f"{broker.url}/portal/api/tests/{test['test_id']}", timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "pending", r.text

    # Another organization's session: the connection is not its to test, the result not its
    # to read; and a POST without the CSRF token starts nothing.
    other, other_csrf, _, _ = portal_session(broker, make_org(broker, "Not The Test Org"))
    assert start_test(broker, other, other_csrf, "conn_simulator").status_code == 403
    assert other.get(f"{broker.url}/portal/api/tests/{test['test_id']}",
                     timeout=10).status_code == 403
    assert s.post(f"{broker.url}/portal/api/connections/conn_simulator/test",
                  timeout=10).status_code == 403

    # The same browser (cookie jar) opens the start URL: on to the simulator's page.
    page, url = follow(broker, test["start_url"], s)
    assert page.status_code == 200 and "/simulator/" in url, (page.status_code, url,
                                                               page.text[:500],
                                                               broker.log_tail(20))
    form = form_of(page.text)
    fields = dict(form.fields)
    fields.update(PERSON)
    signed = s.post(urllib.parse.urljoin(url, form.action), data=fields, allow_redirects=False,
                    timeout=10)
    assert signed.status_code == 200, signed.text[:500]
    acs = form_of(signed.text)
    answered = s.post(urllib.parse.urljoin(url, acs.action), data=acs.fields,
                      allow_redirects=False, timeout=10)
    assert answered.status_code in (302, 303), answered.text[:500]
    assert answered.headers["Location"] == f"{broker.url}/portal/tests/{test['test_id']}"
    assert "code=" not in answered.headers["Location"]

    r = s.get(f"{broker.url}/portal/api/tests/{test['test_id']}", timeout=10)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["status"] == "success", result
    assert result["connection_id"] == "conn_simulator"
    assert result["profile"]["email"] == "ada@example.com"
    assert result["profile"]["given_name"] == "Ada" and result["raw"], result
    # The start URL works once.
    assert follow(broker, test["start_url"], s)[0].status_code >= 400
