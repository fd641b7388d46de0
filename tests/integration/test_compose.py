"""compose.yaml and the Dockerfile, checked without a container engine.

`docker-compose -f compose.yaml config` validates the file and prints it fully resolved (anchors
merged, ${VAR:-default} interpolated); the tests read that output, so they check what Compose
will actually run. The default profile: six services, workers that can be scaled
(`--scale token=3`) and that connect to the broker in the gateway, a gateway that binds the
broker and has a healthcheck. The `scale` profile (`--profile scale`): PostgreSQL, two gateways
behind HAProxy with TLS, token x3, saml x2, directory x2, oidc, scim, every service on both
brokers, no private port published, no secret written in the file.
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


def resolved_config(extra_env=None, profile=None):
    """The file as Compose resolves it, with only the services it starts: by default those of
    no profile, with `profile` that profile's too. (docker-compose 1.x prints every service
    with its `profiles`, the v2 plugin only the enabled ones: both are narrowed alike.)"""
    command = compose_command()
    if command is None:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose); "
                    "compose.yaml not validated")
    yaml = pytest.importorskip("yaml", reason="python3-yaml is needed to read the config")
    # A clean environment, so the file's own defaults are what is checked.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SSO_") and k != "COMPOSE_PROFILES"}
    env.update(extra_env or {})
    profile_args = ["--profile", profile] if profile else []
    result = subprocess.run(command + ["-f", COMPOSE_FILE] + profile_args + ["config"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"compose config failed:\n{result.stderr}"
    resolved = yaml.safe_load(result.stdout)
    resolved["services"] = {name: service for name, service in resolved["services"].items()
                            if not service.get("profiles") or profile in service["profiles"]}
    return resolved


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


# ---- the scale profile ---------------------------------------------------------------------

HAPROXY_CFG = os.path.join(ROOT, "deploy", "haproxy.cfg")
# What each sso binary runs as in the scale profile, counted in instances (issue 23).
SCALE_COUNTS = {"gateway": 2, "token": 3, "saml": 2, "directory": 2, "oidc": 1, "scim": 1}
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|MASTER_KEY|PRIVATE_KEY|TOKEN)$")


@pytest.fixture(scope="module")
def scale():
    """The scale profile's services only (what `--profile scale up haproxy` starts)."""
    resolved = resolved_config(profile="scale")
    resolved["services"] = {name: service for name, service in resolved["services"].items()
                            if "scale" in (service.get("profiles") or [])}
    return resolved


def command_of(service):
    command = service.get("command")
    return command if isinstance(command, list) else str(command or "").split()


def binary_of(service):
    """The sso binary a service runs (after a wrapper such as with-secrets), or None."""
    found = [word for word in command_of(service) if word.startswith("sso-")]
    return found[0][len("sso-"):] if found else None


def is_one_shot(service):
    return service.get("restart") == "no"


def gateways_of(scale):
    return {name: s for name, s in scale["services"].items()
            if binary_of(s) == "gateway" and not is_one_shot(s)}


def workers_of(scale):
    return {name: s for name, s in scale["services"].items()
            if binary_of(s) not in (None, "gateway")}


def replicas(service):
    return int((service.get("deploy") or {}).get("replicas", 1))


def depends_on(service):
    deps = service.get("depends_on") or {}
    return deps if isinstance(deps, dict) else {name: {} for name in deps}


def secrets_of(service):
    """{target file name: source secret} of a service."""
    found = {}
    for item in service.get("secrets") or []:
        source, target = (item, item) if isinstance(item, str) else (item["source"],
                                                                     item.get("target"))
        found[target or source] = source
    return found


def test_the_default_profile_starts_none_of_the_scale_services(config, scale):
    assert set(config["services"]) == SERVICES
    assert not set(config["services"]) & set(scale["services"])
    assert all(not s.get("profiles") for s in config["services"].values())


def test_up_haproxy_starts_the_whole_scale_profile_and_nothing_else(scale):
    """The documented start names haproxy: its dependencies, followed through, are every
    service of the profile, and none of the default one."""
    seen, todo = set(), ["haproxy"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        assert name in scale["services"], f"{name} is not in the scale profile"
        todo.extend(depends_on(scale["services"][name]))
    assert seen == set(scale["services"]), set(scale["services"]) - seen


def test_the_scale_profile_runs_the_instances_the_issue_names(scale):
    counts = {}
    for service in scale["services"].values():
        binary = binary_of(service)
        if binary and not is_one_shot(service):
            counts[binary] = counts.get(binary, 0) + replicas(service)
    assert counts == SCALE_COUNTS
    images = [s.get("image", "") for s in scale["services"].values()]
    assert sum(i.startswith("postgres:") for i in images) == 1, images
    assert sum(i.startswith("haproxy:") for i in images) == 1, images
    assert len(gateways_of(scale)) == 2, "each gateway is its own service, to be named"


def test_scaled_services_can_be_scaled(scale):
    for name, service in scale["services"].items():
        if replicas(service) > 1:
            assert "container_name" not in service and not service.get("ports"), name


def test_only_haproxy_is_published_and_only_its_https_port(scale):
    for name, service in scale["services"].items():
        pairs = port_targets(service)
        if service.get("image", "").startswith("haproxy:"):
            assert [t for _, t in pairs] == ["8443"], pairs
            assert [p for p, _ in pairs] == ["8443"], pairs
        else:
            assert not pairs, f"{name} publishes {pairs}: only HAProxy faces the outside"


def test_the_gateways_bind_the_bus_and_the_ops_listener_inside(scale):
    for name, gateway in gateways_of(scale).items():
        env = env_of(gateway)
        host, port = endpoint(env.get("SSO_BROKER_ENDPOINT"))
        assert host in ("*", "0.0.0.0"), (name, host)
        ops = env.get("SSO_OPS_ADDR") or ""
        assert re.fullmatch(r"0\.0\.0\.0:\d+", ops), (name, ops)
        assert env.get("SSO_HTTP_ADDR") == "0.0.0.0:8080", name
        assert ops.split(":")[1] != "8080" and int(ops.split(":")[1]) != port
        check = gateway.get("healthcheck") or {}
        text = " ".join(check.get("test") or [])
        assert "/readyz" in text and f"/{ops.split(':')[1]}" in text, (name, text)
        assert env.get("SSO_PUBLIC_URL", "").startswith("https://"), name


def test_every_service_connects_to_both_gateways_brokers(scale):
    gateways = gateways_of(scale)
    brokers = {(name, endpoint(env_of(g)["SSO_BROKER_ENDPOINT"])[1]) for name, g in gateways.items()}
    assert len(brokers) == 2
    for name, worker in workers_of(scale).items():
        env = env_of(worker)
        listed = env.get("SSO_BROKER_ENDPOINTS") or ""
        items = listed.split(",")
        assert all(items), f"{name}: an empty item in {listed!r}"
        assert len(items) == len(set(items)), f"{name}: a broker twice in {listed!r}"
        assert {endpoint(item) for item in items} == brokers, (name, listed)
        assert "SSO_BROKER_ENDPOINT" not in env, f"{name}: one broker only, beside the list"


def test_the_directories_share_postgres_with_no_password_in_the_url(scale):
    from urllib.parse import urlsplit
    postgres = [(n, s) for n, s in scale["services"].items()
                if s.get("image", "").startswith("postgres:")]
    (pg_name, pg), = postgres
    pg_env = env_of(pg)
    directories = [s for s in scale["services"].values() if binary_of(s) == "directory"]
    assert directories
    for directory in directories:
        url = urlsplit(env_of(directory).get("SSO_DATABASE_URL") or "")
        assert url.scheme in ("postgres", "postgresql"), url
        assert url.hostname == pg_name and (url.port or 5432) == 5432, url
        assert url.password is None, "the database password is written in compose.yaml"
        assert url.username == pg_env.get("POSTGRES_USER"), (url.username, pg_env)
        assert url.path.lstrip("/") == pg_env.get("POSTGRES_DB"), (url.path, pg_env)
        assert depends_on(directory).get(pg_name, {}).get("condition") == "service_healthy"
        assert command_of(directory)[0] == "with-secrets", command_of(directory)
        # libpq's PGPASSWORD, from the very secret PostgreSQL sets its password from.
        password_file = pg_env.get("POSTGRES_PASSWORD_FILE") or ""
        assert password_file.startswith("/run/secrets/"), pg_env
        pg_secret = secrets_of(pg)[password_file[len("/run/secrets/"):]]
        dir_secrets = secrets_of(directory)
        assert dir_secrets.get("PGPASSWORD") == pg_secret, dir_secrets
        assert {"SSO_MASTER_KEY", "SSO_ADMIN_CLIENT_SECRET"} <= set(dir_secrets), dir_secrets
        assert env_of(directory).get("SSO_ADMIN_CLIENT_ID"), "both directories, one admin client"
    check = pg.get("healthcheck") or {}
    assert "pg_isready" in " ".join(check.get("test") or []), check
    named = set(scale.get("volumes") or {})
    assert any(source in named and target == "/var/lib/postgresql/data"
               for source, target in mounts(scale, pg)), pg.get("volumes")


@pytest.mark.parametrize("profile", [None, "scale"])
def test_no_secret_is_written_in_the_file(profile):
    resolved = resolved_config(profile=profile)
    for name, service in resolved["services"].items():
        for key, value in env_of(service).items():
            if key.endswith("_FILE"):
                assert str(value).startswith("/run/secrets/"), (name, key, value)
            elif SECRET_NAME.search(key):
                # Passed through from the caller's shell when set there, never a value here.
                assert value in (None, ""), (name, key)
    for secret_name, secret in (resolved.get("secrets") or {}).items():
        assert set(secret) == {"file"}, f"secret {secret_name} is not read from a file: {secret}"
        relative = os.path.relpath(secret["file"], ROOT)
        assert relative.startswith("deploy/secrets/"), relative
        ignored = subprocess.run(["git", "check-ignore", "-q", relative], cwd=ROOT)
        assert ignored.returncode == 0, f"{relative} would be committed"
    with open(os.path.join(ROOT, ".dockerignore")) as f:
        assert "deploy/secrets" in {line.strip().strip("/") for line in f}


def test_the_scale_bus_keys_are_made_once_into_one_volume_every_service_mounts(scale, config):
    services = scale["services"]
    makers = {n: s for n, s in services.items() if "--make-bus-keys" in command_of(s)}
    assert len(makers) == 1, makers
    (maker_name, maker), = makers.items()
    assert is_one_shot(maker), "the key maker runs once and exits"
    keys_dir = command_of(maker)[command_of(maker).index("--make-bus-keys") + 1]
    named = set(scale.get("volumes") or {})
    holders = set()
    for name, service in services.items():
        if binary_of(service) is None:
            continue
        if name != maker_name:
            assert env_of(service).get("SSO_BUS_KEYS_DIR") == keys_dir, name
        volume = [source for source, target in mounts(scale, service)
                  if source in named and keys_dir.startswith(target.rstrip("/") + "/")]
        assert len(volume) == 1, (name, mounts(scale, service))
        holders.add(volume[0])
    assert len(holders) == 1, holders
    default_volumes = {source for s in config["services"].values()
                       for source, _ in mounts(config, s)}
    assert not holders & default_volumes, "the two systems must not share bus keys"
    for name in gateways_of(scale):
        condition = depends_on(services[name]).get(maker_name, {}).get("condition")
        assert condition == "service_completed_successfully", (name, condition)


def haproxy_sections():
    """deploy/haproxy.cfg as {"frontend public": [lines], ...}, comments dropped."""
    sections, current = {}, None
    with open(HAPROXY_CFG) as f:
        for raw in f:
            line = raw.split("#", 1)[0].rstrip()
            if not line.strip():
                continue
            if not raw[0].isspace():
                current = " ".join(line.split())
                sections[current] = []
            else:
                assert current, f"a line outside any section: {raw!r}"
                sections[current].append(" ".join(line.split()))
    return sections


def haproxy_service(scale):
    (service,) = [s for s in scale["services"].values()
                  if s.get("image", "").startswith("haproxy:")]
    return service


def test_haproxy_reads_this_config_and_terminates_tls_with_a_mounted_certificate(scale):
    service = haproxy_service(scale)
    assert (os.path.join(ROOT, "deploy", "haproxy.cfg"),
            "/usr/local/etc/haproxy/haproxy.cfg") in mounts(scale, service)
    certificates = {f"/run/secrets/{target}" for target in secrets_of(service)}
    published = {t for _, t in port_targets(service)}
    binds = [(name, line) for name, lines in haproxy_sections().items()
             for line in lines if line.startswith("bind ")]
    public = [(name, line) for name, line in binds if line.split()[1].rsplit(":", 1)[1] in published]
    assert public, binds
    for name, line in public:
        words = line.split()
        assert "ssl" in words and words[words.index("crt") + 1] in certificates, line
    for name, line in binds:
        if (name, line) not in public:
            assert line.split()[1].rsplit(":", 1)[1] not in published, line


def test_haproxy_sends_to_both_gateways_and_checks_them_on_the_ops_listener(scale):
    gateways = gateways_of(scale)
    expected = set()
    for name, gateway in gateways.items():
        env = env_of(gateway)
        expected.add((f"{name}:{env['SSO_HTTP_ADDR'].rsplit(':', 1)[1]}",
                      env["SSO_OPS_ADDR"].rsplit(":", 1)[1]))
    sections = haproxy_sections()
    backends = {name: lines for name, lines in sections.items() if name.startswith("backend ")}
    assert backends
    probes = set()
    for name, lines in backends.items():
        servers = set()
        for line in lines:
            words = line.split()
            if words[0] == "server":
                assert "check" in words and "port" in words, line
                servers.add((words[2], words[words.index("port") + 1]))
            if words[:2] == ["http-check", "send"]:
                probes.add(words[words.index("uri") + 1])
        assert servers == expected, (name, servers, expected)
    assert {"/readyz", "/healthz"} <= probes, probes
    bus_ports = {env_of(g)["SSO_BROKER_ENDPOINT"].rsplit(":", 1)[1] for g in gateways.values()}
    text = "\n".join(line for lines in sections.values() for line in lines)
    assert not any(f":{port}" in text for port in bus_ports), "HAProxy must not reach the bus"


def test_haproxy_accepts_the_config(tmp_path):
    """`haproxy -c` (Debian's haproxy) on the config with a certificate from
    deploy/make-secrets.sh; the gateways' names do not resolve outside compose, which it only
    warns about (init-addr none)."""
    if not shutil.which("haproxy"):
        pytest.skip("haproxy is not installed (apt-get install haproxy)")
    secrets = tmp_path / "secrets"
    made = subprocess.run([os.path.join(ROOT, "deploy", "make-secrets.sh"), "--dir", str(secrets)],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    with open(HAPROXY_CFG) as f:
        text = f.read()
    assert "/run/secrets/tls.pem" in text
    config_path = tmp_path / "haproxy.cfg"
    config_path.write_text(text.replace("/run/secrets/tls.pem", str(secrets / "tls.pem")))
    result = subprocess.run(["haproxy", "-c", "-f", str(config_path)], capture_output=True,
                            text=True, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    warnings = [line for line in output.splitlines() if "WARNING" in line or "ALERT" in line]
    assert all("could not resolve address" in line for line in warnings), warnings
    # The same check refuses the config when the certificate is not there.
    (secrets / "tls.pem").unlink()
    missing = subprocess.run(["haproxy", "-c", "-f", str(config_path)], capture_output=True,
                             text=True, timeout=60)
    assert missing.returncode != 0


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


def test_the_image_holds_the_wrapper_the_scale_directories_start_with(scale):
    runtime = dockerfile_stages()[-1]
    copies = [line.split()[1:] for line in runtime if line.upper().startswith("COPY ")]
    assert ["deploy/with-secrets.sh", "/app/bin/with-secrets"] in copies, copies
    assert os.access(os.path.join(ROOT, "deploy", "with-secrets.sh"), os.X_OK)
    wrapped = {command_of(s)[0] for s in scale["services"].values()
               if binary_of(s) and not command_of(s)[0].startswith("sso-")}
    assert wrapped == {"with-secrets"}, wrapped


def test_the_gateways_trust_haproxy_alone_for_the_client_address(scale):
    """HAProxy names the client in X-Forwarded-For (option forwardfor); the gateways trust
    exactly HAProxy's fixed address on the edge network, which only HAProxy and the gateways
    join, so that no client and no other container can name an address."""
    service = haproxy_service(scale)
    (address,) = [n["ipv4_address"] for n in service["networks"].values() if n]
    assert set(service["networks"]) == {"edge"}, service["networks"]
    for name, gateway in gateways_of(scale).items():
        assert env_of(gateway)["SSO_TRUSTED_PROXIES"] == address, name
        assert "edge" in gateway["networks"], name
    on_edge = {name for name, s in scale["services"].items() if "edge" in (s.get("networks") or {})}
    assert on_edge == {name for name, s in scale["services"].items()
                       if s is service or name in gateways_of(scale)}, on_edge
    with open(os.path.join(ROOT, "deploy", "haproxy.cfg")) as f:
        lines = [line.strip() for line in f]
    assert "option forwardfor" in lines
