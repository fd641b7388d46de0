#!/usr/bin/python3
"""Writes a corpus of SAML responses (valid ones and attacks) for `test-saml --cases DIR`.

Usage: /usr/bin/python3 tests/saml/make_cases.py OUT_DIR

Every key is generated here (openssl CLI) for this run: the IdP's, an attacker's and the SP's
encryption key. OUT_DIR/manifest.tsv holds the validator configuration ("config" lines) and one
"case" line per response: name, expected outcome (ok / refused), a substring the refusal reason
must contain (for ok cases: a substring of the profile summary), and the file holding the base64
SAMLResponse. Needs the Debian packages python3-lxml and python3-xmlsec.
"""
import base64
import copy
import hashlib
import os
import subprocess
import sys

import xmlsec
from lxml import etree

NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "xenc": "http://www.w3.org/2001/04/xmlenc#",
}
SAMLP = "{%s}" % NS["samlp"]
SAML = "{%s}" % NS["saml"]
DS = "{%s}" % NS["ds"]
IDP = "https://idp.example.test/metadata"
SP = "https://sso.example.test/sso/saml/conn_test1"
ACS = SP + "/acs"
REQ = "_req_8f3c2a"
NOW = 1767323045  # 2026-01-02T03:04:05Z, the validator's "now" for every case
EMAIL_FMT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"


def ts(offset):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW + offset))


def openssl_keypair(out, name, cn):
    key, cert = os.path.join(out, name + "-key.pem"), os.path.join(out, name + "-cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=" + cn], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return key, cert


def fingerprint(cert_path):
    pem = open(cert_path).read()
    body = "".join(l for l in pem.splitlines() if "-----" not in l)
    digest = hashlib.sha256(base64.b64decode(body)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, 64, 2))


def response(issuer=IDP, audience=SP, destination=ACS, recipient=ACS, irt=REQ, status=None,
             name_id="alice@example.com", not_before=-60, not_after=300, authn=True,
             response_irt=True):
    """A Response with one Assertion, as an lxml tree (unsigned)."""
    r = etree.Element(SAMLP + "Response", nsmap={"samlp": NS["samlp"], "saml": NS["saml"]})
    r.set("ID", "_resp_1")
    r.set("Version", "2.0")
    r.set("IssueInstant", ts(0))
    if destination is not None:
        r.set("Destination", destination)
    if irt and response_irt:
        r.set("InResponseTo", irt)
    etree.SubElement(r, SAML + "Issuer").text = issuer
    st = etree.SubElement(r, SAMLP + "Status")
    etree.SubElement(st, SAMLP + "StatusCode").set(
        "Value", status or "urn:oasis:names:tc:SAML:2.0:status:Success")
    a = etree.SubElement(r, SAML + "Assertion")
    a.set("ID", "_assert_1")
    a.set("Version", "2.0")
    a.set("IssueInstant", ts(0))
    etree.SubElement(a, SAML + "Issuer").text = issuer
    subj = etree.SubElement(a, SAML + "Subject")
    nid = etree.SubElement(subj, SAML + "NameID")
    nid.set("Format", EMAIL_FMT)
    nid.text = name_id
    sc = etree.SubElement(subj, SAML + "SubjectConfirmation")
    sc.set("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
    scd = etree.SubElement(sc, SAML + "SubjectConfirmationData")
    scd.set("Recipient", recipient)
    scd.set("NotOnOrAfter", ts(not_after))
    if irt:
        scd.set("InResponseTo", irt)
    cond = etree.SubElement(a, SAML + "Conditions")
    cond.set("NotBefore", ts(not_before))
    cond.set("NotOnOrAfter", ts(not_after))
    ar = etree.SubElement(cond, SAML + "AudienceRestriction")
    etree.SubElement(ar, SAML + "Audience").text = audience
    if authn:
        an = etree.SubElement(a, SAML + "AuthnStatement")
        an.set("AuthnInstant", ts(-5))
        an.set("SessionIndex", "_session_1")
        ctx = etree.SubElement(an, SAML + "AuthnContext")
        etree.SubElement(ctx, SAML + "AuthnContextClassRef").text = \
            "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
    ats = etree.SubElement(a, SAML + "AttributeStatement")
    for name, values in (("firstName", ["Alice"]), ("lastName", ["Liddell"]),
                         ("groups", ["engineering", "admins"])):
        at = etree.SubElement(ats, SAML + "Attribute")
        at.set("Name", name)
        for v in values:
            etree.SubElement(at, SAML + "AttributeValue").text = v
    return r


def assertion_of(r):
    return r.find(SAML + "Assertion")


def sign(node, key, cert, method=None, digest=None, transforms=None, uri=None,
         c14n=None, hmac_key=None, with_cert=True):
    """Enveloped signature after the Issuer, like IdPs produce (defaults: RSA-SHA256,
    SHA-256, enveloped + exc-c14n)."""
    c = xmlsec.constants
    sig = xmlsec.template.create(node, c14n or c.TransformExclC14N, method or c.TransformRsaSha256,
                                 ns="ds")
    node.find(SAML + "Issuer").addnext(sig)
    ref = xmlsec.template.add_reference(sig, digest or c.TransformSha256,
                                        uri=("#" + node.get("ID")) if uri is None else uri)
    for t in transforms or [c.TransformEnveloped, c.TransformExclC14N]:
        tnode = xmlsec.template.add_transform(ref, t)
        if t == c.TransformXPath:
            xp = etree.SubElement(tnode, DS + "XPath")
            xp.text = "not(ancestor-or-self::ds:Signature)"
    ctx = xmlsec.SignatureContext()
    if hmac_key:
        ctx.key = xmlsec.Key.from_binary_data(c.KeyDataHmac, hmac_key)
    else:
        ki = xmlsec.template.ensure_key_info(sig)
        if with_cert:
            xmlsec.template.add_x509_data(ki)
        ctx.key = xmlsec.Key.from_file(key, c.KeyDataFormatPem)
        ctx.key.load_cert_from_file(cert, c.KeyDataFormatPem)
    for el in node.getroottree().getroot().iter():
        if el.get("ID") and el.tag in (SAMLP + "Response", SAML + "Assertion"):
            ctx.register_id(el, "ID")
    ctx.sign(sig)
    return sig


def encrypt_assertion(r, sp_cert, data_alg, key_alg):
    c = xmlsec.constants
    a = assertion_of(r)
    ea = etree.Element(SAML + "EncryptedAssertion")
    a.addprevious(ea)
    ea.append(a)
    enc = xmlsec.template.encrypted_data_create(r, data_alg, type=c.TypeEncElement, ns="xenc")
    xmlsec.template.encrypted_data_ensure_cipher_value(enc)
    ki = xmlsec.template.encrypted_data_ensure_key_info(enc, ns="ds")
    ek = xmlsec.template.add_encrypted_key(ki, key_alg)
    xmlsec.template.encrypted_data_ensure_cipher_value(ek)
    mngr = xmlsec.KeysManager()
    mngr.add_key(xmlsec.Key.from_file(sp_cert, c.KeyDataFormatCertPem))
    ctx = xmlsec.EncryptionContext(mngr)
    size = 128 if data_alg in (c.TransformAes128Gcm, c.TransformAes128Cbc) else 256
    ctx.key = xmlsec.Key.generate(c.KeyDataAes, size, c.KeyDataTypeSession)
    ctx.encrypt_xml(enc, a)
    return r


def ser(r):
    return etree.tostring(r, encoding="utf-8")


def reparse(r):
    """lxml matches tags by interned name pointers, which nodes created by xmlsec lack: parse
    the serialization again before looking inside a signature."""
    return etree.fromstring(ser(r))


class Corpus:
    def __init__(self, out):
        self.out = out
        self.lines = []

    def add(self, name, expect, substring, xml):
        if not isinstance(xml, bytes):
            xml = ser(xml)
        fname = name + ".b64"
        with open(os.path.join(self.out, fname), "wb") as f:
            f.write(base64.b64encode(xml))
        assert "\t" not in substring and "\n" not in substring
        self.lines.append("\t".join(["case", name, expect, substring, fname]))


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    c = xmlsec.constants
    idp_key, idp_cert = openssl_keypair(out, "idp", "idp.example.test")
    evil_key, evil_cert = openssl_keypair(out, "attacker", "idp.example.test")
    sp_key, sp_cert = openssl_keypair(out, "sp", "sso.example.test")
    k = Corpus(out)

    def signed_assertion(**kw):
        r = response(**kw)
        sign(assertion_of(r), idp_key, idp_cert)
        return reparse(r)

    def signed_response(**kw):
        r = response(**kw)
        sign(r, idp_key, idp_cert)
        return reparse(r)

    ok_subject = "subject=alice@example.com;"
    # --- valid responses
    k.add("valid_signed_assertion", "ok", ok_subject + "format=" + EMAIL_FMT
          + ";email=alice@example.com;given_name=Alice;family_name=Liddell;name=Alice Liddell;"
          "group=engineering;group=admins;", signed_assertion())
    k.add("valid_signed_response", "ok", ok_subject, signed_response())
    r = response()
    sign(assertion_of(r), idp_key, idp_cert)
    sign(r, idp_key, idp_cert)
    k.add("valid_signed_both", "ok", "assertion_id=_assert_1;", r)
    # Both signed, but the assertion's signature is broken: both must verify.
    r = signed_assertion()
    assertion_of(r).find(".//" + DS + "SignatureValue").text = base64.b64encode(b"\0" * 256).decode()
    sign(r, idp_key, idp_cert)
    k.add("both_signed_assertion_sig_bad", "refused", "signature: the Assertion's signature does not verify", r)

    # --- XSW1..XSW8 ("On Breaking SAML", Somorovsky et al. 2012; SAML Raider's numbering)
    evil_name = "admin@example.com"

    def evil_copy(node, new_id):
        e = copy.deepcopy(node)
        e.set("ID", new_id)
        for s in e.findall(DS + "Signature"):
            e.remove(s)
        for n in e.iter(SAML + "NameID"):
            n.text = evil_name
        return e

    # XSW1: new Response around; the signed original Response moved inside its Signature.
    orig = signed_response()
    evil = evil_copy(orig, "_evil_resp")
    sig = orig.find(DS + "Signature")
    orig.remove(sig)
    sig.append(orig)
    evil.find(SAML + "Issuer").addnext(sig)
    k.add("xsw1_response_in_signature", "refused", 'duplicate ID "_assert_1"', evil)
    # XSW2: as XSW1 but the original Response is a sibling before the detached signature.
    orig = signed_response()
    evil = evil_copy(orig, "_evil_resp")
    sig = orig.find(DS + "Signature")
    orig.remove(sig)
    evil.find(SAML + "Issuer").addnext(orig)
    orig.addnext(sig)
    k.add("xsw2_response_sibling", "refused", 'duplicate ID "_assert_1"', evil)
    # XSW3: unsigned evil Assertion placed before the signed one.
    r = signed_assertion()
    a = assertion_of(r)
    a.addprevious(evil_copy(a, "_evil_assert"))
    k.add("xsw3_assertion_before", "refused", "assertion: expected exactly one", r)
    # XSW4: evil Assertion wraps the signed original.
    r = signed_assertion()
    a = assertion_of(r)
    e = evil_copy(a, "_evil_assert")
    a.addprevious(e)
    e.append(a)
    k.add("xsw4_assertion_wraps_original", "refused", "assertion: expected exactly one", r)
    # XSW5: the signed assertion's value changed, an unsigned copy of the original at the end.
    r = signed_assertion()
    a = assertion_of(r)
    clean = copy.deepcopy(a)
    clean.remove(clean.find(DS + "Signature"))
    a.find(".//" + SAML + "NameID").text = evil_name
    r.append(clean)
    k.add("xsw5_modified_plus_copy_at_end", "refused", 'duplicate ID "_assert_1"', r)
    # XSW6: evil Assertion carries the signature; the original sits inside that Signature.
    r = signed_assertion()
    a = assertion_of(r)
    e = evil_copy(a, "_assert_1x")
    sig = a.find(DS + "Signature")
    a.remove(sig)
    e.find(SAML + "Issuer").addnext(sig)
    sig.append(a)
    r.append(e)
    k.add("xsw6_original_in_signature", "refused", "assertion: expected exactly one", r)
    # XSW7: the signed original inside samlp:Extensions, the evil one in its place.
    r = signed_assertion()
    a = assertion_of(r)
    ext = etree.Element(SAMLP + "Extensions")
    r.find(SAML + "Issuer").addnext(ext)
    e = evil_copy(a, "_evil_assert")
    a.addprevious(e)
    ext.append(a)
    k.add("xsw7_original_in_extensions", "refused", "assertion: expected exactly one", r)
    # XSW8: the evil assertion (same ID) carries the signature; the original, its signature
    # removed, sits in a ds:Object of that signature.
    r = signed_assertion()
    a = assertion_of(r)
    sig = a.find(DS + "Signature")
    e = evil_copy(a, "_assert_1")
    a.remove(sig)
    e.find(SAML + "Issuer").addnext(sig)
    a.addprevious(e)
    etree.SubElement(sig, DS + "Object").append(a)
    k.add("xsw8_original_in_object", "refused", 'duplicate ID "_assert_1"', r)
    # Single-assertion wrapping: the assertion's ID changed and the signature re-pointed, so
    # only one assertion exists but the reference names another element.
    r = signed_response()
    sig = r.find(DS + "Signature")
    r.remove(sig)
    a = assertion_of(r)
    a.find(SAML + "Issuer").addnext(sig)  # the Response's signature moved into the Assertion
    k.add("signature_moved_to_assertion", "refused", 'Reference URI is "#_resp_1"', r)

    # --- comment and CDATA injection (the signature covers the concatenated text)
    base = ser(signed_assertion(name_id="user@evil.com.example.com"))
    k.add("comment_in_nameid", "ok", "subject=user@evil.com.example.com;",
          base.replace(b"user@evil.com.example.com</saml:NameID>",
                       b"user@evil.com<!---->.example.com</saml:NameID>"))
    k.add("cdata_in_nameid", "ok", "subject=user@evil.com.example.com;",
          base.replace(b"user@evil.com.example.com</saml:NameID>",
                       b"user@evil.com<![CDATA[]]>.example.com</saml:NameID>"))
    k.add("element_in_nameid", "refused", "digest",
          base.replace(b"user@evil.com.example.com</saml:NameID>",
                       b"user@evil.com<x/>.example.com</saml:NameID>"))

    # --- signatures
    r = response()
    k.add("unsigned", "refused", "neither the Response nor the Assertion is signed", r)
    r = signed_assertion()
    a = assertion_of(r)
    a.remove(a.find(DS + "Signature"))
    k.add("signature_removed", "refused", "neither the Response nor the Assertion is signed", r)
    r = response()
    sign(assertion_of(r), idp_key, idp_cert, uri="#_resp_1")
    k.add("reference_to_other_element", "refused", 'expected "#_assert_1"', r)
    r = response()
    sign(assertion_of(r), idp_key, idp_cert, uri="")
    k.add("reference_empty_uri", "refused", 'Reference URI is ""', r)
    r = response()
    sign(assertion_of(r), evil_key, evil_cert)
    k.add("attacker_cert_in_keyinfo", "refused",
          "signed by a certificate with SHA-256 fingerprint " + fingerprint(evil_cert), r)
    r = response()
    sign(assertion_of(r), None, None, method=c.TransformHmacSha256, hmac_key=b"secret" * 8)
    k.add("hmac_sha256", "refused", "SignatureMethod http://www.w3.org/2001/04/xmldsig-more#hmac-sha256 is not allowed", r)
    r = response()
    sign(assertion_of(r), idp_key, idp_cert, method=c.TransformRsaSha1, digest=c.TransformSha1)
    k.add("rsa_sha1", "refused", "SignatureMethod http://www.w3.org/2000/09/xmldsig#rsa-sha1 is not allowed", r)
    r = response()
    sign(assertion_of(r), idp_key, idp_cert, digest=c.TransformSha1)
    k.add("digest_sha1", "refused", "DigestMethod http://www.w3.org/2000/09/xmldsig#sha1 is not allowed", r)
    r = response()
    sign(assertion_of(r), idp_key, idp_cert,
         transforms=[c.TransformEnveloped, c.TransformXPath, c.TransformExclC14N])
    k.add("transform_xpath", "refused", "transform http://www.w3.org/TR/1999/REC-xpath-19991116 is not allowed", r)
    r = signed_assertion()
    ts_node = assertion_of(r).find(".//" + DS + "Transforms")
    etree.SubElement(ts_node, DS + "Transform").set(
        "Algorithm", "http://www.w3.org/TR/1999/REC-xslt-19991116")
    k.add("transform_xslt", "refused", "transform http://www.w3.org/TR/1999/REC-xslt-19991116 is not allowed", r)
    r = response()
    sign(assertion_of(r), idp_key, idp_cert,
         transforms=[c.TransformEnveloped, c.TransformExclC14NWithComments])
    k.add("transform_c14n_with_comments", "refused", "xml-exc-c14n#WithComments is not allowed", r)
    r = response()
    sign(assertion_of(r), idp_key, idp_cert, c14n=c.TransformInclC14N)
    k.add("signedinfo_inclusive_c14n", "refused", "CanonicalizationMethod", r)
    r = response()
    sign(assertion_of(r), idp_key, idp_cert)
    r = reparse(r)
    si = assertion_of(r).find(DS + "Signature").find(DS + "SignedInfo")
    si.append(copy.deepcopy(si.find(DS + "Reference")))
    k.add("two_references", "refused", "exactly one Reference, found 2", r)
    r = signed_assertion()
    a = assertion_of(r)
    a.find(".//" + SAML + "Audience").text = "https://evil.test"
    k.add("modified_after_signing", "refused", "digest of the signed Assertion does not match", r)

    # --- structure
    r = signed_assertion()
    a2 = copy.deepcopy(assertion_of(r))
    a2.set("ID", "_assert_2")
    assertion_of(r).addnext(a2)
    k.add("two_assertions", "refused", "found 2", r)
    r = response()
    a = assertion_of(r)
    advice = etree.Element(SAML + "Advice")
    a.find(SAML + "Conditions").addnext(advice)
    inner = copy.deepcopy(a)
    inner.set("ID", "_advice_1")
    inner.remove(inner.find(SAML + "Advice"))
    advice.append(inner)
    sign(a, idp_key, idp_cert)
    k.add("assertion_in_advice", "refused", "found 2", r)
    r = signed_assertion()
    ext = etree.Element(SAMLP + "Extensions")
    r.find(SAML + "Issuer").addnext(ext)
    etree.SubElement(ext, "{urn:x}Thing").set("ID", "_assert_1")
    k.add("duplicate_ids", "refused", 'duplicate ID "_assert_1"', r)
    body = ser(signed_assertion())
    k.add("doctype", "refused", "DOCTYPE", b'<!DOCTYPE Response>' + body)
    k.add("external_entity", "refused", "DOCTYPE",
          b'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
          + body.replace(b"alice@example.com</saml:NameID>", b"&xxe;</saml:NameID>"))
    k.add("internal_entity_billion_laughs", "refused", "DOCTYPE",
          b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
          b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
          + body.replace(b"alice@example.com</saml:NameID>", b"&c;</saml:NameID>"))
    k.add("entity_in_id", "refused", "DOCTYPE",
          b'<!DOCTYPE r [<!ENTITY id "_assert_1">]>'
          + body.replace(b'ID="_assert_1"', b'ID="&id;"'))
    k.add("undeclared_entity_in_id", "refused", "xml: ",
          body.replace(b'ID="_assert_1"', b'ID="_assert&x;"'))
    # UTF-16 hides the DOCTYPE from a byte scan; the parsed document is checked as well.
    k.add("doctype_utf16", "refused", "DOCTYPE",
          ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY e "x">]>'
           + body.decode().replace("alice@example.com</saml:NameID>", "&e;</saml:NameID>")).encode("utf-16"))
    k.add("oversized", "refused", "larger than",
          body.replace(b"</samlp:Response>", b"<!--" + b"x" * (1100 * 1024) + b"--></samlp:Response>"))
    deep = b"".join(b"<d>" for _ in range(100)) + b"".join(b"</d>" for _ in range(100))
    k.add("deeply_nested", "refused", "nested too deeply",
          body.replace(b"</samlp:Response>", b"<samlp:Extensions>" + deep + b"</samlp:Extensions></samlp:Response>"))
    k.add("not_a_response", "refused", "expected a samlp:Response", b"<foo/>")

    # --- conditions
    k.add("wrong_issuer", "refused", "issuer: expected %s, got https://evil.example.test" % IDP,
          signed_assertion(issuer="https://evil.example.test"))
    k.add("wrong_audience", "refused", "audience: expected %s, got urn:foo" % SP,
          signed_assertion(audience="urn:foo"))
    k.add("wrong_destination", "refused", "destination: expected %s, got https://evil.test/acs" % ACS,
          signed_response(destination="https://evil.test/acs"))
    k.add("signed_response_without_destination", "refused", "the signed Response has no Destination",
          signed_response(destination=None))
    k.add("wrong_recipient", "refused", "recipient: expected %s, got https://evil.test/acs" % ACS,
          signed_assertion(recipient="https://evil.test/acs"))
    k.add("wrong_in_response_to", "refused", "in_response_to: expected %s, got _other" % REQ,
          signed_assertion(irt="_other"))
    k.add("unsolicited", "refused", "in_response_to: expected %s, got none" % REQ,
          signed_assertion(irt=None))
    k.add("expired", "refused", "expired: SubjectConfirmationData NotOnOrAfter %s is before now %s (skew 120s)"
          % (ts(-300), ts(0)), signed_assertion(not_before=-600, not_after=-300))
    k.add("expired_within_skew", "ok", ok_subject, signed_assertion(not_before=-600, not_after=-60))
    k.add("not_yet_valid", "refused", "not yet valid: Conditions NotBefore %s is after now %s (skew 120s)"
          % (ts(600), ts(0)), signed_assertion(not_before=600, not_after=900))
    k.add("status_responder", "refused", "status: urn:oasis:names:tc:SAML:2.0:status:Responder",
          signed_response(status="urn:oasis:names:tc:SAML:2.0:status:Responder"))
    k.add("no_authn_statement", "refused", "no AuthnStatement", signed_assertion(authn=False))

    # --- encryption (the assertion is signed, then encrypted for the SP)
    r = signed_assertion()
    encrypt_assertion(r, sp_cert, c.TransformAes256Gcm, c.TransformRsaOaep)
    k.add("encrypted_oaep_aes256gcm", "ok", ok_subject, r)
    r = signed_assertion()
    encrypt_assertion(r, sp_cert, c.TransformAes128Cbc, c.TransformRsaOaep)
    k.add("encrypted_oaep_aes128cbc", "ok", ok_subject, r)
    r = response()
    encrypt_assertion(r, sp_cert, c.TransformAes256Gcm, c.TransformRsaOaep)
    sign(r, idp_key, idp_cert)
    k.add("encrypted_in_signed_response", "ok", ok_subject, r)
    r = signed_assertion()
    encrypt_assertion(r, sp_cert, c.TransformAes256Gcm, c.TransformRsaPkcs1)
    k.add("encrypted_rsa_1_5", "refused", "rsa-1_5 is refused", r)
    r = response()
    encrypt_assertion(r, sp_cert, c.TransformAes256Gcm, c.TransformRsaOaep)
    k.add("encrypted_unsigned", "refused", "neither the Response nor the Assertion is signed", r)

    with open(os.path.join(out, "manifest.tsv"), "w") as f:
        f.write("# generated by tests/saml/make_cases.py\n")
        for key, value in (("idp_entity_id", IDP), ("idp_certificate", "idp-cert.pem"),
                           ("sp_entity_id", SP), ("acs_url", ACS), ("in_response_to", REQ),
                           ("now", ts(0)), ("sp_private_key", "sp-key.pem")):
            f.write("config\t%s\t%s\n" % (key, value))
        f.write("\n".join(k.lines) + "\n")
    print("%d cases written to %s" % (len(k.lines), out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
