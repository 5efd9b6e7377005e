"""plan horizons for long and open-ended studies

Revision ID: b7e3f1c2d9a4
Revises: d495a64114db
Create Date: 2026-12-08 00:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e3f1c2d9a4'
down_revision = 'd495a64114db'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('plan_horizons',
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('planned_through_day', sa.Integer(), nullable=False),
    sa.Column('planned_through', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_plan_horizons_participant_id_participants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('participant_id', name=op.f('pk_plan_horizons'))
    )
    with op.batch_alter_table('plan_horizons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_horizons_planned_through'), ['planned_through'], unique=False)


def downgrade():
    with op.batch_alter_table('plan_horizons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_horizons_planned_through'))

    op.drop_table('plan_horizons')
