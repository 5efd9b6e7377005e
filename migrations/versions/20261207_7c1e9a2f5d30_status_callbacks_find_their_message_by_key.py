"""status callbacks find their message by its idempotency key: nothing is parked

Revision ID: 7c1e9a2f5d30
Revises: 3f6c2a9d41b7
Create Date: 2026-12-07 19:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c1e9a2f5d30'
down_revision = '3f6c2a9d41b7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('parked_status_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parked_status_reports_received_at'))
        batch_op.drop_index(batch_op.f('ix_parked_status_reports_provider_sid'))
    op.drop_table('parked_status_reports')


def downgrade():
    op.create_table('parked_status_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_sid', sa.String(length=64), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parked_status_reports'))
    )
    with op.batch_alter_table('parked_status_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parked_status_reports_provider_sid'), ['provider_sid'], unique=False)
        batch_op.create_index(batch_op.f('ix_parked_status_reports_received_at'), ['received_at'], unique=False)
