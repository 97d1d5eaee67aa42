"""devices carry the page session too: session hash, last use, token optional (web logins have none)

Revision ID: 0007_device_sessions
Revises: 0006_dispatch_gate
"""
from alembic import op
import sqlalchemy as sa

revision = '0007_device_sessions'
down_revision = '0006_dispatch_gate'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('devices') as batch:
        batch.add_column(sa.Column('session_hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('last_used_at', sa.DateTime(), nullable=True))
        batch.alter_column('token_hash', existing_type=sa.String(length=64), nullable=True)
    # A device's idle clock starts at its last sync (or its making): long-unused tokens expire from now on.
    op.execute("UPDATE devices SET last_used_at = COALESCE(last_sync_at, created_at)")


def downgrade():
    with op.batch_alter_table('devices') as batch:
        batch.alter_column('token_hash', existing_type=sa.String(length=64), nullable=False)
        batch.drop_column('last_used_at')
        batch.drop_column('session_hash')
