"""kept messages: what a person sends when no question is waiting

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:00:00

New: kept_messages (encrypted), for the site's staff to read.
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'kept_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('secret', sa.LargeBinary(), nullable=False),
        sa.Column('concerns', sa.String(length=200), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], ondelete='CASCADE',
                                name=op.f('fk_kept_messages_participant_id_participants')),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'],
                                name=op.f('fk_kept_messages_site_id_sites')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kept_messages')),
    )
    op.create_index(op.f('ix_kept_messages_participant_id'), 'kept_messages',
                    ['participant_id'])
    op.create_index(op.f('ix_kept_messages_site_id'), 'kept_messages', ['site_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_kept_messages_site_id'), table_name='kept_messages')
    op.drop_index(op.f('ix_kept_messages_participant_id'), table_name='kept_messages')
    op.drop_table('kept_messages')
