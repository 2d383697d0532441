"""where a batch's files are: the outbox, or its held folder

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
    with op.batch_alter_table('partner_batches') as batch:
        batch.add_column(sa.Column('folder', sa.String(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('partner_batches') as batch:
        batch.drop_column('folder')
