"""webhooks: where a deployment's alerts go; a session's summary when it ends

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-22 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webhooks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('url_enc', sa.Text(), nullable=False),
    sa.Column('url_host', sa.String(length=255), nullable=False),
    sa.Column('secret_enc', sa.Text(), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', DATETIME, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('sessions') as t:
        t.add_column(sa.Column('summary', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sessions') as t:
        t.drop_column('summary')
    op.drop_table('webhooks')
