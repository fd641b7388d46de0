"""HTTP bad input: every refused request gets a clear 4xx with a JSON error body
`{"error": ..., "error_description": ...}` and writes nothing; the operations endpoints
(/healthz, /readyz, /metrics) and the token endpoint's transport rules (DESIGN.md §3, §4, §6, §8).

"Writes nothing" is checked two ways after each refused call: the management API listings
(organizations and each organization's domains) are compared with the ones taken before, and so
are the row counts of every table of the SQLite database in the data dir (the contract has no
listing for clients or connections, so the database is the only witness for those).
"""
import base64
import json
import os
import re
import socket
import sqlite3
import time
import uuid

import pytest
import requests

from apihelpers import assert_json_error, db_counts, list_all, state, suffix
from conftest import SERVICES

# ---- helpers ----------------------------------------------------------------------------------


def create_org(broker, name=None):
    r = broker.api("POST", "/organizations", {"display_name": name or "Input Org " + suffix()})
    assert r.status_code in (200, 201), r.text
    return r.json()


def scrape(broker):
    """Prometheus text → {(name, frozenset(labels)): value}."""
    r = broker.get("/metrics")
    assert r.status_code == 200, r.text
    samples = {}
    for line in r.text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$', line)
        assert m, f"not a Prometheus sample line: {line!r}"
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples


def requests_by_status(samples, status):
    """{route label: count} of sso_http_requests_total for one status."""
    out = {}
    for (name, labels), value in samples.items():
        labels = dict(labels)
        if name == "sso_http_requests_total" and labels.get("status") == str(status):
            out[labels.get("route")] = out.get(labels.get("route"), 0) + value
    return out


def raw_http(broker, request_bytes):
    """Send raw bytes to the gateway; return the status code of the first response line."""
    host, port = broker.url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        try:
            s.sendall(request_bytes)
        except OSError:
            pass  # the server may stop reading once it has decided; its answer is still there
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", data)
    assert m, f"no HTTP status line in {data[:200]!r}"
    return int(m.group(1))


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def expired_looking_jwt(broker):
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "nope"}).encode())
    payload = b64url(json.dumps({"iss": broker.url, "sub": broker.admin_id, "aud": broker.url,
                                 "scope": "management", "iat": 1000000000,
                                 "exp": 1000003600}).encode())
    return f"{header}.{payload}.{b64url(os.urandom(256))}"


def tampered(token):
    i = len(token) // 2
    replacement = "A" if token[i] != "A" else "B"
    return token[:i] + replacement + token[i + 1:]


TWO_MIB = 2 * 1024 * 1024

# ---- operations endpoints ---------------------------------------------------------------------


def test_healthz_answers_200(broker):
    r = broker.get("/healthz")
    assert r.status_code == 200


def test_readyz_answers_200_with_every_service_live(broker):
    r = broker.get("/readyz")
    assert r.status_code == 200, r.text
    instances = r.json()["instances"]
    for service in SERVICES:
        assert instances.get(service, 0) >= 1, (service, instances)


def test_metrics_is_prometheus_text(broker):
    r = broker.get("/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain"), r.headers
    types = re.findall(r"^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$", r.text, re.M)
    names = {name for name, _ in types}
    assert "sso_http_requests_total" in names, r.text[:1000]
    assert "sso_bus_instances" in names, r.text[:1000]
    scrape(broker)  # every sample line parses


def test_metrics_count_the_requests_just_made_by_route_and_status(broker):
    before = scrape(broker)
    for _ in range(3):
        assert broker.get("/nope-" + suffix()).status_code == 404
    for _ in range(2):
        assert requests.get(broker.url + "/api/v1/organizations", timeout=10).status_code == 401

    def grown(samples, status):
        old = requests_by_status(before, status)
        return {route: value - old.get(route, 0)
                for route, value in requests_by_status(samples, status).items()
                if value != old.get(route, 0)}

    # The counters are updated once a response is complete, which can be a moment after the
    # client has it: wait (bounded) until they have caught up, then compare exactly.
    deadline = time.time() + 10
    while True:
        after = scrape(broker)
        g404, g401 = grown(after, 404), grown(after, 401)
        if (sum(g404.values()) >= 3 and sum(g401.values()) >= 2) or time.time() > deadline:
            break
        time.sleep(0.1)
    assert len(g404) == 1 and list(g404.values()) == [3], g404
    assert len(g401) == 1 and list(g401.values()) == [2], g401
    route404, route401 = next(iter(g404)), next(iter(g401))
    assert route404 and route401 and route404 != route401, (route404, route401)


def test_metrics_report_one_token_instance_on_the_bus(broker):
    samples = scrape(broker)
    assert samples.get(("sso_bus_instances", frozenset({("service", "token")}))) == 1, \
        {k: v for k, v in samples.items() if k[0] == "sso_bus_instances"}


# ---- transport-level refusals -------------------------------------------------------------------


def test_unknown_route_is_404_json(broker):
    assert_json_error(broker.get("/nope"), 404)


def test_unknown_api_route_is_404_json(broker):
    assert_json_error(broker.api("GET", "/nope-" + suffix()), 404)


@pytest.mark.parametrize("method,path", [
    ("DELETE", "/api/v1/organizations"),
    ("PUT", "/api/v1/organizations"),
    ("PUT", "/oauth/token"),
    ("GET", "/oauth/token"),
    ("POST", "/healthz"),
])
def test_wrong_method_is_405_json_and_writes_nothing(broker, method, path):
    before = state(broker)
    r = requests.request(method, broker.url + path, timeout=10,
                         headers={"Authorization": "Bearer " + broker.token()})
    assert_json_error(r, 405)
    assert state(broker) == before


@pytest.mark.parametrize("method,path", [
    ("DELETE", "/api/v1/organizations"),
    ("PUT", "/oauth/token"),
])
def test_wrong_method_names_the_allowed_methods(broker, method, path):
    """RFC 9110 §15.5.6: a 405 response MUST carry an Allow header."""
    r = requests.request(method, broker.url + path, timeout=10,
                         headers={"Authorization": "Bearer " + broker.token()})
    assert r.status_code == 405
    assert "Allow" in r.headers, r.headers
    assert method not in [m.strip() for m in r.headers["Allow"].split(",")], r.headers["Allow"]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_oversized_body_is_413_json_and_writes_nothing(broker, chunked):
    before = state(broker)
    body = json.dumps({"display_name": "x" * TWO_MIB}).encode()
    data = body if not chunked else (body[i:i + 65536] for i in range(0, len(body), 65536))
    r = requests.post(broker.url + "/api/v1/organizations", data=data, timeout=30,
                      headers={"Authorization": "Bearer " + broker.token(),
                               "Content-Type": "application/json"})
    assert_json_error(r, 413)
    assert state(broker) == before


def test_oversized_token_request_is_413_json(broker):
    r = broker.post("/oauth/token", data={"grant_type": "client_credentials", "pad": "x" * TWO_MIB},
                    auth=(broker.admin_id, broker.admin_secret), timeout=30)
    assert_json_error(r, 413)


def test_header_section_over_64_kib_is_refused_and_the_gateway_keeps_serving(broker):
    big_value = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (70 * 1024) + b"\r\n\r\n"
    status = raw_http(broker, big_value)
    assert 400 <= status < 500, status
    many = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-H%d: %s\r\n" % (i, b"b" * 100) for i in range(700)) + b"\r\n"
    status = raw_http(broker, many)
    assert 400 <= status < 500, status
    assert broker.get("/healthz").status_code == 200
    assert broker.api("GET", "/organizations").status_code == 200


# ---- bad JSON bodies ----------------------------------------------------------------------------

MALFORMED = {
    "truncated": b'{"display_name": "x"',
    "not-json": b"display_name=x",
    "trailing-garbage": b'{"display_name": "x"} {}',
    "single-quotes": b"{'display_name': 'x'}",
    "empty": b"",
    "not-utf8": b'{"display_name": "\xff\xfe"}',
    "array": b'[{"display_name": "x"}]',
    "string": b'"x"',
    "null": b"null",
}


@pytest.mark.parametrize("raw", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_json_creating_an_organization_is_400_and_writes_nothing(broker, raw):
    before = state(broker)
    r = broker.api("POST", "/organizations", raw=raw, headers={"Content-Type": "application/json"})
    assert_json_error(r, 400)
    assert state(broker) == before


def test_json_array_instead_of_object_is_400_everywhere(broker):
    org = create_org(broker)
    before = state(broker)
    for method, path in [("POST", "/organizations"), ("POST", f"/organizations/{org['id']}/domains"),
                         ("POST", f"/organizations/{org['id']}/connections"), ("POST", "/clients"),
                         ("PATCH", f"/organizations/{org['id']}")]:
        r = broker.api(method, path, raw=b"[]", headers={"Content-Type": "application/json"})
        assert_json_error(r, 400)
    assert state(broker) == before


WRONG_ORG_TYPES = [
    {},
    {"display_name": 123},
    {"display_name": None},
    {"display_name": True},
    {"display_name": ["Acme"]},
    {"display_name": {"name": "Acme"}},
    {"display_name": "Acme", "external_id": 5},
    {"display_name": "Acme", "external_id": ["x"]},
]


@pytest.mark.parametrize("body", WRONG_ORG_TYPES, ids=[json.dumps(b) for b in WRONG_ORG_TYPES])
def test_wrong_field_types_creating_an_organization_are_400_and_write_nothing(broker, body):
    before = state(broker)
    assert_json_error(broker.api("POST", "/organizations", body), 400)
    assert state(broker) == before


def test_wrong_field_types_patching_an_organization_are_400_and_change_nothing(broker):
    org = create_org(broker)
    before = state(broker)
    for body in [{"display_name": 7}, {"display_name": None}, {"display_name": ["x"]}]:
        assert_json_error(broker.api("PATCH", f"/organizations/{org['id']}", body), 400)
    assert state(broker) == before


def test_wrong_field_types_for_domains_clients_connections_are_400_and_write_nothing(broker):
    org = create_org(broker)
    before = state(broker)
    cases = [
        (f"/organizations/{org['id']}/domains", {"domain": 42}),
        (f"/organizations/{org['id']}/domains", {"domain": ["acme.example.com"]}),
        (f"/organizations/{org['id']}/domains", {}),
        ("/clients", {"name": "c", "redirect_uris": "https://app.example.com/cb"}),
        ("/clients", {"name": "c", "redirect_uris": [1]}),
        ("/clients", {"name": 5, "redirect_uris": ["https://app.example.com/cb"]}),
        (f"/organizations/{org['id']}/connections", {"type": "saml", "saml": "x"}),
        (f"/organizations/{org['id']}/connections", {"type": 1}),
        (f"/organizations/{org['id']}/connections",
         {"type": "saml", "saml": {"idp_entity_id": 1, "idp_sso_url": "https://idp.example.com/sso",
                                   "idp_certificates": "not-an-array"}}),
        (f"/organizations/{org['id']}/connections",
         {"type": "oidc", "oidc": {"issuer": "https://idp.example.com", "client_id": 9,
                                   "client_secret": "s", "scopes": "openid"}}),
    ]
    for path, body in cases:
        r = broker.api("POST", path, body)
        assert_json_error(r, 400)
    assert state(broker) == before


def test_duplicate_json_keys_are_400_and_write_nothing(broker):
    before = state(broker)
    raw = b'{"display_name": "First ' + suffix().encode() + b'", "display_name": "Second"}'
    r = broker.api("POST", "/organizations", raw=raw, headers={"Content-Type": "application/json"})
    assert_json_error(r, 400)
    assert state(broker) == before


def test_repeated_query_parameters_on_the_api_are_400(broker):
    assert_json_error(broker.api("GET", "/organizations?page_size=1&page_size=2"), 400)


# ---- management API authentication --------------------------------------------------------------


def test_missing_bearer_token_is_401_with_www_authenticate_and_writes_nothing(broker):
    before = state(broker)
    r = requests.post(broker.url + "/api/v1/organizations", json={"display_name": "No Token"},
                      timeout=10)
    assert_json_error(r, 401)
    assert r.headers.get("WWW-Authenticate", "").lower().startswith("bearer"), r.headers
    r = requests.get(broker.url + "/api/v1/organizations", timeout=10)
    assert_json_error(r, 401)
    assert r.headers.get("WWW-Authenticate", "").lower().startswith("bearer"), r.headers
    assert state(broker) == before


@pytest.mark.parametrize("kind", ["garbage", "empty-looking", "expired-jwt", "tampered"])
def test_bad_bearer_token_is_401_invalid_token_and_writes_nothing(broker, kind):
    token = {
        "garbage": "not-a-token-" + suffix(),
        "empty-looking": "x",
        "expired-jwt": expired_looking_jwt(broker),
        "tampered": tampered(broker.token()),
    }[kind]
    before = state(broker)
    for method, body in [("GET", None), ("POST", {"display_name": "Bad Token " + suffix()})]:
        r = broker.api(method, "/organizations", body, token=token)
        assert_json_error(r, 401, "invalid_token")
        assert r.headers.get("WWW-Authenticate", "").lower().startswith("bearer"), r.headers
    assert state(broker) == before


def test_basic_admin_credentials_are_not_a_management_token(broker):
    r = requests.get(broker.url + "/api/v1/organizations", auth=(broker.admin_id, broker.admin_secret),
                     timeout=10)
    assert_json_error(r, 401)


def test_bearer_token_in_query_parameter_is_not_accepted(broker):
    before = state(broker)
    token = broker.token()
    r = requests.get(broker.url + "/api/v1/organizations", params={"access_token": token}, timeout=10)
    assert_json_error(r, 401)
    r = requests.post(broker.url + "/api/v1/organizations", params={"access_token": token},
                      json={"display_name": "Query Token " + suffix()}, timeout=10)
    assert_json_error(r, 401)
    assert state(broker) == before


# ---- the token endpoint -------------------------------------------------------------------------


def test_token_response_is_json_and_not_cached(broker):
    r = broker.post("/oauth/token", data={"grant_type": "client_credentials"},
                    auth=(broker.admin_id, broker.admin_secret))
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].split(";")[0].strip() == "application/json"
    assert "no-store" in [v.strip().lower() for v in r.headers.get("Cache-Control", "").split(",")]
    body = r.json()
    assert isinstance(body["access_token"], str) and body["access_token"]
    assert body["token_type"].lower() == "bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0


def test_management_token_from_client_secret_post_works(broker):
    r = broker.post("/oauth/token", data={"grant_type": "client_credentials",
                                          "client_id": broker.admin_id,
                                          "client_secret": broker.admin_secret})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert broker.api("GET", "/organizations", token=token).status_code == 200
    name = "Post Auth " + suffix()
    r = broker.api("POST", "/organizations", {"display_name": name}, token=token)
    assert r.status_code in (200, 201), r.text
    assert broker.api("GET", f"/organizations/{r.json()['id']}").json()["display_name"] == name


def test_wrong_client_secret_with_basic_is_401_invalid_client_with_www_authenticate(broker):
    before = state(broker)
    r = broker.post("/oauth/token", data={"grant_type": "client_credentials"},
                    auth=(broker.admin_id, broker.admin_secret + "x"))
    assert_json_error(r, 401, "invalid_client")
    assert r.headers.get("WWW-Authenticate", "").lower().startswith("basic"), r.headers
    assert broker.admin_secret not in r.text
    assert state(broker) == before


def test_wrong_client_secret_with_post_is_401_invalid_client(broker):
    before = state(broker)
    r = broker.post("/oauth/token", data={"grant_type": "client_credentials",
                                          "client_id": broker.admin_id,
                                          "client_secret": "wrong-" + suffix()})
    assert_json_error(r, 401, "invalid_client")
    assert state(broker) == before


def test_unknown_client_is_401_invalid_client(broker):
    r = broker.post("/oauth/token", data={"grant_type": "client_credentials"},
                    auth=("no-such-client-" + suffix(), "whatever"))
    assert_json_error(r, 401, "invalid_client")
    assert r.headers.get("WWW-Authenticate", "").lower().startswith("basic"), r.headers


def test_no_client_authentication_is_401_invalid_client(broker):
    r = broker.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert_json_error(r, 401, "invalid_client")


@pytest.mark.parametrize("grant_type", ["password", "implicit", "urn:ietf:params:oauth:grant-type:device_code"])
def test_unsupported_grant_type_is_400_unsupported_grant_type(broker, grant_type):
    r = broker.post("/oauth/token", data={"grant_type": grant_type, "username": "u", "password": "p"},
                    auth=(broker.admin_id, broker.admin_secret))
    assert_json_error(r, 400, "unsupported_grant_type")


def test_missing_grant_type_is_400_invalid_request(broker):
    r = broker.post("/oauth/token", data={"scope": "openid"}, auth=(broker.admin_id, broker.admin_secret))
    assert_json_error(r, 400, "invalid_request")


@pytest.mark.parametrize("body", [
    "grant_type=client_credentials&grant_type=client_credentials",
    "grant_type=client_credentials&grant_type=authorization_code",
])
def test_repeated_token_parameters_are_400_invalid_request(broker, body):
    """RFC 6749 §3.2: parameters MUST NOT be included more than once."""
    r = broker.post("/oauth/token", data=body, auth=(broker.admin_id, broker.admin_secret),
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_json_error(r, 400, "invalid_request")


def test_repeated_client_id_in_the_body_is_400_invalid_request(broker):
    body = (f"grant_type=client_credentials&client_id={broker.admin_id}&client_id={broker.admin_id}"
            f"&client_secret={broker.admin_secret}")
    r = broker.post("/oauth/token", data=body,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_json_error(r, 400, "invalid_request")


def test_token_endpoint_errors_are_not_cached(broker):
    r = broker.post("/oauth/token", data={"grant_type": "password"},
                    auth=(broker.admin_id, broker.admin_secret))
    assert r.status_code == 400
    assert "no-store" in r.headers.get("Cache-Control", "").lower(), r.headers
