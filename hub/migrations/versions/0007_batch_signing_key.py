"""the hub signing key (kid) whose JWS a batch's manifest carries

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('partner_batches') as batch:
        batch.add_column(sa.Column('signed_by', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('partner_batches') as batch:
        batch.drop_column('signed_by')
