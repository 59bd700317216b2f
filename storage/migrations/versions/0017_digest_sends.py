"""digest sends: each site's weekly digest claimed once

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-02 04:20:00

The weekly digest used to look for an audit line to learn whether a week's digest had
gone, which two runs at once could both miss. A run now claims (site, week) in
``digest_sends`` before emailing, and the unique constraint lets only one succeed; a
claim whose run died before sending is taken over after a while (``web_survey.digest``).
"""

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'digest_sends',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('week', sa.Date(), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'],
                                name=op.f('fk_digest_sends_site_id_sites')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_sends')),
        sa.UniqueConstraint('site_id', 'week', name=op.f('uq_digest_sends_site_id')))


def downgrade() -> None:
    op.drop_table('digest_sends')
