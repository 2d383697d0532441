"""the shape (scope, format, names) of the partner a batch was written for

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
    with op.batch_alter_table('partner_batches') as batch:
        batch.add_column(sa.Column('shape_digest', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('partner_batches') as batch:
        batch.drop_column('shape_digest')
