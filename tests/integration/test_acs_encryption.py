"""Encrypted assertions in every shape the broker accepts or refuses, against the REAL broker's ACS.

Two independent encryptors, neither of them the broker's code:
- OpenSSL directly (python3-cryptography): the data key wrapped for the SP's encryption
  certificate (from its metadata) with the xmlenc 1.1 identifier
  http://www.w3.org/2009/xmlenc11#rsa-oaep, SHA-1 or SHA-256 DigestMethod x MGF1 with SHA-1 or
  SHA-256 (xmlsec 1.2 implements none of these), the assertion with AES-256-GCM or 3DES-CBC;
- the xmlsec1 command-line tool (what pysaml2 and many IdPs run), from a template:
  xmlenc#rsa-oaep-mgf1p with AES-256-CBC, AES-128-GCM and AES-256-GCM.
Each logs in. 3DES-CBC is refused by default with its reason in GET /api/v1/events, accepted
once the connection's option allow_3des is set through the API; require_encryption refuses a
plain assertion. Refused, each with its precise reason: encrypted to another certificate, RSA
PKCS#1 v1.5 key transport, an unknown data cipher, key transport or digest, a changed cipher
text.

Needs python3-lxml, python3-xmlsec (the corpus signs the assertions), python3-cryptography for
/usr/bin/python3 and the xmlsec1 binary (Debian packages)."""
import base64
import os
import shutil
import subprocess
import tempfile

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
RSA_OAEP11 = XENC11 + "rsa-oaep"
RSA_OAEP_MGF1P = XENC + "rsa-oaep-mgf1p"
RSA_1_5 = XENC + "rsa-1_5"
# RSA-OAEP's DigestMethod and MGF identifiers, with the hash each names.
DIGESTS = {"sha1": (DS + "sha1", hashes.SHA1), "sha256": (XENC + "sha256", hashes.SHA256)}
MGFS = {"sha1": (XENC11 + "mgf1sha1", hashes.SHA1), "sha256": (XENC11 + "mgf1sha256", hashes.SHA256)}
XMLSEC1 = shutil.which("xmlsec1")


def _aes256_gcm(plain):
    key, iv = os.urandom(32), os.urandom(12)
    return key, iv + AESGCM(key).encrypt(iv, plain, None)  # IV | cipher text | tag


def _tripledes_cbc(plain):
    key, iv = os.urandom(24), os.urandom(8)
    pad = 8 - len(plain) % 8  # XML Encryption padding: arbitrary bytes, then the count
    padded = plain + os.urandom(pad - 1) + bytes([pad])
    enc = Cipher(algorithms.TripleDES(key), modes.CBC(iv)).encryptor()
    return key, iv + enc.update(padded) + enc.finalize()


def _b64(raw):
    return base64.b64encode(raw).decode()


def _replace_assertion(xml, encrypted_data):
    """xml (a Response with a signed saml:Assertion), base64, with the assertion replaced by an
    EncryptedAssertion holding encrypted_data (made from the assertion's bytes)."""
    response = etree.fromstring(xml)
    assertion = response.find("{%s}Assertion" % SAML)
    holder = etree.Element("{%s}EncryptedAssertion" % SAML, nsmap={"saml": SAML})
    holder.append(encrypted_data(etree.tostring(assertion)))
    assertion.addprevious(holder)
    response.remove(assertion)
    return _b64(etree.tostring(response))


def encrypt_assertion(xml, sp_cert_path, data_alg, digest="sha256", mgf="sha256",
                      key_alg=RSA_OAEP11, digest_uri=None):
    """Encrypted with OpenSSL: data_alg for the data (its Algorithm as given, the cipher AES-256-GCM
    unless it is 3DES-CBC), the key wrapped with RSA-OAEP with these digest and MGF hashes
    (key_alg xmlenc11#rsa-oaep: DigestMethod and MGF written; rsa-1_5: PKCS#1 v1.5, nothing
    written). digest_uri replaces the DigestMethod written."""
    def encrypted_data(plain):
        key, cipher_text = (_tripledes_cbc if data_alg == TRIPLEDES_CBC else _aes256_gcm)(plain)
        with open(sp_cert_path, "rb") as f:
            public_key = x509.load_pem_x509_certificate(f.read()).public_key()
        if key_alg == RSA_1_5:
            wrapped, params = public_key.encrypt(key, padding.PKCS1v15()), ""
        else:
            wrapped = public_key.encrypt(key, padding.OAEP(
                mgf=padding.MGF1(MGFS[mgf][1]()), algorithm=DIGESTS[digest][1](), label=None))
            params = (f'<ds:DigestMethod Algorithm="{digest_uri or DIGESTS[digest][0]}"/>'
                      f'<xenc11:MGF Algorithm="{MGFS[mgf][0]}"/>')
        return etree.fromstring(
            f'<xenc:EncryptedData xmlns:xenc="{XENC}" xmlns:ds="{DS}" xmlns:xenc11="{XENC11}" '
            f'Type="{XENC}Element"><xenc:EncryptionMethod Algorithm="{data_alg}"/><ds:KeyInfo>'
            f'<xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="{key_alg}">{params}'
            f'</xenc:EncryptionMethod><xenc:CipherData><xenc:CipherValue>{_b64(wrapped)}'
            f'</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>'
            f'<xenc:CipherData><xenc:CipherValue>{_b64(cipher_text)}</xenc:CipherValue>'
            f'</xenc:CipherData></xenc:EncryptedData>')
    return _replace_assertion(xml, encrypted_data)


# xmlsec1's --session-key for each data cipher it is asked for.
SESSION_KEYS = {XENC + "aes256-cbc": "aes-256", XENC11 + "aes128-gcm": "aes-128",
                XENC11 + "aes256-gcm": "aes-256", TRIPLEDES_CBC: "des-192"}


def xmlsec1_encrypt(xml, sp_cert_path, data_alg, key_alg=RSA_OAEP_MGF1P):
    """Encrypted by the xmlsec1 command-line tool from a template (as pysaml2 does): a fresh
    session key for data_alg, wrapped with key_alg for the certificate in sp_cert_path."""
    template = (f'<xenc:EncryptedData xmlns:xenc="{XENC}" xmlns:ds="{DS}" Type="{XENC}Element">'
                f'<xenc:EncryptionMethod Algorithm="{data_alg}"/><ds:KeyInfo><xenc:EncryptedKey>'
                f'<xenc:EncryptionMethod Algorithm="{key_alg}"/><xenc:CipherData>'
                '<xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>'
                '<xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>')

    def encrypted_data(plain):
        if XMLSEC1 is None:
            pytest.fail("the xmlsec1 binary is missing: install xmlsec1 (scripts/deps.sh does)")
        with tempfile.TemporaryDirectory(prefix="xmlsec1-") as tmp:
            data, tmpl = os.path.join(tmp, "assertion.xml"), os.path.join(tmp, "template.xml")
            with open(data, "wb") as f:
                f.write(plain)
            with open(tmpl, "w") as f:
                f.write(template)
            done = subprocess.run([XMLSEC1, "encrypt", "--pubkey-cert-pem", sp_cert_path,
                                   "--session-key", SESSION_KEYS[data_alg], "--xml-data", data,
                                   tmpl], capture_output=True, check=False)
            assert done.returncode == 0, done.stderr.decode()[-2000:]
            return etree.fromstring(done.stdout)
    return _replace_assertion(xml, encrypted_data)


def tamper(b64):
    """b64 with one bit of its EncryptedData's cipher text flipped (past the IV)."""
    response = etree.fromstring(base64.b64decode(b64))
    value = response.find(f"{{{SAML}}}EncryptedAssertion/{{{XENC}}}EncryptedData/"
                          f"{{{XENC}}}CipherData/{{{XENC}}}CipherValue")
    raw = bytearray(base64.b64decode(value.text))
    raw[len(raw) // 2] ^= 0x01
    value.text = _b64(bytes(raw))
    return _b64(etree.tostring(response))


def set_options(broker, setup, options):
    r = broker.api("PATCH", f"/connections/{setup['conn']['id']}", {"options": options})
    assert r.status_code == 200, r.text
    assert all(r.json()["options"].get(k) == v for k, v in options.items() if v is not None)


def login_with(broker, setup, data_alg=None, encrypt=None):
    """A fresh login answered by a signed assertion, encrypted with data_alg (None: plain), or
    by encrypt(xml) when given: the ACS's answer, the login, the case and the event id before
    the post."""
    login = start_login(broker, setup)
    case = make(setup, login, "valid_signed_assertion")
    if encrypt is None and data_alg is not None:
        encrypt = lambda xml: encrypt_assertion(xml, setup["sp_cert"], data_alg)  # noqa: E731
    b64 = case.b64 if encrypt is None else encrypt(case.xml)
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


@pytest.mark.parametrize("digest", ["sha1", "sha256"])
@pytest.mark.parametrize("mgf", ["sha1", "sha256"])
def test_xmlenc11_rsa_oaep_each_digest_and_mgf_logs_in(broker, setup, digest, mgf):
    r, login, case, before = login_with(broker, setup, encrypt=lambda xml: encrypt_assertion(
        xml, setup["sp_cert"], AES256_GCM, digest=digest, mgf=mgf))
    assert_logged_in(broker, setup, r, login, case, before)


@pytest.mark.parametrize("data_alg", [XENC + "aes256-cbc", XENC11 + "aes128-gcm", AES256_GCM])
def test_xmlsec1_cli_rsa_oaep_mgf1p_logs_in(broker, setup, data_alg):
    r, login, case, before = login_with(broker, setup, encrypt=lambda xml: xmlsec1_encrypt(
        xml, setup["sp_cert"], data_alg))
    assert_logged_in(broker, setup, r, login, case, before)


# Each refusal: how the assertion is encrypted (setup -> xml -> base64) and the reason the event
# log must give. All of them are refused before any plaintext is parsed.
REFUSALS = {
    "xmlsec1_to_another_certificate": (
        lambda setup: lambda xml: xmlsec1_encrypt(xml, setup["evil_cert"], AES256_GCM),
        "decryption: the EncryptedAssertion could not be decrypted: the EncryptedKey does not "
        "decrypt with the SP key (RSA-OAEP with SHA-1 and MGF1-SHA1): it was encrypted to a "
        "retired or unknown SP certificate, or with other parameters"),
    "openssl_to_another_certificate": (
        lambda setup: lambda xml: encrypt_assertion(xml, setup["evil_cert"], AES256_GCM),
        "the EncryptedKey does not decrypt with the SP key (RSA-OAEP with SHA-256 and "
        "MGF1-SHA256)"),
    "xmlsec1_rsa_1_5": (
        lambda setup: lambda xml: xmlsec1_encrypt(xml, setup["sp_cert"], AES256_GCM, RSA_1_5),
        f"decryption: key transport {RSA_1_5} is refused (RSA PKCS#1 v1.5 allows "
        "padding-oracle attacks); use RSA-OAEP"),
    "openssl_rsa_1_5": (
        lambda setup: lambda xml: encrypt_assertion(xml, setup["sp_cert"], AES256_GCM,
                                                    key_alg=RSA_1_5),
        f"decryption: key transport {RSA_1_5} is refused"),
    "unknown_data_cipher": (
        lambda setup: lambda xml: encrypt_assertion(xml, setup["sp_cert"],
                                                    "urn:example:cipher:aes256-ctr"),
        "decryption: data cipher urn:example:cipher:aes256-ctr is not allowed (only "
        "AES-128/256-GCM, AES-128/256-CBC, and 3DES-CBC with the option allow_3des)"),
    "unknown_key_transport": (
        lambda setup: lambda xml: encrypt_assertion(xml, setup["sp_cert"], AES256_GCM,
                                                    key_alg=XENC + "kw-aes256"),
        f"decryption: key transport {XENC}kw-aes256 is not allowed (only RSA-OAEP: "
        f"{RSA_OAEP_MGF1P} and {RSA_OAEP11})"),
    "unknown_oaep_digest": (
        lambda setup: lambda xml: encrypt_assertion(
            xml, setup["sp_cert"], AES256_GCM,
            digest_uri="http://www.w3.org/2001/04/xmldsig-more#md5"),
        "decryption: DigestMethod http://www.w3.org/2001/04/xmldsig-more#md5 of the "
        "EncryptedKey is not allowed"),
    "tampered_gcm_cipher_text": (
        lambda setup: lambda xml: tamper(encrypt_assertion(xml, setup["sp_cert"], AES256_GCM)),
        "decryption: the EncryptedAssertion could not be decrypted: the AES-256-GCM "
        "authentication tag does not verify (the cipher text was changed"),
    "tampered_xmlsec1_gcm_cipher_text": (
        lambda setup: lambda xml: tamper(xmlsec1_encrypt(xml, setup["sp_cert"],
                                                         XENC11 + "aes128-gcm")),
        "the AES-128-GCM authentication tag does not verify"),
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_encrypted_assertion_is_refused_with_its_reason(broker, setup, name):
    maker, reason = REFUSALS[name]
    r, login, _, before = login_with(broker, setup, encrypt=maker(setup))
    assert_refused_with(broker, setup, r, login, before, reason)
    assert_saml_alive(broker, setup)
