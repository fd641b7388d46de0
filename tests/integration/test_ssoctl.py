"""ssoctl end to end against a running broker: --help for every command, organizations and
domains as tables and as JSON, SAML connections from settings and from metadata, credentials
from the data dir, and the exit codes (0 success, 1 API or network failure, 2 usage error)."""
import base64
import calendar
import json
import os
import re
import socket
import subprocess
import time
import uuid

import pytest

from test_op import query_of
from test_simulator import Login, sim  # noqa: F401 (sim: the fixture of the simulator's client)

COMMANDS = [
    ["clients", "create"], ["clients", "list"], ["clients", "get"], ["clients", "update"],
    ["clients", "rotate-secret"], ["clients", "delete"],
    ["orgs", "create"], ["orgs", "list"], ["orgs", "get"], ["orgs", "update"], ["orgs", "delete"],
    ["domains", "add"], ["domains", "list"], ["domains", "delete"],
    ["connections", "create-saml"], ["connections", "create-oidc"], ["connections", "update"],
    ["connections", "list"], ["connections", "get"],
    ["connections", "enable"], ["connections", "disable"], ["connections", "rotate-sp-key"],
    ["connections", "retire-sp-key"], ["connections", "last-login"], ["connections", "delete"],
    ["events"], ["keys", "rotate"],
    ["portal-links", "create"], ["portal-links", "list"], ["portal-links", "revoke"],
    ["directories", "create"], ["directories", "list"], ["directories", "get"],
    ["directories", "rotate-token"], ["directories", "delete"], ["directories", "users"],
    ["directories", "groups"], ["directories", "events"],
    ["webhooks", "create"], ["webhooks", "list"], ["webhooks", "get"], ["webhooks", "update"],
    ["webhooks", "delete"], ["webhooks", "rotate-secret"], ["webhooks", "deliveries"],
    ["webhooks", "redeliver"],
    ["admins", "create"], ["admins", "list"], ["admins", "disable"], ["admins", "enable"],
    ["admins", "delete"], ["admins", "setup-link"], ["audit"],
    ["completion", "bash"],
]


def admin_secret(broker):
    """The admin secret, from the environment or the data dir, so tests can check that no
    output ever contains it."""
    secret = broker.env.get("SSO_ADMIN_CLIENT_SECRET")
    if secret:
        return secret
    try:
        with open(os.path.join(broker.data_dir, "admin-credentials")) as f:
            for line in f:
                if line.startswith("SSO_ADMIN_CLIENT_SECRET="):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return None


def admin_credentials(broker):
    client_id = broker.env.get("SSO_ADMIN_CLIENT_ID")
    if client_id:
        return client_id, broker.env["SSO_ADMIN_CLIENT_SECRET"]
    with open(os.path.join(broker.data_dir, "admin-credentials")) as f:
        values = dict(line.strip().split("=", 1) for line in f if "=" in line)
    return values["SSO_ADMIN_CLIENT_ID"], values["SSO_ADMIN_CLIENT_SECRET"]


def run(broker, *args, env=None, stdin=None):
    proc = subprocess.run([os.path.join(broker.bin_dir, "ssoctl"), *args],
                          env=broker.env if env is None else env, input=stdin,
                          capture_output=True, text=True, timeout=60)
    secret = admin_secret(broker)
    if secret:
        assert secret not in proc.stdout and secret not in proc.stderr, "admin secret printed"
    return proc


def ok(broker, *args, **kw):
    proc = run(broker, *args, **kw)
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc


def ok_json(broker, *args, **kw):
    return json.loads(ok(broker, "--json", *args, **kw).stdout)


def unique(prefix):
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def table(text):
    """A printed table as (header columns, rows as lists), split on runs of 2+ spaces."""
    lines = [line for line in text.splitlines() if line.strip()]
    split = [re.split(r"\s{2,}", line.strip()) for line in lines]
    return split[0], split[1:]


def fields_of(text):
    """A key/value view (`connections get`) as a dict of row label to value."""
    return dict(re.split(r"\s{2,}", line.strip(), maxsplit=1)
                for line in text.splitlines() if line.strip())


def pairs(cell):
    """An OPTIONS or ATTRIBUTE MAPPING cell, "k=v, k=v" or "-", as a dict."""
    return {} if cell == "-" else dict(item.split("=", 1) for item in cell.split(", "))


@pytest.fixture(scope="module")
def idp_cert(tmp_path_factory):
    folder = tmp_path_factory.mktemp("idp")
    cert, key = folder / "idp.pem", folder / "idp.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=ssoctl-test-idp", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert


@pytest.fixture(scope="module")
def org(broker):
    return ok_json(broker, "orgs", "create", "--name", unique("ssoctl fixture "))["id"]


# ---- help and usage ----------------------------------------------------------------------------

def test_top_level_help_lists_every_command_with_examples(broker):
    proc = ok(broker, "--help")
    assert proc.stdout.startswith("Usage: ssoctl")
    for words in COMMANDS:
        assert " ".join(words) in proc.stdout
    assert "Examples:" in proc.stdout
    assert "selftest" not in proc.stdout


@pytest.mark.parametrize("words", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_has_help(broker, words):
    proc = ok(broker, *words, "--help")
    assert proc.stdout.startswith("Usage: ssoctl " + " ".join(words))
    assert "Examples:" in proc.stdout
    assert proc.stderr == ""


def test_help_needs_no_broker_and_no_credentials(broker, tmp_path):
    env = {k: v for k, v in broker.env.items() if not k.startswith("SSO_ADMIN_")}
    env["SSO_PUBLIC_URL"] = "http://127.0.0.1:1"
    env["SSO_DATA_DIR"] = str(tmp_path)
    assert run(broker, "orgs", "--help", env=env).returncode == 0
    assert run(broker, "connections", "create-saml", "-h", env=env).returncode == 0


def test_selftest_passes(broker):
    proc = ok(broker, "selftest")
    assert re.search(r"^\d+ passed, 0 failed$", proc.stdout, re.M)


@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["orgs"],
    ["orgs", "fly"],
    ["orgs", "create"],
    ["orgs", "create", "--name"],
    ["orgs", "create", "--name", "x", "--bogus"],
    ["orgs", "get"],
    ["orgs", "get", "a", "b"],
    ["orgs", "list", "--page-size", "zero"],
    ["orgs", "list", "--name", "x"],
    ["domains", "add", "org_x"],
    ["clients", "create", "--name", "x"],
    ["connections", "create-saml", "org_x"],
    ["connections", "create-saml", "org_x", "--metadata-url", "https://idp", "--entity-id", "e"],
    ["connections", "create-saml", "org_x", "--entity-id", "e", "--sso-url", "https://idp"],
    ["connections", "create-oidc", "org_x", "--issuer", "https://idp", "--client-id", "c",
     "--client-secret", "s", "--client-secret-file", "f"],
    ["connections", "create-oidc", "org_x", "--issuer", "https://idp", "--client-id", "c",
     "--client-secret", "s", "--scope", "email"],
    ["events", "--limit", "-1"],
    ["--url", "localhost:8080", "orgs", "list"],
], ids=lambda a: " ".join(a) or "no-args")
def test_usage_errors_exit_2_with_a_hint(broker, args):
    proc = run(broker, *args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stderr.startswith("ssoctl: ") or proc.stderr.startswith("Usage:")
    assert "--help" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("args,says", [
    (["clients", "update", "cli_x"], "nothing to change"),
    (["clients", "update", "cli_x", "--name", ""], "--name must not be empty"),
    (["clients", "update", "cli_x", "--add-redirect-uri", ""],
     "--add-redirect-uri must not be empty"),
    (["clients", "update", "", "--name", "x"], "ID must not be empty"),
    (["clients", "update", "cli_x", "--bogus"], "unknown option --bogus"),
    (["clients", "update", "cli_x", "--overlap", "60"], "--overlap does not apply"),
    (["clients", "rotate-secret"], "missing argument"),
    (["clients", "rotate-secret", "cli_x", "--overlap", ""], "--overlap must be SECONDS"),
    (["clients", "rotate-secret", "cli_x", "--overlap", "31d"], "--overlap must be SECONDS"),
    (["clients", "rotate-secret", "cli_x", "--overlap", "-1"], "--overlap must be SECONDS"),
    (["clients", "rotate-secret", "cli_x", "--overlap", "1.5h"], "--overlap must be SECONDS"),
    (["clients", "rotate-secret", "cli_x", "--overlap", "<script>"],
     "--overlap must be SECONDS"),
    (["clients", "rotate-secret", "cli_x", "--overlap"], "option --overlap needs a value"),
    (["clients", "rotate-secret", "cli_x", "--name", "x"], "--name does not apply"),
    (["orgs", "update", "org_x"], "nothing to change: give --name or --external-id"),
    (["orgs", "update", "org_x", "--external-id", ""], "--external-id must not be empty"),
    (["orgs", "update", "", "--name", "x"], "ORG_ID must not be empty"),
    (["orgs", "update", "org_x", "--redirect-uri", "x"], "--redirect-uri does not apply"),
    (["orgs", "list", "--search", ""], "--search must not be empty"),
    (["connections", "list"], "missing argument"),
    (["connections", "list", ""], "ORG_ID must not be empty"),
    (["connections", "list", "org_x", "--page-size", "1"], "--page-size does not apply"),
    (["completion"], "'completion' needs a subcommand: bash"),
    (["completion", "zsh"], "unknown completion subcommand 'zsh'"),
    (["completion", "bash", "--json"], "--json does not apply here"),
    # The logs' filters: an outcome of the two; WHEN a duration with its unit or a UTC time.
    (["events", "--outcome", "SUCCESS"], "--outcome must be success or failure"),
    (["events", "--outcome", ""], "--outcome must be success or failure"),
    (["events", "--outcome", "<script>"], "--outcome must be success or failure"),
    (["events", "--since", ""], "--since must not be empty"),
    (["events", "--since", "30"], "--since must be a duration back from now (30m, 24h, 7d) "
                                  "or an RFC 3339 UTC time (2026-12-06T21:00:00Z)"),
    (["events", "--since", "1e9"], "--since must be a duration back from now"),
    (["events", "--since", "-1d"], "--since must be a duration back from now"),
    (["events", "--until", "2026-12-06T21:00:00+01:00"], "--until must be a duration back"),
    (["events", "--until", "2026-12-06"], "--until must be a duration back from now"),
    (["events", "--until", "99999999999999999999d"], "--until must be a duration back"),
    (["audit", "--since", "yesterday"], "--since must be a duration back from now"),
    (["audit", "--until", "2026-02-30T00:00:00Z"], "--until must be a duration back"),
    (["audit", "--outcome", "failure"], "--outcome does not apply"),
], ids=lambda a: " ".join(a) if isinstance(a, list) else "")
def test_the_new_commands_refuse_bad_input_with_exit_2(broker, args, says):
    # The URL answers nothing: each is refused before any request.
    proc = run(broker, "--url", "http://127.0.0.1:1", *args)
    assert proc.returncode == 2 and says in proc.stderr, proc.stderr
    assert "--help" in proc.stderr and proc.stdout == ""


# ---- organizations and domains -----------------------------------------------------------------

def test_orgs_create_and_list_as_table_and_json(broker):
    name = unique("Acme ")
    external = unique("ext-")
    proc = ok(broker, "orgs", "create", "--name", name, "--external-id", external)
    fields = fields_of(proc.stdout)
    org_id = fields["ID"]
    assert org_id.startswith("org_")
    assert fields["NAME"] == name and fields["EXTERNAL ID"] == external

    created = ok_json(broker, "orgs", "create", "--name", name + " two")
    assert created["id"].startswith("org_") and created["display_name"] == name + " two"

    header, rows = table(ok(broker, "orgs", "list", "--all").stdout)
    assert header == ["ID", "NAME", "EXTERNAL ID", "CREATED"]
    assert [org_id, name, external] == next(r for r in rows if r[0] == org_id)[:3]
    assert any(r[0] == created["id"] and r[2] == "-" for r in rows)

    listed = ok_json(broker, "orgs", "list", "--all")
    by_id = {o["id"]: o for o in listed["data"]}
    assert by_id[org_id]["display_name"] == name and by_id[org_id]["external_id"] == external
    assert created["id"] in by_id

    page = ok_json(broker, "orgs", "list", "--page-size", "1")
    assert len(page["data"]) == 1

    got = ok_json(broker, "orgs", "get", org_id)
    assert got["id"] == org_id and got["display_name"] == name
    assert "Deleted organization" in ok(broker, "orgs", "delete", created["id"]).stdout
    assert run(broker, "orgs", "get", created["id"]).returncode == 1


def test_orgs_list_search(broker, tmp_path):
    """--search: a part of the name in any case, or the whole external id, id or domain; `%`
    and `_` only themselves; pages over what it finds; refusals; bash completion knows it."""
    tag = uuid.uuid4().hex[:10]
    first = ok_json(broker, "orgs", "create", "--name", f"Search {tag} Alpha",
                    "--external-id", f"ext-{tag}")
    second = ok_json(broker, "orgs", "create", "--name", f"Search {tag} Beta 100%")
    ok(broker, "domains", "add", second["id"], f"{tag}.example")

    header, rows = table(ok(broker, "orgs", "list", "--search", f"SEARCH {tag.upper()}").stdout)
    assert header == ["ID", "NAME", "EXTERNAL ID", "CREATED"]
    assert [r[0] for r in rows] == [first["id"], second["id"]]

    def found(*args):
        return [o["id"] for o in ok_json(broker, "orgs", "list", *args)["data"]]

    assert found("--search", f" {tag} alpha ") == [first["id"]]
    assert found("--search", f"ext-{tag}") == [first["id"]]
    assert found("--search", f"ext-{tag[:5]}") == []
    assert found("--search", second["id"]) == [second["id"]]
    assert found("--search", f"{tag.upper()}.Example") == [second["id"]]
    assert found("--search", f"{tag} beta 100%") == [second["id"]]
    assert found("--search", f"{tag}%") == []
    assert found("--search", f"search_{tag}") == []
    _, rows = table(ok(broker, "orgs", "list", "--search", f"no such {tag}").stdout)
    assert rows == []

    # Pages of one: the hint, then the next page of the same search.
    proc = ok(broker, "orgs", "list", "--search", tag, "--page-size", "1")
    assert [r[0] for r in table(proc.stdout)[1]] == [first["id"]]
    hint = re.search(r"the same command with --page-token (\S+) \(or --all\)", proc.stderr)
    assert hint, proc.stderr
    proc = ok(broker, "orgs", "list", "--search", tag, "--page-size", "1", "--page-token",
              hint.group(1))
    assert [r[0] for r in table(proc.stdout)[1]] == [second["id"]] and proc.stderr == ""
    assert found("--search", tag, "--page-size", "1", "--all") == [first["id"], second["id"]]

    # Refused: empty before any request (exit 2); by the API, with its reason (exit 1).
    proc = run(broker, "orgs", "list", "--search", "")
    assert proc.returncode == 2 and "--search must not be empty" in proc.stderr
    proc = run(broker, "orgs", "list", "--search", "x" * 201)
    assert proc.returncode == 1 and "search is too long (at most 200 bytes)" in proc.stderr
    proc = run(broker, "orgs", "list", "--search", "a\tb")
    assert proc.returncode == 1 and "search must not contain control characters" in proc.stderr

    script = tmp_path / "ssoctl.bash"
    script.write_text(ok(broker, "completion", "bash").stdout)
    complete = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1));'
                ' _ssoctl; printf "%s\\n" "${COMPREPLY[*]}"')
    for words, offered in [(["orgs", "list", "--se"], ["--search"]),
                           (["orgs", "list", "--search", ""], [])]:
        proc = subprocess.run(["bash", "-c", complete, "bash", str(script), "ssoctl", *words],
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0 and proc.stdout.split() == offered, (words, proc)


def test_domains_add_and_list(broker, org):
    domain = unique("ssoctl") + ".com"
    proc = ok(broker, "domains", "add", org, domain)
    assert domain in proc.stdout
    added = ok_json(broker, "domains", "add", org, "www." + domain)
    assert added["domain"] == "www." + domain and added["organization_id"] == org
    assert added["id"].startswith("dom_")

    header, rows = table(ok(broker, "domains", "list", org).stdout)
    assert header == ["ID", "DOMAIN", "ORGANIZATION"]
    assert {domain, "www." + domain} <= {r[1] for r in rows}

    listed = ok_json(broker, "domains", "list", org)
    assert {d["domain"] for d in listed["data"]} >= {domain, "www." + domain}

    ok(broker, "domains", "delete", org, added["id"])
    remaining = ok_json(broker, "domains", "list", org)["data"]
    assert "www." + domain not in {d["domain"] for d in remaining}


# ---- connections --------------------------------------------------------------------------------

def test_saml_connection_from_settings(broker, org, idp_cert):
    entity = "https://idp.example.com/" + unique("e")
    proc = ok(broker, "connections", "create-saml", org, "--entity-id", entity,
              "--sso-url", "https://idp.example.com/sso", "--cert-file", str(idp_cert))
    fields = fields_of(proc.stdout)
    conn = fields["ID"]
    assert conn.startswith("conn_") and fields["TYPE"] == "saml"
    assert fields["SP ACS URL"] == f"{broker.url}/sso/saml/{conn}/acs"
    assert fields["SP ENTITY ID"] == f"{broker.url}/sso/saml/{conn}"

    got = ok_json(broker, "connections", "get", conn)
    assert got["id"] == conn and got["organization_id"] == org and got["type"] == "saml"
    assert got["status"] == "draft"
    assert got["sp"]["metadata_url"] == f"{broker.url}/sso/saml/{conn}/metadata"
    # Each IdP certificate's subject, SHA-256 fingerprint and expiry, as the API gives them.
    shown = fields_of(ok(broker, "connections", "get", conn).stdout)
    detail = got["saml"]["idp_certificate_details"][0]
    assert len(detail["sha256_fingerprint"]) == 95
    assert shown["CERTIFICATE SHA-256"] == detail["sha256_fingerprint"]
    assert shown["CERTIFICATE EXPIRES"] == detail["not_after"]
    assert shown["IDP CERTIFICATES"] == detail["subject"]

    ok(broker, "connections", "enable", conn)
    assert ok_json(broker, "connections", "get", conn)["status"] == "active"
    ok(broker, "connections", "disable", conn)
    assert ok_json(broker, "connections", "get", conn)["status"] == "inactive"
    ok(broker, "connections", "delete", conn)
    assert run(broker, "connections", "get", conn).returncode == 1


def test_connections_rotate_and_retire_the_sp_key(broker, org, idp_cert):
    """rotate-sp-key: a new SP certificate first, the old one second (subject, SHA-256,
    expiry as the API gives them); a second rotation is refused until retire-sp-key; then only
    the new one. An OIDC connection and an unknown one are refused by the broker (exit 1)."""
    conn = ok_json(broker, "connections", "create-saml", org, "--entity-id",
                   "https://idp.example.com/" + unique("e"), "--sso-url",
                   "https://idp.example.com/sso", "--cert-file", str(idp_cert))["id"]
    before = ok_json(broker, "connections", "get", conn)["sp"]
    old_fp = before["certificate_details"][0]["sha256_fingerprint"]
    assert before["previous_certificate"] is None and len(old_fp) == 95
    assert fields_of(ok(broker, "connections", "get", conn).stdout)[
        "SP CERTIFICATE SHA-256"] == old_fp

    fields = fields_of(ok(broker, "connections", "rotate-sp-key", conn).stdout)
    during = ok_json(broker, "connections", "get", conn)["sp"]
    new_fp = during["certificate_details"][0]["sha256_fingerprint"]
    assert new_fp != old_fp and during["previous_certificate"] == before["certificate"]
    assert fields["SP CERTIFICATE SHA-256"] == f"{new_fp}, {old_fp}"
    assert fields["SP CERTIFICATE EXPIRES"] == ", ".join(
        d["not_after"] for d in during["certificate_details"])
    assert fields["SP CERTIFICATES"] == ", ".join(
        d["subject"] for d in during["certificate_details"])

    again = run(broker, "connections", "rotate-sp-key", conn)
    assert again.returncode == 1 and "409" in again.stderr, again.stderr
    assert "retire it first" in again.stderr, again.stderr

    retired = ok_json(broker, "connections", "retire-sp-key", conn)["sp"]
    assert retired["previous_certificate"] is None
    assert [d["sha256_fingerprint"] for d in retired["certificate_details"]] == [new_fp]
    twice = run(broker, "connections", "retire-sp-key", conn)
    assert twice.returncode == 1 and "no previous SP key pair to retire" in twice.stderr

    missing = run(broker, "connections", "rotate-sp-key", "conn_doesnotexist")
    assert missing.returncode == 1 and "404" in missing.stderr, missing.stderr
    oidc = broker.api("POST", f"/organizations/{org}/connections", {"type": "oidc"}).json()["id"]
    refused = run(broker, "connections", "retire-sp-key", oidc)
    assert refused.returncode == 1 and "only a SAML connection has an SP key" in refused.stderr
    ok(broker, "connections", "delete", conn)
    ok(broker, "connections", "delete", oidc)


def assert_oidc_endpoints(broker, fields, issuer):
    """The REDIRECT URI and the endpoints the loopback provider's discovery publishes."""
    assert fields["REDIRECT URI"] == f"{broker.url}/sso/oidc/callback/{fields['ID']}"
    assert fields["AUTHORIZATION ENDPOINT"] == issuer + "/authorize"
    assert fields["TOKEN ENDPOINT"] == issuer + "/token"
    assert fields["JWKS URI"] == issuer + "/jwks"
    assert fields["USERINFO ENDPOINT"] == issuer + "/userinfo"


def test_oidc_connection_shows_the_discovered_endpoints_and_the_redirect_uri(
        broker, org, oidc_provider, tmp_path):
    issuer = oidc_provider.issuer("/" + unique("ssoctl"))
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret\n")
    proc = ok(broker, "connections", "create-oidc", org, "--issuer", issuer, "--client-id", "c1",
              "--client-secret-file", str(secret))
    fields = fields_of(proc.stdout)
    assert fields["TYPE"] == "oidc" and fields["ISSUER"] == issuer
    assert_oidc_endpoints(broker, fields, issuer)
    assert "s3cret" not in proc.stdout
    # A provider whose discovery names another issuer: refused, with the reason.
    other = oidc_provider.issuer("/" + unique("other"), document=oidc_provider.discovery("https://evil.example"))
    refused = run(broker, "connections", "create-oidc", org, "--issuer", other, "--client-id", "c1",
                  "--client-secret-file", str(secret))
    assert refused.returncode == 1 and "discovery issuer: expected" in refused.stderr, refused.stderr


@pytest.mark.parametrize("args,says", [
    (["create-oidc", "org_x", "--issuer", "https://idp", "--client-id", "c", "--client-secret",
      "s", "--option", "response_mode="], "--option response_mode=: the value is empty"),
    (["create-saml", "org_x", "--metadata-url", "https://idp", "--map", "email="],
     "--map email=: the value is empty"),
    (["create-oidc", "org_x", "--issuer", "https://idp", "--client-id", "c", "--client-secret",
      "s", "--map", "email"], "--map email: expected KEY=VALUE"),
    (["update", "conn_x"], "nothing to change"),
    (["update", "conn_x", "--option", "=query"], "the key is empty"),
    (["update", "conn_x", "--map", "email=a", "--map", "email="], "given more than once"),
], ids=lambda a: " ".join(a) if isinstance(a, list) else "")
def test_option_and_map_usage_errors_name_the_problem(broker, args, says):
    # The URL answers nothing: these are refused before any request.
    proc = run(broker, "--url", "http://127.0.0.1:1", "connections", *args)
    assert proc.returncode == 2 and says in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_get_shows_the_discovered_endpoints(broker, org, oidc_provider):
    issuer = oidc_provider.issuer("/" + unique("get"))
    conn = ok_json(broker, "connections", "create-oidc", org, "--issuer", issuer,
                   "--client-id", "c1", "--client-secret", "s")["id"]
    fields = fields_of(ok(broker, "connections", "get", conn).stdout)
    assert_oidc_endpoints(broker, fields, issuer)
    assert fields["OPTIONS"] == "-" and fields["ATTRIBUTE MAPPING"] == "-"
    ok(broker, "connections", "delete", conn)


def test_oidc_connection_options_and_mapping_create_update_get(
        broker, org, oidc_provider, tmp_path):
    issuer = oidc_provider.issuer("/" + unique("opts"))
    secret = tmp_path / "secret.txt"
    secret.write_text("first-secret\n")
    proc = ok(broker, "connections", "create-oidc", org, "--issuer", issuer, "--client-id", "c1",
              "--client-secret-file", str(secret), "--option", "response_mode=form_post",
              "--option", "allow_unverified_email=true", "--map", "email=upn",
              "--map", "groups=roles")
    fields = fields_of(proc.stdout)
    conn = fields["ID"]
    assert pairs(fields["OPTIONS"]) == {"response_mode": "form_post",
                                        "allow_unverified_email": "true"}
    assert pairs(fields["ATTRIBUTE MAPPING"]) == {"email": "upn", "groups": "roles"}
    # true went as a JSON boolean, the rest as strings.
    got = ok_json(broker, "connections", "get", conn)
    assert got["options"] == {"response_mode": "form_post", "allow_unverified_email": True}
    assert got["attribute_mapping"] == {"email": "upn", "groups": "roles"}

    fields = fields_of(ok(broker, "connections", "get", conn).stdout)
    assert pairs(fields["OPTIONS"]) == {"response_mode": "form_post",
                                        "allow_unverified_email": "true"}
    assert pairs(fields["ATTRIBUTE MAPPING"]) == {"email": "upn", "groups": "roles"}

    # A change merges key by key; an empty value puts a key back to its default.
    proc = ok(broker, "connections", "update", conn, "--name", "Entra",
              "--option", "token_endpoint_auth_method=client_secret_post",
              "--option", "response_mode=", "--map", "groups=", "--map", "name=displayName")
    fields = fields_of(proc.stdout)
    assert fields["ID"] == conn and fields["NAME"] == "Entra"
    assert pairs(fields["OPTIONS"]) == {"allow_unverified_email": "true",
                                        "token_endpoint_auth_method": "client_secret_post"}
    assert pairs(fields["ATTRIBUTE MAPPING"]) == {"email": "upn", "name": "displayName"}
    got = ok_json(broker, "connections", "get", conn)
    assert got["options"] == {"allow_unverified_email": True,
                              "token_endpoint_auth_method": "client_secret_post"}
    assert got["attribute_mapping"] == {"email": "upn", "name": "displayName"}
    # --json prints the broker's answer as it is.
    raw = ok_json(broker, "connections", "update", conn, "--option", "allow_unverified_email=")
    assert raw["options"] == {"token_endpoint_auth_method": "client_secret_post"}
    assert raw["oidc"]["discovered"]["jwks_uri"] == issuer + "/jwks"

    # Everything removed: the rows stay, as "-".
    fields = fields_of(ok(broker, "connections", "update", conn, "--option",
                          "token_endpoint_auth_method=", "--map", "email=", "--map",
                          "name=").stdout)
    assert fields["OPTIONS"] == "-" and fields["ATTRIBUTE MAPPING"] == "-"

    # A new secret and scope: the secret is sent, never shown; discovery is checked again.
    discovery = f"/{issuer.rsplit('/', 1)[1]}/.well-known/openid-configuration"
    before = oidc_provider.hits(discovery)
    secret.write_text("second-secret\n")
    proc = ok(broker, "connections", "update", conn, "--client-secret-file", str(secret),
              "--scope", "openid email")
    assert "second-secret" not in proc.stdout + proc.stderr
    assert fields_of(proc.stdout)["SCOPES"] == "openid, email"
    assert oidc_provider.hits(discovery) == before + 1

    # What the broker refuses: its error, exit 1, nothing changed.
    for args, says in [
        (["--option", "response_mode=fragment"], "options.response_mode must be one of"),
        (["--option", "bogus=1"], "options.bogus is not an option of oidc connections"),
        (["--option", "allow_unverified_email=yes"], "allow_unverified_email must be true or false"),
        (["--map", "shoe_size=size"], "attribute_mapping.shoe_size is not a profile field"),
        # The NameID is SAML's.
        (["--map", "email=$nameid"], "attribute_mapping.email: names starting with $ are reserved"),
    ]:
        refused = run(broker, "connections", "update", conn, *args)
        assert refused.returncode == 1, (args, refused.stdout, refused.stderr)
        assert refused.stderr.startswith("ssoctl: 400 invalid_request: ") and says in refused.stderr, \
            refused.stderr
        assert refused.stdout == ""
    refused = run(broker, "connections", "create-oidc", org, "--issuer", issuer, "--client-id",
                  "c2", "--client-secret", "s", "--option", "response_mode=fragment")
    assert refused.returncode == 1 and "options.response_mode must be one of" in refused.stderr
    got = ok_json(broker, "connections", "get", conn)
    assert got["options"] == {} and got["attribute_mapping"] == {}
    ok(broker, "connections", "delete", conn)


def test_saml_connection_takes_a_mapping_and_no_oidc_option(broker, org, idp_cert):
    entity = "https://idp.example.com/" + unique("m")
    refused = run(broker, "connections", "create-saml", org, "--entity-id", entity,
                  "--sso-url", "https://idp.example.com/sso", "--cert-file", str(idp_cert),
                  "--option", "response_mode=form_post")
    assert refused.returncode == 1
    assert "options.response_mode is not an option of saml connections" in refused.stderr
    proc = ok(broker, "connections", "create-saml", org, "--entity-id", entity,
              "--sso-url", "https://idp.example.com/sso", "--cert-file", str(idp_cert),
              "--map", "email=http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn")
    fields = fields_of(proc.stdout)
    assert fields["OPTIONS"] == "-"
    assert fields["ATTRIBUTE MAPPING"] == \
        "email=http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
    # OIDC settings do not apply to it: the broker says so.
    refused = run(broker, "connections", "update", fields["ID"], "--client-id", "x")
    assert refused.returncode == 1 and "oidc settings do not apply" in refused.stderr
    # A field from the NameID: "$nameid", the one reserved '$' name.
    ok(broker, "connections", "update", fields["ID"], "--map", "name=$nameid")
    got = ok_json(broker, "connections", "get", fields["ID"])
    assert got["attribute_mapping"]["name"] == "$nameid", got
    refused = run(broker, "connections", "update", fields["ID"], "--map", "name=$uid")
    assert refused.returncode == 1, refused.stdout
    assert "attribute_mapping.name: names starting with $ are reserved; the only one is " \
           "$nameid (the NameID), for saml connections" in refused.stderr, refused.stderr
    ok(broker, "connections", "delete", fields["ID"])


def test_saml_connection_from_metadata_file(broker, org, idp_cert, tmp_path):
    pem = idp_cert.read_text()
    der_b64 = "".join(l for l in pem.splitlines() if l and not l.startswith("-----"))
    base64.b64decode(der_b64)  # a well-formed certificate body
    entity = "https://idp.example.org/" + unique("m")
    metadata = tmp_path / "idp-metadata.xml"
    metadata.write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data><ds:X509Certificate>{der_b64}</ds:X509Certificate></ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
                            Location="https://idp.example.org/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
""")
    created = ok_json(broker, "connections", "create-saml", org, "--metadata-file", str(metadata))
    assert created["id"].startswith("conn_") and created["type"] == "saml"
    assert created["organization_id"] == org
    assert created["sp"]["acs_url"] == f"{broker.url}/sso/saml/{created['id']}/acs"
    # The same metadata through stdin.
    again = ok_json(broker, "connections", "create-saml", org, "--metadata-file", "-",
                    stdin=metadata.read_text())
    assert again["id"].startswith("conn_") and again["id"] != created["id"]


def test_a_file_that_is_not_a_certificate_is_refused_before_any_request(broker, org, tmp_path):
    bogus = tmp_path / "not-a-cert.pem"
    bogus.write_text("hello\n")
    proc = run(broker, "connections", "create-saml", org, "--entity-id", "e",
               "--sso-url", "https://idp.example.com/sso", "--cert-file", str(bogus))
    assert proc.returncode == 1 and str(bogus) in proc.stderr
    proc = run(broker, "connections", "create-saml", org, "--metadata-file",
               str(tmp_path / "missing.xml"))
    assert proc.returncode == 1 and "missing.xml" in proc.stderr


# ---- errors, credentials, the other commands ----------------------------------------------------

def test_api_errors_exit_1_with_status_and_description(broker):
    proc = run(broker, "orgs", "get", "org_doesnotexist")
    assert proc.returncode == 1 and proc.stdout == ""
    assert re.match(r"ssoctl: 404 \w+: \S", proc.stderr), proc.stderr
    proc = run(broker, "domains", "add", "org_doesnotexist", unique("x") + ".com")
    assert proc.returncode == 1
    assert re.match(r"ssoctl: 4\d\d \w+: \S", proc.stderr), proc.stderr


def test_an_unreachable_broker_is_named(broker):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    proc = run(broker, "--url", url, "orgs", "list")
    assert proc.returncode == 1
    assert url in proc.stderr and proc.stdout == ""


def test_credentials_from_the_data_dir_file(broker, tmp_path):
    client_id, secret = admin_credentials(broker)
    env = {k: v for k, v in broker.env.items() if not k.startswith("SSO_ADMIN_")}
    (tmp_path / "admin-credentials").write_text(
        f"SSO_ADMIN_CLIENT_ID={client_id}\nSSO_ADMIN_CLIENT_SECRET={secret}\n")
    assert run(broker, "--data-dir", str(tmp_path), "orgs", "list", env=env).returncode == 0
    env["SSO_DATA_DIR"] = str(tmp_path)
    assert run(broker, "orgs", "list", env=env).returncode == 0

    (tmp_path / "admin-credentials").write_text(
        f"SSO_ADMIN_CLIENT_ID={client_id}\nSSO_ADMIN_CLIENT_SECRET=wrong-{uuid.uuid4().hex}\n")
    proc = run(broker, "orgs", "list", env=env)
    assert proc.returncode == 1
    assert re.match(r"ssoctl: 401 invalid_client: ", proc.stderr), proc.stderr
    assert "wrong-" not in proc.stderr

    env["SSO_DATA_DIR"] = str(tmp_path / "nowhere")
    proc = run(broker, "orgs", "list", env=env)
    assert proc.returncode == 1 and "admin-credentials" in proc.stderr


def test_clients_secret_is_shown_once(broker):
    created = ok_json(broker, "clients", "create", "--name", unique("app "),
                      "--redirect-uri", "https://tenant.example.com/login/callback",
                      "--redirect-uri", "https://tenant.example.com/cb2")
    assert created["id"].startswith("cli_") and created["client_secret"]
    assert created["redirect_uris"] == ["https://tenant.example.com/login/callback",
                                        "https://tenant.example.com/cb2"]
    listed = ok(broker, "clients", "list").stdout
    assert created["id"] in listed and created["client_secret"] not in listed
    got = ok(broker, "clients", "get", created["id"]).stdout
    assert created["client_id"] in got and created["client_secret"] not in got
    ok(broker, "clients", "delete", created["id"])

    proc = ok(broker, "clients", "create", "--name", unique("app "),
              "--redirect-uri", "https://tenant.example.com/login/callback")
    assert "CLIENT SECRET" in proc.stdout and "not shown again" in proc.stderr


def test_events_table_and_json(broker, org):
    header, _ = table(ok(broker, "events", "--limit", "5").stdout)
    assert header[:2] == ["TIME", "RESULT"]
    listed = ok_json(broker, "events", "--org", org, "--limit", "3")
    assert isinstance(listed["data"], list) and len(listed["data"]) <= 3


def utc(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def test_events_outcome_since_and_until_filter_on_the_broker(broker, sim):
    """A success and a failure through the IdP simulator; each filter of ssoctl events reaches
    the broker as the API's own query and answers the same as it."""
    start = int(time.time()) - 1
    for scenario, says in (("success", "code"), ("wrong_audience", "error")):
        login = Login(broker, sim)
        signed = login.post(scenario=scenario)
        assert signed.status_code == 200, signed.text[:300]
        assert says in query_of(login.acs(signed)), scenario
    mine = broker.api("GET", f"/events?organization_id=org_test&since={start}").json()["data"]
    assert sorted(e["outcome"] for e in mine) == ["failure", "success"], mine

    for outcome in ("success", "failure"):
        listed = ok_json(broker, "events", "--org", "org_test", "--outcome", outcome, "--since",
                         "10m")["data"]
        assert [e["id"] for e in listed] == [e["id"] for e in mine if e["outcome"] == outcome]
        header, rows = table(ok(broker, "events", "--outcome", outcome).stdout)
        assert rows and all(row[header.index("RESULT")] == outcome for row in rows), rows
    # --since: a UTC time at or before the logins takes both, one after them neither.
    assert ok_json(broker, "events", "--org", "org_test", "--since", utc(start)) == \
        broker.api("GET", f"/events?organization_id=org_test&since={start}&page_size=50").json()
    assert ok_json(broker, "events", "--since", utc(int(time.time()) + 3600))["data"] == []
    # --until: before the logins, none of them; an hour ahead, both; with --since, a window.
    before = ok_json(broker, "events", "--until", utc(start))["data"]
    assert not {e["id"] for e in mine} & {e["id"] for e in before}
    window = ok_json(broker, "events", "--org", "org_test", "--since", "1h", "--until",
                     utc(int(time.time()) + 3600))["data"]
    assert {e["id"] for e in mine} <= {e["id"] for e in window}
    assert ok_json(broker, "events", "--since", "1h", "--until", "2h")["data"] == []


def test_audit_since_and_until_on_the_broker(broker, org):
    start = int(time.time()) - 1
    ok(broker, "orgs", "update", org, "--name", unique("audited "))
    changed = [row for row in ok_json(broker, "audit", "--since", "5m")["data"]
               if row["action"] == f"PATCH /api/v1/organizations/{org}"]
    assert changed, "the change is in the last 5 minutes"
    mine = ok_json(broker, "audit", "--since", utc(start))
    assert mine == broker.api("GET", f"/audit?since={start}&page_size=50").json()
    assert changed[0]["id"] in {row["id"] for row in mine["data"]}
    assert ok_json(broker, "audit", "--until", "1970-01-01T00:00:01Z")["data"] == []
    assert ok_json(broker, "audit", "--since", utc(int(time.time()) + 3600))["data"] == []
    older = ok_json(broker, "audit", "--until", utc(start), "--limit", "10000")["data"]
    assert not {row["id"] for row in mine["data"]} & {row["id"] for row in older}
    ahead = ok_json(broker, "audit", "--until", utc(int(time.time()) + 3600))["data"]
    assert changed[0]["id"] in {row["id"] for row in ahead}


def test_keys_rotate_prints_json_or_the_error(broker):
    proc = run(broker, "keys", "rotate")
    if proc.returncode == 0:
        assert isinstance(json.loads(proc.stdout), dict)
    else:
        assert proc.returncode == 1
        assert re.match(r"ssoctl: \d{3} \w+", proc.stderr), proc.stderr


def test_oidc_connection_with_private_key_jwt_needs_no_secret_and_shows_its_jwks_uri(
        broker, org, oidc_provider):
    issuer = oidc_provider.issuer("/" + unique("pkjwt"))
    # Without a secret: a draft, whose enabling the broker refuses, saying what is missing.
    draft = fields_of(ok(broker, "connections", "create-oidc", org, "--issuer", issuer,
                         "--client-id", "c1").stdout)
    refused = run(broker, "connections", "enable", draft["ID"])
    assert refused.returncode == 1 and "oidc.client_secret is missing" in refused.stderr, \
        refused.stderr
    proc = ok(broker, "connections", "create-oidc", org, "--issuer", issuer, "--client-id", "c1",
              "--option", "token_endpoint_auth_method=private_key_jwt")
    fields = fields_of(proc.stdout)
    assert fields["CLIENT JWKS URI"] == f"{broker.url}/sso/oidc/{fields['ID']}/jwks"
    got = ok_json(broker, "connections", "get", fields["ID"])
    assert got["oidc"]["client_secret_set"] is False
    assert got["oidc"]["client_certificate"].startswith("-----BEGIN CERTIFICATE-----")


def test_portal_links_create_list_revoke(broker, org):
    proc = ok(broker, "portal-links", "create", org)
    fields = fields_of(proc.stdout)
    link_id, location = fields["ID"], fields["LOCATION"]
    assert link_id.startswith("pl_") and "/portal/start#" in location
    token = location.split("#", 1)[1]
    short = ok_json(broker, "portal-links", "create", org, "--expires-in", "300")
    assert short["id"].startswith("pl_") and short["organization_id"] == org

    header, rows = table(ok(broker, "portal-links", "list", org).stdout)
    assert header == ["ID", "CREATED", "EXPIRES", "USED"]
    assert {link_id, short["id"]} <= {r[0] for r in rows}
    listed = ok(broker, "--json", "portal-links", "list", org).stdout
    assert token not in listed and "location" not in listed

    proc = run(broker, "portal-links", "create", org, "--expires-in", "60")
    assert proc.returncode == 2 and "--expires-in" in proc.stderr
    ok(broker, "portal-links", "revoke", org, short["id"])
    assert short["id"] not in ok(broker, "portal-links", "list", org).stdout
    proc = run(broker, "portal-links", "revoke", org, short["id"])
    assert proc.returncode == 1 and "404" in proc.stderr


# ---- the commands of issue 20 --------------------------------------------------------------------

def authenticates(broker, client_id, secret):
    """Redeems a code that does not exist: invalid_grant means the client authenticated."""
    r = broker.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": "no-such-code-" + uuid.uuid4().hex,
        "redirect_uri": "https://tenant.example.com/login/callback", "code_verifier": "v" * 43},
        auth=(client_id, secret))
    assert r.status_code in (400, 401), (r.status_code, r.text)
    return r.status_code == 400


def test_clients_update_adds_and_removes_redirect_uris(broker):
    a, b, c = ("https://tenant.example.com/login/callback", "https://tenant.example.com/b",
               "http://localhost:3000/callback")
    client = ok_json(broker, "clients", "create", "--name", unique("app "), "--redirect-uri", a)
    cid = client["id"]
    fields = fields_of(ok(broker, "clients", "update", cid, "--add-redirect-uri", b).stdout)
    assert fields["ID"] == cid and fields["REDIRECT URIS"] == f"{a}, {b}"
    assert "CLIENT SECRET" not in fields
    # --json: the PATCH's answer as it is; a URI already there stays once.
    raw = ok_json(broker, "clients", "update", cid, "--add-redirect-uri", c,
                  "--add-redirect-uri", a)
    assert raw == broker.api("GET", f"/clients/{cid}").json()
    assert raw["redirect_uris"] == [a, b, c]
    raw = ok_json(broker, "clients", "update", cid, "--remove-redirect-uri", a,
                  "--remove-redirect-uri", c, "--name", "Renamed app")
    assert raw["redirect_uris"] == [b] and raw["name"] == "Renamed app"
    # Removing a URI the client does not have: a usage error naming it; nothing changes.
    proc = run(broker, "clients", "update", cid, "--remove-redirect-uri", a,
               "--add-redirect-uri", c)
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"--remove-redirect-uri {a}: not a redirect URI of {cid}" in proc.stderr, proc.stderr
    assert "ssoctl clients update --help" in proc.stderr
    # The broker's checks, as on create: exit 1 with its reason, nothing changes.
    for bad in ["http://tenant.example.com/cb", "https://tenant.example.com/cb#frag", "/cb",
                "https://tenant.example.com/\x01cb", "https://" + "a" * 3000 + ".example.com/"]:
        proc = run(broker, "clients", "update", cid, "--add-redirect-uri", bad)
        assert proc.returncode == 1 and proc.stdout == "", (bad, proc.stdout, proc.stderr)
        assert proc.stderr.startswith("ssoctl: 400 invalid_request: redirect_uris"), proc.stderr
    assert broker.api("GET", f"/clients/{cid}").json()["redirect_uris"] == [b]
    # Every URI removed: the client has none.
    assert ok_json(broker, "clients", "update", cid, "--remove-redirect-uri", b)[
        "redirect_uris"] == []
    proc = run(broker, "clients", "update", "cli_doesnotexist", "--add-redirect-uri", a)
    assert proc.returncode == 1 and re.match(r"ssoctl: 404 \w+: ", proc.stderr), proc.stderr
    proc = run(broker, "clients", "update", "cli_doesnotexist", "--name", "x")
    assert proc.returncode == 1 and "404" in proc.stderr
    ok(broker, "clients", "delete", cid)


def test_clients_rotate_secret_prints_the_new_secret_once(broker):
    client = ok_json(broker, "clients", "create", "--name", unique("app "),
                     "--redirect-uri", "https://tenant.example.com/login/callback")
    cid, first = client["id"], client["client_secret"]
    proc = ok(broker, "clients", "rotate-secret", cid)
    fields = fields_of(proc.stdout)
    second = fields["CLIENT SECRET"]
    assert fields["ID"] == cid and fields["CLIENT ID"] == cid and second not in (first, "-")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", fields["PREVIOUS SECRET EXPIRES"])
    assert "not shown again" in proc.stderr
    assert f"works until {fields['PREVIOUS SECRET EXPIRES']}" in proc.stderr
    assert second not in ok(broker, "clients", "get", cid).stdout
    assert authenticates(broker, cid, second) and authenticates(broker, cid, first)
    # --overlap 7d, as the raw JSON answer.
    rotated = ok_json(broker, "clients", "rotate-secret", cid, "--overlap", "7d")
    assert set(rotated) == {"id", "client_id", "client_secret", "previous_secret_expires_at"}
    third = rotated["client_secret"]
    ends = calendar.timegm(time.strptime(rotated["previous_secret_expires_at"],
                                         "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(ends - time.time() - 7 * 86400) < 10
    assert authenticates(broker, cid, third) and authenticates(broker, cid, second)
    assert not authenticates(broker, cid, first)
    # --overlap 0: the previous secret stops at once.
    proc = ok(broker, "clients", "rotate-secret", cid, "--overlap", "0")
    fourth = fields_of(proc.stdout)["CLIENT SECRET"]
    assert "PREVIOUS SECRET EXPIRES" not in fields_of(proc.stdout)
    assert "The previous secret no longer works." in proc.stderr
    assert authenticates(broker, cid, fourth) and not authenticates(broker, cid, third)
    # What the broker refuses: exit 1 with its reason.
    proc = run(broker, "clients", "rotate-secret", "cli_doesnotexist")
    assert proc.returncode == 1 and re.match(r"ssoctl: 404 \w+: ", proc.stderr), proc.stderr
    admin_id = admin_credentials(broker)[0]
    proc = run(broker, "clients", "rotate-secret", admin_id)
    assert proc.returncode == 1 and proc.stderr.startswith("ssoctl: 409 conflict: "), proc.stderr
    assert ok(broker, "orgs", "list")  # the admin's credentials still work
    ok(broker, "clients", "delete", cid)


@pytest.mark.parametrize("overlap,seconds", [("90m", 5400), ("24h", 86400), ("3600", 3600),
                                             ("30d", 2592000), ("45s", 45)])
def test_clients_rotate_secret_overlap_units(broker, overlap, seconds):
    cid = ok_json(broker, "clients", "create", "--name", unique("app "),
                  "--redirect-uri", "https://tenant.example.com/login/callback")["id"]
    rotated = ok_json(broker, "clients", "rotate-secret", cid, "--overlap", overlap)
    ends = calendar.timegm(time.strptime(rotated["previous_secret_expires_at"],
                                         "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(ends - time.time() - seconds) < 10
    ok(broker, "clients", "delete", cid)


def test_orgs_update(broker):
    created = ok_json(broker, "orgs", "create", "--name", unique("Before "))
    oid = created["id"]
    name, external = unique("After <script>x</script> "), unique("ext-")
    fields = fields_of(ok(broker, "orgs", "update", oid, "--name", name).stdout)
    assert fields["ID"] == oid and fields["NAME"] == name and "EXTERNAL ID" not in fields
    raw = ok_json(broker, "orgs", "update", oid, "--external-id", external)
    assert raw == broker.api("GET", f"/organizations/{oid}").json()
    assert raw["display_name"] == name and raw["external_id"] == external
    # Another organization's external id: the broker's 409, nothing changes.
    other = ok_json(broker, "orgs", "create", "--name", unique("Other "))["id"]
    proc = run(broker, "orgs", "update", other, "--external-id", external)
    assert proc.returncode == 1 and proc.stderr.startswith("ssoctl: 409 conflict: "), proc.stderr
    assert ok_json(broker, "orgs", "get", other)["external_id"] is None
    proc = run(broker, "orgs", "update", "org_doesnotexist", "--name", "x")
    assert proc.returncode == 1 and re.match(r"ssoctl: 404 \w+: ", proc.stderr), proc.stderr
    for org_id in (oid, other):
        ok(broker, "orgs", "delete", org_id)


def test_connections_list_shows_status_type_and_certificate_expiry(broker, idp_cert,
                                                                    oidc_provider):
    oid = ok_json(broker, "orgs", "create", "--name", unique("Conns "))["id"]
    header, rows = table(ok(broker, "connections", "list", oid).stdout)
    assert header == ["ID", "NAME", "TYPE", "STATUS", "CERTIFICATE EXPIRES"] and rows == []
    saml = ok_json(broker, "connections", "create-saml", oid, "--entity-id",
                   "https://idp.example.com/" + unique("l"), "--sso-url",
                   "https://idp.example.com/sso", "--cert-file", str(idp_cert))
    oidc = ok_json(broker, "connections", "create-oidc", oid, "--issuer",
                   oidc_provider.issuer("/" + unique("list")), "--client-id", "c1",
                   "--client-secret", "s")
    ok(broker, "connections", "enable", saml["id"])
    expires = [d["not_after"] for d in saml["saml"]["idp_certificate_details"]]
    assert len(expires) == 1
    header, rows = table(ok(broker, "connections", "list", oid).stdout)
    by_id = {r[0]: r for r in rows}
    assert set(by_id) == {saml["id"], oidc["id"]}
    assert by_id[saml["id"]][2:] == ["saml", "active", expires[0]]
    assert by_id[oidc["id"]][2:] == ["oidc", "draft", "-"]
    raw = ok_json(broker, "connections", "list", oid)
    assert raw == broker.api("GET", f"/organizations/{oid}/connections").json()
    assert {c["id"] for c in raw["data"]} == {saml["id"], oidc["id"]}
    proc = run(broker, "connections", "list", "org_doesnotexist")
    assert proc.returncode == 1 and re.match(r"ssoctl: 404 \w+: ", proc.stderr), proc.stderr
    ok(broker, "orgs", "delete", oid)


def test_read_commands_print_the_raw_json(broker, org):
    """--json prints exactly what the API answered (one page of a list as it came)."""
    client = ok_json(broker, "clients", "create", "--name", unique("raw "),
                     "--redirect-uri", "https://tenant.example.com/login/callback")
    ok(broker, "portal-links", "create", org)
    ok(broker, "domains", "add", org, unique("raw") + ".com")
    for args, path in [
        (["orgs", "get", org], f"/organizations/{org}"),
        (["clients", "get", client["id"]], f"/clients/{client['id']}"),
        (["domains", "list", org], f"/organizations/{org}/domains"),
        (["portal-links", "list", org], f"/organizations/{org}/portal_links"),
        (["connections", "list", org], f"/organizations/{org}/connections"),
    ]:
        assert ok_json(broker, *args) == broker.api("GET", path).json(), args
    ok(broker, "clients", "delete", client["id"])


COMPLETE = r"""
source "$1"
complete -p ssoctl
t() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _ssoctl
      printf '%s\n' "${COMPREPLY[*]}"; }
t ssoctl ''
t ssoctl cl
t ssoctl clients ''
t ssoctl --json connections ''
t ssoctl clients update cli_1 --
t ssoctl clients rotate-secret cli_1 --ov
t ssoctl portal-links create org_1 --
t ssoctl events --
t ssoctl help con
t ssoctl --url http : //127.0.0.1:1 orgs u
t ssoctl connections create-saml org_1 --cert-file "$2"/idp
t ssoctl connections create-saml org_1 --cert-file = "$2"/idp
t ssoctl orgs create --name ''
t ssoctl orgs get org_1 ''
"""


def test_bash_completion_from_the_command_table(broker, tmp_path):
    script = tmp_path / "ssoctl.bash"
    script.write_text(ok(broker, "completion", "bash").stdout)
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    (tmp_path / "idp-cert.pem").write_text("x")
    proc = subprocess.run(["bash", "-c", COMPLETE, "bash", str(script), str(tmp_path)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split("\n")
    assert lines[0] == "complete -F _ssoctl ssoctl"
    got = [line.split() for line in lines[1:]]
    groups = ["clients", "orgs", "domains", "connections", "events", "keys", "portal-links",
              "directories", "webhooks", "admins", "audit", "completion"]
    assert sorted(got[0]) == sorted(["help"] + groups)
    assert got[1] == ["clients"]
    # The subcommands the help lists, in its order.
    assert got[2] == [w[1] for w in COMMANDS if w[0] == "clients"]
    assert got[3] == [w[1] for w in COMMANDS if w[0] == "connections"]
    # Options: the globals, then the command's own (those its --help names).
    glob = ["--help", "--json", "--url", "--data-dir"]
    assert got[4] == glob + ["--name", "--add-redirect-uri", "--remove-redirect-uri",
                             "--initiate-login-uri"]
    assert got[5] == ["--overlap"]
    assert got[6] == glob + ["--expires-in"]
    assert got[7] == glob + ["--org", "--connection", "--outcome", "--since", "--until", "--limit"]
    assert got[8] == ["connections"]
    assert got[9] == ["update"]
    assert got[10] == got[11] == [str(tmp_path / "idp-cert.pem")]
    assert got[12] == [] and got[13] == []
    # Each command's options in the script are those its usage line names.
    offered = {key: set(words.split()) for key, words in
               re.findall(r"'opts:([a-z -]+)'\) echo '([^']*)'", script.read_text())}
    assert len(offered) == len(COMMANDS)
    for words in COMMANDS:
        usage = ok(broker, *words, "--help").stdout.splitlines()[0]
        assert offered[" ".join(words)] == set(re.findall(r"--[a-z-]+", usage)) - set(glob), \
            words
