"""deploy/make-secrets.sh and deploy/with-secrets.sh, the scale profile's two scripts, run here
as compose runs them (no container engine needed).

make-secrets makes the profile's secrets once and never replaces one (a new master key would
make every stored secret unreadable); with-secrets turns the secret files a container is given
into the environment the services read."""
import base64
import os
import stat
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAKE_SECRETS = os.path.join(ROOT, "deploy", "make-secrets.sh")
WITH_SECRETS = os.path.join(ROOT, "deploy", "with-secrets.sh")
FILES = {"postgres_password", "master_key", "admin_client_secret", "tls.pem"}


def make_secrets(*args):
    return subprocess.run([MAKE_SECRETS, *args], capture_output=True, text=True, timeout=60)


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, text=True,
                          timeout=30)


def test_make_secrets_makes_each_secret_once(tmp_path):
    target = tmp_path / "secrets"
    result = make_secrets("--dir", str(target))
    assert result.returncode == 0, result.stderr
    assert set(os.listdir(target)) == FILES
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o700
    read = {name: (target / name).read_text() for name in FILES}
    assert len(base64.b64decode(read["master_key"].strip(), validate=True)) == 32
    assert len(read["postgres_password"].strip()) == 64
    assert 16 <= len(read["admin_client_secret"].strip()) <= 512
    # The certificate and its key in one PEM, for localhost, and they belong together.
    pem = read["tls.pem"]
    cert = openssl("x509", "-noout", "-subject", "-ext", "subjectAltName", data=pem)
    assert cert.returncode == 0 and "DNS:localhost" in cert.stdout, cert.stdout + cert.stderr
    cert_key = openssl("x509", "-noout", "-pubkey", data=pem).stdout
    key_key = openssl("pkey", "-pubout", data=pem).stdout
    assert cert_key and cert_key == key_key
    # Again: every file kept as it was.
    again = make_secrets("--dir", str(target))
    assert again.returncode == 0 and again.stdout.count("kept ") == len(FILES), again.stdout
    assert {name: (target / name).read_text() for name in FILES} == read


def test_make_secrets_completes_a_partial_set_without_touching_what_is_there(tmp_path):
    target = tmp_path / "secrets"
    target.mkdir(mode=0o700)
    (target / "master_key").write_text("kept-as-it-is\n")
    result = make_secrets("--dir", str(target))
    assert result.returncode == 0, result.stderr
    assert (target / "master_key").read_text() == "kept-as-it-is\n"
    assert set(os.listdir(target)) == FILES


def test_make_secrets_names_the_certificate_for_the_host_given(tmp_path):
    result = make_secrets("--dir", str(tmp_path / "s"), "--host", "sso.example.com")
    assert result.returncode == 0, result.stderr
    cert = openssl("x509", "-noout", "-ext", "subjectAltName",
                   data=(tmp_path / "s" / "tls.pem").read_text())
    assert "DNS:sso.example.com" in cert.stdout and "localhost" not in cert.stdout


@pytest.mark.parametrize("args", [
    ["--host", ""], ["--host", "a b"], ["--host", "-x"], ["--host", "x/../y"],
    ["--host", "evil,DNS:other.example"], ["--host", "a" * 254], ["--host"], ["--dir"],
    ["--dir", ""], ["--bogus"]])
def test_make_secrets_refuses_bad_arguments_and_makes_nothing(tmp_path, args):
    args = ["--dir", str(tmp_path / "s")] + args if "--dir" not in args else args
    result = make_secrets(*args)
    assert result.returncode == 2, (args, result.stdout, result.stderr)
    assert result.stderr.strip()
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("kind", ["file", "symlink"])
def test_make_secrets_refuses_a_dir_that_is_not_a_directory(tmp_path, kind):
    target = tmp_path / "s"
    if kind == "file":
        target.write_text("")
    else:
        (tmp_path / "elsewhere").mkdir()
        target.symlink_to(tmp_path / "elsewhere")
    result = make_secrets("--dir", str(target))
    assert result.returncode == 1 and "not a directory" in result.stderr, result.stderr
    assert kind == "file" or not os.listdir(tmp_path / "elsewhere")


def with_secrets(secrets_dir, *command, env=None):
    full_env = {"PATH": os.environ["PATH"], "SSO_SECRETS_DIR": str(secrets_dir)}
    full_env.update(env or {})
    return subprocess.run([WITH_SECRETS, *command], capture_output=True, text=True, timeout=30,
                          env=full_env)


def test_with_secrets_exports_the_files_named_as_variables(tmp_path):
    (tmp_path / "SSO_MASTER_KEY").write_text("master value\n")
    (tmp_path / "PGPASSWORD").write_text("pg-secret")
    (tmp_path / "SSO_ADMIN_CLIENT_SECRET").write_text("admin $(touch pwned) `x` 'q'\n")
    # Names that are not the services' variables are left alone.
    (tmp_path / "PATH").write_text("/nowhere")
    (tmp_path / "tls.pem").write_text("not a variable")
    (tmp_path / "sso_lower").write_text("no")
    result = with_secrets(tmp_path, "env")
    assert result.returncode == 0, result.stderr
    env = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert env["SSO_MASTER_KEY"] == "master value"
    assert env["PGPASSWORD"] == "pg-secret"
    assert env["SSO_ADMIN_CLIENT_SECRET"] == "admin $(touch pwned) `x` 'q'"
    assert env["PATH"] == os.environ["PATH"]
    assert "sso_lower" not in env and "tls.pem" not in env
    assert not os.path.exists("pwned") and not (tmp_path / "pwned").exists()


def test_with_secrets_passes_the_arguments_and_the_exit_status(tmp_path):
    result = with_secrets(tmp_path, "sh", "-c", 'echo "$1|$2"; exit 7', "sh", "a b", "")
    assert result.returncode == 7 and result.stdout == "a b|\n", result


@pytest.mark.parametrize("case", ["empty", "directory"])
def test_with_secrets_refuses_a_secret_it_cannot_use(tmp_path, case):
    path = tmp_path / "SSO_MASTER_KEY"
    if case == "empty":
        path.write_text("\n")
    else:
        path.mkdir()
    result = with_secrets(tmp_path, "echo", "started")
    assert result.returncode == 1 and "started" not in result.stdout
    assert "SSO_MASTER_KEY" in result.stderr, result.stderr


def test_with_secrets_without_a_command_is_a_usage_error(tmp_path):
    result = with_secrets(tmp_path)
    assert result.returncode == 2 and "usage" in result.stderr


def test_with_secrets_with_no_secrets_dir_runs_the_command_as_it_is(tmp_path):
    result = with_secrets(tmp_path / "absent", "sh", "-c", 'echo "${SSO_MASTER_KEY-unset}"')
    assert result.returncode == 0 and result.stdout == "unset\n", result
