"""response slots: recurring pulses and open-ended entries, and linked respondents

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:00:00

A person may now have more than one response at a timepoint: the nth pulse of a
recurring timepoint, the nth entry of a journal or story, and (for a family member or
professional) one about each person they speak about. ``responses.occurrence`` numbers
them (0: a one-off timepoint, as every existing response is) and ``responses.about_id``
names the person spoken about; the unique key becomes (participant, wave, occurrence,
about), with a partial index for the rows about nobody. Participants gain the slot they are answering now (``current_occurrence``,
``current_about_id``) and an entry they are adding (``entry_wave``, ``entry_occurrence``);
invitations carry the same two; ``participant_links`` holds who speaks about whom.
Existing rows keep their meaning: occurrence 0, about nobody, no entry open.
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'participant_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('about_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], ondelete='CASCADE',
                                name=op.f('fk_participant_links_participant_id_participants')),
        sa.ForeignKeyConstraint(['about_id'], ['participants.id'], ondelete='CASCADE',
                                name=op.f('fk_participant_links_about_id_participants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_participant_links')),
        sa.UniqueConstraint('participant_id', 'about_id',
                            name=op.f('uq_participant_links_participant_id')),
    )
    op.create_index(op.f('ix_participant_links_about_id'), 'participant_links', ['about_id'])
    with op.batch_alter_table('participants') as batch:
        batch.add_column(sa.Column('current_occurrence', sa.Integer(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('current_about_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('entry_wave', sa.String(length=16), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('entry_occurrence', sa.Integer(), nullable=False,
                                   server_default='0'))
        batch.create_foreign_key(op.f('fk_participants_current_about_id_participants'),
                                 'participants', ['current_about_id'], ['id'],
                                 ondelete='SET NULL')
    with op.batch_alter_table('invitations') as batch:
        batch.add_column(sa.Column('occurrence', sa.Integer(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('about_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_invitations_about_id_participants'),
                                 'participants', ['about_id'], ['id'], ondelete='CASCADE')
    with op.batch_alter_table('responses') as batch:
        batch.add_column(sa.Column('occurrence', sa.Integer(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('about_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_responses_about_id_participants'),
                                 'participants', ['about_id'], ['id'], ondelete='CASCADE')
        batch.drop_constraint('uq_responses_participant_id', type_='unique')
        batch.create_unique_constraint('uq_responses_slot',
                                       ['participant_id', 'wave', 'occurrence', 'about_id'])
    # A unique constraint lets NULLs repeat: a person's own responses (about nobody)
    # need an index of their own.
    op.create_index('uq_responses_own_slot', 'responses',
                    ['participant_id', 'wave', 'occurrence'], unique=True,
                    sqlite_where=sa.text('about_id IS NULL'),
                    postgresql_where=sa.text('about_id IS NULL'))


def downgrade() -> None:
    op.drop_index('uq_responses_own_slot', table_name='responses')
    with op.batch_alter_table('responses') as batch:
        batch.drop_constraint('uq_responses_slot', type_='unique')
        batch.create_unique_constraint('uq_responses_participant_id', ['participant_id', 'wave'])
        batch.drop_constraint(op.f('fk_responses_about_id_participants'), type_='foreignkey')
        batch.drop_column('about_id')
        batch.drop_column('occurrence')
    with op.batch_alter_table('invitations') as batch:
        batch.drop_constraint(op.f('fk_invitations_about_id_participants'), type_='foreignkey')
        batch.drop_column('about_id')
        batch.drop_column('occurrence')
    with op.batch_alter_table('participants') as batch:
        batch.drop_constraint(op.f('fk_participants_current_about_id_participants'),
                              type_='foreignkey')
        batch.drop_column('entry_occurrence')
        batch.drop_column('entry_wave')
        batch.drop_column('current_about_id')
        batch.drop_column('current_occurrence')
    op.drop_index(op.f('ix_participant_links_about_id'), table_name='participant_links')
    op.drop_table('participant_links')
