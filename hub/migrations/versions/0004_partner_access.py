"""partner access record

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('partner_access',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('partner', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('endpoint', sa.String(length=16), nullable=False),
    sa.Column('from_seq', sa.BigInteger(), nullable=True),
    sa.Column('to_seq', sa.BigInteger(), nullable=True),
    sa.Column('subjects', sa.Text(), nullable=True),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_access'))
    )
    op.create_index('ix_partner_access_partner_at', 'partner_access', ['partner', 'at'])
    op.create_index('ix_partner_access_endpoint_to_seq', 'partner_access', ['endpoint', 'to_seq'])


def downgrade() -> None:
    op.drop_index('ix_partner_access_endpoint_to_seq', table_name='partner_access')
    op.drop_index('ix_partner_access_partner_at', table_name='partner_access')
    op.drop_table('partner_access')
