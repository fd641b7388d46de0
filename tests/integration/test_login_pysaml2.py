"""A full login with Debian's pysaml2 as the customer's SAML IdP: it reads the broker's SP
metadata, parses the broker's AuthnRequest (HTTP-Redirect binding) and answers with a signed
assertion; the broker's ACS validates it, and the code is redeemed for an ID token whose
signature is checked against the published JWKS.

Encrypted: pysaml2 encrypts the signed assertion for the encryption certificate of the broker's
SP metadata by running the xmlsec1 binary; its defaults (pysaml2 7: 3DES-CBC data, key wrapped
with xmlenc#rsa-oaep-mgf1p) are refused until the connection's option allow_3des is set, and
the same IdP told to use AES-128-CBC logs in without it."""
import base64
import hashlib
import os
import secrets
import subprocess
import urllib.parse

import jwt
import pytest
import requests

saml2 = pytest.importorskip("saml2")
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT  # noqa: E402
from saml2.config import IdPConfig  # noqa: E402
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID  # noqa: E402
from saml2.server import Server  # noqa: E402
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256  # noqa: E402

REDIRECT_URI = "https://app.example.net/login/callback"
IDP_ENTITY = "urn:test:pysaml2-idp"
XENC = "http://www.w3.org/2001/04/xmlenc#"
TRIPLEDES_CBC = XENC + "tripledes-cbc"
AES128_CBC = XENC + "aes128-cbc"


def keypair(tmp_path):
    key, cert = tmp_path / "idp.key", tmp_path / "idp.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=pysaml2 idp", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return str(key), str(cert)


@pytest.fixture(scope="module")
def setup(broker, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pysaml2")
    key, cert = keypair(tmp)
    client = broker.api("POST", "/clients", {"name": "rp", "redirect_uris": [REDIRECT_URI]}).json()
    org = broker.api("POST", "/organizations", {"display_name": "PySAML2 Corp"}).json()
    assert broker.api("POST", f"/organizations/{org['id']}/domains",
                      {"domain": "pysaml2.example"}).status_code == 201
    conn = broker.api("POST", f"/organizations/{org['id']}/connections", {
        "type": "saml",
        "saml": {"idp_entity_id": IDP_ENTITY, "idp_sso_url": "https://idp.pysaml2.example/sso",
                 "idp_certificates": [open(cert).read()]}}).json()
    assert broker.api("POST", f"/connections/{conn['id']}/enable").status_code == 200
    sp_metadata = broker.get(f"/sso/saml/{conn['id']}/metadata")
    assert sp_metadata.status_code == 200, sp_metadata.text
    config = IdPConfig()
    config.load({
        "entityid": IDP_ENTITY,
        "service": {"idp": {
            "endpoints": {"single_sign_on_service": [
                ("https://idp.pysaml2.example/sso", BINDING_HTTP_REDIRECT)]},
            "policy": {"default": {"lifetime": {"minutes": 5}, "name_form":
                                   "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"}},
            "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
        }},
        "key_file": key,
        "cert_file": cert,
        "metadata": {"inline": [sp_metadata.text]},
        "xmlsec_binary": "/usr/bin/xmlsec1",
    })
    return {"client": client, "org": org, "conn": conn, "idp": Server(config=config),
            "aes_idp": aes_idp(Server(config=config))}


def aes_idp(idp):
    """idp encrypting with AES-128-CBC instead of its default 3DES-CBC: pysaml2 has no setting
    for it, so its encryption template's data cipher and xmlsec1's session key are swapped."""
    encrypt = idp.sec.encrypt_assertion

    def with_aes(statement, enc_key, template, key_type="des-192", node_xpath=None):
        assert template.encryption_method.algorithm == TRIPLEDES_CBC, "pysaml2's default moved"
        template.encryption_method.algorithm = AES128_CBC
        return encrypt(statement, enc_key, template, "aes-128", node_xpath)
    idp.sec.encrypt_assertion = with_aes
    return idp


def authorize(broker, setup, email, **extra):
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {"response_type": "code", "client_id": setup["client"]["client_id"],
              "redirect_uri": REDIRECT_URI, "scope": "openid email profile", "state": "st-1",
              "nonce": "n-1", "code_challenge": challenge, "code_challenge_method": "S256",
              "login_hint": email}
    params.update(extra)
    r = broker.get("/oauth/authorize?" + urllib.parse.urlencode(params), allow_redirects=False)
    assert r.status_code == 302, r.text
    location = urllib.parse.urlparse(r.headers["Location"])
    query = dict(urllib.parse.parse_qsl(location.query))
    return query["SAMLRequest"], query["RelayState"], verifier


def idp_answer(setup, saml_request, email, sign_response=False, sha256=True, encrypt=False,
               idp="idp"):
    idp = setup[idp]
    request = idp.parse_authn_request(saml_request, BINDING_HTTP_REDIRECT)
    sp_entity = request.message.issuer.text
    acs = request.message.assertion_consumer_service_url
    response = idp.create_authn_response(
        identity={"mail": [email], "givenName": ["Ada"], "sn": ["Lovelace"]},
        in_response_to=request.message.id, destination=acs, sp_entity_id=sp_entity,
        name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email),
        sign_assertion=True, sign_response=sign_response, userid=email,
        encrypt_assertion=encrypt,
        authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"},
        **({"sign_alg": SIG_RSA_SHA256, "digest_alg": DIGEST_SHA256} if sha256 else {}))
    return acs, base64.b64encode(str(response).encode()).decode()


def last_reason(broker):
    events = broker.api("GET", "/events").json()["data"]
    return events[0]["reason"] if events else None


def redeem(broker, setup, location, verifier):
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(location).query))
    assert "code" in query, (query, last_reason(broker))
    assert query["state"] == "st-1"
    r = broker.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT_URI,
        "client_id": setup["client"]["client_id"], "client_secret": setup["client"]["client_secret"],
        "code_verifier": verifier})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("sign_response", [False, True])
def test_pysaml2_idp_login_gives_a_verified_id_token(broker, setup, sign_response):
    saml_request, relay_state, verifier = authorize(broker, setup, "ada@pysaml2.example")
    acs, saml_response = idp_answer(setup, saml_request, "ada@pysaml2.example", sign_response)
    assert acs == setup["conn"]["sp"]["acs_url"]
    r = requests.post(acs, data={"SAMLResponse": saml_response, "RelayState": relay_state},
                      allow_redirects=False, timeout=10)
    assert r.status_code == 302, r.text
    assert r.headers["Location"].startswith(REDIRECT_URI)
    tokens = redeem(broker, setup, r.headers["Location"], verifier)
    keys = jwt.PyJWKClient(broker.url + "/keys")
    key = keys.get_signing_key_from_jwt(tokens["id_token"])
    claims = jwt.decode(tokens["id_token"], key.key, algorithms=["RS256"],
                        audience=setup["client"]["client_id"], issuer=broker.url)
    conn = setup["conn"]["id"]
    assert claims["sub"] == f"{conn};ada@pysaml2.example"
    assert claims["email"] == "ada@pysaml2.example"
    assert claims["given_name"] == "Ada" and claims["family_name"] == "Lovelace"
    assert claims["oid"] == setup["org"]["id"]
    assert claims["nonce"] == "n-1"
    assert claims["amr"] == [conn]


def test_the_same_pysaml2_response_twice_is_a_replay(broker, setup):
    saml_request, relay_state, _ = authorize(broker, setup, "ada@pysaml2.example")
    acs, saml_response = idp_answer(setup, saml_request, "ada@pysaml2.example")
    first = requests.post(acs, data={"SAMLResponse": saml_response, "RelayState": relay_state},
                          allow_redirects=False, timeout=10)
    assert first.status_code == 302 and "code=" in first.headers["Location"]
    # A second login transaction, but the old (captured) response.
    _, relay_state2, _ = authorize(broker, setup, "ada@pysaml2.example")
    again = requests.post(acs, data={"SAMLResponse": saml_response, "RelayState": relay_state2},
                          allow_redirects=False, timeout=10)
    assert again.status_code == 302
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(again.headers["Location"]).query))
    assert query.get("error") == "access_denied" and "code" not in query


def test_pysaml2_default_rsa_sha1_signature_is_refused_with_the_reason(broker, setup):
    """pysaml2 still signs with RSA-SHA1 unless told otherwise; SHA-1 is off by default."""
    saml_request, relay_state, _ = authorize(broker, setup, "ada@pysaml2.example")
    acs, saml_response = idp_answer(setup, saml_request, "ada@pysaml2.example", sha256=False)
    r = requests.post(acs, data={"SAMLResponse": saml_response, "RelayState": relay_state},
                      allow_redirects=False, timeout=10)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(r.headers["Location"]).query))
    assert query["error"] == "access_denied" and "code" not in query
    assert "rsa-sha1" in last_reason(broker)


def encrypted_login(broker, setup, idp="idp"):
    """A login answered by pysaml2 with an encrypted, signed assertion (RSA-SHA256): the ACS's
    answer, the PKCE verifier and the newest event id before the post."""
    saml_request, relay_state, verifier = authorize(broker, setup, "ada@pysaml2.example")
    acs, saml_response = idp_answer(setup, saml_request, "ada@pysaml2.example", encrypt=True,
                                    idp=idp)
    xml = base64.b64decode(saml_response).decode()
    assert "EncryptedAssertion" in xml and "<saml:Assertion" not in xml, xml[:500]
    events = broker.api("GET", "/events").json()["data"]
    before = events[0]["id"] if events else None
    r = requests.post(acs, data={"SAMLResponse": saml_response, "RelayState": relay_state},
                      allow_redirects=False, timeout=10)
    assert r.status_code == 302, r.text
    return r, verifier, xml, before


def assert_logged_in(broker, setup, r, verifier):
    tokens = redeem(broker, setup, r.headers["Location"], verifier)
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["sub"] == f"{setup['conn']['id']};ada@pysaml2.example", claims
    assert claims["email"] == "ada@pysaml2.example"


def assert_refused(broker, r, before, reason):
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(r.headers["Location"]).query))
    assert query.get("error") == "access_denied" and "code" not in query, query
    events = broker.api("GET", "/events").json()["data"]
    assert events and events[0]["id"] != before, ("no new event", events[:2])
    event = events[0]
    assert event["outcome"] == "failure", event
    assert reason in event["reason"], (reason, event["reason"])


def set_allow_3des(broker, setup, value):
    r = broker.api("PATCH", f"/connections/{setup['conn']['id']}",
                   {"options": {"allow_3des": value}})
    assert r.status_code == 200, r.text
    assert r.json()["options"].get("allow_3des") == value, r.json()


def test_pysaml2_default_encryption_is_3des_refused_until_allowed(broker, setup):
    r, _, xml, before = encrypted_login(broker, setup)
    assert f'Algorithm="{TRIPLEDES_CBC}"' in xml and f'Algorithm="{XENC}rsa-oaep-mgf1p"' in xml
    assert_refused(broker, r, before, f"decryption: data cipher {TRIPLEDES_CBC} is refused "
                   "unless the connection's option allow_3des is true")
    set_allow_3des(broker, setup, True)
    try:
        r, verifier, _, _ = encrypted_login(broker, setup)
        assert_logged_in(broker, setup, r, verifier)
    finally:
        set_allow_3des(broker, setup, None)
    r, _, _, before = encrypted_login(broker, setup)
    assert_refused(broker, r, before, "option allow_3des is true")


def test_pysaml2_encrypting_with_aes128_cbc_logs_in(broker, setup):
    r, verifier, xml, _ = encrypted_login(broker, setup, idp="aes_idp")
    assert f'Algorithm="{AES128_CBC}"' in xml and f'Algorithm="{XENC}rsa-oaep-mgf1p"' in xml
    assert_logged_in(broker, setup, r, verifier)
