"""TLS to PostgreSQL (issue 23), against a real server: a throw-away cluster that serves TLS
(`SSO_PG_TLS=1 scripts/pg.sh start`, a certificate for 127.0.0.1 and localhost signed by a CA of
its own) and logs the test's role in by password (SCRAM).

A directory whose SSO_DATABASE_URL asks for `sslmode=verify-full` with the cluster's CA starts,
serves, and every one of its sessions is encrypted (the server's pg_stat_ssl says so); the same
directory with `sslmode=disable` is served too, in plain text, which proves both that the check
can fail and that the cluster accepts plain text: a client that fell back to it on a refusal
below would start. Each refusal stops the directory at start (a non-zero exit, not a signal)
with libpq's reason in its log: a CA that did not sign the server's certificate, a host name
the certificate does not carry, `sslmode=require` against a server without TLS, an
`sslrootcert` that is not there, a wrong password. The password in the URL never reaches a log.

Runs in every integration run, on SQLite or PostgreSQL: it starts its own cluster."""
import glob
import os
import shutil
import subprocess
import tempfile
import urllib.parse
from types import SimpleNamespace

import pytest

from conftest import BIN, ROOT, Broker, pg_database, pg_drop

PG_SH = os.path.join(ROOT, "scripts", "pg.sh")
ROLE = "sso_pw"

pytestmark = pytest.mark.skipif(
    not (glob.glob("/usr/lib/postgresql/*/bin/initdb") or shutil.which("initdb")),
    reason="no initdb: PostgreSQL is not installed (scripts/deps.sh installs it)")


def _psql(url, sql):
    out = subprocess.run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                         check=True, capture_output=True, text=True, timeout=60)
    return out.stdout.splitlines()


@pytest.fixture(scope="module")
def tls_cluster():
    """The TLS cluster: its superuser URL (trust, over TCP), port, CA file, and a role that
    logs in by password, with a database of its own."""
    work = tempfile.mkdtemp(prefix="sso-pg-tls-")
    try:
        out = subprocess.run([PG_SH, "start", work], env=dict(os.environ, SSO_PG_TLS="1"),
                             check=True, capture_output=True, text=True, timeout=120)
        admin_url = out.stdout.strip().splitlines()[-1]
        ca = subprocess.run([PG_SH, "ca", work], check=True, capture_output=True, text=True,
                            timeout=30).stdout.strip()
        password = "pw" + os.urandom(12).hex()
        _psql(admin_url, f"CREATE ROLE {ROLE} LOGIN PASSWORD '{password}' IN ROLE "
                         "sso_password_login")
        yield SimpleNamespace(work=work, admin_url=admin_url, ca=ca, password=password,
                              port=int(admin_url.rsplit(":", 1)[1].split("/", 1)[0]))
    finally:
        subprocess.run([PG_SH, "stop", work], capture_output=True, timeout=60)
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def database(tls_cluster):
    """A fresh database owned by the password role."""
    name = "sso_tls_" + os.urandom(6).hex()
    _psql(tls_cluster.admin_url, f"CREATE DATABASE {name} OWNER {ROLE}")
    yield name
    _psql(tls_cluster.admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def role_url(cluster, database, password=None, host="127.0.0.1", port=None, **params):
    """postgres://sso_pw:PASSWORD@host:port/database?params (values quoted)."""
    query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    return (f"postgres://{ROLE}:{password or cluster.password}@{host}:{port or cluster.port}/"
            f"{database}" + ("?" + query if query else ""))


def other_ca(directory):
    """A CA made here, which signed nothing the server holds."""
    ca = os.path.join(directory, "other-ca.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=another CA", "-keyout", os.path.join(directory, "other-ca.key"),
                    "-out", ca, "-addext", "basicConstraints=critical,CA:TRUE"],
                   check=True, capture_output=True, timeout=60)
    return ca


def directory_sessions(cluster, database):
    """pg_stat_ssl's ssl ('t' or 'f') for each session of sso-directory on database."""
    return _psql(cluster.admin_url,
                 "SELECT ssl FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) "
                 f"WHERE application_name = 'sso-directory' AND datname = '{database}' "
                 f"AND usename = '{ROLE}'")


@pytest.mark.parametrize("sslmode,encrypted", [("verify-full", "t"), ("disable", "f")])
def test_a_directory_serves_over_tls_when_the_url_asks(tls_cluster, database, sslmode, encrypted):
    url = role_url(tls_cluster, database, sslmode=sslmode, sslrootcert=tls_cluster.ca)
    broker = Broker(extra_env={"SSO_DATABASE_URL": url})
    try:
        broker.start()
        r = broker.api("POST", "/organizations", {"display_name": "Over TLS " + sslmode})
        assert r.status_code == 201, r.text
        org = broker.api("GET", "/organizations/" + r.json()["id"])
        assert org.status_code == 200 and org.json()["display_name"] == "Over TLS " + sslmode
        sessions = directory_sessions(tls_cluster, database)
        assert sessions and set(sessions) == {encrypted}, sessions
        log = broker.log_text()
        assert "database on PostgreSQL (SSO_DATABASE_URL) ready" in log
        assert tls_cluster.password not in log
    finally:
        broker.cleanup()


def start_directory_alone(data_dir, url):
    """sso-directory with SSO_DATABASE_URL = url, its bus nowhere (the database comes first):
    (exit status, its log) once it exits; a directory still running after 30 s fails."""
    env = dict(os.environ, SSO_DATA_DIR=str(data_dir), SSO_BROKER_ENDPOINT="tcp://127.0.0.1:1",
               SSO_ENVIRONMENT="development", SSO_DATABASE_URL=url)
    proc = subprocess.Popen([os.path.join(BIN, "sso-directory")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        log, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        log, _ = proc.communicate()
        pytest.fail(f"the directory kept running on {url!r}:\n{log}")
    return proc.returncode, log


def assert_refused(status, log, reason, secret):
    assert status > 0, (status, log)  # an exit, not a signal
    assert "cannot connect to PostgreSQL" in log and reason in log, log
    assert "could not start" in log, log
    assert "(SSO_DATABASE_URL) ready" not in log, log
    assert secret not in log, log


@pytest.mark.parametrize("case", ["another CA", "a name the certificate lacks", "no such CA file",
                                  "a wrong password"])
def test_the_directory_refuses_a_tls_connection_it_cannot_trust(tls_cluster, database, tmp_path,
                                                               case):
    password = tls_cluster.password
    if case == "another CA":
        url = role_url(tls_cluster, database, sslmode="verify-full",
                       sslrootcert=other_ca(str(tmp_path)))
        reason = "certificate verify failed"
    elif case == "a name the certificate lacks":
        # The server at 127.0.0.1, checked against a name its certificate does not carry.
        url = role_url(tls_cluster, database, host="db.example", hostaddr="127.0.0.1",
                       sslmode="verify-full", sslrootcert=tls_cluster.ca)
        reason = 'does not match host name "db.example"'
    elif case == "no such CA file":
        missing = os.path.join(str(tmp_path), "missing-ca.crt")
        url = role_url(tls_cluster, database, sslmode="verify-full", sslrootcert=missing)
        reason = f'root certificate file "{missing}" does not exist'
    else:
        password = "wrong" + os.urandom(8).hex()
        url = role_url(tls_cluster, database, password=password, sslmode="verify-full",
                       sslrootcert=tls_cluster.ca)
        reason = f'password authentication failed for user "{ROLE}"'
    status, log = start_directory_alone(tmp_path, url)
    assert_refused(status, log, reason, password)
    assert directory_sessions(tls_cluster, database) == []


def test_the_directory_refuses_a_server_without_tls_when_the_url_requires_it(tmp_path):
    # The default cluster of scripts/pg.sh (the session's, as SSO_TEST_PG uses it): no TLS.
    plain = pg_database(str(tmp_path))
    try:
        password = "pw" + os.urandom(12).hex()
        parts = urllib.parse.urlsplit(plain)
        url = urllib.parse.urlunsplit(parts._replace(
            netloc=f"{parts.username}:{password}@{parts.hostname}:{parts.port}",
            query="sslmode=require"))
        status, log = start_directory_alone(tmp_path / "data", url)
        assert_refused(status, log, "server does not support SSL, but SSL was required", password)
    finally:
        pg_drop(str(tmp_path))
