"""dispatch: when a schedule's occurrence was dispatched, and a session's planned start and queueing

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 07:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('schedules') as t:
        t.add_column(sa.Column('dispatched_at', DATETIME, nullable=True))
    with op.batch_alter_table('sessions') as t:
        t.add_column(sa.Column('scheduled_at', DATETIME, nullable=True))
        t.add_column(sa.Column('enqueued_at', DATETIME, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sessions') as t:
        t.drop_column('enqueued_at')
        t.drop_column('scheduled_at')
    with op.batch_alter_table('schedules') as t:
        t.drop_column('dispatched_at')
