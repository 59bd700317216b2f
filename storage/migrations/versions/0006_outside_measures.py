"""outside measures: per-person figures for a period, imported from a site's CSV

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:20:00

New: outside_measures (hospital admissions, emergency medication, staffing: any named
measure), one value per participant, measure and period.
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outside_measures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('measure', sa.String(length=80), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('value', sa.Numeric(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=254), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_outside_measures_participant_id_participants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_outside_measures_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outside_measures')),
    sa.UniqueConstraint('participant_id', 'measure', 'period_start', 'period_end', name=op.f('uq_outside_measures_participant_id'))
    )
    with op.batch_alter_table('outside_measures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outside_measures_participant_id'), ['participant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outside_measures_site_id'), ['site_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outside_measures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outside_measures_site_id'))
        batch_op.drop_index(batch_op.f('ix_outside_measures_participant_id'))

    op.drop_table('outside_measures')
