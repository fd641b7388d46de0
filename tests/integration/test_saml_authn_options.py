"""A SAML connection's AuthnRequest options through the real broker: a signed HTTP-Redirect
request verified by the test with the SP certificate (OpenSSL, over the exact query octets of
SAML bindings 3.4.4.1), the HTTP-POST binding's page (its CSP, no inline script, the form to
the IdP's SSO URL, an enveloped signature that xmlsec1 verifies with the SP certificate), and
a response from Debian's pysaml2 refused because its AuthnInstant is older than the client's
max_age plus the connection's clock_skew_s, with the reason in GET /api/v1/events."""
import base64
import hashlib
import html.parser
import re
import secrets
import subprocess
import time
import urllib.parse

import pytest
import requests

saml2 = pytest.importorskip("saml2")
from saml2 import BINDING_HTTP_REDIRECT  # noqa: E402
from saml2.config import IdPConfig  # noqa: E402
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID  # noqa: E402
from saml2.server import Server  # noqa: E402
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256  # noqa: E402
from test_login_pysaml2 import keypair  # noqa: E402  (the IdP's key pair, by OpenSSL)

REDIRECT_URI = "https://app.example.net/login/callback"
IDP_ENTITY = "urn:test:authn-options-idp"
IDP_SSO = "https://idp.authn-options.example/sso?tenant=t1"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


@pytest.fixture(scope="module")
def setup(broker, tmp_path_factory):
    key, cert = keypair(tmp_path_factory.mktemp("authn-options"))
    org = broker.api("POST", "/organizations", {"display_name": "Authn Options Corp"}).json()
    domain = broker.api("POST", f"/organizations/{org['id']}/domains",
                        {"domain": "authn-options.example"})
    assert domain.status_code == 201
    saml = {"idp_entity_id": IDP_ENTITY, "idp_sso_url": IDP_SSO,
            "idp_certificates": [open(cert).read()]}
    conn = broker.api("POST", f"/organizations/{org['id']}/connections",
                      {"type": "saml", "saml": saml}).json()
    assert broker.api("POST", f"/connections/{conn['id']}/enable").status_code == 200
    client = broker.api("POST", "/clients", {"name": "rp", "redirect_uris": [REDIRECT_URI]}).json()
    return {"client": client, "conn": conn, "key": key, "cert": cert}


def set_options(broker, setup, options):
    r = broker.api("PATCH", f"/connections/{setup['conn']['id']}", {"options": options})
    assert r.status_code == 200, r.text
    return r.json()


def sp_certificate(broker, setup, tmp):
    """The SP signing certificate as the SP metadata publishes it, as a PEM file."""
    metadata = broker.get(f"/sso/saml/{setup['conn']['id']}/metadata").text
    der_b64 = re.search(r"<(?:\w+:)?X509Certificate>([^<]+)<", metadata).group(1)
    body = "".join(der_b64.split())
    pem = tmp / "sp.crt"
    pem.write_text("-----BEGIN CERTIFICATE-----\n"
                   + "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
                   + "\n-----END CERTIFICATE-----\n")
    return metadata, pem


def authorize(broker, setup, **extra):
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {"response_type": "code", "client_id": setup["client"]["client_id"],
              "redirect_uri": REDIRECT_URI, "scope": "openid email", "state": "st-1",
              "code_challenge": challenge, "code_challenge_method": "S256",
              "login_hint": "ada@authn-options.example"}
    params.update(extra)
    return broker.get("/oauth/authorize?" + urllib.parse.urlencode(params), allow_redirects=False)


def test_signed_redirect_request_verifies_with_the_sp_certificate(broker, setup, tmp_path):
    set_options(broker, setup, {"sign_authn_requests": True, "nameid_format": PERSISTENT})
    metadata, cert = sp_certificate(broker, setup, tmp_path)
    assert 'AuthnRequestsSigned="true"' in metadata
    r = authorize(broker, setup)
    assert r.status_code == 302, r.text
    location = r.headers["Location"]
    assert location.startswith(IDP_SSO + "&SAMLRequest=")
    query = urllib.parse.urlparse(location).query
    # Bindings 3.4.4.1: the signature is over the URL-encoded octets as sent, in the order
    # SAMLRequest, RelayState, SigAlg.
    raw = dict(part.split("=", 1) for part in query.split("&"))
    assert list(raw) == ["tenant", "SAMLRequest", "RelayState", "SigAlg", "Signature"]
    assert urllib.parse.unquote(raw["SigAlg"]) == RSA_SHA256
    signed = "SAMLRequest={}&RelayState={}&SigAlg={}".format(
        raw["SAMLRequest"], raw["RelayState"], raw["SigAlg"]).encode()
    signature = tmp_path / "sig.bin"
    signature.write_bytes(base64.b64decode(urllib.parse.unquote(raw["Signature"])))
    pubkey = tmp_path / "sp.pub"
    subprocess.run(["openssl", "x509", "-in", str(cert), "-pubkey", "-noout", "-out", str(pubkey)],
                   check=True)

    def verifies(data):
        (tmp_path / "signed.bin").write_bytes(data)
        return subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(pubkey), "-signature",
                               str(signature), str(tmp_path / "signed.bin")],
                              capture_output=True).returncode == 0

    assert verifies(signed)
    assert not verifies(signed.replace(b"RelayState=", b"RelayState=x"))
    # The request asks for the connection's NameID format.
    xml = pysaml2_request(setup, urllib.parse.unquote(raw["SAMLRequest"]))
    assert xml.message.name_id_policy.format == PERSISTENT
    # Unsigned again: no signature, and the metadata says so.
    set_options(broker, setup, {"sign_authn_requests": None, "nameid_format": None})
    r = authorize(broker, setup)
    assert "Signature=" not in r.headers["Location"] and "SigAlg=" not in r.headers["Location"]
    assert 'AuthnRequestsSigned="false"' in broker.get(
        f"/sso/saml/{setup['conn']['id']}/metadata").text


class FormParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms, self.fields, self.scripts, self.inline = [], {}, [], []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(attrs)
        elif tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs["value"]
        elif tag == "script":
            self.scripts.append(attrs.get("src"))
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline.append(data)


def test_http_post_binding_page_posts_a_signed_request_to_the_idp(broker, setup, tmp_path):
    set_options(broker, setup, {"binding": "http-post", "sign_authn_requests": True})
    _, cert = sp_certificate(broker, setup, tmp_path)
    r = authorize(broker, setup)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/html")
    csp = r.headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["script-src"] == ["'self'"] and directives["default-src"] == ["'none'"]
    assert "unsafe-inline" not in csp and directives["frame-ancestors"] == ["'none'"]
    page = FormParser()
    page.feed(r.text)
    assert page.forms == [{"id": "autopost", "method": "post", "action": IDP_SSO}]
    assert page.scripts == ["/static/autopost.js"] and page.inline == []
    assert "<noscript><button type=\"submit\">Continue</button></noscript>" in r.text
    assert set(page.fields) == {"SAMLRequest", "RelayState"}
    script = broker.get("/static/autopost.js")
    assert script.status_code == 200 and "javascript" in script.headers["Content-Type"]
    assert "getElementById('autopost')" in script.text and ".submit()" in script.text
    # The request: base64 of the XML (no DEFLATE), an enveloped signature that xmlsec1
    # verifies with the SP certificate alone, and that breaks when the request changes.
    xml = base64.b64decode(page.fields["SAMLRequest"])
    assert xml.startswith(b"<samlp:AuthnRequest ")
    request_id = re.search(rb' ID="([^"]+)"', xml).group(1).decode()
    assert f'<Reference URI="#{request_id}">'.encode() in xml
    assert b'Algorithm="' + RSA_SHA256.encode() + b'"' in xml

    def xmlsec_verifies(document):
        (tmp_path / "request.xml").write_bytes(document)
        return subprocess.run(
            ["xmlsec1", "--verify", "--pubkey-cert-pem", str(cert), "--id-attr:ID",
             "urn:oasis:names:tc:SAML:2.0:protocol:AuthnRequest", str(tmp_path / "request.xml")],
            capture_output=True).returncode == 0

    assert xmlsec_verifies(xml)
    assert not xmlsec_verifies(xml.replace(b'ProtocolBinding="', b'ForceAuthn="true" ProtocolBinding="'))
    # The IdP reads it as an AuthnRequest for this SP's ACS.
    request = pysaml2_idp(setup).parse_authn_request(page.fields["SAMLRequest"],
                                                     saml2.BINDING_HTTP_POST)
    assert request.message.assertion_consumer_service_url == setup["conn"]["sp"]["acs_url"]
    set_options(broker, setup, {"binding": None, "sign_authn_requests": None})


def pysaml2_idp(setup, metadata=None):
    if "idp" not in setup:
        config = IdPConfig()
        config.load({
            "entityid": IDP_ENTITY,
            "service": {"idp": {
                "endpoints": {"single_sign_on_service": [
                    (IDP_SSO, BINDING_HTTP_REDIRECT), (IDP_SSO, saml2.BINDING_HTTP_POST)]},
                "policy": {"default": {"lifetime": {"minutes": 5}, "name_form":
                                       "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"}},
                "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
            }},
            "key_file": setup["key"],
            "cert_file": setup["cert"],
            "metadata": {"inline": [metadata or setup["metadata"]]},
            "xmlsec_binary": "/usr/bin/xmlsec1",
        })
        setup["idp"] = Server(config=config)
    return setup["idp"]


def pysaml2_request(setup, saml_request):
    return pysaml2_idp(setup).parse_authn_request(saml_request, BINDING_HTTP_REDIRECT)


@pytest.fixture(autouse=True)
def sp_metadata(broker, setup):
    setup.setdefault("metadata", broker.get(f"/sso/saml/{setup['conn']['id']}/metadata").text)


def answer(broker, setup, authn_instant, **extra):
    r = authorize(broker, setup, **extra)
    assert r.status_code == 302, r.text
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(r.headers["Location"]).query))
    request = pysaml2_request(setup, query["SAMLRequest"])
    response = pysaml2_idp(setup).create_authn_response(
        identity={"mail": ["ada@authn-options.example"]},
        in_response_to=request.message.id,
        destination=request.message.assertion_consumer_service_url,
        sp_entity_id=request.message.issuer.text,
        name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text="ada@authn-options.example"),
        sign_assertion=True, userid="ada@authn-options.example",
        authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
               "authn_instant": authn_instant},
        sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256)
    posted = requests.post(request.message.assertion_consumer_service_url,
                           data={"SAMLResponse": base64.b64encode(str(response).encode()).decode(),
                                 "RelayState": query["RelayState"]},
                           allow_redirects=False, timeout=10)
    assert posted.status_code == 302, posted.text
    return request, dict(urllib.parse.parse_qsl(
        urllib.parse.urlparse(posted.headers["Location"]).query))


def test_authn_instant_older_than_max_age_is_refused_with_the_reason(broker, setup):
    set_options(broker, setup, {"clock_skew_s": 30})
    now = int(time.time())
    # 60 s of max_age and 30 s of skew: 110 s ago is too old (the default 120 s skew would
    # have let it pass).
    request, result = answer(broker, setup, now - 110, max_age="60")
    assert request.message.force_authn == "true"
    assert result.get("error") == "access_denied" and "code" not in result
    events = broker.api("GET", "/events?connection_id=" + setup["conn"]["id"]).json()["data"]
    reason = events[0]["reason"]
    assert events[0]["outcome"] == "failure"
    expected = time.strftime("%Y-%m-%dT%H:%M:", time.gmtime(now - 60))
    assert reason.startswith("authn_instant: expected " + expected), reason
    assert "(max_age 60s, skew 30s), got " + time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 110)) in reason, reason
    # A recent authentication passes; so does an old one when no max_age was asked.
    _, result = answer(broker, setup, int(time.time()) - 5, max_age="60")
    assert "code" in result, result
    _, result = answer(broker, setup, int(time.time()) - 3600)
    assert "code" in result, result
    set_options(broker, setup, {"clock_skew_s": None})


@pytest.mark.parametrize("value, says", [
    (-1, "got -1"), (601, "got 601"), (1.5, "got 1.5"), ("120", "got a string"),
    (True, "got a boolean")])
def test_clock_skew_out_of_range_is_a_precise_400(broker, setup, value, says):
    r = broker.api("PATCH", f"/connections/{setup['conn']['id']}", {"options": {"clock_skew_s": value}})
    assert r.status_code == 400, r.text
    assert r.json()["error_description"] == (
        "options.clock_skew_s must be a whole number from 0 to 600, " + says)
