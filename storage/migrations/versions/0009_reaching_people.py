"""reaching people: a site's fallback order and reminder rule; fallback steps

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 00:00:00

New: sites.fallback_order (empty for every site already stored: no fallback, as
before), sites.remind_after_days (3) and sites.remind_most (2), today's reminder rule;
invitations.previous_id, the invitation a fallback step follows (unique: one next
step each, whoever makes it).
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE, not a batch copy: SQLite cannot copy and drop a table other
    # tables' rows point at (sites, invitations) while foreign keys are enforced.
    op.add_column('sites', sa.Column('fallback_order', sa.String(length=100),
                                     server_default='', nullable=False))
    op.add_column('sites', sa.Column('remind_after_days', sa.Integer(), server_default='3',
                                     nullable=False))
    op.add_column('sites', sa.Column('remind_most', sa.Integer(), server_default='2',
                                     nullable=False))
    # No table points at invitations, so a batch copy (needed for a foreign key on
    # SQLite) is safe there.
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('previous_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_invitations_previous_id_invitations'),
                                    'invitations', ['previous_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_invitations_previous_id'), ['previous_id'],
                              unique=True)


def downgrade() -> None:
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitations_previous_id'))
        batch_op.drop_constraint(batch_op.f('fk_invitations_previous_id_invitations'),
                                 type_='foreignkey')
        batch_op.drop_column('previous_id')
    op.drop_column('sites', 'remind_most')
    op.drop_column('sites', 'remind_after_days')
    op.drop_column('sites', 'fallback_order')
