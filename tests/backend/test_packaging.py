"""A non-editable install (a wheel, as `pip install .` builds it) carries everything the API needs
at run time: the Alembic migrations beside the packages, the sample scripts."""
from __future__ import annotations

import shutil
import subprocess
import sys

import sqlalchemy as sa

from tests.helpers.process import ROOT


def test_a_wheel_install_upgrades_a_database_without_the_source_tree(tmp_path):
    wheels, site, source = tmp_path / "wheels", tmp_path / "site", tmp_path / "source"
    # A clean copy of what pyproject.toml packages: an in-tree build/ left by an earlier build
    # would otherwise slip its files into the wheel.
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for folder in ("livehost", "streamer", "db", "backend", "scheduler", "transcriber", "migrations"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(wheels.glob("livehost-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True,
                   capture_output=True, timeout=300)
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    code = ("import livehost.cli, db, streamer.samples as s, pathlib; from db.migrate import upgrade_to_head; "
            f"upgrade_to_head({url!r}); print(db.__file__); "
            "print(sorted(p.name for p in pathlib.Path(s.__path__[0]).glob('*.yaml')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    where, samples = done.stdout.splitlines()[-2:]
    assert where.startswith(str(site)), f"imported {where}, not the installed wheel"
    assert samples != "[]", "the sample scripts are missing"
    engine = sa.create_engine(url)
    with engine.connect() as c:
        tables = set(sa.inspect(c).get_table_names())
        revision = c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert {"users", "rooms", "sessions", "schedules"} <= tables and revision
