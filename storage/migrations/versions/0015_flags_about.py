"""safeguarding flags name the person an answer is about

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 04:00:00

A family member's or professional's answer about a person that worries was filed only
under the person who answered: the review queue did not say whom it was about, the
person's own page did not show it, and erasing the person spoken about left it behind.
``safeguarding_flags.about_id`` names that person (empty: the person answering spoke
about themselves); erasing them deletes it.

An existing flag is matched to the answer it was raised on (the same person, timepoint
and question, and the words, recording or label it copied): when those answers are all
about one person, the flag is about them. A flag whose answer has since changed, or
that matches answers about two people, stays about nobody.
"""

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('safeguarding_flags') as batch:
        batch.add_column(sa.Column('about_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_safeguarding_flags_about_id_participants'),
                                 'participants', ['about_id'], ['id'], ondelete='CASCADE')
        batch.create_index(op.f('ix_safeguarding_flags_about_id'), ['about_id'])
    op.execute(sa.text("""
        UPDATE safeguarding_flags SET about_id = (
            SELECT MIN(r.about_id) FROM responses r
            JOIN answers a ON a.response_id = r.id
            WHERE r.participant_id = safeguarding_flags.participant_id
              AND r.wave = safeguarding_flags.wave
              AND a.question_id = safeguarding_flags.question_id
              AND (a.text = safeguarding_flags.text
                   OR a.recording = safeguarding_flags.text
                   OR a.value_label = safeguarding_flags.text)
            HAVING COUNT(DISTINCT COALESCE(r.about_id, 0)) = 1)"""))


def downgrade() -> None:
    with op.batch_alter_table('safeguarding_flags') as batch:
        batch.drop_index(op.f('ix_safeguarding_flags_about_id'))
        batch.drop_constraint(op.f('fk_safeguarding_flags_about_id_participants'),
                              type_='foreignkey')
        batch.drop_column('about_id')
