"""recordings: every spoken answer stored once, encrypted, with its duration and transcript

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 23:59:00

New: recordings (audio and transcript encrypted with DATA_KEY).
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'recordings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=40), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('response_id', sa.Integer(), nullable=True),
        sa.Column('question_id', sa.String(length=40), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('content_type', sa.String(length=40), nullable=False),
        sa.Column('duration', sa.Float(), nullable=True),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('audio', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('transcript', sa.Text(), nullable=True),
        sa.Column('transcribed_by', sa.String(length=254), nullable=False),
        sa.Column('transcribed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], ondelete='CASCADE',
                                name=op.f('fk_recordings_participant_id_participants')),
        sa.ForeignKeyConstraint(['response_id'], ['responses.id'], ondelete='CASCADE',
                                name=op.f('fk_recordings_response_id_responses')),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'],
                                name=op.f('fk_recordings_site_id_sites')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recordings')),
        sa.UniqueConstraint('key', name=op.f('uq_recordings_key')),
    )
    op.create_index(op.f('ix_recordings_participant_id'), 'recordings', ['participant_id'])
    op.create_index(op.f('ix_recordings_response_id'), 'recordings', ['response_id'])
    op.create_index(op.f('ix_recordings_site_id'), 'recordings', ['site_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_recordings_site_id'), table_name='recordings')
    op.drop_index(op.f('ix_recordings_response_id'), table_name='recordings')
    op.drop_index(op.f('ix_recordings_participant_id'), table_name='recordings')
    op.drop_table('recordings')
