"""audience: rooms' audience sources (encrypted credentials, relay token) and the audience events of lives

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# rooms is AUTOINCREMENT on SQLite since 0003: a rebuild of it (a dropped column) must stay so
ROOMS = {'sqlite_autoincrement': True}


def upgrade() -> None:
    # nullable: MySQL gives JSON and TEXT columns no literal default, and existing rooms have none
    with op.batch_alter_table('rooms', table_kwargs=ROOMS) as t:
        t.add_column(sa.Column('sources', sa.JSON(), nullable=True))
        t.add_column(sa.Column('source_secrets_enc', sa.Text(), nullable=True))
        t.add_column(sa.Column('relay_token_hash', sa.String(length=64), nullable=True))
        t.add_column(sa.Column('relay_token_hint', sa.String(length=8), server_default='', nullable=False))
    op.create_table('audience_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('user_name', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('gift', sa.String(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('currency', sa.String(length=8), nullable=False),
    sa.Column('at', DATETIME, nullable=False),
    sa.Column('action', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=True),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.Column('created_at', DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('session_id', 'seq', name='uq_audience_session_seq'),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('audience_events') as t:
        t.create_index('ix_audience_session_kind', ['session_id', 'kind', 'seq'], unique=False)
        t.create_index('ix_audience_session_action', ['session_id', 'action', 'seq'], unique=False)


def downgrade() -> None:
    op.drop_table('audience_events')  # with its indexes (dropping those first fails on MySQL: see 0001)
    with op.batch_alter_table('rooms', table_kwargs=ROOMS) as t:
        t.drop_column('relay_token_hint')
        t.drop_column('relay_token_hash')
        t.drop_column('source_secrets_enc')
        t.drop_column('sources')
