#!/usr/bin/python3
"""Pre-signs SAML responses for bench/login.sh, before anything is timed.

Reads the lines bench/login_driver wrote in `authorize` mode ("RelayState<TAB>SAMLRequest<TAB>ns",
SAMLRequest still URL-encoded, HTTP-Redirect binding: raw DEFLATE + base64), takes the
AuthnRequest ID out of each request and writes one signed Response for it (InResponseTo = that
ID, fresh Response and Assertion IDs so the replay cache sees each assertion once):
"RelayState<TAB>url-encoded base64 SAMLResponse<TAB>ns". The Assertion carries an enveloped
RSA-SHA256 / exc-c14n signature made with python3-xmlsec, as tests/saml/make_cases.py does.

  login_sign.py IN OUT --key K --cert C --issuer IDP --audience SP --acs URL --email E [-j JOBS]
"""
import argparse
import base64
import multiprocessing
import re
import secrets
import time
import urllib.parse
import zlib

import xmlsec
from lxml import etree

NS_SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
NS_SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAML = "{%s}" % NS_SAML
EMAIL_FMT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"

TEMPLATE = (
    '<samlp:Response xmlns:samlp="{samlp}" xmlns:saml="{saml}" ID="{rid}" Version="2.0" '
    'IssueInstant="{now}" Destination="{acs}" InResponseTo="{irt}">'
    '<saml:Issuer>{issuer}</saml:Issuer>'
    '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>'
    '</samlp:Status>'
    '<saml:Assertion ID="{aid}" Version="2.0" IssueInstant="{now}">'
    '<saml:Issuer>{issuer}</saml:Issuer>'
    '<saml:Subject><saml:NameID Format="{fmt}">{email}</saml:NameID>'
    '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
    '<saml:SubjectConfirmationData Recipient="{acs}" NotOnOrAfter="{until}" InResponseTo="{irt}"/>'
    '</saml:SubjectConfirmation></saml:Subject>'
    '<saml:Conditions NotBefore="{before}" NotOnOrAfter="{until}"><saml:AudienceRestriction>'
    '<saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>'
    '<saml:AuthnStatement AuthnInstant="{now}" SessionIndex="_s{aid}"><saml:AuthnContext>'
    '<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport'
    '</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>'
    '<saml:AttributeStatement>'
    '<saml:Attribute Name="email"><saml:AttributeValue>{email}</saml:AttributeValue></saml:Attribute>'
    '<saml:Attribute Name="firstName"><saml:AttributeValue>Ada</saml:AttributeValue></saml:Attribute>'
    '<saml:Attribute Name="lastName"><saml:AttributeValue>Lovelace</saml:AttributeValue></saml:Attribute>'
    '<saml:Attribute Name="groups"><saml:AttributeValue>engineering</saml:AttributeValue>'
    '<saml:AttributeValue>admins</saml:AttributeValue></saml:Attribute>'
    '</saml:AttributeStatement></saml:Assertion></samlp:Response>')

ARGS = None
KEY = None


def ts(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def request_id(saml_request):
    raw = base64.b64decode(urllib.parse.unquote(saml_request))
    xml = zlib.decompress(raw, -15).decode()
    m = re.search(r'<(?:\w+:)?AuthnRequest\b[^>]*\sID="([^"]+)"', xml)
    if not m:
        raise ValueError("no AuthnRequest ID in " + xml[:200])
    return m.group(1)


def init(args):
    global ARGS, KEY
    ARGS = args
    KEY = xmlsec.Key.from_file(args.key, xmlsec.constants.KeyDataFormatPem)
    KEY.load_cert_from_file(args.cert, xmlsec.constants.KeyDataFormatPem)


def sign_one(line):
    relay, saml_request, ns = (line.rstrip("\n").split("\t") + ["0"])[:3]
    irt = request_id(saml_request)
    now = int(time.time())
    xml = TEMPLATE.format(samlp=NS_SAMLP, saml=NS_SAML, rid="_r" + secrets.token_hex(16),
                          aid="_a" + secrets.token_hex(16), now=ts(now), before=ts(now - 60),
                          until=ts(now + ARGS.lifetime), acs=ARGS.acs, irt=irt,
                          issuer=ARGS.issuer, audience=ARGS.audience, email=ARGS.email,
                          fmt=EMAIL_FMT)
    root = etree.fromstring(xml.encode())
    assertion = root.find(SAML + "Assertion")
    c = xmlsec.constants
    sig = xmlsec.template.create(assertion, c.TransformExclC14N, c.TransformRsaSha256, ns="ds")
    assertion.find(SAML + "Issuer").addnext(sig)
    ref = xmlsec.template.add_reference(sig, c.TransformSha256, uri="#" + assertion.get("ID"))
    xmlsec.template.add_transform(ref, c.TransformEnveloped)
    xmlsec.template.add_transform(ref, c.TransformExclC14N)
    xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(sig))
    ctx = xmlsec.SignatureContext()
    ctx.key = KEY
    ctx.register_id(assertion, "ID")
    ctx.sign(sig)
    b64 = base64.b64encode(etree.tostring(root, encoding="utf-8")).decode()
    return f"{relay}\t{urllib.parse.quote(b64, safe='')}\t{ns}\n"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("inp")
    p.add_argument("out")
    for name in ("key", "cert", "issuer", "audience", "acs", "email"):
        p.add_argument("--" + name, required=True)
    p.add_argument("--lifetime", type=int, default=600)
    p.add_argument("-j", "--jobs", type=int, default=multiprocessing.cpu_count())
    args = p.parse_args()
    with open(args.inp) as f:
        lines = [l for l in f if l.strip()]
    with multiprocessing.Pool(args.jobs, initializer=init, initargs=(args,)) as pool, \
            open(args.out, "w") as out:
        for signed in pool.imap(sign_one, lines, chunksize=64):
            out.write(signed)


if __name__ == "__main__":
    main()
