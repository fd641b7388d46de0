"""Helpers shared by the management API suites: error shapes, listings, database snapshots."""
import json
import os
import re
import sqlite3
import subprocess
import uuid

import requests


def suffix():
    return uuid.uuid4().hex[:10]


def assert_json_error(r, status=None, error=None):
    """A refused call: a 4xx (the given status when named), a JSON object with non-empty
    error strings (the given error code when named)."""
    if status is None:
        assert 400 <= r.status_code < 500, (r.status_code, r.text[:500])
    else:
        assert r.status_code == status, (r.status_code, r.headers, r.text[:500])
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == "application/json", r.headers
    body = r.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("error"), str) and body["error"], body
    assert isinstance(body.get("error_description"), str) and body["error_description"], body
    if error is not None:
        assert body["error"] == error, body
    return body


def list_pages(broker, path, page_size=None, token=None):
    """Every item of a paginated listing, following next_page_token; also the pages seen."""
    items, pages, page_token = [], [], None
    for _ in range(2000):
        params = []
        if page_size is not None:
            params.append(f"page_size={page_size}")
        if page_token:
            params.append("page_token=" + requests.utils.quote(page_token, safe=""))
        query = path + (("&" if "?" in path else "?") + "&".join(params) if params else "")
        r = broker.api("GET", query, token=token)
        assert r.status_code == 200, (query, r.status_code, r.text)
        body = r.json()
        assert isinstance(body["data"], list), body
        pages.append(body["data"])
        items.extend(body["data"])
        page_token = body.get("next_page_token")
        if not page_token:
            return items, pages
    raise AssertionError(f"{path}: pagination did not end")


def list_all(broker, path, token=None):
    return list_pages(broker, path, token=token)[0]


def sqlite_files(data_dir):
    found = []
    for root, _, files in os.walk(data_dir):
        for name in files:
            path = os.path.join(root, name)
            try:
                with open(path, "rb") as f:
                    if f.read(16) == b"SQLite format 3\x00":
                        found.append(path)
            except OSError:
                pass
    return sorted(found)


def pg_counts(url):
    """Row count of every table of the PostgreSQL database at url, but the audit log's."""
    def psql(sql):
        out = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", url,
                              "-c", sql], check=True, capture_output=True, text=True, timeout=30)
        return [line.split("|") for line in out.stdout.splitlines() if line]
    tables = [row[0] for row in psql("SELECT table_name FROM information_schema.tables WHERE "
                                     "table_schema = 'public' AND table_name <> 'audit_log'")]
    if not tables:
        return {}
    union = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables)
    # Keyed as SQLite's tables are, so that callers need not know the engine.
    return {("sso.db", name): int(count) for name, count in psql(union)}


def db_counts(broker):
    """Row count of every table of every SQLite database under the data dir (or of the
    broker's PostgreSQL database), but the audit log's (a refused change is written there:
    that is its job)."""
    url = broker.env.get("SSO_DATABASE_URL")
    if url:
        counts = pg_counts(url)
        assert counts, f"no tables in {url}"
        return counts
    files = sqlite_files(broker.data_dir)
    assert files, f"no SQLite database under {broker.data_dir}"
    counts = {}
    for path in files:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            tables = [row[0] for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
            for table in (t for t in tables if t != "audit_log"):
                counts[(os.path.basename(path), table)] = db.execute(
                    f'SELECT count(*) FROM "{table}"').fetchone()[0]
        finally:
            db.close()
    return counts


def state(broker):
    """What a refused call must leave unchanged."""
    broker.token()  # mint (and cache) the admin token before the snapshot
    orgs = {}
    for org in list_all(broker, "/organizations"):
        domains = list_all(broker, f"/organizations/{org['id']}/domains")
        orgs[org["id"]] = (json.dumps(org, sort_keys=True),
                           sorted(json.dumps(d, sort_keys=True) for d in domains))
    return {"organizations": orgs, "db": db_counts(broker)}


def service_counter(broker, service, name):
    """A counter a service reported to the gateway's /metrics (sso_service_events_total); 0
    before its first increment."""
    r = broker.get("/metrics")
    assert r.status_code == 200, r.text
    found = re.search(r'^sso_service_events_total\{service="%s",name="%s"\} (\d+)$'
                      % (re.escape(service), re.escape(name)), r.text, re.M)
    return int(found.group(1)) if found else 0
