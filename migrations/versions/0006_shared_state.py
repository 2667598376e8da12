"""shared_state: flood counters, warn-once marks and conversations shared by webhook workers

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'shared_state',
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('pseudonym', sa.String(length=64), nullable=False),
        sa.Column('slot', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('count', sa.Integer(), server_default='0', nullable=False),
        sa.Column('value', sa.JSON(), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'pseudonym', 'slot', name=op.f('pk_shared_state')),
    )
    with op.batch_alter_table('shared_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shared_state_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('shared_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shared_state_expires_at'))
    op.drop_table('shared_state')
