"""Alembic owns the schema: upgrading an empty database gives exactly the models' tables, every
migration undoes itself, and a model change without a migration fails here.

Runs on SQLite and on the real MariaDB (in a database of its own on $LIVEHOST_TEST_MYSQL_URL's
server, so it neither disturbs nor is disturbed by other tests using that one)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from db.migrate import alembic_config, current_revision, downgrade_to_base, upgrade_to_head, wipe
from db.models import Base, User
from tests.helpers.databases import alembic_head, need_mysql, scratch_mysql_database


@pytest.fixture(params=["sqlite", "mariadb"])
def empty_db(request, tmp_path):
    """The URL of an empty database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    need_mysql()
    with scratch_mysql_database("livehost_migrations") as url:
        wipe(url)
        yield url
        wipe(url)


def inspect(url: str) -> dict[str, dict]:
    """{table: {columns: {name: nullable}, pk, fks, indexes}} as the database reports it."""
    engine = sa.create_engine(url)
    try:
        insp = sa.inspect(engine)
        out = {}
        for table in insp.get_table_names():
            out[table] = {
                "columns": {c["name"]: c["nullable"] for c in insp.get_columns(table)},
                "pk": set(insp.get_pk_constraint(table)["constrained_columns"]),
                "fks": {(tuple(fk["constrained_columns"]), fk["referred_table"]) for fk in insp.get_foreign_keys(table)},
                "indexes": {i["name"] for i in insp.get_indexes(table)},
            }
        return out
    finally:
        engine.dispose()


def schema_diff(url: str, metadata: sa.MetaData) -> list:
    """Alembic's autogenerate comparison: what a new migration would have to do."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            context = MigrationContext.configure(c, opts={"compare_type": True, "render_as_batch": True})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def add_and_count_users(url: str, name: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as c:
            c.execute(sa.insert(User.__table__).values(username=name, password_hash="x", role="viewer",
                                                       disabled=False, created_at=sa.func.now()))
            return c.scalar(sa.select(sa.func.count()).select_from(User.__table__))
    finally:
        engine.dispose()


def test_upgrade_from_empty_creates_every_model_table_with_its_columns(empty_db):
    assert current_revision(empty_db) is None
    upgrade_to_head(empty_db)
    assert current_revision(empty_db) == alembic_head()
    tables = inspect(empty_db)
    assert set(tables) == set(Base.metadata.tables) | {"alembic_version"}
    for name, table in Base.metadata.tables.items():
        got = tables[name]
        assert got["columns"] == {c.name: c.nullable for c in table.columns}, name
        assert got["pk"] == {c.name for c in table.primary_key.columns}, name
        assert got["fks"] == {(tuple(fk.column_keys), fk.referred_table.name)
                              for fk in table.foreign_key_constraints}, name
        assert {i.name for i in table.indexes} <= got["indexes"], name


def test_downgrade_to_base_removes_every_table_and_upgrade_works_again(empty_db):
    upgrade_to_head(empty_db)
    assert add_and_count_users(empty_db, "first") == 1
    downgrade_to_base(empty_db)
    assert set(inspect(empty_db)) <= {"alembic_version"}
    assert current_revision(empty_db) is None
    upgrade_to_head(empty_db)
    assert current_revision(empty_db) == alembic_head()
    assert set(inspect(empty_db)) == set(Base.metadata.tables) | {"alembic_version"}
    assert add_and_count_users(empty_db, "second") == 1  # a fresh, working schema


def test_every_revision_downgrades_and_upgrades_again(empty_db):
    from alembic import command

    cfg = alembic_config(empty_db)
    revisions = [r.revision for r in reversed(list(ScriptDirectory.from_config(cfg).walk_revisions()))]
    assert revisions[-1] == alembic_head()
    for rev in revisions:
        command.upgrade(cfg, rev)
        before = inspect(empty_db)
        command.downgrade(cfg, "-1")
        command.upgrade(cfg, rev)
        assert inspect(empty_db) == before, f"revision {rev} does not undo itself cleanly"
        assert current_revision(empty_db) == rev


def test_migrated_schema_matches_the_models(empty_db):
    upgrade_to_head(empty_db)
    diff = schema_diff(empty_db, Base.metadata)
    assert diff == [], ("the models differ from what the migrations build; add a migration "
                        f"(alembic revision --autogenerate) for: {diff}")


def test_a_model_change_without_a_migration_is_detected(empty_db):
    """The comparison above is alive: a column the migrations do not make shows up as a diff."""
    upgrade_to_head(empty_db)
    changed = sa.MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["users"].append_column(sa.Column("nickname", sa.String(40)))
    diff = schema_diff(empty_db, changed)
    assert [d[0] for d in diff] == ["add_column"] and diff[0][3].name == "nickname"
