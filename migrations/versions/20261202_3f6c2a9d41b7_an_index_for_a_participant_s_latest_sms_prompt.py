"""an index for a participant's latest SMS prompt

Revision ID: 3f6c2a9d41b7
Revises: b500200a735c
Create Date: 2026-12-02 11:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3f6c2a9d41b7'
down_revision = 'b500200a735c'
branch_labels = None
depends_on = None

# As eas.scheduling.models.WENT_OUT_BY_SMS writes it (the query must repeat it to use the index).
_WENT_OUT_BY_SMS = sa.text("channel = 'sms' AND status IN ('sent', 'sending')")


def upgrade():
    op.create_index(
        'ix_planned_prompts_latest_sms',
        'planned_prompts',
        ['participant_id', sa.text('coalesce(sent_at, due_at)'), 'id'],
        unique=False,
        sqlite_where=_WENT_OUT_BY_SMS,
        postgresql_where=_WENT_OUT_BY_SMS,
    )


def downgrade():
    op.drop_index('ix_planned_prompts_latest_sms', table_name='planned_prompts')
