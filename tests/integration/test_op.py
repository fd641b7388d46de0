"""The OpenID Provider (services/token) end to end: discovery, JWKS, /oauth/authorize and its
errors, the selectors and the hosted "Sign in with SSO" page, /oauth/token with the
authorization_code grant, /userinfo, the ID token's claims (DESIGN.md 3 and 8) and key rotation.

Logins go through the built-in IdP simulator: `simulator_login` plays the browser by hand
(redirects followed only while they stay on the broker, forms read with html.parser)."""
import base64
import hashlib
import html
import html.parser
import json
import re
import secrets
import subprocess
import urllib.parse

import jwt
import pytest
import requests

REDIRECT_URI = "https://app.example.net/login/callback"
OTHER_REDIRECT_URI = "https://other.example.net/cb"
PERSON = {"email": "ada@example.com", "given_name": "Ada", "family_name": "Lovelace",
          "groups": "admins, devs", "scenario": "success"}


# ---- the browser's part ----------------------------------------------------------------------

class _FormParser(html.parser.HTMLParser):
    """The first <form>: its action, method and every named <input> (and <select>, with the
    selected or first option)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.action = None
        self.method = None
        self.fields = {}
        self._in_form = False
        self._done = False
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self._done:
            return
        if tag == "form" and self.action is None:
            self.action = attrs.get("action", "")
            self.method = (attrs.get("method") or "get").lower()
            self._in_form = True
        elif self._in_form and tag == "input" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""
        elif self._in_form and tag == "select" and attrs.get("name"):
            self._select = attrs["name"]
        elif self._in_form and tag == "option" and self._select:
            if self._select not in self.fields or "selected" in attrs:
                self.fields[self._select] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "form" and self._in_form:
            self._in_form = False
            self._done = True


def form_of(page):
    parser = _FormParser()
    parser.feed(page)
    assert parser.action is not None, f"no form in page: {page[:500]}"
    return parser


def follow(broker, url, session, **kw):
    """GET url (or the request kw describes) and follow redirects while they stay on the
    broker. Returns (response, url of that response)."""
    method = kw.pop("method", "GET")
    for _ in range(10):
        r = session.request(method, url, allow_redirects=False, timeout=10, **kw)
        location = r.headers.get("Location")
        if 300 <= r.status_code < 400 and location:
            nxt = urllib.parse.urljoin(url, location)
            if not nxt.startswith(broker.url + "/"):
                return r, url
            url, method, kw = nxt, "GET", {}
            continue
        return r, url
    raise AssertionError("too many redirects")


def query_of(location):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query,
                                       keep_blank_values=True))


def authorize_url(broker, params):
    return broker.url + "/oauth/authorize?" + urllib.parse.urlencode(params)


def simulator_page(broker, params, session=None):
    """/oauth/authorize up to the simulator's page: (response, its url)."""
    session = session or requests.Session()
    r, url = follow(broker, authorize_url(broker, params), session)
    return r, url


def simulator_login(broker, params, person=None, session=None):
    """A complete login through the simulator. Returns the Location that sends the browser
    back to the client (the redirect_uri with code and state, or with an error)."""
    session = session or requests.Session()
    page, url = simulator_page(broker, params, session)
    assert page.status_code == 200 and "/simulator/" in url, \
        (page.status_code, url, page.headers.get("Location"), page.text[:800])
    form = form_of(page.text)
    assert "SAMLRequest" in form.fields and "RelayState" in form.fields, form.fields
    fields = dict(form.fields)
    fields.update(person or PERSON)
    posted = session.post(urllib.parse.urljoin(url, form.action), data=fields,
                          allow_redirects=False, timeout=10)
    assert posted.status_code == 200, (posted.status_code, posted.text[:800])
    acs = form_of(posted.text)
    assert "SAMLResponse" in acs.fields, acs.fields
    acs_url = urllib.parse.urljoin(url, acs.action)
    assert acs_url.startswith(broker.url + "/sso/saml/"), acs_url
    answered = session.post(acs_url, data=acs.fields, allow_redirects=False, timeout=10)
    assert answered.status_code in (302, 303), (answered.status_code, answered.text[:800])
    return answered.headers["Location"]


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


# ---- fixtures --------------------------------------------------------------------------------

def make_client(broker, name, redirect_uris):
    r = broker.api("POST", "/clients", {"name": name, "redirect_uris": redirect_uris})
    assert r.status_code == 201, r.text
    return r.json()


def pem_certificate(tmp_path):
    key, cert = tmp_path / "idp.key", tmp_path / "idp.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=test idp", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert.read_text()


def make_saml_connection(broker, org_id, cert, n):
    r = broker.api("POST", f"/organizations/{org_id}/connections", {
        "type": "saml",
        "saml": {"idp_entity_id": f"urn:test:idp:{org_id}:{n}",
                 "idp_sso_url": f"https://idp{n}.test.example/sso",
                 "idp_certificates": [cert]}})
    assert r.status_code == 201, r.text
    conn = r.json()
    assert broker.api("POST", f"/connections/{conn['id']}/enable").status_code == 200
    return conn


@pytest.fixture(scope="module")
def op(broker, tmp_path_factory):
    client = make_client(broker, "op-rp", [REDIRECT_URI])
    other = make_client(broker, "op-other", [OTHER_REDIRECT_URI, REDIRECT_URI])
    orgs = broker.api("GET", "/organizations?page_size=100").json()["data"]
    seeded = next(o for o in orgs if o["display_name"] == "Test Organization")
    conns = broker.api("GET", f"/organizations/{seeded['id']}/connections").json()["data"]
    assert len(conns) == 1, conns
    cert = pem_certificate(tmp_path_factory.mktemp("op"))
    # An organization whose only connection is inactive.
    inactive_org = broker.api("POST", "/organizations", {"display_name": "Inactive Corp"}).json()
    assert broker.api("POST", f"/organizations/{inactive_org['id']}/domains",
                      {"domain": "inactive.example"}).status_code == 201
    inactive = make_saml_connection(broker, inactive_org["id"], cert, 1)
    assert broker.api("POST", f"/connections/{inactive['id']}/disable").status_code == 200
    # An organization with two active connections.
    multi_org = broker.api("POST", "/organizations", {"display_name": "Two IdPs Corp"}).json()
    assert broker.api("POST", f"/organizations/{multi_org['id']}/domains",
                      {"domain": "twoidps.example"}).status_code == 201
    make_saml_connection(broker, multi_org["id"], cert, 2)
    make_saml_connection(broker, multi_org["id"], cert, 3)
    return {"client": client, "other": other, "org": seeded, "conn": conns[0],
            "inactive_org": inactive_org, "inactive": inactive, "multi_org": multi_org}


def base_params(op, **extra):
    params = {"response_type": "code", "client_id": op["client"]["client_id"],
              "redirect_uri": REDIRECT_URI, "scope": "openid email profile", "state": "st-1"}
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def login_code(broker, op, person=None, **extra):
    """A successful login; returns (code, query of the redirect back)."""
    params = base_params(op, login_hint="ada@example.com")
    params.update(extra)
    location = simulator_login(broker, params, person)
    assert location.startswith(REDIRECT_URI + "?"), location
    query = query_of(location)
    assert "code" in query and "error" not in query, (query, last_reason(broker))
    return query["code"], query


def last_reason(broker):
    events = broker.api("GET", "/events").json().get("data") or []
    return events[0].get("reason") if events else None


def redeem(broker, client, code, redirect_uri=REDIRECT_URI, verifier=None, auth="post",
           secret=None):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    secret = client["client_secret"] if secret is None else secret
    if auth == "post":
        data.update(client_id=client["client_id"], client_secret=secret)
        return broker.post("/oauth/token", data=data)
    return broker.post("/oauth/token", data=data, auth=(client["client_id"], secret))


def token_error(r, status, error):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].split(";")[0] == "application/json", r.headers
    assert r.headers.get("Cache-Control") == "no-store", r.headers
    body = r.json()
    assert body["error"] == error, body
    assert body.get("error_description"), body
    return body


def redirect_error(r, error, state="st-1", base=REDIRECT_URI):
    assert r.status_code == 302, (r.status_code, r.text[:500])
    location = r.headers["Location"]
    assert location.startswith(base + "?"), location
    query = query_of(location)
    assert query.get("error") == error, query
    assert query.get("error_description"), query
    assert "code" not in query, query
    if state is None:
        assert "state" not in query, query
    else:
        assert query.get("state") == state, query
    return query["error_description"]


def verified_claims(broker, client, id_token):
    keys = jwt.PyJWKClient(broker.url + "/keys", cache_keys=False, cache_jwk_set=False)
    key = keys.get_signing_key_from_jwt(id_token)
    return jwt.decode(id_token, key.key, algorithms=["RS256"], audience=client["client_id"],
                      issuer=broker.url)


def at_hash(access_token):
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


# ---- discovery and JWKS ----------------------------------------------------------------------

def test_discovery_document(broker):
    r = broker.get("/.well-known/openid-configuration")
    assert r.status_code == 200
    assert r.headers["Content-Type"].split(";")[0] == "application/json"
    doc = r.json()
    assert doc["issuer"] == broker.url
    assert doc["authorization_endpoint"] == broker.url + "/oauth/authorize"
    assert doc["token_endpoint"] == broker.url + "/oauth/token"
    assert doc["userinfo_endpoint"] == broker.url + "/userinfo"
    assert doc["jwks_uri"] == broker.url + "/keys"
    assert doc["response_types_supported"] == ["code"]
    assert doc["response_modes_supported"] == ["query"]
    assert set(doc["grant_types_supported"]) == {"authorization_code", "client_credentials"}
    assert doc["subject_types_supported"] == ["public"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"openid", "email", "profile"} <= set(doc["scopes_supported"])
    assert set(doc["token_endpoint_auth_methods_supported"]) == {"client_secret_post",
                                                                 "client_secret_basic"}
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert {"iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "at_hash", "email",
            "email_verified", "name", "given_name", "family_name", "groups", "oid",
            "connection_id", "connection_type", "amr", "scim_user_id"} <= set(doc["claims_supported"])


def test_jwks_has_public_keys_only(broker):
    r = broker.get("/keys")
    assert r.status_code == 200
    keys = r.json()["keys"]
    assert keys
    for key in keys:
        assert key["kty"] == "RSA" and key["use"] == "sig" and key["alg"] == "RS256"
        assert key["kid"] and key["n"] and key["e"]
        assert not {"d", "p", "q", "dp", "dq", "qi", "oth", "k"} & set(key), key
    assert len({k["kid"] for k in keys}) == len(keys)


# ---- authorize: errors that must not redirect -------------------------------------------------

def assert_error_page(r, must_not_link):
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:500])
    assert "Location" not in r.headers, r.headers
    assert r.headers["Content-Type"].startswith("text/html"), r.headers
    body = r.text.lower()
    target = must_not_link.lower()
    assert f'href="{target}' not in body and f"href='{target}" not in body, r.text
    assert "http-equiv=\"refresh\"" not in body, r.text
    assert "<form" not in body, r.text


def test_unregistered_redirect_uri_gets_a_page(broker, op):
    evil = "https://evil.example.net/steal"
    r = broker.get("/oauth/authorize?" + urllib.parse.urlencode(base_params(
        op, redirect_uri=evil, login_hint="ada@example.com")), allow_redirects=False)
    assert_error_page(r, evil)
    assert "redirect_uri" in r.text
    # A near miss is not a match either.
    r = broker.get("/oauth/authorize?" + urllib.parse.urlencode(base_params(
        op, redirect_uri=REDIRECT_URI + "/", login_hint="ada@example.com")),
        allow_redirects=False)
    assert_error_page(r, REDIRECT_URI)


def test_unknown_client_gets_a_page(broker, op):
    r = broker.get("/oauth/authorize?" + urllib.parse.urlencode(base_params(
        op, client_id="cli_doesnotexist", login_hint="ada@example.com")), allow_redirects=False)
    assert_error_page(r, REDIRECT_URI)
    assert "cli_doesnotexist" in r.text


# ---- authorize: errors redirected to the client -----------------------------------------------

def authorize(broker, params):
    return broker.get("/oauth/authorize?" + urllib.parse.urlencode(params),
                      allow_redirects=False)


def test_missing_response_type(broker, op):
    r = authorize(broker, base_params(op, response_type=None, login_hint="ada@example.com"))
    assert "response_type" in redirect_error(r, "invalid_request")


def test_unsupported_response_type(broker, op):
    for value in ("token", "id_token", "code id_token"):
        r = authorize(broker, base_params(op, response_type=value, login_hint="ada@example.com"))
        redirect_error(r, "unsupported_response_type")


def test_scope_without_openid(broker, op):
    r = authorize(broker, base_params(op, scope="email profile", login_hint="ada@example.com"))
    assert "openid" in redirect_error(r, "invalid_scope")


def test_prompt_none_is_login_required(broker, op):
    r = authorize(broker, base_params(op, prompt="none", login_hint="ada@example.com"))
    redirect_error(r, "login_required")


def test_pkce_plain_is_refused(broker, op):
    verifier, _ = pkce()
    r = authorize(broker, base_params(op, code_challenge=verifier, code_challenge_method="plain",
                                      login_hint="ada@example.com"))
    assert "S256" in redirect_error(r, "invalid_request")


def test_an_unknown_parameter_is_ignored(broker, op):
    r, url = simulator_page(broker, base_params(op, login_hint="ada@example.com",
                                                frobnicate="yes", ui_locales="fr"))
    assert r.status_code == 200 and "/simulator/" in url, (r.status_code, url)


# ---- selectors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("selector", ["connection_id", "organization_id", "domain",
                                      "login_hint"])
def test_each_selector_reaches_the_simulator(broker, op, selector):
    value = {"connection_id": op["conn"]["id"], "organization_id": op["org"]["id"],
             "domain": "example.com", "login_hint": "grace@Example.ORG"}[selector]
    r, url = simulator_page(broker, base_params(op, **{selector: value}))
    assert r.status_code == 200 and urllib.parse.urlsplit(url).path.startswith("/simulator/"), \
        (r.status_code, url, r.text[:300])
    form = form_of(r.text)
    assert {"email", "given_name", "family_name", "groups", "scenario", "SAMLRequest",
            "RelayState"} <= set(form.fields), form.fields


def test_simulator_fills_in_the_login_hint(broker, op):
    r, _ = simulator_page(broker, base_params(op, login_hint="Grace.Hopper@example.org"))
    assert r.status_code == 200
    assert form_of(r.text).fields["email"] == "Grace.Hopper@example.org"
    # No hint (a selector without an email): the page's own example address.
    r, _ = simulator_page(broker, base_params(op, domain="example.com"))
    assert form_of(r.text).fields["email"] == "someone@example.com"
    # A RelayState that names no transaction: no form at all (test_simulator.py has the rest).
    _, url = simulator_page(broker, base_params(op, login_hint="x@example.com"))
    parts = urllib.parse.urlsplit(url)
    q = dict(urllib.parse.parse_qsl(parts.query))
    q["RelayState"] = "no-such-transaction-0123456789"
    r = broker.get(parts.path + "?" + urllib.parse.urlencode(q))
    assert r.status_code == 400 and "<form" not in r.text, (r.status_code, r.text[:300])


def test_stronger_selector_wins(broker, op):
    # connection_id beats a domain that has no organization.
    r, url = simulator_page(broker, base_params(op, connection_id=op["conn"]["id"],
                                                domain="nobody.example"))
    assert r.status_code == 200 and "/simulator/" in url, (r.status_code, url)


def test_domain_selector_is_case_insensitive_and_exact(broker, op):
    r, url = simulator_page(broker, base_params(op, domain="Example.COM"))
    assert r.status_code == 200 and "/simulator/" in url, (r.status_code, url, r.text[:300])
    r = authorize(broker, base_params(op, domain="a.example.com"))
    assert redirect_error(r, "invalid_request") == "no organization for domain a.example.com"


def test_unknown_domain(broker, op):
    r = authorize(broker, base_params(op, domain="nobody.example"))
    assert redirect_error(r, "invalid_request") == "no organization for domain nobody.example"
    r = authorize(broker, base_params(op, login_hint="jane@nobody.example"))
    assert redirect_error(r, "invalid_request") == "no organization for domain nobody.example"


def test_inactive_connection(broker, op):
    conn = op["inactive"]["id"]
    expected = f"connection {conn} is not active"
    r = authorize(broker, base_params(op, connection_id=conn))
    assert redirect_error(r, "invalid_request") == expected
    for selector in ({"organization_id": op["inactive_org"]["id"]},
                     {"domain": "inactive.example"},
                     {"login_hint": "jane@inactive.example"}):
        r = authorize(broker, base_params(op, **selector))
        description = redirect_error(r, "invalid_request")
        assert "not active" in description or "no active connection" in description, \
            (selector, description)


def test_several_active_connections(broker, op):
    for selector in ({"organization_id": op["multi_org"]["id"]},
                     {"domain": "twoidps.example"},
                     {"login_hint": "jane@twoidps.example"}):
        r = authorize(broker, base_params(op, **selector))
        assert redirect_error(r, "invalid_request") == \
            "several active connections; pass connection_id", selector


# ---- the hosted "Sign in with SSO" page --------------------------------------------------------

def test_hosted_page_asks_for_an_email(broker, op):
    session = requests.Session()
    r = session.get(authorize_url(broker, base_params(op, nonce="n-hosted")),
                    allow_redirects=False, timeout=10)
    assert r.status_code == 200, (r.status_code, r.headers, r.text[:300])
    assert r.headers["Content-Type"].startswith("text/html")
    set_cookie = r.headers["Set-Cookie"]
    assert set_cookie.startswith("sso_csrf=") and "HttpOnly" in set_cookie, set_cookie
    csrf_cookie = session.cookies.get("sso_csrf")
    assert csrf_cookie
    form = form_of(r.text)
    assert form.method == "post"
    assert form.fields.get("sso_csrf") == csrf_cookie
    assert "login_hint" in form.fields
    assert form.fields["client_id"] == op["client"]["client_id"]
    assert form.fields["state"] == "st-1" and form.fields["nonce"] == "n-hosted"
    action = urllib.parse.urljoin(broker.url + "/oauth/authorize", form.action)
    fields = dict(form.fields, login_hint="ada@example.com")

    # Without the cookie: refused, nothing started.
    bare = requests.post(action, data=fields, allow_redirects=False, timeout=10)
    assert bare.status_code == 403, (bare.status_code, bare.text[:300])
    assert "Location" not in bare.headers

    # With it: on to the simulator (by a page that navigates, or a redirect).
    posted = session.post(action, data=fields, allow_redirects=False, timeout=10)
    if posted.status_code == 302:
        target = urllib.parse.urljoin(action, posted.headers["Location"])
    else:
        assert posted.status_code == 200, (posted.status_code, posted.text[:500])
        m = re.search(r'content="0;url=([^"]+)"', posted.text)
        assert m, posted.text[:500]
        target = html.unescape(m.group(1))
    assert target.startswith(broker.url + "/simulator/"), target
    page, url = follow(broker, target, session)
    assert page.status_code == 200 and "SAMLRequest" in form_of(page.text).fields


# ---- complete logins, the token endpoint ------------------------------------------------------

def test_login_and_id_token_claims(broker, op):
    verifier, challenge = pkce()
    code, query = login_code(broker, op, nonce="n-claims", code_challenge=challenge,
                             code_challenge_method="S256")
    assert query["state"] == "st-1"
    r = redeem(broker, op["client"], code, verifier=verifier)
    assert r.status_code == 200, r.text
    assert r.headers.get("Cache-Control") == "no-store"
    assert r.headers["Content-Type"].split(";")[0] == "application/json"
    tokens = r.json()
    assert tokens["token_type"].lower() == "bearer" and tokens["access_token"]
    assert isinstance(tokens["expires_in"], int) and tokens["expires_in"] > 0

    header = jwt.get_unverified_header(tokens["id_token"])
    assert header["alg"] == "RS256" and header["kid"]
    assert header["kid"] in {k["kid"] for k in broker.get("/keys").json()["keys"]}
    claims = verified_claims(broker, op["client"], tokens["id_token"])
    # iss byte for byte, from the raw payload.
    payload = tokens["id_token"].split(".")[1]
    raw = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert raw["iss"] == broker.url

    conn = op["conn"]["id"]
    client_id = op["client"]["client_id"]
    assert set(claims) == {"iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce",
                           "at_hash", "email", "email_verified", "name", "given_name",
                           "family_name", "groups", "oid", "connection_id", "connection_type",
                           "amr"}, sorted(claims)
    assert claims["aud"] == client_id or claims["aud"] == [client_id]
    assert claims["azp"] == client_id
    for name in ("exp", "iat", "auth_time"):
        assert isinstance(claims[name], int), (name, claims[name])
    assert claims["exp"] > claims["iat"] >= claims["auth_time"]
    assert claims["nonce"] == "n-claims"
    assert claims["at_hash"] == at_hash(tokens["access_token"])
    assert claims["sub"] == f"{conn};ada@example.com"
    assert len(claims["sub"]) <= 255 and claims["sub"].isascii()
    assert claims["email"] == "ada@example.com" and claims["email_verified"] is True
    assert claims["given_name"] == "Ada" and claims["family_name"] == "Lovelace"
    assert claims["name"]
    assert claims["groups"] == ["admins", "devs"]
    assert claims["oid"] == op["org"]["id"]
    assert claims["connection_id"] == conn
    assert claims["connection_type"] == "saml"
    assert claims["amr"] == [conn]


def test_no_nonce_no_nonce_claim(broker, op):
    code, _ = login_code(broker, op)
    r = redeem(broker, op["client"], code)
    assert r.status_code == 200, r.text
    claims = verified_claims(broker, op["client"], r.json()["id_token"])
    assert "nonce" not in claims


def test_nonce_echoed(broker, op):
    nonce = "n-" + secrets.token_urlsafe(24) + "/+=é"
    code, _ = login_code(broker, op, nonce=nonce)
    r = redeem(broker, op["client"], code, auth="basic")
    assert r.status_code == 200, r.text
    assert verified_claims(broker, op["client"], r.json()["id_token"])["nonce"] == nonce


def test_no_groups_no_groups_claim(broker, op):
    code, _ = login_code(broker, op, person=dict(PERSON, groups=""))
    r = redeem(broker, op["client"], code)
    assert r.status_code == 200, r.text
    claims = verified_claims(broker, op["client"], r.json()["id_token"])
    assert "groups" not in claims or claims["groups"] == [], claims


def test_code_reuse_is_invalid_grant_and_revokes(broker, op):
    code, _ = login_code(broker, op)
    first = redeem(broker, op["client"], code)
    assert first.status_code == 200, first.text
    access_token = first.json()["access_token"]
    assert broker.get("/userinfo", headers={"Authorization": "Bearer " + access_token}
                      ).status_code == 200
    second = redeem(broker, op["client"], code)
    token_error(second, 400, "invalid_grant")
    r = broker.get("/userinfo", headers={"Authorization": "Bearer " + access_token})
    assert r.status_code == 401, (r.status_code, r.text)
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer")


def test_redirect_uri_mismatch_at_token(broker, op):
    code, _ = login_code(broker, op)
    token_error(redeem(broker, op["client"], code, redirect_uri=REDIRECT_URI + "/x"),
                400, "invalid_grant")


def test_pkce_wrong_verifier(broker, op):
    _, challenge = pkce()
    other_verifier, _ = pkce()
    code, _ = login_code(broker, op, code_challenge=challenge, code_challenge_method="S256")
    token_error(redeem(broker, op["client"], code, verifier=other_verifier), 400, "invalid_grant")


def test_pkce_missing_verifier(broker, op):
    _, challenge = pkce()
    code, _ = login_code(broker, op, code_challenge=challenge, code_challenge_method="S256")
    r = redeem(broker, op["client"], code)
    assert r.status_code == 400 and r.json()["error"] in ("invalid_grant", "invalid_request"), \
        r.text


def test_wrong_client_secret(broker, op):
    code, _ = login_code(broker, op)
    r = redeem(broker, op["client"], code, auth="basic", secret="not-the-secret")
    token_error(r, 401, "invalid_client")
    assert r.headers.get("WWW-Authenticate", "").startswith("Basic"), r.headers
    r = redeem(broker, op["client"], code, auth="post", secret="not-the-secret")
    token_error(r, 401, "invalid_client")
    # The refused attempts did not consume the code.
    assert redeem(broker, op["client"], code).status_code == 200


def _empty_secret_form(client, data):
    data.update(client_id=client["client_id"], client_secret="")
    return {"data": data}


def _empty_secret_basic(client, data):
    return {"data": data, "auth": (client["client_id"], "")}


def _no_secret(client, data):
    data.update(client_id=client["client_id"])
    return {"data": data}


def _secret_in_query_only(client, data):
    data.update(client_id=client["client_id"])
    return {"data": data, "params": {"client_secret": client["client_secret"]}}


def _secret_in_query_and_body(client, data):
    data.update(client_id=client["client_id"], client_secret=client["client_secret"])
    return {"data": data, "params": {"client_secret": client["client_secret"]}}


def _credentials_in_query_basic_in_header(client, data):
    return {"data": data, "auth": (client["client_id"], client["client_secret"]),
            "params": {"client_id": client["client_id"],
                       "client_secret": client["client_secret"]}}


def _code_in_query(client, data):
    data.update(client_id=client["client_id"], client_secret=client["client_secret"])
    return {"data": {k: v for k, v in data.items() if k != "code"},
            "params": {"code": data["code"]}}


@pytest.mark.parametrize("attempt, status, error", [
    (_empty_secret_form, 401, "invalid_client"),
    (_empty_secret_basic, 401, "invalid_client"),
    (_no_secret, 401, "invalid_client"),
    (_secret_in_query_only, 400, "invalid_request"),
    (_secret_in_query_and_body, 400, "invalid_request"),
    (_credentials_in_query_basic_in_header, 400, "invalid_request"),
    (_code_in_query, 400, "invalid_request"),
])
def test_code_needs_the_client_secret_in_the_body_or_header(broker, op, attempt, status, error):
    """An empty secret is no secret (by form or Basic "id:"), and credentials or the code in
    the URL query are refused (RFC 6749 2.3.1); none of it spends the code."""
    code, _ = login_code(broker, op)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    r = broker.post("/oauth/token", **attempt(op["client"], data))
    token_error(r, status, error)
    if status == 401:
        assert r.headers.get("WWW-Authenticate", "").startswith("Basic"), r.headers
    assert "access_token" not in r.text and "id_token" not in r.text
    # The refused attempt left the code for its client, once.
    first = redeem(broker, op["client"], code)
    assert first.status_code == 200, first.text
    token_error(redeem(broker, op["client"], code), 400, "invalid_grant")


def test_client_credentials_with_an_empty_secret_is_invalid_client(broker):
    for kw in ({"data": {"grant_type": "client_credentials", "client_id": broker.admin_id,
                         "client_secret": ""}},
               {"data": {"grant_type": "client_credentials"}, "auth": (broker.admin_id, "")}):
        r = broker.post("/oauth/token", **kw)
        token_error(r, 401, "invalid_client")
        assert r.headers.get("WWW-Authenticate", "").startswith("Basic"), r.headers
    r = broker.post("/oauth/token", data={"grant_type": "client_credentials"},
                    params={"client_id": broker.admin_id, "client_secret": broker.admin_secret})
    token_error(r, 400, "invalid_request")


def test_another_clients_code(broker, op):
    code, _ = login_code(broker, op)
    token_error(redeem(broker, op["other"], code), 400, "invalid_grant")


def test_unsupported_grant_type(broker, op):
    r = broker.post("/oauth/token", data={"grant_type": "password", "username": "a",
                                          "password": "b"},
                    auth=(op["client"]["client_id"], op["client"]["client_secret"]))
    token_error(r, 400, "unsupported_grant_type")


def test_client_credentials_by_post_and_basic(broker):
    for kw in ({"data": {"grant_type": "client_credentials", "client_id": broker.admin_id,
                         "client_secret": broker.admin_secret}},
               {"data": {"grant_type": "client_credentials"},
                "auth": (broker.admin_id, broker.admin_secret)}):
        r = broker.post("/oauth/token", **kw)
        assert r.status_code == 200, r.text
        assert r.headers.get("Cache-Control") == "no-store"
        assert r.json()["access_token"]


# ---- userinfo ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def user_tokens(broker, op):
    code, _ = login_code(broker, op)
    r = redeem(broker, op["client"], code)
    assert r.status_code == 200, r.text
    return r.json()


def assert_userinfo(r, op):
    assert r.status_code == 200, (r.status_code, r.text)
    body = r.json()
    assert body["sub"] == f"{op['conn']['id']};ada@example.com"
    assert body["email"] == "ada@example.com"
    assert body["oid"] == op["org"]["id"] and body["connection_id"] == op["conn"]["id"]
    assert body["groups"] == ["admins", "devs"]


def test_userinfo_has_the_id_tokens_identity_claims(broker, op, user_tokens):
    claims = verified_claims(broker, op["client"], user_tokens["id_token"])
    body = broker.get("/userinfo", headers={
        "Authorization": "Bearer " + user_tokens["access_token"]}).json()
    for name in ("sub", "email", "email_verified", "name", "given_name", "family_name",
                 "groups", "oid", "connection_id", "connection_type"):
        assert body.get(name) == claims.get(name), (name, body, claims)


def test_userinfo_get_with_header(broker, op, user_tokens):
    assert_userinfo(broker.get("/userinfo", headers={
        "Authorization": "Bearer " + user_tokens["access_token"]}), op)


def test_userinfo_post_with_header(broker, op, user_tokens):
    assert_userinfo(broker.post("/userinfo", headers={
        "Authorization": "Bearer " + user_tokens["access_token"]}), op)


def test_userinfo_post_with_form_body(broker, op, user_tokens):
    assert_userinfo(broker.post("/userinfo",
                                data={"access_token": user_tokens["access_token"]}), op)


def test_userinfo_bad_token(broker):
    for r in (broker.get("/userinfo", headers={"Authorization": "Bearer not-a-token"}),
              broker.post("/userinfo", data={"access_token": "not-a-token"}),
              broker.get("/userinfo")):
        assert r.status_code == 401, (r.status_code, r.text)
        assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.headers


# ---- state -----------------------------------------------------------------------------------

def test_a_long_state_comes_back_intact(broker, op):
    state = "".join(secrets.choice("aZ09 -._~!*'();:@&=+$,/?#[]%\"<>é") for _ in range(6000))
    code, query = login_code(broker, op, state=state)
    assert query["state"] == state
    assert redeem(broker, op["client"], code).status_code == 200


# ---- key rotation (last: it changes the broker's keys) ----------------------------------------

def test_key_rotation(broker, op):
    code, _ = login_code(broker, op)
    before = redeem(broker, op["client"], code).json()["id_token"]
    old_kid = jwt.get_unverified_header(before)["kid"]
    kids_before = {k["kid"] for k in broker.get("/keys").json()["keys"]}
    assert old_kid in kids_before

    r = broker.post("/api/v1/keys/rotate",
                    headers={"Authorization": "Bearer " + broker.token()})
    assert r.status_code in (200, 201), (r.status_code, r.text)
    new_kid = r.json().get("kid")
    kids_after = {k["kid"] for k in broker.get("/keys").json()["keys"]}
    assert new_kid and new_kid not in kids_before and new_kid in kids_after, (r.json(),
                                                                                kids_after)
    assert old_kid in kids_after
    verified_claims(broker, op["client"], before)

    code, _ = login_code(broker, op)
    after = redeem(broker, op["client"], code).json()["id_token"]
    assert jwt.get_unverified_header(after)["kid"] == old_kid
    verified_claims(broker, op["client"], after)


def test_key_rotation_needs_the_admin_token(broker, op, user_tokens):
    for headers in ({}, {"Authorization": "Bearer " + user_tokens["access_token"]},
                    {"Authorization": "Bearer nope"}):
        r = broker.post("/api/v1/keys/rotate", headers=headers)
        assert r.status_code in (401, 403), (r.status_code, r.text)
