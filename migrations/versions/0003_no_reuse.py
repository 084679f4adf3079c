"""ids never reused (AUTOINCREMENT on SQLite), per-user token version, archived rooms/avatars/voices/scripts

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 12:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

ARCHIVABLE = ('rooms', 'avatars', 'voices', 'scripts')
# parents before children, so each table's rebuild finds the tables it refers to
TABLES = ('users', 'rooms', 'avatars', 'voices', 'scripts', 'schedules', 'sessions', 'comments', 'audit_log')


def upgrade() -> None:
    with op.batch_alter_table('users') as t:
        t.add_column(sa.Column('token_version', sa.Integer(), server_default='0', nullable=False))
    for name in ARCHIVABLE:
        with op.batch_alter_table(name) as t:
            t.add_column(sa.Column('archived_at', DATETIME, nullable=True))
    _autoincrement(True)


def downgrade() -> None:
    _autoincrement(False)
    for name in ARCHIVABLE:
        with op.batch_alter_table(name) as t:
            t.drop_column('archived_at')
    with op.batch_alter_table('users') as t:
        t.drop_column('token_version')


def _autoincrement(on: bool) -> None:
    """SQLite reuses a deleted row's id unless the table is AUTOINCREMENT, which only a rebuilt
    table can be (MySQL/MariaDB InnoDB never reuse ids: nothing to do there). The rebuild runs
    with foreign keys off, as SQLite's ALTER TABLE procedure asks, so no cascade fires."""
    if op.get_bind().dialect.name != 'sqlite':
        return
    op.execute('PRAGMA foreign_keys=OFF')
    for name in TABLES:
        with op.batch_alter_table(name, recreate='always', table_kwargs={'sqlite_autoincrement': on}):
            pass
    op.execute('PRAGMA foreign_keys=ON')
