"""compose.yaml and the Dockerfile, checked without a container engine.

`docker-compose -f compose.yaml config` validates the file and prints it fully resolved (anchors
merged, ${VAR:-default} interpolated); the tests read that output, so they check what Compose
will actually run: six services, workers that can be scaled (`--scale token=3`) and that
connect to the broker in the gateway, a gateway that binds the broker and has a healthcheck.
"""
import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMPOSE_FILE = os.path.join(ROOT, "compose.yaml")
DOCKERFILE = os.path.join(ROOT, "Dockerfile")
SERVICES = {"gateway", "token", "saml", "oidc", "directory", "scim"}
WORKERS = SERVICES - {"gateway"}


def compose_command():
    """docker-compose (Debian's package), else the `docker compose` plugin, else None."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def resolved_config(extra_env=None):
    command = compose_command()
    if command is None:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose); "
                    "compose.yaml not validated")
    yaml = pytest.importorskip("yaml", reason="python3-yaml is needed to read the config")
    # A clean environment, so the file's own defaults are what is checked.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSO_")}
    env.update(extra_env or {})
    result = subprocess.run(command + ["-f", COMPOSE_FILE, "config"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"compose config failed:\n{result.stderr}"
    return yaml.safe_load(result.stdout)


@pytest.fixture(scope="module")
def config():
    return resolved_config()


def env_of(service):
    env = service.get("environment") or {}
    if isinstance(env, list):  # KEY=VALUE form
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def endpoint(value):
    m = re.fullmatch(r"tcp://([^:/]+):(\d+)", value or "")
    assert m, f"not a tcp://host:port endpoint: {value!r}"
    return m.group(1), int(m.group(2))


def port_targets(service):
    """(published, target) pairs whatever form `ports` takes."""
    pairs = []
    for p in service.get("ports") or []:
        if isinstance(p, dict):
            pairs.append((str(p.get("published", "")), str(p.get("target"))))
        else:
            parts = str(p).split(":")
            pairs.append((parts[-2] if len(parts) > 1 else "", parts[-1].split("/")[0]))
    return pairs


def test_the_five_services_are_defined(config):
    assert set(config["services"]) == SERVICES


def test_each_service_runs_its_own_binary_from_the_one_image(config):
    images = set()
    for name, service in config["services"].items():
        command = service.get("command")
        command = command if isinstance(command, list) else str(command).split()
        assert command and command[0] == f"sso-{name}", (name, command)
        assert service.get("build") or service.get("image"), name
        images.add(service.get("image"))
    assert len(images) == 1, f"services use different images: {images}"


@pytest.mark.parametrize("name", sorted(WORKERS))
def test_workers_are_scalable(config, name):
    """`docker compose up --scale NAME=N` fails on a fixed container name or host port."""
    service = config["services"][name]
    assert "container_name" not in service, name
    assert not service.get("ports"), f"{name} publishes host ports {service.get('ports')}"


def test_the_token_service_in_particular_scales(config):
    token = config["services"]["token"]
    assert "container_name" not in token and not token.get("ports")
    assert "hostname" not in token


@pytest.mark.parametrize("name", sorted(WORKERS))
def test_workers_connect_to_the_broker_in_the_gateway(config, name):
    gateway_host, gateway_port = endpoint(env_of(config["services"]["gateway"])
                                          .get("SSO_BROKER_ENDPOINT"))
    host, port = endpoint(env_of(config["services"][name]).get("SSO_BROKER_ENDPOINT"))
    assert host == "gateway", f"{name} must connect to the gateway host, not {host}"
    assert port == gateway_port, f"{name} connects to port {port}, gateway binds {gateway_port}"


def test_the_gateway_binds_the_broker_on_every_interface(config):
    host, _ = endpoint(env_of(config["services"]["gateway"]).get("SSO_BROKER_ENDPOINT"))
    assert host in ("*", "0.0.0.0"), f"the gateway binds SSO_BROKER_ENDPOINT; {host} is not bindable"


def mounts(config, service):
    """(source, target) of every volume of a service."""
    found = []
    for v in service.get("volumes") or []:
        if isinstance(v, dict):
            found.append((v.get("source"), v.get("target")))
        else:
            found.append(tuple(str(v).split(":")[:2]))
    return found


def test_the_bus_is_never_published_beyond_the_compose_network(config):
    _, bus_port = endpoint(env_of(config["services"]["gateway"]).get("SSO_BROKER_ENDPOINT"))
    for name, service in config["services"].items():
        published = [target for _, target in port_targets(service)]
        assert str(bus_port) not in published, f"{name} publishes the bus port {bus_port}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_the_bus_keys_from_one_shared_volume(config, name):
    """The CURVE keys the broker admits: one named volume, mounted by every service, with
    SSO_BUS_KEYS_DIR inside it (a directory of the volume, so the gateway can make
    the set there atomically)."""
    keys_dir = env_of(config["services"][name]).get("SSO_BUS_KEYS_DIR")
    assert keys_dir and keys_dir.startswith("/"), (name, keys_dir)
    named = set(config.get("volumes") or {})
    holders = [(source, target) for source, target in mounts(config, config["services"][name])
               if source in named and keys_dir.startswith(target.rstrip("/") + "/")]
    assert holders, f"{name}: no named volume holds {keys_dir}: {mounts(config, config['services'][name])}"
    gateway_dir = env_of(config["services"]["gateway"]).get("SSO_BUS_KEYS_DIR")
    assert keys_dir == gateway_dir, (name, keys_dir, gateway_dir)


def test_the_gateway_publishes_http_on_8080(config):
    gateway = config["services"]["gateway"]
    assert ("8080", "8080") in port_targets(gateway), gateway.get("ports")
    assert env_of(gateway).get("SSO_HTTP_ADDR") == "0.0.0.0:8080"
    assert "container_name" not in gateway


def test_the_gateway_has_a_readiness_healthcheck(config):
    check = config["services"]["gateway"].get("healthcheck")
    assert check and not check.get("disable"), "gateway has no healthcheck"
    test = check["test"]
    text = " ".join(test) if isinstance(test, list) else str(test)
    assert "/readyz" in text
    assert "8080" in text


def test_every_service_restarts(config):
    for name, service in config["services"].items():
        assert service.get("restart") in ("always", "unless-stopped", "on-failure"), name


def test_the_directory_keeps_its_data_in_a_named_volume(config):
    directory = config["services"]["directory"]
    assert env_of(directory).get("SSO_DATA_DIR", "/data") == "/data"
    named = set(config.get("volumes") or {})
    mounts = []
    for v in directory.get("volumes") or []:
        if isinstance(v, dict):
            mounts.append((v.get("source"), v.get("target"), v.get("type", "volume")))
        else:
            source, target = str(v).split(":")[:2]
            mounts.append((source, target, "volume" if source in named else "bind"))
    assert any(t == "/data" and kind == "volume" and s in named for s, t, kind in mounts), mounts


def test_public_url_defaults_to_localhost_and_follows_the_environment(config):
    for name, service in config["services"].items():
        assert env_of(service).get("SSO_PUBLIC_URL") == "http://localhost:8080", name
    custom = resolved_config({"SSO_PUBLIC_URL": "https://sso.example.com"})
    for name, service in custom["services"].items():
        assert env_of(service).get("SSO_PUBLIC_URL") == "https://sso.example.com", name


def test_every_service_runs_in_production_without_the_simulator(config):
    for name, service in config["services"].items():
        env = env_of(service)
        assert env.get("SSO_ENVIRONMENT") == "production", name
        assert env.get("SSO_SIMULATOR") == "0", name
    trial = resolved_config({"SSO_SIMULATOR": "1"})
    for name, service in trial["services"].items():
        assert env_of(service).get("SSO_SIMULATOR") == "1", name


# ---- the Dockerfile (read, not built: no engine here) -------------------------------------

def dockerfile_stages():
    with open(DOCKERFILE) as f:
        lines = [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]
    stages = []
    for line in lines:
        if line.upper().startswith("FROM "):
            stages.append([line])
        elif stages:
            stages[-1].append(line)
    return stages


def test_the_dockerfile_builds_in_one_stage_and_runs_in_a_slim_one():
    stages = dockerfile_stages()
    assert len(stages) >= 2, "expected a multi-stage build"
    assert all("bookworm" in stage[0] for stage in stages), [s[0] for s in stages]
    build, runtime = "\n".join(stages[0]), "\n".join(stages[-1])
    assert "make" in build and "build" in build
    assert "-dev" in build
    assert "-dev" not in runtime, "the runtime stage must not install -dev packages"
    assert "COPY --from=" in runtime


def test_the_runtime_image_runs_as_a_user_with_data_in_a_volume():
    runtime = dockerfile_stages()[-1]
    users = [line.split()[1] for line in runtime if line.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0"), users
    assert any(line.upper().startswith("VOLUME") and "/data" in line for line in runtime)
    assert any("SSO_DATA_DIR=/data" in line for line in runtime)


def test_the_image_runs_in_production():
    runtime = dockerfile_stages()[-1]
    assert any("SSO_ENVIRONMENT=production" in line for line in runtime), runtime


def test_host_build_outputs_stay_out_of_the_image():
    with open(os.path.join(ROOT, ".dockerignore")) as f:
        ignored = {line.strip().strip("/") for line in f if line.strip() and line[0] != "#"}
    assert "build" in ignored and ("build-*" in ignored or "build-asan" in ignored)
