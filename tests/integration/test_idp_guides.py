"""web/static/portal/idp-guides.json, the portal's per-IdP setup guides: shape, plain text,
placeholders, https-only links, and attribute and claim names the broker reads without any
attribute_mapping.

No broker is started: the file is static data the gateway serves and the portal renders.
"""
import json
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GUIDES = os.path.join(ROOT, "web", "static", "portal", "idp-guides.json")
SAML_ATTRIBUTES_C = os.path.join(ROOT, "services", "saml", "saml_attributes.c")

IDP_IDS = ["okta", "entra", "google", "adfs", "onelogin", "jumpcloud", "pingfederate", "saml", "oidc"]
PLACEHOLDERS = {
    "saml": {"sp_entity_id", "acs_url", "sp_metadata_url"},
    "oidc": {"redirect_uri"},
}
ALL_PLACEHOLDERS = PLACEHOLDERS["saml"] | PLACEHOLDERS["oidc"] | {"org_name"}
FIELDS = {"email", "given_name", "family_name", "name", "groups"}
MAX_STEPS = 12
# The claims oidc_claims.c reads for a field with no attribute_mapping: the field's own name,
# and "roles" for groups. (upn and preferred_username are fallbacks for a missing email.)
OIDC_DEFAULTS = {field: {field} for field in FIELDS}
OIDC_DEFAULTS["groups"] = {"groups", "roles"}
SAML_FIELD_OF = {"s_default_email": "email", "s_default_given": "given_name",
                 "s_default_family": "family_name", "s_default_name": "name",
                 "s_default_groups": "groups"}


def text_problems(text, allowed):
    """What is wrong with one piece of displayed text: empty, markup, an unknown placeholder."""
    problems = []
    if not isinstance(text, str) or not text.strip():
        return ["empty or not text"]
    if "<" in text:  # ">" stays: it is how the consoles' own docs write menu paths
        problems.append("markup character in %r" % text)
    if re.search(r"&[#a-zA-Z0-9]+;", text):
        problems.append("HTML entity in %r" % text)
    for name in re.findall(r"\{([^{}]*)\}", text):
        if name not in allowed:
            problems.append("unknown placeholder {%s} in %r" % (name, text))
    if re.sub(r"\{[a-z_]+\}", "", text).count("{") or re.sub(r"\{[a-z_]+\}", "", text).count("}"):
        problems.append("stray brace in %r" % text)
    if text != text.strip() or "\n" in text or "\t" in text:
        problems.append("surrounding space or a line break in %r" % text)
    return problems


def saml_defaults(path=SAML_ATTRIBUTES_C):
    """The broker's default SAML attribute names per profile field, read from its C source."""
    source = open(path, encoding="utf-8").read()
    macros = dict(re.findall(r'#define\s+(\w+)\s+"([^"]*)"', source))
    defaults = {}
    for array, field in SAML_FIELD_OF.items():
        match = re.search(r"static const char \*const %s\[\]\s*=\s*\{(.*?)\};" % array, source, re.S)
        assert match, "no %s in %s" % (array, path)
        names = set()
        # Each item: an optional macro prefix then a literal, or NULL.
        for prefix, literal in re.findall(r'(?:(\w+)\s+)?"([^"]*)"', match.group(1)):
            names.add(macros.get(prefix, "") + literal if prefix else literal)
        assert names, "%s is empty" % array
        defaults[field] = names
    return defaults


def guide_problems(data, defaults):
    """Every problem of a guides document, as sentences; [] when it is sound."""
    problems = []
    if not isinstance(data, dict) or not isinstance(data.get("idps"), list):
        return ["the document has no idps list"]
    declared = set(data.get("placeholders", {}))
    if declared - ALL_PLACEHOLDERS:
        problems.append("unknown placeholders declared: %s" % sorted(declared - ALL_PLACEHOLDERS))
    ids = [idp.get("id") if isinstance(idp, dict) else None for idp in data["idps"]]
    if len(ids) != len(set(ids)):
        problems.append("ids are not unique: %s" % ids)
    if sorted(i for i in ids if isinstance(i, str)) != sorted(IDP_IDS):
        problems.append("ids %s are not the IdPs %s" % (ids, IDP_IDS))
    for idp in data["idps"]:
        if not isinstance(idp, dict):
            problems.append("an IdP entry is not an object")
            continue
        where = idp.get("id")
        if not isinstance(idp.get("name"), str) or not idp["name"].strip():
            problems.append("%s: no name" % where)
        protocols = [p for p in ("saml", "oidc") if p in idp]
        if not protocols:
            problems.append("%s: neither saml nor oidc" % where)
        for protocol in protocols:
            problems += [("%s %s: " % (where, protocol)) + p
                         for p in protocol_problems(protocol, idp[protocol], declared, defaults)]
    return problems


def protocol_problems(protocol, guide, declared, defaults):
    problems = []
    allowed = PLACEHOLDERS[protocol] | {"org_name"}
    if not isinstance(guide, dict):
        return ["not an object"]
    steps = guide.get("steps")
    if not isinstance(steps, list) or not steps or len(steps) > MAX_STEPS:
        return ["steps must be a list of 1 to %d texts" % MAX_STEPS]
    for text in steps + [guide.get("copy_back")]:
        problems += text_problems(text, allowed)
    used = set(re.findall(r"\{([a-z_]+)\}", " ".join(s for s in steps if isinstance(s, str))))
    if used - declared:
        problems.append("placeholders used but not declared: %s" % sorted(used - declared))
    if protocol == "saml":
        if "acs_url" not in used:
            problems.append("no step gives {acs_url}")
        if not used & {"sp_entity_id", "sp_metadata_url"}:
            problems.append("no step gives {sp_entity_id} or {sp_metadata_url}")
        joined = " ".join(steps).lower()
        if not ("nameid-format:emailaddress" in joined
                or (re.search(r"name ?id|name identifier", joined) and "email" in joined)):
            problems.append("no step sets an email-address NameID")
    else:
        if "redirect_uri" not in used:
            problems.append("no step gives {redirect_uri}")
        issuer = guide.get("issuer")
        if not isinstance(issuer, str) or not issuer.startswith("https://") or "<" in issuer:
            problems.append("issuer %r is not an https URL format" % (issuer,))
        if "openid" not in guide.get("scopes", []):
            problems.append("scopes lack openid")
    key = "attributes" if protocol == "saml" else "claims"
    mapped = guide.get(key)
    if not isinstance(mapped, list) or not mapped:
        problems.append("no %s" % key)
        mapped = []
    fields = [m.get("field") for m in mapped if isinstance(m, dict)]
    if "email" not in fields:
        problems.append("no %s for email" % key)
    if len(fields) != len(set(fields)) or set(fields) - FIELDS:
        problems.append("%s fields %s are not distinct profile fields" % (key, fields))
    for m in mapped:
        if not isinstance(m, dict) or m.get("field") not in FIELDS:
            continue
        known = defaults[m["field"]] if protocol == "saml" else OIDC_DEFAULTS[m["field"]]
        if m.get("name") not in known:
            problems.append("%s %r for %s is not a name the broker reads by default"
                            % (key[:-1], m.get("name"), m["field"]))
    docs = guide.get("docs")
    if not isinstance(docs, list) or not docs:
        problems.append("no docs")
        docs = []
    for url in docs:
        if not isinstance(url, str) or not re.fullmatch(r"https://[^\s<>\"{}]+", url):
            problems.append("doc link %r is not an https URL" % (url,))
    return problems


@pytest.fixture(scope="module")
def guides():
    with open(GUIDES, encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def defaults():
    return saml_defaults()


def test_the_guides_are_sound(guides, defaults):
    assert guide_problems(guides, defaults) == []


def test_every_idp_is_there_with_a_protocol(guides):
    by_id = {idp["id"]: idp for idp in guides["idps"]}
    assert set(by_id) == set(IDP_IDS)
    assert "saml" in by_id["saml"] and "oidc" in by_id["oidc"]
    for idp_id in ("okta", "entra", "google", "onelogin", "jumpcloud", "pingfederate"):
        assert "oidc" in by_id[idp_id], idp_id
    for idp_id in IDP_IDS[:-1]:
        assert "saml" in by_id[idp_id], idp_id


def test_google_oidc_says_it_needs_a_cloud_project(guides):
    google = next(idp for idp in guides["idps"] if idp["id"] == "google")
    assert "Google Cloud project" in " ".join(google["oidc"]["steps"])


def test_the_saml_defaults_are_read_from_the_broker(defaults):
    # The parse itself must see the macro-prefixed names, or every check above would be hollow.
    assert "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress" in defaults["email"]
    assert "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups" in defaults["groups"]
    assert "firstName" in defaults["given_name"] and "email" not in defaults["name"]


def broken(guides, change):
    copy = json.loads(json.dumps(guides))
    change(copy)
    return copy


def first(copy, idp_id):
    return next(idp for idp in copy["idps"] if idp["id"] == idp_id)


BREAKAGES = {
    "a missing IdP": lambda c: c["idps"].pop(),
    "a duplicated id": lambda c: c["idps"].append(json.loads(json.dumps(c["idps"][0]))),
    "an IdP with no protocol": lambda c: [first(c, "adfs").pop("saml")],
    "an empty step": lambda c: first(c, "okta")["saml"]["steps"].append(" "),
    "markup in a step": lambda c: first(c, "okta")["saml"]["steps"].append("Click <b>Save</b>."),
    "an unknown placeholder": lambda c: first(c, "entra")["oidc"]["steps"].append("Enter {tenant}."),
    "a SAML placeholder in an OIDC guide":
        lambda c: first(c, "entra")["oidc"]["steps"].append("Enter {acs_url}."),
    "a stray brace": lambda c: first(c, "google")["saml"]["steps"].append("Use {acs_url."),
    "no ACS URL": lambda c: first(c, "google")["saml"].__setitem__(
        "steps", [s.replace("{acs_url}", "the ACS URL") for s in first(c, "google")["saml"]["steps"]]),
    "no redirect URI": lambda c: first(c, "okta")["oidc"].__setitem__(
        "steps", [s.replace("{redirect_uri}", "it") for s in first(c, "okta")["oidc"]["steps"]]),
    "an http doc link": lambda c: first(c, "adfs")["saml"]["docs"].append("http://example.com/"),
    "too many steps": lambda c: first(c, "saml")["saml"]["steps"].extend(["Click Next."] * 12),
    "an attribute the broker does not read":
        lambda c: first(c, "okta")["saml"]["attributes"][1].__setitem__("name", "first_given"),
    "a claim the broker does not read":
        lambda c: first(c, "okta")["oidc"]["claims"][0].__setitem__("name", "mail"),
    "an http issuer": lambda c: first(c, "google")["oidc"].__setitem__("issuer", "http://x"),
    "no email NameID": lambda c: first(c, "jumpcloud")["saml"].__setitem__(
        "steps", [s for s in first(c, "jumpcloud")["saml"]["steps"] if "NameID" not in s]),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_broken_file_is_refused(guides, defaults, breakage):
    assert guide_problems(broken(guides, BREAKAGES[breakage]), defaults) != []


def test_text_problems_cases():
    saml = PLACEHOLDERS["saml"]
    assert text_problems("Paste {acs_url} into ACS URL.", saml) == []
    assert text_problems("", saml) and text_problems(None, saml)
    assert text_problems("a <script>x</script>", saml)
    assert text_problems("Paste {redirect_uri}.", saml)
    assert text_problems("Open {acs_url", saml)
    assert text_problems("two\nlines", saml)
    assert text_problems("Название {acs_url} 名前", saml) == []
