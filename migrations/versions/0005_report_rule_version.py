"""reports carry the verdict they answer: rule version and hit event id

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rule_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('hit_event_id', sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('hit_event_id')
        batch_op.drop_column('rule_version')
