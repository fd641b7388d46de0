#!/usr/bin/python3
"""Writes a corpus of SAML responses (valid ones and attacks) for `test-saml --cases DIR`.

Usage: /usr/bin/python3 tests/saml/make_cases.py OUT_DIR [options]

With no options, every key is generated here (openssl CLI) for this run: the IdP's, an
attacker's and the SP's encryption key, and the responses are made for a fixed configuration and
a fixed "now". OUT_DIR/manifest.tsv holds the validator configuration ("config" lines) and one
"case" line per response: name, expected outcome (ok / refused), a substring the refusal reason
must contain (for ok cases: a substring of the profile summary), and the file holding the base64
SAMLResponse.

Options make the cases for another configuration (a real broker's connection, for instance):
  --idp-entity-id URI     the IdP's entity id (Issuer)
  --idp-key PEM --idp-cert PEM   the IdP's signing key and certificate (else generated)
  --sp-entity-id URI      the SP entity id (Audience)
  --acs-url URL           the ACS URL (Destination, Recipient)
  --in-response-to ID     the AuthnRequest ID
  --sp-cert PEM           the SP's encryption certificate (else generated, with its key)
  --now EPOCH|now         the instant the responses are made for (default 2026-01-02T03:04:05Z)
  --email-domain DOMAIN   the users' email domain (default example.com)
  --id-suffix SUFFIX      suffix of every assertion/response ID (default _1); "random" = unique
  --only NAME             only this case (repeatable; a comma-separated list works too)
  --list                  print the case names and exit

The same is available to Python code: `generate(Config(...), only=[...])` returns the cases.
Needs the Debian packages python3-lxml and python3-xmlsec.
"""
import argparse
import base64
import copy
import hashlib
import os
import subprocess
import sys
import time

import xmlsec
from lxml import etree

NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "xenc": "http://www.w3.org/2001/04/xmlenc#",
    "xi": "http://www.w3.org/2001/XInclude",
}
SAMLP = "{%s}" % NS["samlp"]
SAML = "{%s}" % NS["saml"]
DS = "{%s}" % NS["ds"]
XENC = "{%s}" % NS["xenc"]
IDP = "https://idp.example.test/metadata"
SP = "https://sso.example.test/sso/saml/conn_test1"
ACS = SP + "/acs"
REQ = "_req_8f3c2a"
NOW = 1767323045  # 2026-01-02T03:04:05Z, the validator's "now" for every case by default
EMAIL_FMT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
# Where the URI-dereferencing cases point: nothing listens there, and nothing may ever try.
FETCH_URL = "http://127.0.0.1:9/saml-must-not-fetch"


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


class Config:
    """What the responses are made for. Keys left None are generated into key_dir."""

    def __init__(self, idp_entity_id=IDP, sp_entity_id=SP, acs_url=None, in_response_to=REQ,
                 now=NOW, idp_key=None, idp_cert=None, sp_cert=None, sp_key=None,
                 attacker_key=None, attacker_cert=None, email_domain="example.com",
                 id_suffix="_1", key_dir=None, fetch_url=FETCH_URL):
        self.idp_entity_id = idp_entity_id
        self.sp_entity_id = sp_entity_id
        self.acs_url = acs_url or sp_entity_id + "/acs"
        self.in_response_to = in_response_to
        self.now = int(now)
        self.idp_key, self.idp_cert = idp_key, idp_cert
        self.sp_key, self.sp_cert = sp_key, sp_cert
        self.attacker_key, self.attacker_cert = attacker_key, attacker_cert
        self.email_domain = email_domain
        self.id_suffix = id_suffix
        self.key_dir = key_dir
        self.fetch_url = fetch_url

    def ensure_keys(self):
        """Generates (once) every key the configuration lacks."""
        if self.idp_key is None or self.attacker_key is None or self.sp_cert is None:
            assert self.key_dir, "key_dir is needed to generate keys"
            os.makedirs(self.key_dir, exist_ok=True)
        if self.idp_key is None:
            self.idp_key, self.idp_cert = openssl_keypair(self.key_dir, "idp", "idp.example.test")
        if self.attacker_key is None:
            # The same subject as the real IdP: only the key tells them apart.
            self.attacker_key, self.attacker_cert = openssl_keypair(self.key_dir, "attacker",
                                                                    "idp.example.test")
        if self.sp_cert is None:
            self.sp_key, self.sp_cert = openssl_keypair(self.key_dir, "sp", "sso.example.test")
        return self


def response(cfg, issuer=None, audience=None, destination=None, recipient=None, irt=None,
             status=None, name_id=None, not_before=-60, not_after=300, authn=True,
             response_irt=True, no_destination=False, no_irt=False):
    """A Response with one Assertion, as an lxml tree (unsigned)."""
    issuer = cfg.idp_entity_id if issuer is None else issuer
    audience = cfg.sp_entity_id if audience is None else audience
    destination = None if no_destination else (cfg.acs_url if destination is None else destination)
    recipient = cfg.acs_url if recipient is None else recipient
    irt = None if no_irt else (cfg.in_response_to if irt is None else irt)
    name_id = "alice@" + cfg.email_domain if name_id is None else name_id

    def ts(offset):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(cfg.now + offset))

    r = etree.Element(SAMLP + "Response", nsmap={"samlp": NS["samlp"], "saml": NS["saml"]})
    r.set("ID", "_resp" + cfg.id_suffix)
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
    a.set("ID", "_assert" + cfg.id_suffix)
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
        an.set("SessionIndex", "_session" + cfg.id_suffix)
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


class Case:
    def __init__(self, name, expect, substring, xml, mapping=None):
        assert "\t" not in substring and "\n" not in substring
        self.name, self.expect, self.substring = name, expect, substring
        self.mapping = mapping  # the connection's attribute_mapping for it; None: the defaults
        self.xml = xml if isinstance(xml, bytes) else ser(xml)

    @property
    def b64(self):
        return base64.b64encode(self.xml).decode()


# Every case: name -> (expected outcome, function(cfg, helpers) -> (substring, xml)). The table
# is filled by the @case decorator below, in corpus order.
CASES = {}


def case(name, expect):
    def register(fn):
        assert name not in CASES, name
        CASES[name] = (expect, fn)
        return fn
    return register


class H:
    """Helpers bound to one configuration."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.A = "_assert" + cfg.id_suffix   # the assertion's ID
        self.R = "_resp" + cfg.id_suffix     # the response's ID
        self.evil_name = "admin@" + cfg.email_domain

    def ts(self, offset):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.cfg.now + offset))

    def response(self, **kw):
        return response(self.cfg, **kw)

    def sign(self, node, **kw):
        return sign(node, self.cfg.idp_key, self.cfg.idp_cert, **kw)

    def signed_assertion(self, **kw):
        r = self.response(**kw)
        self.sign(assertion_of(r))
        return reparse(r)

    def signed_response(self, **kw):
        r = self.response(**kw)
        self.sign(r)
        return reparse(r)

    def evil_copy(self, node, new_id):
        e = copy.deepcopy(node)
        e.set("ID", new_id)
        for s in e.findall(DS + "Signature"):
            e.remove(s)
        for n in e.iter(SAML + "NameID"):
            n.text = self.evil_name
        return e

    def ok_subject(self, name=None):
        return "subject=%s;" % (name or "alice@" + self.cfg.email_domain)

    def comment_base(self):
        """A signed assertion for user@evil.com.<domain>, serialized (for text splicing)."""
        name = "user@evil.com." + self.cfg.email_domain
        return name, ser(self.signed_assertion(name_id=name))

    def body(self):
        return ser(self.signed_assertion())


C = xmlsec.constants
DUP = 'duplicate ID "%s"'

# --- valid responses


@case("valid_signed_assertion", "ok")
def _(cfg, h):
    return (h.ok_subject() + "format=" + EMAIL_FMT + ";email=alice@%s;given_name=Alice;"
            "family_name=Liddell;name=Alice Liddell;group=engineering;group=admins;"
            % cfg.email_domain, h.signed_assertion())


@case("valid_signed_response", "ok")
def _(cfg, h):
    return h.ok_subject(), h.signed_response()


@case("valid_signed_both", "ok")
def _(cfg, h):
    r = h.response()
    h.sign(assertion_of(r))
    h.sign(r)
    return "assertion_id=%s;" % h.A, r


@case("both_signed_assertion_sig_bad", "refused")
def _(cfg, h):
    # Both signed, but the assertion's signature is broken: both must verify.
    r = h.signed_assertion()
    assertion_of(r).find(".//" + DS + "SignatureValue").text = base64.b64encode(b"\0" * 256).decode()
    h.sign(r)
    return "signature: the Assertion's signature does not verify", r

# --- XSW1..XSW8 ("On Breaking SAML", Somorovsky et al. 2012; SAML Raider's numbering)


@case("xsw1_response_in_signature", "refused")
def _(cfg, h):
    # A new Response around; the signed original Response moved inside its Signature.
    orig = h.signed_response()
    evil = h.evil_copy(orig, "_evil_resp" + cfg.id_suffix)
    sig = orig.find(DS + "Signature")
    orig.remove(sig)
    sig.append(orig)
    evil.find(SAML + "Issuer").addnext(sig)
    return DUP % h.A, evil


@case("xsw2_response_sibling", "refused")
def _(cfg, h):
    # As XSW1 but the original Response is a sibling before the detached signature.
    orig = h.signed_response()
    evil = h.evil_copy(orig, "_evil_resp" + cfg.id_suffix)
    sig = orig.find(DS + "Signature")
    orig.remove(sig)
    evil.find(SAML + "Issuer").addnext(orig)
    orig.addnext(sig)
    return DUP % h.A, evil


@case("xsw3_assertion_before", "refused")
def _(cfg, h):
    # An unsigned evil Assertion placed before the signed one.
    r = h.signed_assertion()
    a = assertion_of(r)
    a.addprevious(h.evil_copy(a, "_evil_assert" + cfg.id_suffix))
    return "assertion: expected exactly one", r


@case("xsw4_assertion_wraps_original", "refused")
def _(cfg, h):
    # The evil Assertion wraps the signed original.
    r = h.signed_assertion()
    a = assertion_of(r)
    e = h.evil_copy(a, "_evil_assert" + cfg.id_suffix)
    a.addprevious(e)
    e.append(a)
    return "assertion: expected exactly one", r


@case("xsw5_modified_plus_copy_at_end", "refused")
def _(cfg, h):
    # The signed assertion's value changed, an unsigned copy of the original at the end.
    r = h.signed_assertion()
    a = assertion_of(r)
    clean = copy.deepcopy(a)
    clean.remove(clean.find(DS + "Signature"))
    a.find(".//" + SAML + "NameID").text = h.evil_name
    r.append(clean)
    return DUP % h.A, r


@case("xsw6_original_in_signature", "refused")
def _(cfg, h):
    # The evil Assertion carries the signature; the original sits inside that Signature.
    r = h.signed_assertion()
    a = assertion_of(r)
    e = h.evil_copy(a, h.A + "x")
    sig = a.find(DS + "Signature")
    a.remove(sig)
    e.find(SAML + "Issuer").addnext(sig)
    sig.append(a)
    r.append(e)
    return "assertion: expected exactly one", r


@case("xsw7_original_in_extensions", "refused")
def _(cfg, h):
    # The signed original inside samlp:Extensions, the evil one in its place.
    r = h.signed_assertion()
    a = assertion_of(r)
    ext = etree.Element(SAMLP + "Extensions")
    r.find(SAML + "Issuer").addnext(ext)
    e = h.evil_copy(a, "_evil_assert" + cfg.id_suffix)
    a.addprevious(e)
    ext.append(a)
    return "assertion: expected exactly one", r


@case("xsw8_original_in_object", "refused")
def _(cfg, h):
    # The evil assertion (same ID) carries the signature; the original, its signature removed,
    # sits in a ds:Object of that signature.
    r = h.signed_assertion()
    a = assertion_of(r)
    sig = a.find(DS + "Signature")
    e = h.evil_copy(a, h.A)
    a.remove(sig)
    e.find(SAML + "Issuer").addnext(sig)
    a.addprevious(e)
    etree.SubElement(sig, DS + "Object").append(a)
    return DUP % h.A, r


@case("signature_moved_to_assertion", "refused")
def _(cfg, h):
    # Single-assertion wrapping: the Response's signature moved into the Assertion, so only
    # one assertion exists but the reference names another element.
    r = h.signed_response()
    sig = r.find(DS + "Signature")
    r.remove(sig)
    assertion_of(r).find(SAML + "Issuer").addnext(sig)
    return 'Reference URI is "#%s"' % h.R, r

# --- comment and CDATA injection (the signature covers the concatenated text)


def _splice(h, insert):
    name, base = h.comment_base()
    local, domain = name.split("@")
    first, rest = domain.split(".", 2)[0:2], domain.split(".", 2)[2]
    cut = "%s@%s" % (local, ".".join(first))  # user@evil.com | .<domain>
    return name, base.replace((name + "</saml:NameID>").encode(),
                              (cut + insert + "." + rest + "</saml:NameID>").encode())


@case("comment_in_nameid", "ok")
def _(cfg, h):
    name, xml = _splice(h, "<!---->")
    return h.ok_subject(name), xml


@case("cdata_in_nameid", "ok")
def _(cfg, h):
    name, xml = _splice(h, "<![CDATA[]]>")
    return h.ok_subject(name), xml


@case("element_in_nameid", "refused")
def _(cfg, h):
    return "digest", _splice(h, "<x/>")[1]

# --- signatures


@case("unsigned", "refused")
def _(cfg, h):
    return "neither the Response nor the Assertion is signed", h.response()


@case("signature_removed", "refused")
def _(cfg, h):
    r = h.signed_assertion()
    a = assertion_of(r)
    a.remove(a.find(DS + "Signature"))
    return "neither the Response nor the Assertion is signed", r


@case("reference_to_other_element", "refused")
def _(cfg, h):
    r = h.response()
    h.sign(assertion_of(r), uri="#" + h.R)
    return 'expected "#%s"' % h.A, r


@case("reference_empty_uri", "refused")
def _(cfg, h):
    r = h.response()
    h.sign(assertion_of(r), uri="")
    return 'Reference URI is ""', r


@case("attacker_cert_in_keyinfo", "refused")
def _(cfg, h):
    r = h.response()
    sign(assertion_of(r), cfg.attacker_key, cfg.attacker_cert)
    return ("signed by a certificate with SHA-256 fingerprint " + fingerprint(cfg.attacker_cert)
            + ", configured: " + fingerprint(cfg.idp_cert)), r


@case("hmac_sha256", "refused")
def _(cfg, h):
    r = h.response()
    sign(assertion_of(r), None, None, method=C.TransformHmacSha256, hmac_key=b"secret" * 8)
    return "SignatureMethod http://www.w3.org/2001/04/xmldsig-more#hmac-sha256 is not allowed", r


@case("rsa_sha1", "refused")
def _(cfg, h):
    r = h.response()
    h.sign(assertion_of(r), method=C.TransformRsaSha1, digest=C.TransformSha1)
    return "SignatureMethod http://www.w3.org/2000/09/xmldsig#rsa-sha1 is not allowed", r


@case("digest_sha1", "refused")
def _(cfg, h):
    r = h.response()
    h.sign(assertion_of(r), digest=C.TransformSha1)
    return "DigestMethod http://www.w3.org/2000/09/xmldsig#sha1 is not allowed", r


@case("transform_xpath", "refused")
def _(cfg, h):
    r = h.response()
    h.sign(assertion_of(r), transforms=[C.TransformEnveloped, C.TransformXPath, C.TransformExclC14N])
    return "transform http://www.w3.org/TR/1999/REC-xpath-19991116 is not allowed", r


@case("transform_xslt", "refused")
def _(cfg, h):
    r = h.signed_assertion()
    ts_node = assertion_of(r).find(".//" + DS + "Transforms")
    etree.SubElement(ts_node, DS + "Transform").set(
        "Algorithm", "http://www.w3.org/TR/1999/REC-xslt-19991116")
    return "transform http://www.w3.org/TR/1999/REC-xslt-19991116 is not allowed", r


@case("transform_c14n_with_comments", "refused")
def _(cfg, h):
    r = h.response()
    h.sign(assertion_of(r), transforms=[C.TransformEnveloped, C.TransformExclC14NWithComments])
    return "xml-exc-c14n#WithComments is not allowed", r


@case("signedinfo_inclusive_c14n", "refused")
def _(cfg, h):
    r = h.response()
    h.sign(assertion_of(r), c14n=C.TransformInclC14N)
    return "CanonicalizationMethod", r


@case("two_references", "refused")
def _(cfg, h):
    r = h.response()
    h.sign(assertion_of(r))
    r = reparse(r)
    si = assertion_of(r).find(DS + "Signature").find(DS + "SignedInfo")
    si.append(copy.deepcopy(si.find(DS + "Reference")))
    return "exactly one Reference, found 2", r


@case("modified_after_signing", "refused")
def _(cfg, h):
    r = h.signed_assertion()
    assertion_of(r).find(".//" + SAML + "Audience").text = "https://evil.test"
    return "digest of the signed Assertion does not match", r

# --- structure


@case("two_assertions", "refused")
def _(cfg, h):
    r = h.signed_assertion()
    a2 = copy.deepcopy(assertion_of(r))
    a2.set("ID", h.A + "_2")
    assertion_of(r).addnext(a2)
    return "found 2", r


@case("assertion_in_advice", "refused")
def _(cfg, h):
    r = h.response()
    a = assertion_of(r)
    advice = etree.Element(SAML + "Advice")
    a.find(SAML + "Conditions").addnext(advice)
    inner = copy.deepcopy(a)
    inner.set("ID", "_advice" + cfg.id_suffix)
    inner.remove(inner.find(SAML + "Advice"))
    advice.append(inner)
    h.sign(a)
    return "found 2", r


@case("duplicate_ids", "refused")
def _(cfg, h):
    r = h.signed_assertion()
    ext = etree.Element(SAMLP + "Extensions")
    r.find(SAML + "Issuer").addnext(ext)
    etree.SubElement(ext, "{urn:x}Thing").set("ID", h.A)
    return DUP % h.A, r


@case("assertion_id_too_long", "refused")
def _(cfg, h):
    # Only the Response is signed, so no signature check bounds the Assertion's ID; the replay
    # cache holds IDs of at most 256 bytes, and an ID it cannot record must not get through.
    r = h.response()
    assertion_of(r).set("ID", "_assert_" + "x" * 300)
    h.sign(r)
    return "the Assertion ID is empty or longer than 256 bytes", r


def _nameid_end(h):
    return ("alice@%s</saml:NameID>" % h.cfg.email_domain).encode()


@case("doctype", "refused")
def _(cfg, h):
    return "DOCTYPE", b'<!DOCTYPE Response>' + h.body()


@case("external_entity", "refused")
def _(cfg, h):
    return "DOCTYPE", (b'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                       + h.body().replace(_nameid_end(h), b"&xxe;</saml:NameID>"))


@case("internal_entity_billion_laughs", "refused")
def _(cfg, h):
    return "DOCTYPE", (b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                       b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
                       + h.body().replace(_nameid_end(h), b"&c;</saml:NameID>"))


@case("entity_in_id", "refused")
def _(cfg, h):
    return "DOCTYPE", (('<!DOCTYPE r [<!ENTITY id "%s">]>' % h.A).encode()
                       + h.body().replace(('ID="%s"' % h.A).encode(), b'ID="&id;"'))


@case("undeclared_entity_in_id", "refused")
def _(cfg, h):
    return "xml: ", h.body().replace(('ID="%s"' % h.A).encode(), b'ID="_assert&x;"')


@case("doctype_utf16", "refused")
def _(cfg, h):
    # UTF-16 hides the DOCTYPE from a byte scan; the parsed document is checked as well.
    return "DOCTYPE", ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY e "x">]>'
                       + h.body().decode().replace(_nameid_end(h).decode(), "&e;</saml:NameID>")
                       ).encode("utf-16")


@case("oversized", "refused")
def _(cfg, h):
    return "larger than", h.body().replace(
        b"</samlp:Response>", b"<!--" + b"x" * (1100 * 1024) + b"--></samlp:Response>")


@case("deeply_nested", "refused")
def _(cfg, h):
    deep = b"".join(b"<d>" for _ in range(100)) + b"".join(b"</d>" for _ in range(100))
    return "nested too deeply", h.body().replace(
        b"</samlp:Response>", b"<samlp:Extensions>" + deep + b"</samlp:Extensions></samlp:Response>")


@case("not_a_response", "refused")
def _(cfg, h):
    return "expected a samlp:Response", b"<foo/>"

# --- conditions


@case("wrong_issuer", "refused")
def _(cfg, h):
    return ("issuer: expected %s, got https://evil.example.test" % cfg.idp_entity_id,
            h.signed_assertion(issuer="https://evil.example.test"))


@case("wrong_audience", "refused")
def _(cfg, h):
    return ("audience: expected %s, got urn:foo" % cfg.sp_entity_id,
            h.signed_assertion(audience="urn:foo"))


@case("wrong_destination", "refused")
def _(cfg, h):
    return ("destination: expected %s, got https://evil.test/acs" % cfg.acs_url,
            h.signed_response(destination="https://evil.test/acs"))


@case("signed_response_without_destination", "refused")
def _(cfg, h):
    return "the signed Response has no Destination", h.signed_response(no_destination=True)


@case("wrong_recipient", "refused")
def _(cfg, h):
    return ("recipient: expected %s, got https://evil.test/acs" % cfg.acs_url,
            h.signed_assertion(recipient="https://evil.test/acs"))


@case("wrong_in_response_to", "refused")
def _(cfg, h):
    return ("in_response_to: expected %s, got _other" % cfg.in_response_to,
            h.signed_assertion(irt="_other"))


@case("unsolicited", "refused")
def _(cfg, h):
    return ("in_response_to: expected %s, got none" % cfg.in_response_to,
            h.signed_assertion(no_irt=True))


@case("expired", "refused")
def _(cfg, h):
    return ("expired: SubjectConfirmationData NotOnOrAfter %s is before now %s (skew 120s)"
            % (h.ts(-300), h.ts(0)), h.signed_assertion(not_before=-600, not_after=-300))


@case("expired_within_skew", "ok")
def _(cfg, h):
    return h.ok_subject(), h.signed_assertion(not_before=-600, not_after=-60)


@case("not_yet_valid", "refused")
def _(cfg, h):
    return ("not yet valid: Conditions NotBefore %s is after now %s (skew 120s)"
            % (h.ts(600), h.ts(0)), h.signed_assertion(not_before=600, not_after=900))


@case("status_responder", "refused")
def _(cfg, h):
    return ("status: urn:oasis:names:tc:SAML:2.0:status:Responder",
            h.signed_response(status="urn:oasis:names:tc:SAML:2.0:status:Responder"))


@case("no_authn_statement", "refused")
def _(cfg, h):
    return "no AuthnStatement", h.signed_assertion(authn=False)

# --- encryption (the assertion is signed, then encrypted for the SP)


@case("encrypted_oaep_aes256gcm", "ok")
def _(cfg, h):
    r = h.signed_assertion()
    encrypt_assertion(r, cfg.sp_cert, C.TransformAes256Gcm, C.TransformRsaOaep)
    return h.ok_subject(), r


@case("encrypted_oaep_aes128cbc", "ok")
def _(cfg, h):
    r = h.signed_assertion()
    encrypt_assertion(r, cfg.sp_cert, C.TransformAes128Cbc, C.TransformRsaOaep)
    return h.ok_subject(), r


@case("encrypted_in_signed_response", "ok")
def _(cfg, h):
    r = h.response()
    encrypt_assertion(r, cfg.sp_cert, C.TransformAes256Gcm, C.TransformRsaOaep)
    h.sign(r)
    return h.ok_subject(), r


@case("encrypted_rsa_1_5", "refused")
def _(cfg, h):
    r = h.signed_assertion()
    encrypt_assertion(r, cfg.sp_cert, C.TransformAes256Gcm, C.TransformRsaPkcs1)
    return "rsa-1_5 is refused", r


@case("encrypted_unsigned", "refused")
def _(cfg, h):
    r = h.response()
    encrypt_assertion(r, cfg.sp_cert, C.TransformAes256Gcm, C.TransformRsaOaep)
    return "neither the Response nor the Assertion is signed", r

# --- URI dereferences inside the encrypted parts: refused before decryption, nothing fetched.
# The SP's encryption certificate is public (its metadata), so these need no credentials.


def _encrypted(cfg, h, data_alg=C.TransformAes256Gcm):
    r = h.signed_assertion()
    encrypt_assertion(r, cfg.sp_cert, data_alg, C.TransformRsaOaep)
    return reparse(r)


def _enc_data(r):
    return r.find(SAML + "EncryptedAssertion").find(XENC + "EncryptedData")


def _enc_key(r):
    return _enc_data(r).find(DS + "KeyInfo").find(XENC + "EncryptedKey")


def _cipher_reference(cfg, h, holder, uri):
    """holder's CipherValue replaced by a CipherReference to uri."""
    r = _encrypted(cfg, h)
    node = _enc_data(r) if holder == "EncryptedData" else _enc_key(r)
    cipher_data = node.find(XENC + "CipherData")
    for child in list(cipher_data):
        cipher_data.remove(child)
    etree.SubElement(cipher_data, XENC + "CipherReference").set("URI", uri)
    return 'xenc:CipherReference URI="%s" in the %s: refused before decryption' % (uri, holder), r


@case("cipher_reference_http_in_encrypted_data", "refused")
def _(cfg, h):
    return _cipher_reference(cfg, h, "EncryptedData", cfg.fetch_url)


@case("cipher_reference_http_in_encrypted_key", "refused")
def _(cfg, h):
    return _cipher_reference(cfg, h, "EncryptedKey", cfg.fetch_url)


@case("cipher_reference_file_etc_passwd", "refused")
def _(cfg, h):
    return _cipher_reference(cfg, h, "EncryptedData", "file:///etc/passwd")


@case("cipher_reference_file_dev_zero", "refused")
def _(cfg, h):
    # Read without end if it were ever opened.
    return _cipher_reference(cfg, h, "EncryptedKey", "file:///dev/zero")


@case("cipher_reference_without_uri", "refused")
def _(cfg, h):
    substring, r = _cipher_reference(cfg, h, "EncryptedData", "")
    del _enc_data(r).find(XENC + "CipherData").find(XENC + "CipherReference").attrib["URI"]
    return substring, r


@case("cipher_reference_same_document", "refused")
def _(cfg, h):
    # Even "#id" is refused: the cipher text is inline or there is none.
    return _cipher_reference(cfg, h, "EncryptedData", "#" + h.A)


@case("retrieval_method_in_encrypted_key", "refused")
def _(cfg, h):
    # xmlsec reads the EncryptedKey's KeyInfo to find the key that decrypts it.
    r = _encrypted(cfg, h)
    key = _enc_key(r)
    info = etree.Element(DS + "KeyInfo")
    key.find(XENC + "EncryptionMethod").addnext(info)
    rm = etree.SubElement(info, DS + "RetrievalMethod")
    rm.set("URI", cfg.fetch_url)
    rm.set("Type", "http://www.w3.org/2000/09/xmldsig#X509Data")
    return ('ds:RetrievalMethod URI="%s" in the EncryptedKey\'s KeyInfo: refused before '
            'decryption' % cfg.fetch_url), r


def _in_data_key_info(cfg, h, tag, attributes):
    """An encrypted response with one more child in its EncryptedData's KeyInfo."""
    r = _encrypted(cfg, h)
    child = etree.SubElement(_enc_data(r).find(DS + "KeyInfo"), tag)
    for name, value in attributes:
        child.set(name, value)
    return r


@case("retrieval_method_in_encrypted_data", "refused")
def _(cfg, h):
    return ('ds:RetrievalMethod URI="file:///etc/passwd" in the EncryptedData\'s KeyInfo: '
            'refused before decryption',
            _in_data_key_info(cfg, h, DS + "RetrievalMethod", [
                ("URI", "file:///etc/passwd"),
                ("Type", "http://www.w3.org/2001/04/xmlenc#EncryptedKey")]))


def _data_reference(cfg, h, uri):
    r = _encrypted(cfg, h)
    refs = etree.SubElement(_enc_key(r), XENC + "ReferenceList")
    etree.SubElement(refs, XENC + "DataReference").set("URI", uri)
    return ('xenc:DataReference URI="%s" in the EncryptedKey: refused before decryption; only '
            'same-document references' % uri), r


@case("data_reference_outside_document", "refused")
def _(cfg, h):
    return _data_reference(cfg, h, cfg.fetch_url)


@case("data_reference_empty_uri", "refused")
def _(cfg, h):
    # "" is the whole document: still not an "#id" reference.
    return _data_reference(cfg, h, "")


@case("xinclude_in_encrypted_data", "refused")
def _(cfg, h):
    return ('xi:include href="file:///etc/passwd" in the EncryptedData\'s KeyInfo: refused '
            'before decryption',
            _in_data_key_info(cfg, h, "{%s}include" % NS["xi"],
                              [("href", "file:///etc/passwd"), ("parse", "text")]))


@case("xml_base_in_encrypted_key", "refused")
def _(cfg, h):
    r = _encrypted(cfg, h)
    _enc_key(r).set("{http://www.w3.org/XML/1998/namespace}base", cfg.fetch_url)
    return 'xenc:EncryptedKey xml:base="%s" in the EncryptedData\'s KeyInfo' % cfg.fetch_url, r

# --- AES-CBC: a failed decryption and a later failure must look alike (no padding oracle)


@case("encrypted_cbc_bad_padding", "refused")
def _(cfg, h):
    # The last byte of the next-to-last cipher block flipped by 0x80: the last plaintext byte
    # (the XML Encryption pad length, 1..16) becomes 0x81..0x90, which no padding allows.
    r = _encrypted(cfg, h, C.TransformAes128Cbc)
    value = _enc_data(r).find(XENC + "CipherData").find(XENC + "CipherValue")
    raw = bytearray(base64.b64decode("".join(value.text.split())))
    raw[-17] ^= 0x80
    value.text = base64.b64encode(bytes(raw)).decode()
    return "decryption: the EncryptedAssertion could not be decrypted", r


@case("encrypted_cbc_bad_signature", "refused")
def _(cfg, h):
    # Decrypts fine; the assertion inside is signed but its SignatureValue is broken.
    r = h.signed_assertion()
    assertion_of(r).find(".//" + DS + "SignatureValue").text = base64.b64encode(b"\0" * 256).decode()
    encrypt_assertion(r, cfg.sp_cert, C.TransformAes128Cbc, C.TransformRsaOaep)
    return "signature: the Assertion's signature does not verify", r


# --- responses shaped like those of real IdPs: their attribute names, NameID formats and
# signature placement (as their public documentation shows them), signed with the test keys.
# Each maps to the same profile through the defaults, or through the connection's
# attribute_mapping (MAPPINGS) where the IdP's defaults need one. The real-ACS test
# (tests/integration/test_saml_idp_shapes.py) checks the ID token's claims for each.

UNSPECIFIED_FMT = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
PERSISTENT_FMT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
ATTRNAME_UNSPECIFIED = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"
ATTRNAME_BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
XMLSOAP_CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
ENTRA_GROUPS = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
ENTRA_GROUPS_LINK = "http://schemas.microsoft.com/claims/groupslink"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
# The start of the warning the event log keeps for the overage claim (saml_attributes).
OVERAGE_WARNING = "groups: the IdP sent Entra ID's group overage claim (" + ENTRA_GROUPS_LINK
ENTRA_OID = "m_H3naDei2LNxUmEcWd0BZlNi_jVET1pMLR6iQSuYmo"
ENTRA_GROUP_IDS = ["7d1c6a2e-3c48-4bd5-9d4a-0e5f2b7c9a11", "c1f0e8b5-26a4-4f1e-8a39-5b2d0c6e4f77"]
LDAP_GROUPS = ["cn=engineering,ou=groups,dc=example,dc=com", "cn=admins,ou=groups,dc=example,dc=com"]

# name -> the connection's attribute_mapping the case is validated under (none: the defaults)
MAPPINGS = {}
# The names of the shape cases, in corpus order (a subset of CASES).
SHAPES = []


def shape(name, mapping=None):
    """Registers a shape case (valid), with the attribute_mapping it needs."""
    def register(fn):
        case(name, "ok")(fn)
        SHAPES.append(name)
        if mapping:
            MAPPINGS[name] = mapping
        return fn
    return register


def shaped(h, name_format, name_id, attributes, signed, attr_name_format=None, xsi_type=False):
    """The valid response with this NameID and AttributeStatement ((name, [values]) in order;
    a name given twice is two Attribute elements), signed on "assertion", "response" or
    "both"."""
    r = h.response(name_id=name_id)
    a = assertion_of(r)
    a.find(".//" + SAML + "NameID").set("Format", name_format)
    statement = a.find(SAML + "AttributeStatement")
    for old in list(statement):
        statement.remove(old)
    for name, values in attributes:
        at = etree.SubElement(statement, SAML + "Attribute", nsmap={"xsi": XSI} if xsi_type else None)
        at.set("Name", name)
        if attr_name_format:
            at.set("NameFormat", attr_name_format)
        for v in values:
            value = etree.SubElement(at, SAML + "AttributeValue")
            if xsi_type:
                value.set("{%s}type" % XSI, "xs:string")
            value.text = v
    if signed in ("assertion", "both"):
        h.sign(a)
    if signed in ("response", "both"):
        h.sign(r)
    return reparse(r)


def profile(subject, fmt, email, given, family, name, groups):
    """The profile summary the case must produce (saml_profile_summary's order)."""
    parts = ["subject=" + subject, "format=" + fmt, "email=" + (email or ""),
             "given_name=" + (given or ""), "family_name=" + (family or ""), "name=" + (name or "")]
    parts += ["group=" + g for g in groups]
    return ";".join(parts) + ";"


def alice(cfg, h, name_format, attributes, signed, groups, **kw):
    """A shape whose NameID is alice's email and whose profile is Alice Liddell's with groups:
    the expected summary and the response."""
    email = "alice@" + cfg.email_domain
    return (profile(email, name_format, email, "Alice", "Liddell", "Alice Liddell", groups),
            shaped(h, name_format, email, attributes(email), signed, **kw))


@shape("shape_okta")
def _(cfg, h):
    # Okta: emailAddress NameID, attribute statements named by the app (firstName, lastName,
    # email, a "groups" group attribute statement), NameFormat unspecified, xs:string values;
    # Response and Assertion both signed (developer.okta.com/docs/guides/build-sso-integration
    # /saml2/main/, "Attribute statements").
    return alice(cfg, h, EMAIL_FMT, lambda email: [
        ("firstName", ["Alice"]), ("lastName", ["Liddell"]), ("email", [email]),
        ("groups", ["Everyone", "engineering"])], "both", ["Everyone", "engineering"],
        attr_name_format=ATTRNAME_UNSPECIFIED, xsi_type=True)


def _entra(cfg, h, groups_attribute):
    # Entra ID: a persistent NameID, the xmlsoap claim URIs (the name claim is the UPN), the
    # tenant and object ids, displayname, the groups as object ids; the assertion signed
    # (learn.microsoft.com/entra/identity-platform/reference-saml-tokens).
    upn = "alice@" + cfg.email_domain
    return shaped(h, PERSISTENT_FMT, ENTRA_OID, [
        ("http://schemas.microsoft.com/identity/claims/tenantid",
         ["8eaef023-2b34-4da1-9baa-8bc8c9d6a490"]),
        ("http://schemas.microsoft.com/identity/claims/objectidentifier",
         ["80e4dbb0-07c6-4e6f-9f6a-3b7d2c8e5a10"]),
        ("http://schemas.microsoft.com/identity/claims/displayname", ["Alice Liddell"]),
        groups_attribute,
        ("http://schemas.microsoft.com/identity/claims/identityprovider",
         ["https://sts.windows.net/8eaef023-2b34-4da1-9baa-8bc8c9d6a490/"]),
        ("http://schemas.microsoft.com/claims/authnmethodsreferences",
         ["http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password"]),
        (XMLSOAP_CLAIMS + "givenname", ["Alice"]), (XMLSOAP_CLAIMS + "surname", ["Liddell"]),
        (XMLSOAP_CLAIMS + "emailaddress", [upn]), (XMLSOAP_CLAIMS + "name", [upn])],
        "assertion")


@shape("shape_entra_id")
def _(cfg, h):
    email = "alice@" + cfg.email_domain
    return (profile(ENTRA_OID, PERSISTENT_FMT, email, "Alice", "Liddell", "Alice Liddell",
                    ENTRA_GROUP_IDS),
            _entra(cfg, h, (ENTRA_GROUPS, ENTRA_GROUP_IDS)))


@shape("shape_entra_id_group_overage")
def _(cfg, h):
    # More than 150 groups: the Graph link in place of the groups claim (same reference,
    # "Groups overage claim"). The login goes on without groups; the event log says why.
    email = "alice@" + cfg.email_domain
    link = "https://graph.windows.net/8eaef023-2b34-4da1-9baa-8bc8c9d6a490/users/" \
           "80e4dbb0-07c6-4e6f-9f6a-3b7d2c8e5a10/getMemberObjects"
    return (profile(ENTRA_OID, PERSISTENT_FMT, email, "Alice", "Liddell", "Alice Liddell", [])
            + "warning=" + OVERAGE_WARNING, _entra(cfg, h, (ENTRA_GROUPS_LINK, [link])))


@shape("shape_adfs")
def _(cfg, h):
    # AD FS: claim rules "Send LDAP Attributes as Claims" (E-Mail-Addresses, Given-Name,
    # Surname, User-Principal-Name, Token-Groups - Unqualified Names as Group) and a UPN
    # NameID of unspecified format; the assertion signed (SamlResponseSignature AssertionOnly,
    # the default) (learn.microsoft.com/windows-server/identity/ad-fs/operations/
    # create-a-rule-to-send-ldap-attributes-as-claims).
    return alice(cfg, h, UNSPECIFIED_FMT, lambda email: [
        (XMLSOAP_CLAIMS + "emailaddress", [email]), (XMLSOAP_CLAIMS + "givenname", ["Alice"]),
        (XMLSOAP_CLAIMS + "surname", ["Liddell"]), (XMLSOAP_CLAIMS + "upn", [email]),
        ("http://schemas.xmlsoap.org/claims/Group", ["Domain Users", "engineering"])],
        "assertion", ["Domain Users", "engineering"])


@shape("shape_google_workspace")
def _(cfg, h):
    # Google Workspace: the Primary email as an EMAIL NameID; attributes only as the admin maps
    # them ("Attribute mapping": first_name, last_name, a "Group membership" attribute); the
    # assertion signed unless "Signed response" is ticked (support.google.com/a/answer/6087519).
    group = "engineering@" + cfg.email_domain
    return alice(cfg, h, EMAIL_FMT, lambda email: [
        ("first_name", ["Alice"]), ("last_name", ["Liddell"]), ("groups", [group])],
        "assertion", [group])


@shape("shape_google_workspace_unspecified_nameid_mapped",
       mapping={"email": "$nameid", "name": "nickname"})
def _(cfg, h):
    # Google's default NameID format is UNSPECIFIED: without a mapping there is no email (an
    # unspecified NameID is not trusted as one). attribute_mapping email=$nameid takes it from
    # the NameID, and name from the admin's own attribute (not from first + last names).
    email = "alice@" + cfg.email_domain
    return (profile(email, UNSPECIFIED_FMT, email, "Alice", "Liddell", "A. Liddell", []),
            shaped(h, UNSPECIFIED_FMT, email,
                   [("first_name", ["Alice"]), ("last_name", ["Liddell"]),
                    ("nickname", ["A. Liddell"]), ("email", ["someone.else@" + cfg.email_domain])],
                   "assertion"))


@shape("shape_onelogin")
def _(cfg, h):
    # OneLogin (SAML Custom Connector): an Email NameID, User.email, User.FirstName,
    # User.LastName, memberOf (multi-value), PersonImmutableID; the assertion signed (SAML
    # signature element "Assertion") (onelogin.service-now.com, "SAML Custom Connector").
    return alice(cfg, h, EMAIL_FMT, lambda email: [
        ("PersonImmutableID", ["31337"]), ("User.email", [email]), ("User.FirstName", ["Alice"]),
        ("User.LastName", ["Liddell"]), ("memberOf", ["engineering", "admins"])],
        "assertion", ["engineering", "admins"])


@shape("shape_jumpcloud")
def _(cfg, h):
    # JumpCloud: the email as an unspecified NameID, user attributes named by the admin
    # (email, firstname, lastname) and the group attribute "memberOf", one Attribute per
    # group here; the assertion signed ("Sign Assertion", the default)
    # (jumpcloud.com/support/sso-with-saml-2-0, "Attributes" and "Group Attributes").
    return alice(cfg, h, UNSPECIFIED_FMT, lambda email: [
        ("email", [email]), ("firstname", ["Alice"]), ("lastname", ["Liddell"]),
        ("memberOf", ["engineering"]), ("memberOf", ["admins"])], "assertion",
        ["engineering", "admins"], attr_name_format=ATTRNAME_BASIC)


@shape("shape_pingfederate")
def _(cfg, h):
    # PingFederate with an LDAP data store: SAML_SUBJECT (uid) as an unspecified NameID,
    # attribute contract mail, givenName, sn, memberOf (DNs), NameFormat basic; the Response
    # signed, not the assertion (Signature Policy without "Always sign the SAML Assertion")
    # (docs.pingidentity.com/pingfederate, "Configuring signature policy").
    email = "alice@" + cfg.email_domain
    return (profile("alice", UNSPECIFIED_FMT, email, "Alice", "Liddell", "Alice Liddell",
                    LDAP_GROUPS),
            shaped(h, UNSPECIFIED_FMT, "alice",
                   [("mail", [email]), ("givenName", ["Alice"]), ("sn", ["Liddell"]),
                    ("memberOf", LDAP_GROUPS)], "response", ATTRNAME_BASIC))


@shape("shape_okta_custom_mapping",
       mapping={"email": "workEmail", "groups": "roles", "given_name": "preferredName"})
def _(cfg, h):
    # The Okta shape with attributes of the admin's own: the connection's mapping wins over the
    # default names the response also carries.
    email = "alice@" + cfg.email_domain
    return (profile(email, EMAIL_FMT, "a.liddell@" + cfg.email_domain, "Ally", "Liddell",
                    "Ally Liddell", ["app-admin"]),
            shaped(h, EMAIL_FMT, email,
                   [("firstName", ["Alice"]), ("lastName", ["Liddell"]), ("email", [email]),
                    ("groups", ["Everyone"]), ("workEmail", ["a.liddell@" + cfg.email_domain]),
                    ("preferredName", ["Ally"]), ("roles", ["app-admin"])],
                   "both", ATTRNAME_UNSPECIFIED, xsi_type=True))


def names():
    return list(CASES)


def generate(cfg, only=None):
    """The cases (Case objects, corpus order) for cfg; only: names to make (None = all)."""
    cfg.ensure_keys()
    wanted = None if only is None else set(only)
    unknown = (wanted or set()) - set(CASES)
    if unknown:
        raise KeyError("unknown case(s): " + ", ".join(sorted(unknown)))
    h = H(cfg)
    out = []
    for name, (expect, fn) in CASES.items():
        if wanted is None or name in wanted:
            substring, xml = fn(cfg, h)
            out.append(Case(name, expect, substring, xml, MAPPINGS.get(name)))
    return out


def write_corpus(out, cfg, cases):
    """The directory `test-saml --cases` reads: manifest.tsv and one .b64 file per case."""
    os.makedirs(out, exist_ok=True)
    lines = []
    mapping = None
    for k in cases:
        fname = k.name + ".b64"
        with open(os.path.join(out, fname), "wb") as f:
            f.write(base64.b64encode(k.xml))
        if k.mapping != mapping:
            # The connection's attribute_mapping from here on: "field=name ..." ("" = none).
            mapping = k.mapping
            pairs = " ".join("%s=%s" % kv for kv in sorted((mapping or {}).items()))
            lines.append("\t".join(["config", "attribute_mapping", pairs]))
        lines.append("\t".join(["case", k.name, k.expect, k.substring, fname]))
    def local(path, name):
        """The file's name inside out (copied there when it is elsewhere: the runner reads
        only files of the corpus directory)."""
        if os.path.dirname(os.path.abspath(path)) != os.path.abspath(out):
            with open(path, "rb") as src, open(os.path.join(out, name), "wb") as dst:
                dst.write(src.read())
            return name
        return os.path.basename(path)

    config = [("idp_entity_id", cfg.idp_entity_id),
              ("idp_certificate", local(cfg.idp_cert, "idp-cert.pem")),
              ("sp_entity_id", cfg.sp_entity_id), ("acs_url", cfg.acs_url),
              ("in_response_to", cfg.in_response_to),
              ("now", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(cfg.now)))]
    if cfg.sp_key:
        config.append(("sp_private_key", local(cfg.sp_key, "sp-key.pem")))
    with open(os.path.join(out, "manifest.tsv"), "w") as f:
        f.write("# generated by tests/saml/make_cases.py\n")
        for key, value in config:
            f.write("config\t%s\t%s\n" % (key, value))
        f.write("\n".join(lines) + "\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                usage="make_cases.py OUT_DIR [options]")
    p.add_argument("out", nargs="?")
    p.add_argument("--idp-entity-id", default=IDP)
    p.add_argument("--idp-key")
    p.add_argument("--idp-cert")
    p.add_argument("--sp-entity-id", default=SP)
    p.add_argument("--acs-url")
    p.add_argument("--in-response-to", default=REQ)
    p.add_argument("--sp-cert")
    p.add_argument("--now", default=str(NOW))
    p.add_argument("--email-domain", default="example.com")
    p.add_argument("--id-suffix", default="_1")
    p.add_argument("--only", action="append")
    p.add_argument("--list", action="store_true")
    a = p.parse_args(argv)
    if a.list:
        print("\n".join(names()))
        return 0
    if not a.out:
        print(__doc__, file=sys.stderr)
        return 2
    if bool(a.idp_key) != bool(a.idp_cert):
        p.error("--idp-key and --idp-cert go together")
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    cfg = Config(idp_entity_id=a.idp_entity_id, sp_entity_id=a.sp_entity_id, acs_url=a.acs_url,
                 in_response_to=a.in_response_to,
                 now=int(time.time()) if a.now == "now" else int(a.now),
                 idp_key=a.idp_key and os.path.abspath(a.idp_key),
                 idp_cert=a.idp_cert and os.path.abspath(a.idp_cert),
                 sp_cert=a.sp_cert and os.path.abspath(a.sp_cert),
                 email_domain=a.email_domain,
                 id_suffix="_" + os.urandom(8).hex() if a.id_suffix == "random" else a.id_suffix,
                 key_dir=out)
    only = None
    if a.only:
        only = [n for item in a.only for n in item.split(",") if n]
    try:
        cases = generate(cfg, only)
    except KeyError as e:
        p.error(str(e))
    write_corpus(out, cfg, cases)
    print("%d cases written to %s" % (len(cases), out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
