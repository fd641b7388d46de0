"""Who makes the bus keys: only the gateway (which holds the broker's secret) and `make run`'s
supervisor. A service started on an empty keys dir generates nothing: it waits, says so in
its log, and joins the bus as soon as the gateway has made the set, whichever starts first.
A gateway given a partial set refuses it, naming what is missing, instead of making another."""
import os
import subprocess
import time

import pytest
import requests
import zmq.auth

from conftest import BIN, Broker

WAITING = "waiting for the bus keys in"


@pytest.fixture
def processes():
    started = []

    def start(name, env, log_path):
        log = open(log_path, "ab")
        proc = subprocess.Popen([os.path.join(BIN, f"sso-{name}")], env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        started.append((proc, log))
        return proc

    yield start
    for proc, log in started:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def wait_for(predicate, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def token_instances(url):
    try:
        return requests.get(url + "/readyz", timeout=2).json()["instances"]["token"]
    except (requests.RequestException, ValueError, KeyError):
        return None


@pytest.fixture
def setup():
    """The environment of a broker on ephemeral ports, its keys dir not yet created."""
    b = Broker()
    b.keys_dir = os.path.join(b.data_dir, "bus")
    b.env["SSO_BUS_KEYS_DIR"] = b.keys_dir
    try:
        yield b
    finally:
        b.cleanup()


def test_a_service_first_waits_for_the_gateways_keys_and_then_joins(setup, processes):
    b = setup
    token_log = os.path.join(b.data_dir, "token.log")
    token = processes("token", b.env, token_log)
    assert wait_for(lambda: WAITING in read(token_log), 20), read(token_log)
    time.sleep(1)  # it keeps waiting: nothing appears, it does not exit
    assert token.poll() is None, read(token_log)
    assert not os.path.exists(b.keys_dir), os.listdir(b.keys_dir)
    assert not [n for n in os.listdir(b.data_dir) if n.startswith("bus")], os.listdir(b.data_dir)
    line = [l for l in read(token_log).splitlines() if WAITING in l][0]
    assert f"{b.keys_dir}: broker.key is missing" in line and "the gateway" in line, line
    assert read(token_log).count(WAITING) == 1  # one line at start, then one per ~10 s

    gateway_log = os.path.join(b.data_dir, "gateway.log")
    processes("gateway", b.env, gateway_log)
    assert wait_for(lambda: token_instances(b.url) == 1, 20), \
        (token_instances(b.url), read(token_log), read(gateway_log))
    assert token.poll() is None
    assert sorted(os.listdir(b.keys_dir))[:2] == ["broker.key", "broker.key_secret"]
    assert "unknown key" not in read(gateway_log)


def make_old_set(keys_dir):
    """A whole set as made before the scim role: the broker and the four old roles."""
    os.mkdir(keys_dir, 0o700)
    for name in ["broker", "directory", "token", "saml", "oidc"]:
        zmq.auth.create_certificates(keys_dir, name)
    for name in os.listdir(keys_dir):
        os.chmod(os.path.join(keys_dir, name), 0o600)


@pytest.mark.parametrize("removed", [["oidc.key", "oidc.key_secret"], ["broker.key_secret"]])
def test_the_gateway_refuses_a_partial_set_naming_what_is_missing(setup, processes, removed):
    """A set made elsewhere, with one file lost on the way: the gateway exits with an error
    that names the file, and generates nothing over the rest (a new set would lock out every
    service that holds the old one)."""
    b = setup
    make_old_set(b.keys_dir)
    for name in removed:
        os.unlink(os.path.join(b.keys_dir, name))
    before = sorted(os.listdir(b.keys_dir))
    log = os.path.join(b.data_dir, "gateway.log")
    gateway = processes("gateway", b.env, log)
    assert gateway.wait(timeout=30) != 0, read(log)
    assert f"missing {removed[0]}" in read(log), read(log)
    assert sorted(os.listdir(b.keys_dir)) == before


def test_a_set_made_before_the_scim_role_is_upgraded_not_refused(setup, processes):
    """A data dir from before the scim service: the broker and the four old roles. The gateway
    starts on it, adds the scim role's keypair once (the old keys untouched), and sso-scim
    joins with it."""
    b = setup
    make_old_set(b.keys_dir)
    old = {n: read(os.path.join(b.keys_dir, n)) for n in os.listdir(b.keys_dir)}
    scim_log = os.path.join(b.data_dir, "scim.log")
    scim = processes("scim", b.env, scim_log)
    assert wait_for(lambda: "scim.key_secret is missing" in read(scim_log), 20), read(scim_log)
    log = os.path.join(b.data_dir, "gateway.log")
    gateway = processes("gateway", b.env, log)

    def scim_instances():
        try:
            return requests.get(b.url + "/readyz", timeout=2).json()["instances"]["scim"]
        except (requests.RequestException, ValueError, KeyError):
            return None
    assert wait_for(lambda: scim_instances() == 1, 30), (read(log), read(scim_log))
    assert gateway.poll() is None and scim.poll() is None
    assert "added the scim role's keypair" in read(log)
    names = set(os.listdir(b.keys_dir))
    assert names == set(old) | {"scim.key", "scim.key_secret"}, names
    assert all(read(os.path.join(b.keys_dir, n)) == text for n, text in old.items())
    for name in ("scim.key", "scim.key_secret"):
        assert os.stat(os.path.join(b.keys_dir, name)).st_mode & 0o777 == 0o600


# ---- sso-gateway --make-bus-keys: a cluster's one set, made once ---------------------------

def make_bus_keys(*args):
    return subprocess.run([os.path.join(BIN, "sso-gateway"), "--make-bus-keys", *args],
                          capture_output=True, text=True, timeout=30)


def test_make_bus_keys_makes_a_whole_set_with_every_secret_and_exits(tmp_path):
    keys_dir = tmp_path / "cluster" / "bus"
    result = make_bus_keys(str(keys_dir))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"made the bus keys in {keys_dir}")
    names = ["broker", "directory", "token", "saml", "oidc", "scim"]
    assert sorted(os.listdir(keys_dir)) == sorted(f"{n}.key{s}" for n in names
                                                  for s in ("", "_secret"))
    assert os.stat(keys_dir).st_mode & 0o777 == 0o700
    for name in os.listdir(keys_dir):
        assert os.stat(keys_dir / name).st_mode & 0o777 == 0o600, name
        public, secret = zmq.auth.load_certificate(str(keys_dir / name))
        assert public and (secret or not name.endswith("_secret")), name
    # Again: the set is kept as it is, so hosts that copied it stay in.
    before = {n: read(keys_dir / n) for n in os.listdir(keys_dir)}
    again = make_bus_keys(str(keys_dir))
    assert again.returncode == 0 and again.stdout.startswith("kept"), again
    assert {n: read(keys_dir / n) for n in os.listdir(keys_dir)} == before


def test_a_gateway_and_a_service_on_a_made_set_use_it_as_it_is(setup, processes):
    """The set made ahead is the one the gateway serves with: nothing is added or replaced,
    and a service with it joins."""
    b = setup
    assert make_bus_keys(b.keys_dir).returncode == 0
    before = {n: read(os.path.join(b.keys_dir, n)) for n in os.listdir(b.keys_dir)}
    gateway_log = os.path.join(b.data_dir, "gateway.log")
    processes("gateway", b.env, gateway_log)
    token_log = os.path.join(b.data_dir, "token.log")
    processes("token", b.env, token_log)
    assert wait_for(lambda: token_instances(b.url) == 1, 30), (read(gateway_log), read(token_log))
    assert {n: read(os.path.join(b.keys_dir, n)) for n in os.listdir(b.keys_dir)} == before


@pytest.mark.parametrize("removed", [["oidc.key_secret"], ["broker.key_secret"],
                                     ["token.key_secret", "token.key"]])
def test_make_bus_keys_refuses_a_partial_set_naming_what_is_missing(setup, removed):
    """A set to hand out must hold every secret: even a service's secret alone missing is
    refused (the gateway's own start would take that set), and nothing is made over it."""
    b = setup
    make_old_set(b.keys_dir)
    zmq.auth.create_certificates(b.keys_dir, "scim")
    for name in os.listdir(b.keys_dir):
        os.chmod(os.path.join(b.keys_dir, name), 0o600)
    for name in removed:
        os.unlink(os.path.join(b.keys_dir, name))
    before = sorted(os.listdir(b.keys_dir))
    result = make_bus_keys(b.keys_dir)
    assert result.returncode == 1, result
    assert f"missing {removed[0]}" in result.stderr, result.stderr
    assert sorted(os.listdir(b.keys_dir)) == before


@pytest.mark.parametrize("args", [[], ["a", "b"]])
def test_make_bus_keys_needs_exactly_one_directory(args):
    result = make_bus_keys(*args)
    assert result.returncode == 2 and "usage" in result.stderr, result


@pytest.mark.parametrize("case", ["empty", "file", "too long"])
def test_make_bus_keys_refuses_a_path_it_cannot_use(tmp_path, case):
    path = {"empty": "", "file": str(tmp_path / "a-file"),
            "too long": str(tmp_path / ("d" * 250))}[case]
    if case == "file":
        (tmp_path / "a-file").write_text("")
    result = make_bus_keys(path)
    assert result.returncode == 1 and result.stderr.startswith("sso-gateway: bus keys:"), result
    assert not result.stdout
    if case == "file":
        assert (tmp_path / "a-file").read_text() == ""
