"""staff sessions: a version that ends every copy of a session, and disabled accounts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 21:00:00

New: staff_users.session_version (1 for every account already stored), raised by
signing out, a password change and disabling an account; staff_users.active (true for
every account already stored).
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='1',
                                      nullable=False))
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(),
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_column('active')
        batch_op.drop_column('session_version')
