"""alert numbers per study; who acknowledged an alert (account) and what they did (a note)

Revision ID: a4d2c7e9b813
Revises: 7c1e9a2f5d30
Create Date: 2026-12-08 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a4d2c7e9b813'
down_revision = '7c1e9a2f5d30'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('safety_alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_by_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_note', sa.String(length=500), nullable=True))
    # Existing alerts are numbered in the order they were raised (their ids), per study.
    op.execute(
        "UPDATE safety_alerts SET number = (SELECT COUNT(*) FROM safety_alerts AS earlier"
        " WHERE earlier.study_id = safety_alerts.study_id AND earlier.id <= safety_alerts.id)"
    )
    with op.batch_alter_table('safety_alerts', schema=None) as batch_op:
        batch_op.alter_column('number', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_safety_alerts_study_id_number'), ['study_id', 'number'])
        batch_op.create_foreign_key(batch_op.f('fk_safety_alerts_acknowledged_by_user_id_users'), 'users', ['acknowledged_by_user_id'], ['id'])


def downgrade():
    with op.batch_alter_table('safety_alerts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_safety_alerts_acknowledged_by_user_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_safety_alerts_study_id_number'), type_='unique')
        batch_op.drop_column('acknowledged_note')
        batch_op.drop_column('acknowledged_by_user_id')
        batch_op.drop_column('number')
