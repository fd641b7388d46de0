"""The portal API's configuration routes end to end through the gateway: a portal session sets
up its organization's connections (a draft first, the IdP's details by PATCH, enable, disable,
delete), checks SAML details before saving (saml/check, its metadata fetched off the
directory's loop), and reads its login events. Every portal API route refuses another
organization's ids (403), a request without a session (401) and a state-changing one without
the CSRF token (403); no reply ever carries an OIDC client secret."""
import concurrent.futures
import datetime
import http.server
import threading
import time

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from conftest import Recorder
from test_portal_links import make_org, portal_session

SECRET = "portal-config-secret-81f3"


def certificate(cn, not_before, not_after):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def metadata(entity, sso, cert_pem):
    b64 = "".join(cert_pem.strip().splitlines()[1:-1])
    return (f'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity}">'
            f'<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:'
            f'protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>'
            f'<ds:X509Certificate>{b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>'
            f'</md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:'
            f'bindings:HTTP-Redirect" Location="{sso}"/></md:IDPSSODescriptor>'
            f'</md:EntityDescriptor>')


NOW = datetime.datetime.utcnow()
FRESH = certificate("idp.portal.example", NOW - datetime.timedelta(days=1),
                    NOW + datetime.timedelta(days=365))
EXPIRED = certificate("Old Portal IdP", datetime.datetime(2023, 1, 1),
                      datetime.datetime(2024, 1, 31, 12, 0))


class Portal:
    def __init__(self, broker, org):
        self.org = org
        self.s, self.csrf, _, _ = portal_session(broker, org)
        self.u = broker.url + "/portal/api"

    def call(self, method, path, body=None, csrf=True, **kw):
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        return self.s.request(method, self.u + path, json=body, headers=headers, timeout=20,
                              **kw)


def test_configure_a_saml_connection(broker):
    p = Portal(broker, make_org(broker, "Config SAML Org"))
    r = p.call("POST", "/connections", {"type": "saml", "name": "Okta"})
    assert r.status_code == 201, r.text
    conn = r.json()
    cid = conn["id"]
    assert conn["organization_id"] == p.org and conn["status"] == "draft"
    assert conn["sp"]["acs_url"] == f"{broker.url}/sso/saml/{cid}/acs"
    assert conn["saml"]["idp_entity_id"] is None and conn["saml"]["idp_certificate_details"] == []
    assert [c["id"] for c in p.call("GET", "/connections").json()["data"]] == [cid]

    # A draft without the IdP's details: neither enabled nor tested, and told what is missing.
    r = p.call("POST", f"/connections/{cid}/enable")
    assert r.status_code == 400 and "saml.idp_entity_id, saml.idp_sso_url and " \
        "saml.idp_certificates are missing" in r.json()["error_description"], r.text
    r = p.call("POST", f"/connections/{cid}/test")
    assert r.status_code == 400 and "cannot be tested without the IdP's settings" in r.text
    assert "Set-Cookie" not in r.headers

    # An expired certificate: refused with its date and subject.
    r = p.call("PATCH", f"/connections/{cid}", {"saml": {"idp_certificates": [EXPIRED]}})
    assert r.status_code == 400 and r.json()["error_description"] == \
        "saml.idp_certificates[0] expired on 2024-01-31 (CN=Old Portal IdP)", r.text

    # The details by metadata URL, fetched off the directory's loop.
    idp = Recorder({"/md.xml": (200, {"Content-Type": "application/samlmetadata+xml"},
                                metadata("https://idp.portal.example/e",
                                         "https://idp.portal.example/sso", FRESH)),
                    "/old.xml": (200, {}, metadata("https://old.example/e",
                                                   "https://old.example/sso", EXPIRED))})
    try:
        r = p.call("POST", "/saml/check", {"idp_metadata_url": idp.url("/md.xml")})
        assert r.status_code == 200, r.text
        checked = r.json()
        assert checked["idp_entity_id"] == "https://idp.portal.example/e"
        assert checked["idp_certificate_details"][0]["subject"] == "CN=idp.portal.example"
        assert checked["idp_certificate_details"][0]["expired"] is False
        r = p.call("POST", "/saml/check", {"idp_metadata_url": idp.url("/old.xml")})
        assert r.status_code == 400 and "certificate [0] expired on 2024-01-31 " \
            "(CN=Old Portal IdP)" in r.text, r.text
        r = p.call("PATCH", f"/connections/{cid}", {"saml": {"idp_metadata_url":
                                                              idp.url("/md.xml")}})
        assert r.status_code == 200, r.text
        details = r.json()["saml"]["idp_certificate_details"]
        assert len(details) == 1 and details[0]["not_after"].endswith("Z")
    finally:
        idp.close()
    r = p.call("POST", f"/connections/{cid}/enable")
    assert r.status_code == 200 and r.json()["status"] == "active", r.text
    r = p.call("POST", f"/connections/{cid}/disable")
    assert r.status_code == 200 and r.json()["status"] == "inactive", r.text
    assert p.call("DELETE", f"/connections/{cid}").status_code == 204
    assert p.call("GET", f"/connections/{cid}").status_code == 404


def test_saml_check_reasons(broker):
    p = Portal(broker, make_org(broker, "Check Org"))
    before = broker.api("GET", f"/organizations/{p.org}/connections").json()["data"]
    cases = [
        ({"idp_metadata_xml": "<a"}, "not well-formed XML"),
        ({"idp_metadata_xml": "<a/>"}, "not SAML metadata"),
        ({"idp_certificates": ["hello"]},
         "saml.idp_certificates[0] is not an X.509 certificate in PEM form"),
        ({"idp_certificates": [EXPIRED]},
         "saml.idp_certificates[0] expired on 2024-01-31 (CN=Old Portal IdP)"),
        ({"idp_metadata_url": "http://idp.portal.example/md"}, "must use https"),
        ({"idp_metadata_url": "http://127.0.0.1:9/md"},
         "saml.idp_metadata_url could not be fetched: "),
        ({}, "give idp_metadata_xml"),
    ]
    for body, want in cases:
        r = p.call("POST", "/saml/check", body)
        assert r.status_code == 400 and want in r.json()["error_description"], (body, r.text)
    r = p.call("POST", "/saml/check", {"idp_certificates": [FRESH]})
    assert r.status_code == 200 and r.json()["idp_certificates"][0].startswith("-----BEGIN")
    assert broker.api("GET", f"/organizations/{p.org}/connections").json()["data"] == before


def test_oidc_secret_is_write_only(broker, oidc_provider):
    p = Portal(broker, make_org(broker, "Config OIDC Org"))
    issuer = oidc_provider.issuer("/portal-config")
    r = p.call("POST", "/connections", {"type": "oidc"})
    assert r.status_code == 201 and r.json()["oidc"]["redirect_uri"].endswith(r.json()["id"])
    cid = r.json()["id"]
    r = p.call("POST", f"/connections/{cid}/enable")
    assert r.status_code == 400 and "oidc.issuer, oidc.client_id and oidc.client_secret are " \
        "missing" in r.text, r.text
    r = p.call("PATCH", f"/connections/{cid}", {"oidc": {"issuer": issuer + "/none",
                                                         "client_id": "c"}})
    assert r.status_code == 400 and "oidc.issuer" in r.json()["error_description"], r.text
    replies = [p.call("PATCH", f"/connections/{cid}",
                      {"oidc": {"issuer": issuer, "client_id": "c", "client_secret": SECRET}})]
    assert replies[0].status_code == 200, replies[0].text
    replies += [p.call("GET", f"/connections/{cid}"), p.call("GET", "/connections"),
                p.call("POST", f"/connections/{cid}/enable"),
                p.call("POST", "/connections", {"type": "oidc", "oidc": {
                    "issuer": issuer, "client_id": "d", "client_secret": SECRET}})]
    for r in replies:
        assert r.status_code in (200, 201), r.text
        assert SECRET not in r.text
    assert replies[0].json()["oidc"]["client_secret_set"] is True


def test_events_of_the_session_organization(broker):
    p = Portal(broker, make_org(broker, "Events Org"))
    r = p.call("GET", "/events", csrf=False)
    assert r.status_code == 200 and isinstance(r.json()["data"], list), r.text
    # The seeded organization's events (the simulator's logins) are not this one's.
    assert all(e["organization_id"] == p.org for e in r.json()["data"])
    for limit in ("0", "101", "x"):
        r = p.call("GET", "/events", params={"limit": limit}, csrf=False)
        assert r.status_code == 400 and "from 1 to 100" in r.text
    assert p.call("GET", "/events", params={"limit": "100"}, csrf=False).status_code == 200


def test_every_route_refuses_another_organization(broker):
    a = Portal(broker, make_org(broker, "Route Org A"))
    b = Portal(broker, make_org(broker, "Route Org B"))
    b_conn = b.call("POST", "/connections", {"type": "saml"}).json()["id"]
    a_conn = a.call("POST", "/connections", {"type": "saml"}).json()["id"]
    r = b.call("PATCH", f"/connections/{b_conn}", {"saml": {
        "idp_entity_id": "https://b/e", "idp_sso_url": "https://b/sso",
        "idp_certificates": [FRESH]}})
    assert r.status_code == 200, r.text
    b_test = b.call("POST", f"/connections/{b_conn}/test").json()["test_id"]
    routes = [("GET", "/session"), ("GET", "/organization"), ("POST", "/logout"),
              ("GET", "/connections"), ("POST", "/connections"),
              ("GET", "/connections/{c}"), ("PATCH", "/connections/{c}"),
              ("DELETE", "/connections/{c}"), ("POST", "/connections/{c}/enable"),
              ("POST", "/connections/{c}/disable"), ("POST", "/connections/{c}/test"),
              ("GET", "/connections/{c}/last_login"),
              ("GET", "/tests/{t}"), ("POST", "/saml/check"), ("GET", "/events")]
    body = {"type": "saml", "idp_entity_id": "e"}
    for method, path in routes:
        own = path.format(c=a_conn, t="tst_none")
        # Another organization's id in the path (where a route takes one).
        if "{" in path:
            r = a.call(method, path.format(c=b_conn, t=b_test), body)
            assert r.status_code == 403, (method, path, r.text)
            assert b_conn not in r.text or "access_denied" in r.text
        # The organization named in the query or the body.
        r = a.call(method, own, params={"organization_id": b.org})
        assert r.status_code == 403, (method, path, "query", r.text)
        r = a.call(method, own, dict(body, organization_id=b.org))
        assert r.status_code == 403, (method, path, "body", r.text)
        # No session: 401; no CSRF token on a state-changing call: 403.
        assert requests.request(method, a.u + own, json=body, timeout=10,
                                headers={"X-CSRF-Token": a.csrf}).status_code == 401
        if method != "GET":
            assert a.call(method, own, body, csrf=False).status_code == 403, (method, path)
    # B's connection and test as they were; A's still there.
    r = b.call("GET", f"/connections/{b_conn}")
    assert r.status_code == 200 and r.json()["status"] == "draft"
    assert r.json()["saml"]["idp_entity_id"] == "https://b/e"
    assert b.call("GET", f"/tests/{b_test}").status_code == 200
    assert a.call("GET", f"/connections/{a_conn}").status_code == 200


def test_requests_waiting_for_the_idp_are_capped(broker):
    """Each saml/check of a metadata URL that answers slowly holds one of the directory's few
    offload threads; past them the fetch would run on the directory's loop and stall every
    login. So a session's third such request, and any past the portal's four, is a 429 that
    fetches nothing, while the waiting ones finish."""
    release = threading.Event()
    hits = []
    body = metadata("https://idp.slow.example/e", "https://idp.slow.example/sso", FRESH).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            release.wait(15)
            self.send_response(200)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/md"
    a, b, c = (Portal(broker, make_org(broker, f"Slow IdP Org {x}")) for x in "ABC")
    pool = concurrent.futures.ThreadPoolExecutor(8)

    def check(p):
        return p.call("POST", "/saml/check", {"idp_metadata_url": url})

    try:
        waiting = [pool.submit(check, p) for p in (a, a, b, b)]
        deadline = time.monotonic() + 15
        while len(hits) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(hits) == 4
        extra = [pool.submit(check, p) for p in (a, c)]
        while (not all(f.done() for f in extra) and len(hits) == 4
               and time.monotonic() < deadline):
            time.sleep(0.05)
        release.set()
        assert [f.result().status_code for f in extra] == [429, 429], [f.result().text
                                                                      for f in extra]
        assert extra[0].result().json()["error"] == "too_many_requests"
        assert [f.result().status_code for f in waiting] == [200] * 4
        assert len(hits) == 4
        # The places are free again.
        assert check(c).status_code == 200
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        pool.shutdown()
