"""The management API (DESIGN.md §3, §8): clients, organizations, domains, connections, portal
links, events; every refused call leaves the database as it was; data survives a restart of the
directory service and of the whole broker.

"Unchanged" is checked on the API listings (organizations and their domains) and on the row count
of every table of the SQLite database in the data dir: the contract has no listing for clients or
connections, so the database is the witness for those.
"""
import datetime
import http.server
import json
import os
import time
import re
import signal
import sqlite3
import stat
import subprocess
import threading
import uuid

import pytest
import requests

from apihelpers import assert_json_error, db_counts, list_all, list_pages, state, suffix
from conftest import Broker

# ---- helpers ----------------------------------------------------------------------------------

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)$")


def created(r):
    assert r.status_code in (200, 201), (r.status_code, r.text[:500])
    return r.json()


def assert_rfc3339_utc(value):
    assert isinstance(value, str) and RFC3339_UTC.match(value), value
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() == datetime.timedelta(0)
    return parsed


def list_page(broker, path, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    r = broker.api("GET", path + ("?" + query if query else ""))
    return r


def org_ids(broker):
    return [o["id"] for o in list_all(broker, "/organizations")]


def domains_of(broker, org_id):
    return sorted(d["domain"] for d in list_all(broker, f"/organizations/{org_id}/domains"))


def files_containing(data_dir, needle):
    """Files under the data dir whose bytes contain needle (secrets must be hashed/encrypted)."""
    hits = []
    for root, _, files in os.walk(data_dir):
        for name in files:
            path = os.path.join(root, name)
            try:
                with open(path, "rb") as f:
                    if needle.encode() in f.read():
                        hits.append(path)
            except OSError:
                pass
    return hits


def create_org(broker, name=None, **extra):
    body = {"display_name": name or "API Org " + suffix()}
    body.update(extra)
    return created(broker.api("POST", "/organizations", body))


def add_domain(broker, org_id, domain):
    return broker.api("POST", f"/organizations/{org_id}/domains", {"domain": domain})


def saml_body(cert, entity_id=None, sso_url=None):
    return {"type": "saml", "saml": {
        "idp_entity_id": entity_id or f"https://idp-{suffix()}.example.com/saml",
        "idp_sso_url": sso_url or f"https://idp-{suffix()}.example.com/sso",
        "idp_certificates": [cert]}}


def oidc_body(secret, issuer):
    return {"type": "oidc", "oidc": {"issuer": issuer,
                                     "client_id": "cid-" + suffix(), "client_secret": secret,
                                     "scopes": ["openid", "email", "profile"]}}


def cert_base64(pem):
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))


def idp_metadata(entity_id, sso_url, pem, prolog=""):
    return f"""<?xml version="1.0" encoding="UTF-8"?>
{prolog}<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity_id}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false"
      protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert_base64(pem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="{sso_url}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"""


@pytest.fixture(scope="module")
def idp_cert(tmp_path_factory):
    """(certificate PEM, private key PEM) of a throwaway IdP signing key."""
    d = tmp_path_factory.mktemp("idp")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(d / "key.pem"), "-out", str(d / "cert.pem"), "-days", "365", "-subj",
                    "/CN=Integration Test IdP"], check=True, capture_output=True)
    return (d / "cert.pem").read_text(), (d / "key.pem").read_text()


@pytest.fixture
def cert(idp_cert):
    return idp_cert[0]


@pytest.fixture(scope="module")
def upstream():
    """A loopback HTTP server standing in for an IdP: `serve(path, body, status)` publishes a
    document and returns its URL; with `hold`, the answer comes that many seconds after the
    request, and the event `asked` is set when the request arrives."""
    documents = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status, body, hold, asked = documents.get(self.path, (404, "not found", 0, None))
            if asked:
                asked.set()
            time.sleep(hold)
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def serve(path, body, status=200, hold=0, asked=None):
        documents[path] = (status, body, hold, asked)
        return f"http://127.0.0.1:{server.server_address[1]}{path}"

    yield serve
    server.shutdown()
    server.server_close()


# ---- clients ------------------------------------------------------------------------------------


def test_creating_a_client_returns_its_secret_once(broker):
    uris = [f"https://app-{suffix()}.example.com/callback", "http://localhost:3000/cb"]
    name = "App " + suffix()
    c = created(broker.api("POST", "/clients", {"name": name, "redirect_uris": uris}))
    assert c["id"].startswith("cli_"), c
    assert isinstance(c["client_id"], str) and c["client_id"]
    assert isinstance(c["client_secret"], str) and len(c["client_secret"]) >= 16, c
    assert c["name"] == name and c["redirect_uris"] == uris
    r = broker.api("GET", f"/clients/{c['id']}")
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["id"] == c["id"] and got["client_id"] == c["client_id"]
    assert got["name"] == name and got["redirect_uris"] == uris
    assert c["client_secret"] not in r.text
    assert got.get("client_secret") in (None, ""), got


def test_client_secret_is_not_stored_in_clear(broker):
    c = created(broker.api("POST", "/clients", {"name": "Hashed " + suffix(),
                                                "redirect_uris": ["https://app.example.com/cb"]}))
    assert files_containing(broker.data_dir, c["client_secret"]) == []


BAD_REDIRECT_URIS = [
    "not a url",
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "https://app.example.com/callback#fragment",
    "/relative/callback",
    "",
]


@pytest.mark.parametrize("uri", BAD_REDIRECT_URIS)
def test_client_with_a_bad_redirect_uri_is_400_and_writes_nothing(broker, uri):
    before = state(broker)
    r = broker.api("POST", "/clients", {"name": "Bad " + suffix(),
                                        "redirect_uris": ["https://ok.example.com/cb", uri]})
    assert_json_error(r, 400)
    assert state(broker) == before


def test_patching_a_client_updates_name_and_redirect_uris(broker):
    c = created(broker.api("POST", "/clients", {"name": "Before " + suffix(),
                                                "redirect_uris": ["https://a.example.com/cb"]}))
    r = broker.api("PATCH", f"/clients/{c['id']}",
                   {"name": "After", "redirect_uris": ["https://b.example.com/cb"]})
    assert r.status_code == 200, r.text
    got = broker.api("GET", f"/clients/{c['id']}").json()
    assert got["name"] == "After" and got["redirect_uris"] == ["https://b.example.com/cb"]
    assert c["client_secret"] not in r.text


def test_patching_a_client_with_a_bad_redirect_uri_changes_nothing(broker):
    c = created(broker.api("POST", "/clients", {"name": "Keep " + suffix(),
                                                "redirect_uris": ["https://a.example.com/cb"]}))
    before = broker.api("GET", f"/clients/{c['id']}").json()
    r = broker.api("PATCH", f"/clients/{c['id']}", {"redirect_uris": ["javascript:alert(1)"]})
    assert_json_error(r, 400)
    assert broker.api("GET", f"/clients/{c['id']}").json() == before


def test_deleting_a_client_makes_it_404(broker):
    c = created(broker.api("POST", "/clients", {"name": "Gone " + suffix(),
                                                "redirect_uris": ["https://a.example.com/cb"]}))
    r = broker.api("DELETE", f"/clients/{c['id']}")
    assert r.status_code in (200, 204), r.text
    assert_json_error(broker.api("GET", f"/clients/{c['id']}"), 404)
    assert_json_error(broker.api("DELETE", f"/clients/{c['id']}"), 404)


def test_unknown_client_is_404(broker):
    assert_json_error(broker.api("GET", "/clients/cli_doesnotexist" + suffix()), 404)


# ---- organizations ------------------------------------------------------------------------------


def test_creating_an_organization_returns_an_org_id_and_rfc3339_created_at(broker):
    name, external = "Acme " + suffix(), "ext-" + suffix()
    org = create_org(broker, name, external_id=external)
    assert re.match(r"^org_[A-Za-z0-9_-]+$", org["id"]), org
    assert org["display_name"] == name and org["external_id"] == external
    assert_rfc3339_utc(org["created_at"])
    r = broker.api("GET", f"/organizations/{org['id']}")
    assert r.status_code == 200, r.text
    assert r.json() == org


def test_organization_without_external_id_has_none(broker):
    org = create_org(broker)
    assert org.get("external_id") in (None, ""), org


def test_organization_ids_are_unique(broker):
    ids = {create_org(broker)["id"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize("body", [{}, {"display_name": ""}, {"external_id": "only-external"}],
                         ids=["empty", "empty-name", "no-name"])
def test_organization_without_a_display_name_is_400_and_writes_nothing(broker, body):
    before = state(broker)
    assert_json_error(broker.api("POST", "/organizations", body), 400)
    assert state(broker) == before


def test_patching_display_name_updates_it(broker):
    org = create_org(broker)
    new = "Renamed " + suffix()
    r = broker.api("PATCH", f"/organizations/{org['id']}", {"display_name": new})
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == new
    got = broker.api("GET", f"/organizations/{org['id']}").json()
    assert got["display_name"] == new
    assert got["id"] == org["id"] and got["created_at"] == org["created_at"]


def test_patching_display_name_to_empty_is_400_and_changes_nothing(broker):
    org = create_org(broker)
    before = state(broker)
    assert_json_error(broker.api("PATCH", f"/organizations/{org['id']}", {"display_name": ""}), 400)
    assert state(broker) == before


def test_unknown_organization_is_404(broker):
    missing = "org_doesnotexist" + suffix()
    before = state(broker)
    assert_json_error(broker.api("GET", f"/organizations/{missing}"), 404)
    assert_json_error(broker.api("PATCH", f"/organizations/{missing}", {"display_name": "x"}), 404)
    assert_json_error(broker.api("DELETE", f"/organizations/{missing}"), 404)
    assert state(broker) == before


def test_page_size_one_walks_every_organization_exactly_once(broker):
    mine = {create_org(broker)["id"] for _ in range(3)}
    everything = list_all(broker, "/organizations")
    walked, pages = list_pages(broker, "/organizations", page_size=1)
    ids = [o["id"] for o in walked]
    assert len(ids) == len(set(ids)), "an organization was listed twice"
    assert set(ids) == {o["id"] for o in everything}
    assert mine <= set(ids)
    assert all(len(page) <= 1 for page in pages), [len(p) for p in pages]
    assert all(len(page) == 1 for page in pages[:-1]), "an empty page before the last one"
    assert len(pages) >= len(mine)


def test_list_response_is_data_plus_next_page_token_while_more_remain(broker):
    create_org(broker)
    r = broker.api("GET", "/organizations")
    assert r.status_code == 200
    body = r.json()
    assert isinstance(body["data"], list) and body["data"]
    _, pages = list_pages(broker, "/organizations", page_size=1)
    assert len(pages) >= 2


@pytest.mark.parametrize("page_size", ["0", "1000", "-1", "100000000000000000000"])
def test_out_of_range_page_size_is_400_or_clamped(broker, page_size):
    create_org(broker)
    create_org(broker)
    r = list_page(broker, "/organizations", page_size=page_size)
    if r.status_code == 400:
        assert_json_error(r, 400)
        return
    assert r.status_code == 200, (r.status_code, r.text)
    body = r.json()
    # Clamped: a usable page (never empty while organizations exist, never unbounded).
    assert 1 <= len(body["data"]) <= 1000, len(body["data"])


@pytest.mark.parametrize("page_size", ["abc", "1.5", "1e2", ""])
def test_non_numeric_page_size_is_400(broker, page_size):
    assert_json_error(list_page(broker, "/organizations", page_size=page_size), 400)


def test_garbage_page_token_is_400(broker):
    assert_json_error(list_page(broker, "/organizations", page_token="garbage-" + suffix()), 400)


def test_deleting_an_organization_makes_it_404(broker):
    org = create_org(broker)
    r = broker.api("DELETE", f"/organizations/{org['id']}")
    assert r.status_code in (200, 204), r.text
    assert_json_error(broker.api("GET", f"/organizations/{org['id']}"), 404)
    assert_json_error(broker.api("DELETE", f"/organizations/{org['id']}"), 404)
    assert org["id"] not in org_ids(broker)


def test_deleting_an_organization_frees_its_domains(broker):
    domain = f"freed-{suffix()}.example.com"
    first, second = create_org(broker), create_org(broker)
    created(add_domain(broker, first["id"], domain))
    assert broker.api("DELETE", f"/organizations/{first['id']}").status_code in (200, 204)
    created(add_domain(broker, second["id"], domain))
    assert domains_of(broker, second["id"]) == [domain]


# ---- domains ------------------------------------------------------------------------------------


def test_domain_is_stored_lower_case(broker):
    org = create_org(broker)
    label = suffix()
    d = created(add_domain(broker, org["id"], f"MiXeD-{label}.Example.COM"))
    assert d["domain"] == f"mixed-{label}.example.com", d
    assert d["id"].startswith("dom_"), d
    assert d["organization_id"] == org["id"]
    assert domains_of(broker, org["id"]) == [f"mixed-{label}.example.com"]


def test_domain_of_another_organization_is_409_and_not_added(broker):
    domain = f"taken-{suffix()}.example.com"
    first, second = create_org(broker), create_org(broker)
    created(add_domain(broker, first["id"], domain))
    before = state(broker)
    assert_json_error(add_domain(broker, second["id"], domain), 409)
    assert_json_error(add_domain(broker, second["id"], domain.upper()), 409)
    assert domains_of(broker, second["id"]) == []
    assert domains_of(broker, first["id"]) == [domain]
    assert state(broker) == before


def test_same_domain_twice_in_one_organization_is_refused(broker):
    domain = f"twice-{suffix()}.example.com"
    org = create_org(broker)
    created(add_domain(broker, org["id"], domain))
    before = state(broker)
    assert_json_error(add_domain(broker, org["id"], domain))
    assert domains_of(broker, org["id"]) == [domain]
    assert state(broker) == before


def test_seeded_example_com_is_taken(broker):
    org = create_org(broker)
    before = state(broker)
    assert_json_error(add_domain(broker, org["id"], "example.com"), 409)
    assert state(broker) == before


@pytest.mark.parametrize("domain", ["gmail.com", "GMail.com", "outlook.com", "hotmail.com",
                                    "yahoo.com"])
def test_public_email_domain_is_refused_and_writes_nothing(broker, domain):
    org = create_org(broker)
    before = state(broker)
    r = add_domain(broker, org["id"], domain)
    assert_json_error(r)
    assert r.status_code not in (401, 403, 404), r.status_code
    assert domains_of(broker, org["id"]) == []
    assert state(broker) == before


def test_subdomain_is_not_the_parent_domain(broker):
    """No suffix matching: x.example.com (example.com belongs to the seeded organization) and
    a.x.example.com can each belong to a different organization."""
    parent = f"p{suffix()}.example.com"
    first, second = create_org(broker), create_org(broker)
    created(add_domain(broker, first["id"], parent))
    created(add_domain(broker, second["id"], "a." + parent))
    assert domains_of(broker, first["id"]) == [parent]
    assert domains_of(broker, second["id"]) == ["a." + parent]


INVALID_DOMAINS = ["exa mple.com", "-bad.com", "bad-.com", "com", "", " ", "a..example.com",
                   ".example.com", "user@corp-x.com", "https://corp-x.com", "corp-x.com/path",
                   "*.corp-x.com", "corp_x.com", ("a" * 64) + ".com", "corp-x.com\n"]


@pytest.mark.parametrize("domain", INVALID_DOMAINS, ids=[repr(d)[:30] for d in INVALID_DOMAINS])
def test_invalid_domain_syntax_is_400_and_writes_nothing(broker, domain):
    org = create_org(broker)
    before = state(broker)
    assert_json_error(add_domain(broker, org["id"], domain), 400)
    assert state(broker) == before


def test_domain_on_unknown_organization_is_404(broker):
    before = state(broker)
    r = add_domain(broker, "org_doesnotexist" + suffix(), f"nowhere-{suffix()}.example.com")
    assert_json_error(r, 404)
    assert state(broker) == before


def test_deleting_a_domain_frees_it_for_another_organization(broker):
    domain = f"moving-{suffix()}.example.com"
    first, second = create_org(broker), create_org(broker)
    d = created(add_domain(broker, first["id"], domain))
    r = broker.api("DELETE", f"/organizations/{first['id']}/domains/{d['id']}")
    assert r.status_code in (200, 204), r.text
    assert domains_of(broker, first["id"]) == []
    created(add_domain(broker, second["id"], domain))
    assert domains_of(broker, second["id"]) == [domain]


def test_deleting_a_domain_through_another_organization_is_404(broker):
    first, second = create_org(broker), create_org(broker)
    d = created(add_domain(broker, first["id"], f"mine-{suffix()}.example.com"))
    before = state(broker)
    assert_json_error(broker.api("DELETE", f"/organizations/{second['id']}/domains/{d['id']}"), 404)
    assert state(broker) == before


# ---- connections --------------------------------------------------------------------------------


def test_saml_connection_from_entity_id_sso_url_and_pem(broker, cert):
    org = create_org(broker)
    body = saml_body(cert)
    conn = created(broker.api("POST", f"/organizations/{org['id']}/connections", body))
    assert re.match(r"^conn_[A-Za-z0-9_-]+$", conn["id"]), conn
    assert conn["organization_id"] == org["id"]
    assert conn["type"] == "saml" and conn["status"] == "draft"
    entity = broker.url + "/sso/saml/" + conn["id"]
    assert conn["sp"]["entity_id"] == entity
    assert conn["sp"]["acs_url"] == entity + "/acs"
    assert conn["sp"]["metadata_url"] == entity + "/metadata"
    r = broker.api("GET", f"/connections/{conn['id']}")
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["id"] == conn["id"] and got["status"] == "draft" and got["sp"] == conn["sp"]
    assert got["saml"]["idp_entity_id"] == body["saml"]["idp_entity_id"]
    assert got["saml"]["idp_sso_url"] == body["saml"]["idp_sso_url"]


def test_sp_metadata_of_a_new_connection_is_served(broker, cert):
    org = create_org(broker)
    conn = created(broker.api("POST", f"/organizations/{org['id']}/connections", saml_body(cert)))
    r = requests.get(conn["sp"]["metadata_url"], timeout=10)
    assert r.status_code == 200, r.text[:300]
    assert f'entityID="{conn["sp"]["entity_id"]}"' in r.text
    assert conn["sp"]["acs_url"] in r.text


def bad_pems(cert, key):
    lines = cert.strip().splitlines()
    return {
        "not-pem": "hello",
        "empty": "",
        "bad-base64": "-----BEGIN CERTIFICATE-----\nnot base64 at all!!\n-----END CERTIFICATE-----\n",
        "truncated": "\n".join(lines[:len(lines) // 2] + [lines[-1]]) + "\n",
        "private-key": key,
        "no-end": "\n".join(lines[:-1]) + "\n",
    }


@pytest.mark.parametrize("kind", ["not-pem", "empty", "bad-base64", "truncated", "private-key", "no-end"])
def test_saml_connection_with_a_bad_pem_is_400_and_writes_nothing(broker, idp_cert, kind):
    org = create_org(broker)
    before = state(broker)
    body = saml_body(bad_pems(*idp_cert)[kind])
    assert_json_error(broker.api("POST", f"/organizations/{org['id']}/connections", body), 400)
    assert state(broker) == before


@pytest.mark.parametrize("url", ["not a url", "javascript:alert(1)", "ftp://idp.example.com/sso", "",
                                 "/relative/sso"])
def test_saml_connection_with_a_bad_sso_url_is_400_and_writes_nothing(broker, cert, url):
    org = create_org(broker)
    before = state(broker)
    body = saml_body(cert)
    body["saml"]["idp_sso_url"] = url
    assert_json_error(broker.api("POST", f"/organizations/{org['id']}/connections", body), 400)
    assert state(broker) == before


@pytest.mark.parametrize("body", [
    {"type": "ldap", "ldap": {"url": "ldap://corp"}},
    {"saml": {"idp_entity_id": "https://idp.example.com"}},
    {"type": "oidc", "oidc": {"issuer": "https://idp.example.com"}},
    {"type": "oidc", "oidc": {"issuer": "not a url", "client_id": "c", "client_secret": "s"}},
], ids=["unknown-type", "no-type", "oidc-unreachable-issuer", "oidc-bad-issuer"])
def test_incomplete_connection_is_400_and_writes_nothing(broker, body):
    org = create_org(broker)
    before = state(broker)
    assert_json_error(broker.api("POST", f"/organizations/{org['id']}/connections", body), 400)
    assert state(broker) == before


@pytest.mark.parametrize("body,missing", [
    ({"type": "saml", "saml": {}},
     "saml.idp_entity_id, saml.idp_sso_url and saml.idp_certificates are missing"),
    ({"type": "saml"}, "saml.idp_entity_id, saml.idp_sso_url and saml.idp_certificates are missing"),
    ({"type": "saml", "saml": {"idp_entity_id": "https://idp.example.com"}},
     "saml.idp_sso_url and saml.idp_certificates are missing"),
], ids=["saml-empty", "saml-missing", "saml-partial"])
def test_a_draft_without_the_idps_settings_cannot_be_enabled(broker, body, missing):
    org = create_org(broker)
    conn = created(broker.api("POST", f"/organizations/{org['id']}/connections", body))
    assert conn["status"] == "draft" and conn["sp"]["acs_url"].endswith("/acs")
    r = broker.api("POST", f"/connections/{conn['id']}/enable")
    assert_json_error(r, 400)
    assert missing in r.json()["error_description"], r.text
    assert broker.api("GET", f"/connections/{conn['id']}").json()["status"] == "draft"


def test_connection_for_unknown_organization_is_404_and_writes_nothing(broker, cert):
    before = state(broker)
    r = broker.api("POST", f"/organizations/org_doesnotexist{suffix()}/connections", saml_body(cert))
    assert_json_error(r, 404)
    assert state(broker) == before


def test_saml_connection_from_idp_metadata_xml_extracts_entity_id_and_sso_url(broker, cert):
    org = create_org(broker)
    entity, sso = f"https://idp-{suffix()}.example.com/meta", f"https://idp-{suffix()}.example.com/sso"
    body = {"type": "saml", "saml": {"idp_metadata_xml": idp_metadata(entity, sso, cert)}}
    conn = created(broker.api("POST", f"/organizations/{org['id']}/connections", body))
    assert conn["id"].startswith("conn_") and conn["status"] == "draft"
    got = broker.api("GET", f"/connections/{conn['id']}").json()
    assert got["saml"]["idp_entity_id"] == entity, got
    assert got["saml"]["idp_sso_url"] == sso, got


DOCTYPES = {
    "plain": '<!DOCTYPE md:EntityDescriptor>\n',
    "internal-entity": '<!DOCTYPE md:EntityDescriptor [<!ENTITY e "evil.example.com">]>\n',
    "external-entity": '<!DOCTYPE md:EntityDescriptor [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n',
    "billion-laughs": ('<!DOCTYPE md:EntityDescriptor [<!ENTITY a "aaaaaaaaaa">'
                       '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                       '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>\n'),
}


@pytest.mark.parametrize("kind", list(DOCTYPES))
def test_idp_metadata_with_a_doctype_is_400_and_writes_nothing(broker, cert, kind):
    org = create_org(broker)
    entity = "https://&e;/saml" if "entity" in kind else "https://idp.example.com/&c;" \
        if kind == "billion-laughs" else "https://idp.example.com/saml"
    xml = idp_metadata(entity, "https://idp.example.com/sso", cert, prolog=DOCTYPES[kind])
    before = state(broker)
    r = broker.api("POST", f"/organizations/{org['id']}/connections",
                   {"type": "saml", "saml": {"idp_metadata_xml": xml}})
    assert_json_error(r, 400)
    assert "root:" not in r.text
    assert state(broker) == before


@pytest.mark.parametrize("xml", [
    "not xml",
    "<md:EntityDescriptor xmlns:md='urn:oasis:names:tc:SAML:2.0:metadata' entityID='https://x'/>",
    "<unclosed>",
], ids=["not-xml", "no-idp-descriptor", "malformed"])
def test_unusable_idp_metadata_is_400_and_writes_nothing(broker, xml):
    org = create_org(broker)
    before = state(broker)
    r = broker.api("POST", f"/organizations/{org['id']}/connections",
                   {"type": "saml", "saml": {"idp_metadata_xml": xml}})
    assert_json_error(r, 400)
    assert state(broker) == before


def test_saml_connection_from_idp_metadata_url_extracts_entity_id_and_sso_url(broker, cert, upstream):
    org = create_org(broker)
    entity, sso = f"https://idp-{suffix()}.example.com/meta", f"https://idp-{suffix()}.example.com/sso"
    url = upstream(f"/metadata-{suffix()}.xml", idp_metadata(entity, sso, cert))
    body = {"type": "saml", "saml": {"idp_metadata_url": url}}
    conn = created(broker.api("POST", f"/organizations/{org['id']}/connections", body))
    got = broker.api("GET", f"/connections/{conn['id']}").json()
    assert got["saml"]["idp_entity_id"] == entity, got
    assert got["saml"]["idp_sso_url"] == sso, got


@pytest.mark.parametrize("kind", ["doctype", "http-404", "not-xml", "unreachable"])
def test_unusable_idp_metadata_url_is_400_and_writes_nothing(broker, cert, upstream, kind):
    org = create_org(broker)
    path = f"/metadata-{suffix()}.xml"
    url = {
        "doctype": lambda: upstream(path, idp_metadata("https://idp.example.com/saml",
                                                       "https://idp.example.com/sso", cert,
                                                       prolog=DOCTYPES["external-entity"])),
        "http-404": lambda: upstream(path, "gone", status=404),
        "not-xml": lambda: upstream(path, "<html><body>login</body>"),
        "unreachable": lambda: "http://127.0.0.1:9/metadata.xml",
    }[kind]()
    before = state(broker)
    r = broker.api("POST", f"/organizations/{org['id']}/connections",
                   {"type": "saml", "saml": {"idp_metadata_url": url}})
    assert_json_error(r, 400)
    assert state(broker) == before


def test_loopback_metadata_url_is_refused_unless_private_upstreams_are_allowed(fresh_broker, cert,
                                                                              upstream):
    b = fresh_broker(extra_env={"SSO_ALLOW_PRIVATE_UPSTREAMS": "0"})
    org = create_org(b)
    url = upstream(f"/metadata-{suffix()}.xml",
                   idp_metadata("https://idp.example.com/saml", "https://idp.example.com/sso", cert))
    before = state(b)
    # https, so that the address check (not the scheme rule) is what refuses them.
    for target in [url.replace("http:", "https:", 1), "https://[::1]:9/metadata.xml",
                   "https://169.254.169.254/latest/meta-data",
                   "https://2130706433:9/metadata.xml", "https://localhost:9/metadata.xml"]:
        r = b.api("POST", f"/organizations/{org['id']}/connections",
                  {"type": "saml", "saml": {"idp_metadata_url": target}})
        body = assert_json_error(r, 400)
        assert re.search(r"loopback|private|link-local", body["error_description"]), (target, body)
    assert state(b) == before


# The metadata fetch and the SP key pair run off the directory's one writer (sso_service_offload):
# logins and other API calls are answered while they take, the admin call only after its write.
HOLD_S = 3.0   # how long the IdP holds its metadata answer
QUICK_S = 1.0  # generous bound for a call that must not wait behind the fetch


def in_background(call):
    """Runs call() on a thread; returns (thread, result dict with 'response' and 'seconds')."""
    result = {}

    def run():
        started = time.monotonic()
        result["response"] = call()
        result["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def assert_served_while_fetching(broker, asked, admin_call):
    """While admin_call's metadata fetch is held, directory-backed calls (a client-credentials
    token, whose client authentication is the directory's, and an API read) come back quickly;
    then admin_call's answer comes, after the fetch."""
    broker.token()  # before: the admin's token
    thread, result = in_background(admin_call)
    assert asked.wait(10), "the directory never fetched the metadata"
    for call in [lambda: broker.token(fresh=True),
                 lambda: broker.api("GET", "/organizations").raise_for_status()]:
        started = time.monotonic()
        call()
        seconds = time.monotonic() - started
        assert seconds < QUICK_S, f"a directory call waited {seconds:.2f} s behind a metadata fetch"
    assert thread.is_alive(), "the admin request was answered before its metadata came"
    thread.join(HOLD_S + 10)
    assert not thread.is_alive()
    return result["response"], result["seconds"]


def slow_metadata(upstream, cert):
    """(URL, entity id, event set when fetched) of IdP metadata answered HOLD_S late."""
    entity = f"https://idp-{suffix()}.example.com/saml"
    asked = threading.Event()
    url = upstream(f"/metadata-{suffix()}.xml", idp_metadata(entity, entity + "/sso", cert),
                   hold=HOLD_S, asked=asked)
    return url, entity, asked


def test_logins_are_served_while_a_connection_fetches_its_metadata(broker, cert, upstream):
    org = create_org(broker)
    url, entity, asked = slow_metadata(upstream, cert)
    body = {"type": "saml", "saml": {"idp_metadata_url": url}}
    r, seconds = assert_served_while_fetching(
        broker, asked, lambda: broker.api("POST", f"/organizations/{org['id']}/connections", body))
    conn = created(r)
    assert seconds >= HOLD_S - 0.5
    assert conn["saml"]["idp_entity_id"] == entity
    assert "BEGIN CERTIFICATE" in conn["sp"]["certificate"]
    # Answered after its write: it is there for the next reader.
    got = broker.api("GET", f"/connections/{conn['id']}")
    assert got.status_code == 200 and got.json()["saml"]["idp_metadata_url"] == url


def test_a_change_made_while_a_metadata_fetch_waits_is_kept(broker, cert, upstream):
    org = create_org(broker)
    conn = created(broker.api("POST", f"/organizations/{org['id']}/connections", saml_body(cert)))
    conn_path = f"/connections/{conn['id']}"
    url, entity, asked = slow_metadata(upstream, cert)
    thread, result = in_background(
        lambda: broker.api("PATCH", conn_path, {"saml": {"idp_metadata_url": url}}))
    assert asked.wait(10), "the directory never fetched the metadata"
    started = time.monotonic()
    renamed = broker.api("PATCH", conn_path, {"name": "Renamed meanwhile"})
    assert renamed.status_code == 200, renamed.text[:300]
    assert time.monotonic() - started < QUICK_S
    assert thread.is_alive()
    thread.join(HOLD_S + 10)
    r = result["response"]
    assert r.status_code == 200, r.text[:500]
    # The change by URL applies to the connection as it is when it is written.
    assert r.json()["name"] == "Renamed meanwhile"
    assert r.json()["saml"]["idp_entity_id"] == entity


def test_concurrent_creates_by_slow_metadata_url_with_other_calls_all_land(broker, cert, upstream):
    """More creates by a slow metadata URL than the directory has offloads (8: the rest run on
    its loop), a failing one, and token, read and write calls meanwhile: every call gets its
    own right answer and every connection holds its own IdP's metadata and an SP key of its
    own."""
    org = create_org(broker)
    broker.token()
    entities, calls = [], []
    for i in range(10):
        entity = f"https://idp-{suffix()}.example.com/saml"
        url = upstream(f"/metadata-{suffix()}.xml", idp_metadata(entity, entity + "/sso", cert),
                       hold=1.0)
        entities.append((entity, url))
        calls.append(lambda url=url: broker.api("POST", f"/organizations/{org['id']}/connections",
                                                {"type": "saml", "saml": {"idp_metadata_url": url}}))
    missing = upstream(f"/gone-{suffix()}.xml", "not found", status=404, hold=1.0)
    failing = in_background(lambda: broker.api("POST", f"/organizations/{org['id']}/connections",
                                               {"type": "saml",
                                                "saml": {"idp_metadata_url": missing}}))
    creates = [in_background(call) for call in calls]
    names = [f"Meanwhile {i} {suffix()}" for i in range(6)]
    others = [in_background(lambda: broker.token(fresh=True)) for _ in range(4)]
    others += [in_background(lambda: broker.api("GET", "/organizations")) for _ in range(4)]
    writes = [in_background(lambda name=name: broker.api("POST", "/organizations",
                                                         {"display_name": name}))
              for name in names]
    for thread, _ in [failing] + creates + others + writes:
        thread.join(30)
        assert not thread.is_alive()
    r = failing[1]["response"]
    assert r.status_code == 400 and "HTTP 404" in r.json()["error_description"], r.text[:300]
    for _, result in others[4:]:
        assert result["response"].status_code == 200
    made = [created(result["response"]) for _, result in writes]
    assert sorted(o["display_name"] for o in made) == sorted(names)
    conns = [created(result["response"]) for _, result in creates]
    assert [(c["saml"]["idp_entity_id"], c["saml"]["idp_metadata_url"]) for c in conns] == entities
    assert len({c["id"] for c in conns}) == len(conns)
    assert len({c["sp"]["certificate"] for c in conns}) == len(conns)
    listed = list_all(broker, f"/organizations/{org['id']}/connections")
    assert sorted(c["id"] for c in listed) == sorted(c["id"] for c in conns)
    for c in conns:
        got = broker.api("GET", f"/connections/{c['id']}").json()
        assert got["saml"]["idp_entity_id"] == c["saml"]["idp_entity_id"]


def test_a_stopping_directory_finishes_a_connection_whose_metadata_fetch_waits(fresh_broker, cert,
                                                                              upstream):
    """SIGTERM while a create waits for its metadata: the directory finishes it (the fetch, then
    the key pair, then the write) and answers it before it exits, and it exits cleanly. Before,
    the request was dropped (an error for the admin) and a key generation still running on its
    thread when the exit cleaned up OpenSSL crashed the process (SIGSEGV)."""
    b = fresh_broker()
    org = create_org(b)
    entity = f"https://idp-{suffix()}.example.com/saml"
    asked = threading.Event()
    url = upstream(f"/metadata-{suffix()}.xml", idp_metadata(entity, entity + "/sso", cert),
                   hold=1.5, asked=asked)
    b.token()
    thread, result = in_background(
        lambda: b.api("POST", f"/organizations/{org['id']}/connections",
                      {"type": "saml", "saml": {"idp_metadata_url": url}}))
    assert asked.wait(10), "the directory never fetched the metadata"
    pid = b.wait_pid("directory")
    os.kill(pid, signal.SIGTERM)
    thread.join(15)
    assert not thread.is_alive()
    conn = created(result["response"])
    assert conn["saml"]["idp_entity_id"] == entity
    b.wait_pid("directory", other_than=pid)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        got = b.api("GET", f"/connections/{conn['id']}")
        if got.status_code == 200:
            break
        time.sleep(0.1)
    assert got.status_code == 200 and got.json()["saml"]["idp_metadata_url"] == url
    assert f"directory-1 (pid {pid}) exited with status 0" in b.log_text()


def test_oidc_connection_never_returns_its_client_secret(broker, oidc_provider):
    org = create_org(broker)
    secret = "upstream-secret-" + suffix()
    body = oidc_body(secret, oidc_provider.issuer("/login-" + suffix()))
    r = broker.api("POST", f"/organizations/{org['id']}/connections", body)
    conn = created(r)
    assert secret not in r.text
    assert conn["id"].startswith("conn_") and conn["type"] == "oidc" and conn["status"] == "draft"
    r = broker.api("GET", f"/connections/{conn['id']}")
    assert r.status_code == 200
    assert secret not in r.text
    got = r.json()
    assert got["oidc"]["issuer"] == body["oidc"]["issuer"]
    assert got["oidc"]["client_id"] == body["oidc"]["client_id"]


def test_oidc_client_secret_is_encrypted_at_rest(broker, oidc_provider):
    org = create_org(broker)
    secret = "at-rest-secret-" + suffix()
    issuer = oidc_provider.issuer("/rest-" + suffix())
    created(broker.api("POST", f"/organizations/{org['id']}/connections", oidc_body(secret, issuer)))
    assert files_containing(broker.data_dir, secret) == []


def test_oidc_connection_shows_the_endpoints_its_discovery_gave(broker, oidc_provider):
    org = create_org(broker)
    issuer = oidc_provider.issuer("/shown-" + suffix())
    conn = created(broker.api("POST", f"/organizations/{org['id']}/connections",
                              oidc_body("s", issuer)))
    assert conn["oidc"]["discovered"] == {
        "authorization_endpoint": issuer + "/authorize", "token_endpoint": issuer + "/token",
        "jwks_uri": issuer + "/jwks", "userinfo_endpoint": issuer + "/userinfo"}
    # Each connection's own callback (against the mix-up attack).
    assert conn["oidc"]["redirect_uri"] == broker.url + "/sso/oidc/callback/" + conn["id"]


def _discovery_failures(provider, prefix):
    """(issuer, the reason expected in the 400) for providers whose discovery must be refused."""
    issuer = provider.base + prefix
    good = provider.discovery(issuer)
    cases = {
        "other-issuer": ({**good, "issuer": "https://evil.example"},
                         f"discovery issuer: expected {issuer}, got https://evil.example"),
        "trailing-slash": ({**good, "issuer": issuer + "/"},
                           f"discovery issuer: expected {issuer}, got {issuer}/"),
        "alg-none": ({**good, "id_token_signing_alg_values_supported": ["none"]},
                     "offers none of RS256/384/512, PS256/384/512, ES256/384/512 (got none)"),
        "hmac-only": ({**good, "id_token_signing_alg_values_supported": ["HS256"]},
                      "(got HS256)"),
        "no-secret-auth": ({**good, "token_endpoint_auth_methods_supported": ["private_key_jwt"]},
                           "offers neither client_secret_basic nor client_secret_post"),
        "http-endpoint": ({**good, "token_endpoint": "http://idp.example.com/token"},
                          "discovery token_endpoint http://idp.example.com/token: the URL must use https"),
        "no-jwks": ({k: v for k, v in good.items() if k != "jwks_uri"}, "discovery has no jwks_uri"),
        "implicit-only": ({**good, "response_types_supported": ["id_token"]},
                          'does not list "code"'),
    }
    return issuer, cases


@pytest.mark.parametrize("case", ["other-issuer", "trailing-slash", "alg-none", "hmac-only",
                                  "no-secret-auth", "http-endpoint", "no-jwks", "implicit-only",
                                  "http-500", "not-json", "html", "missing"])
def test_oidc_connection_whose_discovery_fails_is_400_with_the_reason_and_writes_nothing(
        broker, oidc_provider, case):
    prefix = f"/{case}-{suffix()}"
    issuer, cases = _discovery_failures(oidc_provider, prefix)
    path = prefix + "/.well-known/openid-configuration"
    if case in cases:
        document, reason = cases[case]
        oidc_provider.serve(path, document)
    elif case == "http-500":
        oidc_provider.serve(path, {"error": "down"}, status=500)
        reason = f"discovery at {oidc_provider.base}{path} answered HTTP 500"
    elif case == "not-json":
        oidc_provider.serve(path, "{\"issuer\": ")
        reason = "the discovery document is not JSON"
    elif case == "html":
        oidc_provider.serve(path, "<html></html>", content_type="text/html")
        reason = "answered Content-Type text/html, not JSON"
    else:
        reason = f"discovery at {oidc_provider.base}{path} answered HTTP 404"
    org = create_org(broker)
    before = state(broker)
    r = broker.api("POST", f"/organizations/{org['id']}/connections", oidc_body("s", issuer))
    assert_json_error(r, 400, "invalid_request")
    assert r.json()["error_description"].startswith("oidc.issuer: "), r.text
    assert reason in r.json()["error_description"], (reason, r.text)
    assert oidc_provider.hits(path) == 1
    assert state(broker) == before


def test_changing_or_enabling_an_oidc_connection_checks_its_discovery_again(broker, oidc_provider):
    org = create_org(broker)
    prefix = "/again-" + suffix()
    issuer = oidc_provider.issuer(prefix)
    conn = created(broker.api("POST", f"/organizations/{org['id']}/connections",
                              oidc_body("s", issuer)))
    path = f"/connections/{conn['id']}"
    # A change to a provider whose discovery fails is refused, and changes nothing.
    broken = oidc_provider.base + "/broken-" + suffix()
    r = broker.api("PATCH", path, {"oidc": {"issuer": broken}})
    assert_json_error(r, 400, "invalid_request")
    assert "answered HTTP 404" in r.json()["error_description"]
    assert broker.api("GET", path).json()["oidc"]["issuer"] == issuer
    # The provider breaks: enabling is refused, the connection stays a draft.
    well_known = prefix + "/.well-known/openid-configuration"
    oidc_provider.serve(well_known, {"error": "maintenance"}, status=503)
    r = broker.api("POST", f"{path}/enable")
    assert_json_error(r, 400, "invalid_request")
    assert "answered HTTP 503" in r.json()["error_description"]
    assert broker.api("GET", path).json()["status"] == "draft"
    # Repaired: enabled, with the endpoints it offers now.
    oidc_provider.issuer(prefix)
    r = broker.api("POST", f"{path}/enable")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
    assert r.json()["oidc"]["discovered"]["token_endpoint"] == issuer + "/token"
    # Disabling fetches nothing.
    hits = oidc_provider.hits(well_known)
    assert broker.api("POST", f"{path}/disable").json()["status"] == "inactive"
    assert oidc_provider.hits(well_known) == hits


def test_loopback_issuer_is_refused_unless_private_upstreams_are_allowed(fresh_broker,
                                                                         oidc_provider):
    b = fresh_broker(extra_env={"SSO_ALLOW_PRIVATE_UPSTREAMS": "0"})
    prefix = "/guarded-" + suffix()
    issuer = oidc_provider.issuer(prefix)
    org = created(b.api("POST", "/organizations", {"display_name": "Guarded " + suffix()}))
    before = state(b)
    connections = oidc_provider.connections
    r = b.api("POST", f"/organizations/{org['id']}/connections", oidc_body("s", issuer))
    assert_json_error(r, 400, "invalid_request")
    assert "SSO_ALLOW_PRIVATE_UPSTREAMS" in r.json()["error_description"], r.text
    # Refused before any connection to the provider.
    assert oidc_provider.connections == connections
    assert state(b) == before


def test_enable_and_disable_move_the_connection_status(broker, cert):
    org = create_org(broker)
    conn = created(broker.api("POST", f"/organizations/{org['id']}/connections", saml_body(cert)))
    path = f"/connections/{conn['id']}"
    for action, status in [("enable", "active"), ("disable", "inactive"), ("enable", "active")]:
        r = broker.api("POST", f"{path}/{action}")
        assert r.status_code == 200, (action, r.text)
        assert r.json()["status"] == status
        assert broker.api("GET", path).json()["status"] == status


def test_enabling_an_unknown_connection_is_404(broker):
    assert_json_error(broker.api("POST", f"/connections/conn_doesnotexist{suffix()}/enable"), 404)
    assert_json_error(broker.api("GET", f"/connections/conn_doesnotexist{suffix()}"), 404)


def test_patching_a_connection_with_a_bad_url_changes_nothing(broker, cert):
    org = create_org(broker)
    conn = created(broker.api("POST", f"/organizations/{org['id']}/connections", saml_body(cert)))
    before_conn = broker.api("GET", f"/connections/{conn['id']}").json()
    before = state(broker)
    r = broker.api("PATCH", f"/connections/{conn['id']}", {"saml": {"idp_sso_url": "javascript:x"}})
    assert_json_error(r, 400)
    assert broker.api("GET", f"/connections/{conn['id']}").json() == before_conn
    assert state(broker) == before


def test_patching_a_connection_sso_url_updates_it(broker, cert):
    org = create_org(broker)
    conn = created(broker.api("POST", f"/organizations/{org['id']}/connections", saml_body(cert)))
    new = f"https://idp-{suffix()}.example.com/new-sso"
    r = broker.api("PATCH", f"/connections/{conn['id']}", {"saml": {"idp_sso_url": new}})
    assert r.status_code == 200, r.text
    assert broker.api("GET", f"/connections/{conn['id']}").json()["saml"]["idp_sso_url"] == new


def test_deleting_a_connection_makes_it_404(broker, cert):
    org = create_org(broker)
    conn = created(broker.api("POST", f"/organizations/{org['id']}/connections", saml_body(cert)))
    r = broker.api("DELETE", f"/connections/{conn['id']}")
    assert r.status_code in (200, 204), r.text
    assert_json_error(broker.api("GET", f"/connections/{conn['id']}"), 404)
    assert_json_error(broker.api("POST", f"/connections/{conn['id']}/enable"), 404)


# ---- portal links and events ---------------------------------------------------------------------


def test_portal_link_has_an_id_a_location_and_an_expiry(broker):
    org = create_org(broker)
    link = created(broker.api("POST", f"/organizations/{org['id']}/portal_links", {}))
    assert link["id"].startswith("pl_"), link
    assert link["location"].startswith(broker.url + "/"), link
    expires = assert_rfc3339_utc(link["expires_at"])
    assert expires > datetime.datetime.now(datetime.timezone.utc)


def test_portal_link_for_unknown_organization_is_404(broker):
    before = state(broker)
    r = broker.api("POST", f"/organizations/org_doesnotexist{suffix()}/portal_links", {})
    assert_json_error(r, 404)
    assert state(broker) == before


def test_events_list_is_a_data_array(broker):
    r = broker.api("GET", "/events")
    assert r.status_code == 200, r.text
    assert isinstance(r.json()["data"], list)


def test_events_of_a_new_organization_are_empty(broker):
    org = create_org(broker)
    r = broker.api("GET", f"/events?organization_id={org['id']}")
    assert r.status_code == 200, r.text
    assert r.json()["data"] == []


# ---- durability ---------------------------------------------------------------------------------


def test_data_survives_a_killed_directory_service(fresh_broker):
    b = fresh_broker()
    org = create_org(b, "Survivor " + suffix())
    old = b.pids("directory")[0]
    os.kill(old, signal.SIGKILL)
    b.wait_pid("directory", other_than=old)
    # Until the new instance has registered, the broker answers 503 (no instance): fail fast,
    # never hang. It serves again within a few seconds.
    deadline = time.time() + 15
    while True:
        r = b.api("GET", f"/organizations/{org['id']}")
        if r.status_code != 503 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert r.status_code == 200, r.text
    assert r.json() == org
    again = create_org(b)
    assert again["id"] != org["id"]
    assert b.api("GET", f"/organizations/{again['id']}").status_code == 200


def test_whole_broker_restart_keeps_organizations_domains_and_admin_credentials(tmp_path):
    data_dir = str(tmp_path / "data")
    os.makedirs(data_dir)
    first = Broker(data_dir=data_dir)
    try:
        first.start()
        org = create_org(first, "Persistent " + suffix(), external_id="ext-" + suffix())
        domain = f"persist-{suffix()}.example.com"
        created(add_domain(first, org["id"], domain))
    finally:
        first.stop()
    second = Broker(data_dir=data_dir)
    second.admin_id, second.admin_secret = first.admin_id, first.admin_secret
    second.env["SSO_ADMIN_CLIENT_ID"], second.env["SSO_ADMIN_CLIENT_SECRET"] = \
        first.admin_id, first.admin_secret
    try:
        second.start()
        r = second.api("GET", f"/organizations/{org['id']}")
        assert r.status_code == 200, r.text
        assert r.json() == org
        assert domains_of(second, org["id"]) == [domain]
    finally:
        second.stop()


def read_admin_credentials(path):
    """(client id, secret) from the admin-credentials file: SSO_ADMIN_CLIENT_ID=... lines (the
    format ssoctl reads), optionally quoted."""
    values = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                value = value.strip()
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                    value = value[1:-1]
                values[key.strip()] = value
    assert values.get("SSO_ADMIN_CLIENT_ID") and values.get("SSO_ADMIN_CLIENT_SECRET"), values.keys()
    return values["SSO_ADMIN_CLIENT_ID"], values["SSO_ADMIN_CLIENT_SECRET"]


def test_generated_admin_credentials_persist_across_a_restart(tmp_path):
    data_dir = str(tmp_path / "data")
    os.makedirs(data_dir)
    brokers = []
    try:
        for round_ in range(2):
            b = Broker(data_dir=data_dir)
            brokers.append(b)
            del b.env["SSO_ADMIN_CLIENT_ID"], b.env["SSO_ADMIN_CLIENT_SECRET"]
            b.start()
            path = os.path.join(data_dir, "admin-credentials")
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            b.admin_id, b.admin_secret = read_admin_credentials(path)
            if round_ == 0:
                generated = (b.admin_id, b.admin_secret)
                org = create_org(b, "Generated " + suffix())
            else:
                assert (b.admin_id, b.admin_secret) == generated
                assert b.api("GET", f"/organizations/{org['id']}").json() == org
            b.stop()
    finally:
        for b in brokers:
            b.stop()
