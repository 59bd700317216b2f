"""interviews: who conducted each answer, and staff roles

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-02 00:30:00

A worker may now sit with a person and enter their answers (interview mode). Each
answer says how it was given (``answers.mode``: ``self`` on the person's own channel,
``interview`` with a worker) and who conducted it (``answers.interviewer``, the staff
member's email; empty for ``self``). Every existing answer was the person's own.

Staff gain a role (``staff_users.role``): ``admin`` (every site), ``lead`` (everything
at their site: today's site staff) or ``interviewer`` (runs interviews at their site and
nothing else). Existing administrators become ``admin``, everyone else ``lead``;
``is_admin`` stays, true exactly when the role is ``admin``.
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('answers') as batch:
        batch.add_column(sa.Column('mode', sa.String(length=16), nullable=False,
                                   server_default='self'))
        batch.add_column(sa.Column('interviewer', sa.String(length=254), nullable=False,
                                   server_default=''))
    with op.batch_alter_table('staff_users') as batch:
        batch.add_column(sa.Column('role', sa.String(length=16), nullable=False,
                                   server_default='lead'))
    staff = sa.table('staff_users', sa.column('role', sa.String()),
                     sa.column('is_admin', sa.Boolean()))
    op.execute(staff.update().where(staff.c.is_admin.is_(True)).values(role='admin'))


def downgrade() -> None:
    with op.batch_alter_table('staff_users') as batch:
        batch.drop_column('role')
    with op.batch_alter_table('answers') as batch:
        batch.drop_column('interviewer')
        batch.drop_column('mode')
