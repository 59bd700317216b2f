"""site plans and published survey versions

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:30:00

New: survey_versions (a site's published surveys, and the deployment's own as first
used), site_plans (a site's timepoints and entry types), responses.survey_version_id.
Existing responses keep a null version: they answered the deployment's own file.
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'survey_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=True),
        sa.Column('survey_id', sa.String(length=40), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('published_by', sa.String(length=254), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'],
                                name=op.f('fk_survey_versions_site_id_sites')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_versions')),
        sa.UniqueConstraint('site_id', 'survey_id', 'version',
                            name=op.f('uq_survey_versions_site_id')),
    )
    op.create_index(op.f('ix_survey_versions_site_id'), 'survey_versions', ['site_id'])
    op.create_index('uq_survey_versions_shipped', 'survey_versions', ['survey_id', 'version'],
                    unique=True, sqlite_where=sa.text('site_id IS NULL'),
                    postgresql_where=sa.text('site_id IS NULL'))
    op.create_table(
        'site_plans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('plan', sa.JSON(), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('published_by', sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'],
                                name=op.f('fk_site_plans_site_id_sites')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_site_plans')),
        sa.UniqueConstraint('site_id', 'version', name=op.f('uq_site_plans_site_id')),
    )
    op.create_index(op.f('ix_site_plans_site_id'), 'site_plans', ['site_id'])
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('survey_version_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_responses_survey_version_id_survey_versions'), 'survey_versions',
            ['survey_version_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_responses_survey_version_id_survey_versions'), type_='foreignkey')
        batch_op.drop_column('survey_version_id')
    op.drop_index(op.f('ix_site_plans_site_id'), table_name='site_plans')
    op.drop_table('site_plans')
    op.drop_index('uq_survey_versions_shipped', table_name='survey_versions')
    op.drop_index(op.f('ix_survey_versions_site_id'), table_name='survey_versions')
    op.drop_table('survey_versions')
