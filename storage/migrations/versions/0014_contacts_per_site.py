"""contacts per site: a number is unique within a site, not across sites

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 04:00:00

A phone number or chat id was unique across the whole deployment, so a site adding a
number learned that another site already held it (issue 17, item 8). Each contact now
carries its participant's site (``contacts.site_id``), unique on (site, kind, lookup),
with an index on (kind, lookup) for finding who sent a message. ``reached_at`` records
when an invitation last went to the contact (or the person linked the chat), so a
message from a number two sites hold goes to the site that last reached the person.
Existing contacts take their participant's site and no ``reached_at``.

Downgrading fails while two sites hold one number: that cannot be undone without
choosing whose record loses it.
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contacts') as batch:
        batch.add_column(sa.Column('site_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('reached_at', sa.DateTime(timezone=True), nullable=True))
    contacts = sa.table('contacts', sa.column('site_id', sa.Integer()),
                        sa.column('participant_id', sa.Integer()))
    participants = sa.table('participants', sa.column('id', sa.Integer()),
                            sa.column('site_id', sa.Integer()))
    op.execute(contacts.update().values(site_id=sa.select(participants.c.site_id).where(
        participants.c.id == contacts.c.participant_id).scalar_subquery()))
    with op.batch_alter_table('contacts') as batch:
        batch.alter_column('site_id', existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(op.f('fk_contacts_site_id_sites'), 'sites', ['site_id'],
                                 ['id'])
        batch.drop_constraint('uq_contacts_kind', type_='unique')
        batch.create_unique_constraint(op.f('uq_contacts_site_id'),
                                       ['site_id', 'kind', 'lookup'])
        batch.create_index('ix_contacts_kind_lookup', ['kind', 'lookup'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('contacts') as batch:
        batch.drop_index('ix_contacts_kind_lookup')
        batch.drop_constraint('uq_contacts_site_id', type_='unique')
        batch.create_unique_constraint(op.f('uq_contacts_kind'), ['kind', 'lookup'])
        batch.drop_constraint('fk_contacts_site_id_sites', type_='foreignkey')
        batch.drop_column('reached_at')
        batch.drop_column('site_id')
