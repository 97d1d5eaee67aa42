"""failed logins are counted where every worker sees them: the rate limiter's fixed windows

Revision ID: 0008_rate_limit_counters
Revises: 0007_device_sessions
"""
from alembic import op
import sqlalchemy as sa

revision = '0008_rate_limit_counters'
down_revision = '0007_device_sessions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rate_limit_counters',
        sa.Column('key', sa.String(255), primary_key=True),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_rate_limit_counters_expires_at', 'rate_limit_counters', ['expires_at'])


def downgrade():
    op.drop_index('ix_rate_limit_counters_expires_at', 'rate_limit_counters')
    op.drop_table('rate_limit_counters')
