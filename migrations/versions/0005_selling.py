"""selling: products and the compliance events of lives (banned words kept off the air)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-17 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('price', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=8), nullable=False),
    sa.Column('selling_points', sa.JSON(), nullable=False),
    sa.Column('faq', sa.JSON(), nullable=False),
    sa.Column('link', sa.String(length=40), nullable=False),
    sa.Column('stock', sa.String(length=200), nullable=False),
    sa.Column('image', sa.String(length=255), nullable=False),
    sa.Column('updated_at', DATETIME, nullable=False),
    sa.Column('created_at', DATETIME, nullable=False),
    sa.Column('archived_at', DATETIME, nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True,
    )
    op.create_table('compliance_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('at', DATETIME, nullable=False),
    sa.Column('where', sa.String(length=16), nullable=False),
    sa.Column('words', sa.JSON(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('compliance_events') as t:
        t.create_index('ix_compliance_session', ['session_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_table('compliance_events')  # with its index (dropping that first fails on MySQL: see 0001)
    op.drop_table('products')
