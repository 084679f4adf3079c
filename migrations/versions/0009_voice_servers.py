"""voices: a TTS server's URL in `voice`, its parameters, and a cloned voice's reference clip

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 11:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('voices') as t:
        t.alter_column('voice', existing_type=sa.String(length=100), type_=sa.String(length=500),
                       existing_nullable=False)
        t.add_column(sa.Column('params', sa.JSON(), nullable=True))
        t.add_column(sa.Column('reference', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('voices') as t:
        t.drop_column('reference')
        t.drop_column('params')
        t.alter_column('voice', existing_type=sa.String(length=500), type_=sa.String(length=100),
                       existing_nullable=False)
