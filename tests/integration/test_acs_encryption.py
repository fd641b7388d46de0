"""Encrypted assertions in the shapes xmlsec 1.2 cannot decrypt, against the REAL broker's ACS.

The test encrypts each signed assertion itself (python3-cryptography, no xmlsec): the data key
wrapped for the SP's encryption certificate (from its metadata) with the xmlenc 1.1 identifier
http://www.w3.org/2009/xmlenc11#rsa-oaep with a SHA-256 DigestMethod and MGF1 with SHA-256,
the assertion with AES-256-GCM, which logs in; and with 3DES-CBC, refused by default with its
reason in GET /api/v1/events, accepted once the connection's option allow_3des is set through
the API. The option require_encryption refuses a plain assertion, with its reason.

Needs python3-lxml, python3-xmlsec (the corpus signs the assertions) and python3-cryptography
for /usr/bin/python3 (Debian packages)."""
import base64
import os

import pytest

pytest.importorskip("lxml")
pytest.importorskip("xmlsec")
pytest.importorskip("cryptography")
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from lxml import etree  # noqa: E402

from test_acs_attacks import (  # noqa: E402,F401  (broker and setup are fixtures)
    UNVALIDATED, assert_refused, assert_saml_alive, broker, make, make_cases, new_event,
    newest_event_id, post_acs, redeem, setup, start_login, subject_of)

XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
DS = make_cases.NS["ds"]
SAML = make_cases.NS["saml"]
AES256_GCM = XENC11 + "aes256-gcm"
TRIPLEDES_CBC = XENC + "tripledes-cbc"


def _aes256_gcm(plain):
    key, iv = os.urandom(32), os.urandom(12)
    return key, iv + AESGCM(key).encrypt(iv, plain, None)  # IV | cipher text | tag


def _tripledes_cbc(plain):
    key, iv = os.urandom(24), os.urandom(8)
    pad = 8 - len(plain) % 8  # XML Encryption padding: arbitrary bytes, then the count
    padded = plain + os.urandom(pad - 1) + bytes([pad])
    enc = Cipher(algorithms.TripleDES(key), modes.CBC(iv)).encryptor()
    return key, iv + enc.update(padded) + enc.finalize()


def encrypt_assertion(xml, sp_cert_path, data_alg):
    """xml (a Response with a signed saml:Assertion) with the assertion encrypted: data_alg
    for the data, the key wrapped with xmlenc11#rsa-oaep, SHA-256 and MGF1-SHA256."""
    response = etree.fromstring(xml)
    assertion = response.find("{%s}Assertion" % SAML)
    plain = etree.tostring(assertion)
    key, cipher_text = (_aes256_gcm if data_alg == AES256_GCM else _tripledes_cbc)(plain)
    with open(sp_cert_path, "rb") as f:
        public_key = x509.load_pem_x509_certificate(f.read()).public_key()
    wrapped = public_key.encrypt(key, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                                   algorithm=hashes.SHA256(), label=None))
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    encrypted = etree.fromstring(
        f'<saml:EncryptedAssertion xmlns:saml="{SAML}" xmlns:xenc="{XENC}" xmlns:ds="{DS}" '
        f'xmlns:xenc11="{XENC11}"><xenc:EncryptedData Type="{XENC}Element">'
        f'<xenc:EncryptionMethod Algorithm="{data_alg}"/><ds:KeyInfo><xenc:EncryptedKey>'
        f'<xenc:EncryptionMethod Algorithm="{XENC11}rsa-oaep">'
        f'<ds:DigestMethod Algorithm="{XENC}sha256"/>'
        f'<xenc11:MGF Algorithm="{XENC11}mgf1sha256"/></xenc:EncryptionMethod>'
        f'<xenc:CipherData><xenc:CipherValue>{b64(wrapped)}</xenc:CipherValue>'
        f'</xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData>'
        f'<xenc:CipherValue>{b64(cipher_text)}</xenc:CipherValue></xenc:CipherData>'
        f'</xenc:EncryptedData></saml:EncryptedAssertion>')
    assertion.addprevious(encrypted)
    response.remove(assertion)
    return base64.b64encode(etree.tostring(response)).decode()


def set_options(broker, setup, options):
    r = broker.api("PATCH", f"/connections/{setup['conn']['id']}", {"options": options})
    assert r.status_code == 200, r.text
    assert all(r.json()["options"].get(k) == v for k, v in options.items() if v is not None)


def login_with(broker, setup, data_alg=None):
    """A fresh login answered by a signed assertion, encrypted with data_alg (None: plain):
    the ACS's answer, the login, the case and the event id before the post."""
    login = start_login(broker, setup)
    case = make(setup, login, "valid_signed_assertion")
    b64 = case.b64 if data_alg is None else encrypt_assertion(case.xml, setup["sp_cert"],
                                                              data_alg)
    before = newest_event_id(broker, setup)
    return post_acs(setup, b64, login["relay_state"]), login, case, before


def assert_logged_in(broker, setup, r, login, case, before):
    assert r.status_code == 302, (r.status_code, r.text[:300])
    claims = redeem(broker, setup, r.headers["Location"], login)
    assert claims["sub"] == f"{setup['conn']['id']};{subject_of(case)}", claims
    assert new_event(broker, setup, before)["outcome"] == "success"


def assert_refused_with(broker, setup, r, login, before, reason):
    query = assert_refused(r, login)
    assert query.get("error_description") == UNVALIDATED, query
    event = new_event(broker, setup, before)
    assert event["outcome"] == "failure", event
    assert reason in event["reason"], (reason, event["reason"])


def test_xmlenc11_rsa_oaep_sha256_mgf1_sha256_with_aes256_gcm_logs_in(broker, setup):
    r, login, case, before = login_with(broker, setup, AES256_GCM)
    assert_logged_in(broker, setup, r, login, case, before)
    assert_saml_alive(broker, setup)


def test_3des_is_refused_by_default_and_accepted_once_allowed(broker, setup):
    r, login, _, before = login_with(broker, setup, TRIPLEDES_CBC)
    assert_refused_with(broker, setup, r, login, before,
                        f"decryption: data cipher {TRIPLEDES_CBC} is refused unless the "
                        "connection's option allow_3des is true")
    set_options(broker, setup, {"allow_3des": True})
    try:
        r, login, case, before = login_with(broker, setup, TRIPLEDES_CBC)
        assert_logged_in(broker, setup, r, login, case, before)
    finally:
        set_options(broker, setup, {"allow_3des": None})
    r, login, _, before = login_with(broker, setup, TRIPLEDES_CBC)
    assert_refused_with(broker, setup, r, login, before, "option allow_3des is true")
    assert_saml_alive(broker, setup)


def test_require_encryption_refuses_a_plain_assertion(broker, setup):
    set_options(broker, setup, {"require_encryption": True})
    try:
        r, login, _, before = login_with(broker, setup)
        assert_refused_with(broker, setup, r, login, before,
                            "decryption: the connection requires an encrypted assertion "
                            "(option require_encryption), and the Response carries a plain "
                            "saml:Assertion")
        r, login, case, before = login_with(broker, setup, AES256_GCM)
        assert_logged_in(broker, setup, r, login, case, before)
    finally:
        set_options(broker, setup, {"require_encryption": None})
    r, login, case, before = login_with(broker, setup)
    assert_logged_in(broker, setup, r, login, case, before)
