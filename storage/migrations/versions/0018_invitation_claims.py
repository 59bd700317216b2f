"""invitation claims: when each send was claimed, for the per-number cap

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 05:00:00

A round used to count a provider number's sends in its own process, so two workers (or
a round still running when the next began) could each send the cap from one number. A
claim now writes ``invitations.claimed_at`` and takes a send only while the number's
claims in the round's window are under the cap (``storage.invitations.claim``); the
index keeps that count a range scan.
"""

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invitations') as batch:
        batch.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_invitations_channel_claimed_at', 'invitations',
                    ['channel', 'claimed_at'])


def downgrade() -> None:
    op.drop_index('ix_invitations_channel_claimed_at', table_name='invitations')
    with op.batch_alter_table('invitations') as batch:
        batch.drop_column('claimed_at')
