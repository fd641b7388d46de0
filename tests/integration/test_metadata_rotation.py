"""Certificate rotation through the IdP's metadata URL (issue 21): the directory fetches each
connection's metadata URL again every SSO_SAML_METADATA_REFRESH_S (60 s here, the least it
takes, ±10%). A new signing certificate in the metadata is trusted after the refresh beside the
old one; once the old one leaves the metadata, responses it signs are refused; a broken or an
expired document keeps the last good certificates and the event log says why. The IdP is
Debian's pysaml2, signing with either key; its metadata is served on loopback. No timing is
asserted: each refresh is awaited (bounded) on the API's metadata_refreshed_at and the events.
A connection that names a metadata signing certificate takes only documents it signed (signed
here by the xmlsec1 command-line tool), at import and at every refresh."""
import base64
import hashlib
import json
import os
import secrets
import subprocess
import tempfile
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


SIGNATURE_TEMPLATE = (
    '<ds:Signature><ds:SignedInfo>'
    '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
    '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
    '<ds:Reference URI="#_md"><ds:Transforms>'
    '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
    '<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>'
    '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
    '<ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/>'
    '<ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>')


def signed(document, signer):
    """document (from metadata()) with an ID, signed on its EntityDescriptor by signer (key,
    cert) with the xmlsec1 command-line tool, as IdPs such as ADFS sign theirs."""
    head, rest = document.split(">", 1)
    with tempfile.TemporaryDirectory(prefix="md-sign-") as tmp:
        path = f"{tmp}/md.xml"
        with open(path, "w") as f:
            f.write(f'{head} ID="_md">{SIGNATURE_TEMPLATE}{rest}')
        return subprocess.run(
            ["xmlsec1", "--sign", "--privkey-pem", f"{signer[0]},{signer[1]}",
             "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor", path],
            check=True, capture_output=True, text=True).stdout


# Connections that name a metadata signing certificate: the document served next, from
# (certs, the signer's key pair, another key pair), and the reason the refresh refuses it for
# (None: it is taken).
SIGNED_DOCUMENTS = [
    ("signed-rotation", lambda certs, signer, other: signed(metadata(certs), signer), None),
    ("signed-forged", lambda certs, signer, other: signed(metadata(certs), other),
     "the metadata's signature: the EntityDescriptor is signed by a certificate with SHA-256 "
     "fingerprint"),
    ("signed-stripped", lambda certs, signer, other: metadata(certs),
     "the metadata is not signed, and the connection's metadata signing certificate requires "
     "it to be"),
]


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


def connection(broker, idp_host, name, certs, signer=None):
    """An organization with a SAML connection whose metadata URL serves certs; with signer
    (key, cert), the document is signed by it and the connection names its certificate."""
    org = broker.api("POST", "/organizations", {"display_name": name}).json()
    assert broker.api("POST", f"/organizations/{org['id']}/domains",
                      {"domain": f"{name}.example"}).status_code == 201
    document = signed(metadata(certs), signer) if signer else metadata(certs)
    idp_host.serve(f"/{name}/metadata", document, content_type="application/samlmetadata+xml")
    saml = {"idp_metadata_url": idp_host.base + f"/{name}/metadata"}
    if signer:
        saml["idp_metadata_signing_certificate"] = open(signer[1]).read()
    r = broker.api("POST", f"/organizations/{org['id']}/connections", {"type": "saml", "saml": saml})
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
    signer, other = keypair(tmp, "metadata-signer"), keypair(tmp, "metadata-forger")
    for case, document, _ in SIGNED_DOCUMENTS:
        bad[case] = connection(broker, idp_host, case, [old[1]], signer=signer)
        idp_host.serve(f"/{case}/metadata", document([old[1], new[1]], signer, other),
                       content_type="application/samlmetadata+xml")
    return {"client": client, "conn": rotating, "idps": idps, "old": old[1], "new": new[1],
            "bad": bad, "signer": signer, "other": other}


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


def test_signed_metadata_is_checked_at_import(broker, idp_host, setup):
    org = broker.api("POST", "/organizations", {"display_name": "signed-import"}).json()
    certificate = open(setup["signer"][1]).read()
    for name, document, why in (
            ("unsigned", metadata([setup["old"]]), "the metadata is not signed"),
            ("forged", signed(metadata([setup["old"]]), setup["other"]),
             "signed by a certificate with SHA-256 fingerprint " + fingerprint(setup["other"][1])),
            ("changed", signed(metadata([setup["old"]]), setup["signer"]).replace(
                IDP_SSO, "https://idp.evil.example/sso"), "it was changed after signing")):
        for saml in ({"idp_metadata_xml": document},
                     {"idp_metadata_url": idp_host.base + f"/import-{name}/metadata"}):
            idp_host.serve(f"/import-{name}/metadata", document,
                           content_type="application/samlmetadata+xml")
            saml["idp_metadata_signing_certificate"] = certificate
            r = broker.api("POST", f"/organizations/{org['id']}/connections",
                           {"type": "saml", "saml": saml})
            assert r.status_code == 400 and why in r.json()["error_description"], (name, r.text)
    # Signed by the named certificate: taken, and the API shows which certificate it is.
    r = broker.api("POST", f"/organizations/{org['id']}/connections", {"type": "saml", "saml": {
        "idp_metadata_xml": signed(metadata([setup["old"]]), setup["signer"]),
        "idp_metadata_signing_certificate": certificate}})
    assert r.status_code == 201, r.text
    saml = r.json()["saml"]
    assert saml["idp_metadata_signing_certificate_details"]["sha256_fingerprint"] == \
        fingerprint(setup["signer"][1])
    assert saml["idp_metadata_signing_certificate"].startswith("-----BEGIN CERTIFICATE-----")
    # null takes the requirement away.
    r = broker.api("PATCH", f"/connections/{r.json()['id']}",
                   {"saml": {"idp_metadata_signing_certificate": None}})
    assert r.status_code == 200 and r.json()["saml"]["idp_metadata_signing_certificate"] is None


@pytest.mark.parametrize("case,document,why", SIGNED_DOCUMENTS)
def test_a_refresh_takes_only_metadata_signed_by_the_named_certificate(broker, setup, case,
                                                                        document, why):
    conn = setup["bad"][case]
    if why is None:
        saml, events = await_refresh(broker, conn, None,
                                     lambda s, e: len(s["idp_certificate_details"]) == 2)
        assert saml["metadata_refresh_error"] is None
        assert [d["sha256_fingerprint"] for d in saml["idp_certificate_details"]] == \
            [fingerprint(setup["old"]), fingerprint(setup["new"])]
        return
    saml, events = await_refresh(broker, conn, None,
                                 lambda s, e: s["metadata_refresh_error"] is not None)
    assert why in saml["metadata_refresh_error"], saml["metadata_refresh_error"]
    assert [d["sha256_fingerprint"] for d in saml["idp_certificate_details"]] == \
        [fingerprint(setup["old"])]
    failures = [e for e in events if e["reason"].startswith("IdP metadata refresh: ")]
    assert failures and failures[0]["outcome"] == "failure" and why in failures[0]["reason"]
    assert "the last good certificates are kept" in failures[0]["reason"]


def test_ssoctl_names_the_metadata_signing_certificate(broker, setup, tmp_path):
    org = broker.api("POST", "/organizations", {"display_name": "signed-ssoctl"}).json()
    good, forged = tmp_path / "good.xml", tmp_path / "forged.xml"
    good.write_text(signed(metadata([setup["old"]]), setup["signer"]))
    forged.write_text(signed(metadata([setup["old"]]), setup["other"]))

    def ssoctl(*args):
        return subprocess.run([os.path.join(broker.bin_dir, "ssoctl"), *args], env=broker.env,
                              capture_output=True, text=True, timeout=60)
    refused = ssoctl("connections", "create-saml", org["id"], "--metadata-file", str(forged),
                     "--metadata-signing-cert", setup["signer"][1])
    assert refused.returncode == 1 and "signed by a certificate with SHA-256" in refused.stderr
    made = ssoctl("connections", "create-saml", org["id"], "--metadata-file", str(good),
                  "--metadata-signing-cert", setup["signer"][1])
    assert made.returncode == 0, made.stderr
    assert "METADATA SIGNER SHA-256" in made.stdout
    assert fingerprint(setup["signer"][1]) in made.stdout
    conn_id = next(line.split()[-1] for line in made.stdout.splitlines()
                   if line.startswith("ID "))
    cleared = ssoctl("--json", "connections", "update", conn_id, "--metadata-signing-cert", "")
    assert cleared.returncode == 0, cleared.stderr
    assert json.loads(cleared.stdout)["saml"]["idp_metadata_signing_certificate"] is None
