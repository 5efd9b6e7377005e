"""between-person arms: each participant's arm, and the stratum it was balanced within

Revision ID: 6712131d0d99
Revises: b7e3f1c2d9a4
Create Date: 2026-12-08 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6712131d0d99'
down_revision = 'b7e3f1c2d9a4'
branch_labels = None
depends_on = None


def upgrade():
    # Participants enrolled before their study had arms keep none (NULL).
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('arm', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('arm_stratum', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.drop_column('arm_stratum')
        batch_op.drop_column('arm')
