"""destinations: a room's lives pushed to more than one RTMP server

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-21 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('rooms') as t:
        t.add_column(sa.Column('destinations', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('rooms') as t:
        t.drop_column('destinations')
