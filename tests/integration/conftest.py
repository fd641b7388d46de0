"""Integration fixtures: the real processes on loopback with ephemeral ports.

`Broker` starts `sso-supervisor` (which starts the gateway and every service) in a fresh data
dir, waits for /readyz, and tears everything down. Tests talk to it over HTTP like any client.
"""
import contextlib
import http.server
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SSO_BUILD_DIR", os.path.join(ROOT, "build"))
BIN = os.path.join(BUILD, "bin") if os.path.isabs(BUILD) else os.path.join(ROOT, BUILD, "bin")
SERVICES = ["token", "saml", "oidc", "directory", "scim"]
# SSO_TEST_PG=1: every broker's directory stores on PostgreSQL, a database of its own in one
# throw-away cluster per session (scripts/pg.sh), instead of SQLite in its data dir.
PG = os.environ.get("SSO_TEST_PG") == "1"
_pg = {"dir": None, "url": None, "databases": {}}


def _psql(url, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                   check=True, capture_output=True, timeout=60)


def pg_database(data_dir):
    """The URL of the database of data_dir's broker: made on first use (CREATE DATABASE), the
    same again for a broker restarted on that data dir. The cluster starts on the first call."""
    if _pg["url"] is None:
        _pg["dir"] = tempfile.mkdtemp(prefix="sso-pg-")
        out = subprocess.run([os.path.join(ROOT, "scripts", "pg.sh"), "start", _pg["dir"]],
                             check=True, capture_output=True, text=True, timeout=120)
        _pg["url"] = out.stdout.strip().splitlines()[-1]
    if data_dir not in _pg["databases"]:
        name = "sso_it_" + os.urandom(6).hex()
        _psql(_pg["url"], f"CREATE DATABASE {name}")
        _pg["databases"][data_dir] = (name, _pg["url"].rsplit("/", 1)[0] + "/" + name)
    return _pg["databases"][data_dir][1]


def pg_restart():
    """Restarts the session's cluster on its port (sessions cut), as a database restart."""
    subprocess.run([os.path.join(ROOT, "scripts", "pg.sh"), "restart", _pg["dir"]], check=True,
                   capture_output=True, timeout=60)


def pg_drop(data_dir):
    name, _ = _pg["databases"].pop(data_dir, (None, None))
    if name:
        _psql(_pg["url"], f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _pg_literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return "'\\x%s'::bytea" % bytes(value).hex()
    return "'" + str(value).replace("'", "''") + "'"


def _pg_inline(sql, params):
    """sql with each ? outside quotes replaced by its parameter as a literal (tests only)."""
    values = iter(params)
    parts = re.split(r"('(?:[^']|'')*'|\"[^\"]*\")", sql)
    return "".join(part if i % 2 else part.replace("?", "\0").replace(
        "\0", "{}").format(*[_pg_literal(next(values)) for _ in range(part.count("?"))])
        for i, part in enumerate(parts))


class PgCursor:
    """What tests read of a sqlite3 cursor: the rows (integers as int, NULL as None), fetchone,
    fetchall, iteration and rowcount."""

    def __init__(self, url, script):
        # The script on stdin, in one transaction: executemany's may be long.
        out = subprocess.run(["psql", "-X", "-A", "-t", "-1", "-F", "\x1f", "-P", "null=\u2400",
                              "-v", "ON_ERROR_STOP=1", "-d", url, "-f", "-"], input=script,
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"psql: {out.stderr.strip()}\n{script[:500]}")
        self.rows, self.rowcount = [], -1
        for line in out.stdout.splitlines():
            tag = re.fullmatch(r"(?:INSERT \d+|UPDATE|DELETE) (\d+)", line)
            if tag:
                self.rowcount = int(tag.group(1))
            elif line:
                self.rows.append(tuple(None if v == "\u2400" else int(v)
                                       if re.fullmatch(r"-?\d+", v) else v
                                       for v in line.split("\x1f")))

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def fetchall(self):
        return list(self.rows)

    def __iter__(self):
        return iter(self.rows)


class PgConnection:
    """A little of sqlite3's Connection over psql, for tests that read or change rows of the
    store directly: execute and executemany with ? placeholders; every statement commits on
    its own, so commit and close have nothing to do."""

    def __init__(self, url):
        self.url = url

    def execute(self, sql, params=()):
        return PgCursor(self.url, _pg_inline(sql, params))

    def executemany(self, sql, rows):
        return PgCursor(self.url, ";\n".join(_pg_inline(sql, row) for row in rows))

    def commit(self):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture(scope="session", autouse=True)
def pg_cluster():
    """Stops the session's cluster (when one was started) at the end."""
    yield
    if _pg["dir"]:
        subprocess.run([os.path.join(ROOT, "scripts", "pg.sh"), "stop", _pg["dir"]],
                       capture_output=True, timeout=60)
        shutil.rmtree(_pg["dir"], ignore_errors=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc, kill):
    """SIGINT, and kill() when the process has not stopped within 15 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            kill()
            proc.wait()


def tail(path, lines):
    try:
        with open(path, "rb") as f:
            return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")
    except OSError:
        return ""


class Broker:
    def __init__(self, scale=None, extra_env=None, data_dir=None, services=None):
        self.http_port = free_port()
        self.bus_port = free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.bus_endpoint = f"tcp://127.0.0.1:{self.bus_port}"
        self._tmp = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="sso-it-")
            data_dir = self._tmp.name
        self.data_dir = data_dir
        self.bin_dir = BIN
        self.admin_id = "it-admin"
        self.admin_secret = "it-secret-" + os.urandom(8).hex()
        self.env = dict(os.environ)
        self.env.update({
            "SSO_PUBLIC_URL": self.url,
            "SSO_HTTP_ADDR": f"127.0.0.1:{self.http_port}",
            "SSO_BROKER_ENDPOINT": self.bus_endpoint,
            "SSO_DATA_DIR": self.data_dir,
            "SSO_ADMIN_CLIENT_ID": self.admin_id,
            "SSO_ADMIN_CLIENT_SECRET": self.admin_secret,
            "SSO_ALLOW_PRIVATE_UPSTREAMS": "1",
            "SSO_WEB_DIR": os.path.join(ROOT, "web", "static"),
            "SSO_REQUEST_TIMEOUT_MS": "5000",
            # As `make run`: the IdP simulator and its Test Organization are on.
            "SSO_ENVIRONMENT": "development",
        })
        if PG:
            self.env["SSO_DATABASE_URL"] = pg_database(self.data_dir)
        self.env.update(extra_env or {})
        self.scale = scale or {}
        self.services = services  # the supervisor's --services; None: all, the gateway too
        self.proc = None
        self.log_path = os.path.join(self.data_dir, "broker.log")
        self._token = None

    def start(self, timeout=30):
        args = [os.path.join(self.bin_dir, "sso-supervisor"), "--bin-dir", self.bin_dir]
        if self.services:
            args += ["--services", self.services]
        for name, count in self.scale.items():
            args += ["--scale", f"{name}={count}"]
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"supervisor exited early:\n{self.log_tail()}")
            try:
                if requests.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"not ready after {timeout}s:\n{self.log_tail()}")

    def stop(self):
        if self.proc:
            stop_process(self.proc, lambda: os.killpg(self.proc.pid, signal.SIGKILL))
            self._log.close()
        self.proc = None

    def cleanup(self):
        self.stop()
        if self._tmp:
            if PG:
                pg_drop(self.data_dir)
            self._tmp.cleanup()

    def db(self):
        """The store, for tests that read or change its rows directly: a sqlite3 connection
        to the data dir's sso.db, or on PostgreSQL the same calls over psql."""
        url = self.env.get("SSO_DATABASE_URL")
        if url:
            return PgConnection(url)
        return sqlite3.connect(os.path.join(self.data_dir, "sso.db"), timeout=10)

    def log_tail(self, lines=60):
        return tail(self.log_path, lines)

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    # ---- processes ---------------------------------------------------------------------------
    def pids(self, service):
        run = os.path.join(self.data_dir, "run")
        found = []
        if os.path.isdir(run):
            for name in sorted(os.listdir(run)):
                if name.startswith(service + "-") and name.endswith(".pid"):
                    try:
                        with open(os.path.join(run, name)) as f:
                            found.append(int(f.read().strip()))
                    except (OSError, ValueError):
                        pass
        return found

    def wait_pid(self, service, other_than=None, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            pids = [p for p in self.pids(service) if p != other_than]
            if pids:
                return pids[0]
            time.sleep(0.05)
        raise AssertionError(f"no new {service} pid within {timeout}s:\n{self.log_tail()}")

    # ---- HTTP helpers -------------------------------------------------------------------------
    def get(self, path, **kw):
        kw.setdefault("timeout", 10)
        return requests.get(self.url + path, **kw)

    def post(self, path, **kw):
        kw.setdefault("timeout", 10)
        return requests.post(self.url + path, **kw)

    def token(self, fresh=False):
        if self._token is None or fresh:
            r = self.post("/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(self.admin_id, self.admin_secret))
            assert r.status_code == 200, r.text
            self._token = r.json()["access_token"]
        return self._token

    def api(self, method, path, body=None, token=None, raw=None, headers=None):
        h = {"Authorization": "Bearer " + (token or self.token())}
        if headers:
            h.update(headers)
        data = raw
        if body is not None:
            data = json.dumps(body)
            h["Content-Type"] = "application/json"
        return requests.request(method, self.url + "/api/v1" + path, data=data, headers=h,
                                timeout=10)


class Gateway:
    """One sso-gateway run by the test beside a Broker's supervisor (several gateways): its own
    HTTP port and broker endpoint, the Broker's data dir, keys and environment otherwise."""

    def __init__(self, broker, http_port=None, bus_port=None):
        self.http_port = http_port or free_port()
        self.bus_port = bus_port or free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.bus_endpoint = f"tcp://127.0.0.1:{self.bus_port}"
        self.env = dict(broker.env, SSO_HTTP_ADDR=f"127.0.0.1:{self.http_port}",
                        SSO_BROKER_ENDPOINT=self.bus_endpoint)
        self.log_path = os.path.join(broker.data_dir, f"gateway-{self.http_port}.log")
        self.proc = None

    def start(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([os.path.join(BIN, "sso-gateway")], env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        return self

    def readyz(self):
        """/readyz's status and body, or (None, None) when nothing answers."""
        try:
            r = requests.get(self.url + "/readyz", timeout=2)
            return r.status_code, r.json()
        except requests.RequestException:
            return None, None

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited early:\n{self.log_tail()}")
            if self.readyz()[0] == 200:
                return self
            time.sleep(0.05)
        raise RuntimeError(f"gateway not ready after {timeout}s: {self.readyz()}")

    def kill(self):
        """kill -9, as a crash."""
        self.proc.kill()
        self.proc.wait()
        self._log.close()
        self.proc = None

    def stop(self):
        if self.proc:
            stop_process(self.proc, self.proc.kill)
            self._log.close()
        self.proc = None

    def log_tail(self, lines=40):
        return tail(self.log_path, lines)


@pytest.fixture(scope="module")
def broker():
    b = Broker()
    try:
        b.start()
        yield b
    finally:
        b.cleanup()


@pytest.fixture
def fresh_broker():
    """A broker of the test's own, for tests that kill things."""
    created = []

    def make(**kw):
        b = Broker(**kw)
        created.append(b)
        return b.start()

    yield make
    for b in created:
        b.cleanup()


class Recorder:
    """A loopback HTTP server that answers `routes` (path -> (status, headers, body)) and
    counts every connection it accepts."""

    def __init__(self, routes):
        recorder = self
        self.connections = 0
        self.paths = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                recorder.paths.append(self.path)
                status, headers, body = routes.get(self.path, (404, {}, "not found"))
                data = body.encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            def get_request(self):
                accepted = super().get_request()
                recorder.connections += 1
                return accepted

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path, scheme="http"):
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class OidcProvider(Recorder):
    """A stand-in upstream OpenID Provider on loopback (plain http: the broker reaches it with
    SSO_ALLOW_PRIVATE_UPSTREAMS=1). `issuer(prefix)` publishes a discovery document every
    check accepts, and an empty JWKS, under the path prefix and returns the issuer;
    `serve(path, body, ...)` publishes any answer; `hits(path)` counts the requests."""

    def __init__(self):
        self.routes = {}
        super().__init__(self.routes)
        self.base = f"http://127.0.0.1:{self.port}"

    def serve(self, path, body, status=200, content_type="application/json", headers=None):
        if not isinstance(body, str):
            body = json.dumps(body)
        self.routes[path] = (status, {"Content-Type": content_type, **(headers or {})}, body)

    def discovery(self, issuer):
        return {
            "issuer": issuer, "authorization_endpoint": issuer + "/authorize",
            "token_endpoint": issuer + "/token", "jwks_uri": issuer + "/jwks",
            "userinfo_endpoint": issuer + "/userinfo", "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                      "private_key_jwt"],
            "response_modes_supported": ["query", "form_post"],
            "code_challenge_methods_supported": ["S256"],
        }

    def issuer(self, prefix, document=None):
        issuer = self.base + prefix
        self.serve(prefix + "/.well-known/openid-configuration", document or self.discovery(issuer))
        self.serve(prefix + "/jwks", {"keys": []})
        return issuer

    def hits(self, path):
        return self.paths.count(path)


@pytest.fixture(scope="module")
def oidc_provider():
    provider = OidcProvider()
    yield provider
    provider.close()


@contextlib.contextmanager
def two_gateways(services="directory,token,saml,oidc,scim", scale=None):
    """A cluster as issue 23 runs one: two gateways, each with its broker, and the services
    (the supervisor's, with scale) connected to both through SSO_BROKER_ENDPOINTS; one public
    URL (gateway A's), as behind a load balancer. Yields (broker, gateway A, gateway B)."""
    broker = Broker(services=services, scale=scale)
    b_http, b_bus = free_port(), free_port()
    broker.env["SSO_BROKER_ENDPOINTS"] = f"{broker.bus_endpoint},tcp://127.0.0.1:{b_bus}"
    a = Gateway(broker, broker.http_port, broker.bus_port)
    b = Gateway(broker, b_http, b_bus)
    try:
        a.start()
        b.start()
        broker.start()  # the services; ready when gateway A counts them all
        b.wait_ready()
        yield broker, a, b
    finally:
        for gateway in (a, b):
            gateway.stop()
        broker.cleanup()

