"""Certificate rotation through the IdP's metadata URL (issue 21): the directory fetches each
connection's metadata URL again every SSO_SAML_METADATA_REFRESH_S (60 s here, the least it
takes, ±10%). A new signing certificate in the metadata is trusted after the refresh beside the
old one; once the old one leaves the metadata, responses it signs are refused; a broken or an
expired document keeps the last good certificates and the event log says why. The IdP is
Debian's pysaml2, signing with either key; its metadata is served on loopback. No timing is
asserted: each refresh is awaited (bounded) on the API's metadata_refreshed_at and the events."""
import base64
import hashlib
import secrets
import subprocess
import time
import urllib.parse

import pytest
import requests

from conftest import Broker, OidcProvider

saml2 = pytest.importorskip("saml2")
from saml2 import BINDING_HTTP_REDIRECT  # noqa: E402
from saml2.config import IdPConfig  # noqa: E402
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID  # noqa: E402
from saml2.server import Server  # noqa: E402
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256  # noqa: E402

REDIRECT_URI = "https://app.example.net/login/callback"
IDP_ENTITY = "urn:test:rotating-idp"
IDP_SSO = "https://idp.rotating.example/sso"
REFRESH_WAIT_S = 150  # a period (60 s + 10%), a look (5 s) and a fetch, with room for a slow host


# A refreshed document that must not replace the last good one: its case, the document (from
# the certificates it lists) and the reason the API and the event log give.
BAD_DOCUMENTS = [
    ("broken", lambda certs: metadata(certs)[:120], "not well-formed XML"),
    ("expired", lambda certs: metadata(certs, valid_until="2024-01-31T00:00:00Z"),
     "the metadata expired at 2024-01-31T00:00:00Z (validUntil)"),
    ("renamed", lambda certs: metadata(certs, entity="urn:test:someone-else"),
     "the entityID changed: expected urn:test:rotating-idp, got urn:test:someone-else"),
]


def keypair(tmp, name):
    key, cert = tmp / f"{name}.key", tmp / f"{name}.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return str(key), str(cert)


def metadata(certs, entity=IDP_ENTITY, valid_until=None):
    """IdP metadata listing each PEM certificate as a signing key."""
    keys = "".join(
        '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
        + "".join(line for line in open(cert).read().splitlines() if "-----" not in line)
        + "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        for cert in certs)
    until = f' validUntil="{valid_until}"' if valid_until else ""
    return ('<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity}"{until}>'
            '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            f'{keys}<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:'
            f'HTTP-Redirect" Location="{IDP_SSO}"/></md:IDPSSODescriptor></md:EntityDescriptor>')


@pytest.fixture(scope="module")
def broker():
    b = Broker(extra_env={"SSO_SAML_METADATA_REFRESH_S": "60"})
    try:
        b.start()
        yield b
    finally:
        b.cleanup()


@pytest.fixture(scope="module")
def idp_host():
    provider = OidcProvider()
    yield provider
    provider.close()


def connection(broker, idp_host, name, certs):
    """An organization with a SAML connection whose metadata URL serves certs."""
    org = broker.api("POST", "/organizations", {"display_name": name}).json()
    assert broker.api("POST", f"/organizations/{org['id']}/domains",
                      {"domain": f"{name}.example"}).status_code == 201
    idp_host.serve(f"/{name}/metadata", metadata(certs), content_type="application/samlmetadata+xml")
    r = broker.api("POST", f"/organizations/{org['id']}/connections", {
        "type": "saml", "saml": {"idp_metadata_url": idp_host.base + f"/{name}/metadata"}})
    assert r.status_code == 201, r.text
    conn = r.json()
    assert broker.api("POST", f"/connections/{conn['id']}/enable").status_code == 200
    return conn


def saml_of(broker, conn):
    return broker.api("GET", f"/connections/{conn['id']}").json()["saml"]


def events_of(broker, conn):
    return broker.api("GET", f"/events?connection_id={conn['id']}").json()["data"]


def await_refresh(broker, conn, since, done):
    """Polls the connection until a refresh after `since` (a metadata_refreshed_at, or the
    number of refresh events seen) is visible and done(saml, events) holds."""
    deadline = time.monotonic() + REFRESH_WAIT_S
    while time.monotonic() < deadline:
        saml, events = saml_of(broker, conn), events_of(broker, conn)
        if done(saml, events):
            return saml, events
        time.sleep(1)
    pytest.fail(f"no refresh of {conn['id']} seen: {saml}, {events[:3]}")


@pytest.fixture(scope="module")
def setup(broker, idp_host, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rotation")
    old, new = keypair(tmp, "old-idp-key"), keypair(tmp, "new-idp-key")
    client = broker.api("POST", "/clients", {"name": "rp", "redirect_uris": [REDIRECT_URI]}).json()
    rotating = connection(broker, idp_host, "rotating", [old[1]])
    sp_metadata = broker.get(f"/sso/saml/{rotating['id']}/metadata").text
    idps = {}
    for name, (key, cert) in (("old", old), ("new", new)):
        config = IdPConfig()
        config.load({
            "entityid": IDP_ENTITY,
            "service": {"idp": {
                "endpoints": {"single_sign_on_service": [(IDP_SSO, BINDING_HTTP_REDIRECT)]},
                "policy": {"default": {"lifetime": {"minutes": 5}}},
                "name_id_format": [NAMEID_FORMAT_EMAILADDRESS]}},
            "key_file": key, "cert_file": cert,
            "metadata": {"inline": [sp_metadata]},
            "xmlsec_binary": "/usr/bin/xmlsec1",
        })
        idps[name] = Server(config=config)
    # Connections whose next document is bad, made now so that their refreshes run beside the
    # rotation's.
    bad = {}
    for case, document, _ in BAD_DOCUMENTS:
        bad[case] = connection(broker, idp_host, case, [old[1]])
        idp_host.serve(f"/{case}/metadata", document([new[1]]),
                       content_type="application/samlmetadata+xml")
    return {"client": client, "conn": rotating, "idps": idps, "old": old[1], "new": new[1],
            "bad": bad}


def login(broker, setup, signer):
    """A login through the rotating connection whose response the IdP signs with signer's key:
    the query the broker redirects to the client with."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    params = {"response_type": "code", "client_id": setup["client"]["client_id"],
              "redirect_uri": REDIRECT_URI, "scope": "openid email", "state": "st",
              "code_challenge": challenge.decode(), "code_challenge_method": "S256",
              "connection_id": setup["conn"]["id"], "login_hint": "ada@rotating.example"}
    r = broker.get("/oauth/authorize?" + urllib.parse.urlencode(params), allow_redirects=False)
    assert r.status_code == 302, r.text
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(r.headers["Location"]).query))
    idp = setup["idps"][signer]
    request = idp.parse_authn_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT)
    response = idp.create_authn_response(
        identity={"mail": ["ada@rotating.example"]}, in_response_to=request.message.id,
        destination=request.message.assertion_consumer_service_url,
        sp_entity_id=request.message.issuer.text, userid="ada@rotating.example",
        name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text="ada@rotating.example"),
        sign_assertion=True, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256,
        authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"})
    r = requests.post(request.message.assertion_consumer_service_url,
                      data={"SAMLResponse": base64.b64encode(str(response).encode()).decode(),
                            "RelayState": query["RelayState"]},
                      allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"].startswith(REDIRECT_URI), r.text
    return dict(urllib.parse.parse_qsl(urllib.parse.urlparse(r.headers["Location"]).query))


def fingerprint(cert_path):
    der = base64.b64decode("".join(line for line in open(cert_path).read().splitlines()
                                   if "-----" not in line))
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, 64, 2))


def test_certificate_rotation_through_the_metadata_url(broker, idp_host, setup):
    conn = setup["conn"]
    # Before: the metadata lists the old key only; its logins work, the new key's do not.
    saml = saml_of(broker, conn)
    assert [d["sha256_fingerprint"] for d in saml["idp_certificate_details"]] == \
        [fingerprint(setup["old"])]
    assert saml["metadata_refreshed_at"] and saml["metadata_next_refresh_at"]
    assert saml["metadata_refresh_error"] is None
    assert "code" in login(broker, setup, "old")
    assert login(broker, setup, "new").get("error") == "access_denied"

    # The IdP publishes its next key beside the old one: after the refresh both sign logins.
    imported = saml["metadata_refreshed_at"]
    idp_host.serve("/rotating/metadata", metadata([setup["old"], setup["new"]]),
                   content_type="application/samlmetadata+xml")
    saml, events = await_refresh(broker, conn, imported,
                                 lambda s, e: s["metadata_refreshed_at"] != imported)
    assert [d["sha256_fingerprint"] for d in saml["idp_certificate_details"]] == \
        [fingerprint(setup["old"]), fingerprint(setup["new"])]
    added = [e for e in events if e["reason"].startswith("IdP metadata refresh: ")]
    assert added and added[0]["outcome"] == "success" and fingerprint(setup["new"]) in added[0]["reason"]
    assert not added[0].get("subject")
    assert "code" in login(broker, setup, "new")
    assert "code" in login(broker, setup, "old")

    # The old key leaves the metadata: after the refresh its responses are refused.
    second = saml["metadata_refreshed_at"]
    idp_host.serve("/rotating/metadata", metadata([setup["new"]]),
                   content_type="application/samlmetadata+xml")
    saml, _ = await_refresh(broker, conn, second,
                            lambda s, e: s["metadata_refreshed_at"] != second)
    assert [d["sha256_fingerprint"] for d in saml["idp_certificate_details"]] == \
        [fingerprint(setup["new"])]
    refused = login(broker, setup, "old")
    assert refused.get("error") == "access_denied" and "code" not in refused
    reason = events_of(broker, conn)[0]["reason"]
    assert fingerprint(setup["old"]) in reason or "signature" in reason, reason
    assert "code" in login(broker, setup, "new")


@pytest.mark.parametrize("case,document,why", BAD_DOCUMENTS)
def test_a_bad_document_keeps_the_last_good_certificates(broker, setup, case, document, why):
    conn = setup["bad"][case]
    saml, events = await_refresh(broker, conn, None,
                                 lambda s, e: s["metadata_refresh_error"] is not None)
    assert why in saml["metadata_refresh_error"]
    assert [d["sha256_fingerprint"] for d in saml["idp_certificate_details"]] == \
        [fingerprint(setup["old"])]
    failures = [e for e in events if e["reason"].startswith("IdP metadata refresh: ")]
    assert failures and failures[0]["outcome"] == "failure" and why in failures[0]["reason"]
    assert "the last good certificates are kept" in failures[0]["reason"]
    assert failures[0]["connection_id"] == conn["id"] and not failures[0].get("subject")
    assert "IdP metadata refresh:" in broker.log_text()
