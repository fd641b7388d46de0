"""SP encryption key rollover of one SAML connection, through the REAL broker's ACS.

Before: an assertion encrypted to the SP certificate logs in. POST .../sp_key/rotate: the SP
metadata publishes two use="encryption" certificates (the new one also as the signing one; the
document still valid under the OASIS schema, test_sp_metadata_schema's check) and
assertions encrypted to either log in, with the certificate named in the EncryptedKey's
X509Data or not. POST .../sp_key/retire_previous: the metadata has the new one alone, an
assertion encrypted to the old one is refused with its reason in GET /api/v1/events (named or
not), and the new one still logs in.

The encryption is test_acs_encryption's (python3-cryptography: xmlenc11#rsa-oaep, SHA-256,
AES-256-GCM); needs python3-lxml, python3-xmlsec and python3-cryptography (Debian packages)."""
import base64

import pytest

pytest.importorskip("lxml")
pytest.importorskip("xmlsec")
pytest.importorskip("cryptography")
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from lxml import etree  # noqa: E402

from test_acs_attacks import (  # noqa: E402,F401  (broker and setup are fixtures)
    _metadata_encryption_cert, assert_saml_alive, broker, make, newest_event_id, post_acs,
    setup, start_login)
from test_acs_encryption import (  # noqa: E402
    AES256_GCM, DS, XENC, assert_logged_in, assert_refused_with, encrypt_assertion)
from test_sp_metadata_schema import validate  # noqa: E402,F401  (a fixture)

MD = "urn:oasis:names:tc:SAML:2.0:metadata"


def metadata_certs(broker, setup, use):
    """The base64 DER of each KeyDescriptor use=<use> certificate of the SP metadata."""
    r = broker.get(f"/sso/saml/{setup['conn']['id']}/metadata")
    assert r.status_code == 200, r.text
    doc = etree.fromstring(r.content)
    found = doc.xpath(f"//md:KeyDescriptor[@use='{use}']//ds:X509Certificate/text()",
                      namespaces={"md": MD, "ds": DS})
    return ["".join(text.split()) for text in found]


def der_b64(cert_path):
    with open(cert_path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def fingerprint(cert_path):
    with open(cert_path, "rb") as f:
        digest = x509.load_pem_x509_certificate(f.read()).fingerprint(hashes.SHA256())
    return ":".join("%02X" % b for b in digest)


def name_certificate(b64, cert_path):
    """The Response b64 with cert_path named in its EncryptedKey's ds:KeyInfo/ds:X509Data, as
    Okta and ADFS send it."""
    response = etree.fromstring(base64.b64decode(b64))
    enc_key = response.find(".//{%s}EncryptedKey" % XENC)
    info = etree.Element("{%s}KeyInfo" % DS)
    etree.SubElement(etree.SubElement(info, "{%s}X509Data" % DS),
                     "{%s}X509Certificate" % DS).text = der_b64(cert_path)
    enc_key.find("{%s}EncryptionMethod" % XENC).addnext(info)
    return base64.b64encode(etree.tostring(response)).decode()


def login_encrypted_to(broker, setup, cert_path, named):
    """A fresh login answered by a signed assertion encrypted to cert_path (named in the
    EncryptedKey or not): the ACS's answer, the login, the case and the event id before."""
    login = start_login(broker, setup)
    case = make(setup, login, "valid_signed_assertion")
    b64 = encrypt_assertion(case.xml, cert_path, AES256_GCM)
    if named:
        b64 = name_certificate(b64, cert_path)
    before = newest_event_id(broker, setup)
    return post_acs(setup, b64, login["relay_state"]), login, case, before


def sp_key(broker, setup, action):
    r = broker.api("POST", f"/connections/{setup['conn']['id']}/sp_key/{action}")
    assert r.status_code == 200, r.text
    return r.json()["sp"]


def test_the_sp_key_rolls_over_old_works_both_work_then_the_old_is_refused(broker, setup,
                                                                          validate):
    old = setup["sp_cert"]
    for named in (False, True):
        assert_logged_in(broker, setup, *login_encrypted_to(broker, setup, old, named))
    assert metadata_certs(broker, setup, "encryption") == [der_b64(old)]

    sp = sp_key(broker, setup, "rotate")
    new = _metadata_encryption_cert(
        broker.get(f"/sso/saml/{setup['conn']['id']}/metadata").text,
        setup["tmp"] + "/sp-cert-next.pem")
    assert sp["previous_certificate"] is not None
    assert [d["sha256_fingerprint"] for d in sp["certificate_details"]] == \
        [fingerprint(new), fingerprint(old)]
    # Both for encryption (the new one first), the new one alone for signing.
    assert metadata_certs(broker, setup, "encryption") == [der_b64(new), der_b64(old)]
    assert metadata_certs(broker, setup, "signing") == [der_b64(new)]
    done = validate(broker.get(f"/sso/saml/{setup['conn']['id']}/metadata").content,
                    "overlap.xml")
    assert done.returncode == 0, done.stderr
    for cert in (new, old):
        for named in (False, True):
            assert_logged_in(broker, setup, *login_encrypted_to(broker, setup, cert, named))

    sp = sp_key(broker, setup, "retire_previous")
    assert sp["previous_certificate"] is None
    assert metadata_certs(broker, setup, "encryption") == [der_b64(new)]
    r, login, _, before = login_encrypted_to(broker, setup, old, True)
    assert_refused_with(broker, setup, r, login, before,
                        "decryption: the EncryptedKey is encrypted to a retired or unknown SP "
                        f"certificate (its X509Data names SHA-256 {fingerprint(old)})")
    r, login, _, before = login_encrypted_to(broker, setup, old, False)
    assert_refused_with(broker, setup, r, login, before,
                        "does not decrypt with the SP key (RSA-OAEP with SHA-256 and "
                        "MGF1-SHA256): it was encrypted to a retired or unknown SP certificate")
    for named in (False, True):
        assert_logged_in(broker, setup, *login_encrypted_to(broker, setup, new, named))
    assert_saml_alive(broker, setup)
