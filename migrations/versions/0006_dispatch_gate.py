"""the dispatch gate: the county's work-item list and the gate's fields on tasks

Revision ID: 0006_dispatch_gate
Revises: 0005_ack
"""
from alembic import op
import sqlalchemy as sa

revision = '0006_dispatch_gate'
down_revision = '0005_ack'
branch_labels = None
depends_on = None

TASK_COLUMNS = [
    sa.Column('offlist_reason', sa.Text()),
    sa.Column('support_department', sa.String(100)),
    sa.Column('dispatch_id', sa.String(36)),
    sa.Column('gate', sa.String(16)),
    sa.Column('gate_reason', sa.Text()),
    sa.Column('item_name', sa.String(200)),
    sa.Column('item_basis', sa.Text()),
    sa.Column('duplicate_of', sa.String(36)),
    sa.Column('sent_on', sa.Date()),
    sa.Column('flag', sa.String(16)),
    sa.Column('flag_note', sa.Text()),
]


def upgrade():
    op.create_table(
        'work_items',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('county_id', sa.Integer(), sa.ForeignKey('units.id'), nullable=False),
        sa.Column('code', sa.String(32), nullable=False),
        sa.Column('name', sa.String(200), nullable=False),
        sa.Column('basis', sa.Text(), nullable=False),
        sa.Column('department', sa.String(100), nullable=False),
        sa.Column('effort_hours', sa.Float()),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('county_id', 'code', name='uq_work_items_county_code'),
    )
    op.create_index('ix_work_items_county_id', 'work_items', ['county_id'])
    op.create_table(
        'work_item_changes',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('item_id', sa.Integer(), sa.ForeignKey('work_items.id'), nullable=False),
        sa.Column('import_id', sa.String(36), nullable=False),
        sa.Column('action', sa.String(16), nullable=False),
        sa.Column('before', sa.JSON()),
        sa.Column('after', sa.JSON(), nullable=False),
        sa.Column('by_user', sa.Integer(), sa.ForeignKey('users.id')),
        sa.Column('source', sa.String(200), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_work_item_changes_item_id', 'work_item_changes', ['item_id'])
    op.create_index('ix_work_item_changes_import_id', 'work_item_changes', ['import_id'])
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        for column in TASK_COLUMNS:
            batch_op.add_column(column)
        batch_op.create_index('ix_tasks_dispatch_id', ['dispatch_id'])
        batch_op.create_index('ix_tasks_gate', ['gate'])
        batch_op.create_index('ix_tasks_unit_item', ['unit_id', 'item_code'])
    # Tasks sent before the gate existed count as approved, on the day they were made.
    # created_at is naive UTC; the day a task reached the village is a day in Asia/Shanghai (UTC+8, no DST).
    day = ("date(created_at, '+8 hours')" if op.get_bind().dialect.name == "sqlite"
           else "CAST((created_at AT TIME ZONE 'UTC') AT TIME ZONE 'Asia/Shanghai' AS DATE)")
    op.execute(f"UPDATE tasks SET gate = 'approved', sent_on = {day} WHERE origin = 'township'")


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_unit_item')
        batch_op.drop_index('ix_tasks_gate')
        batch_op.drop_index('ix_tasks_dispatch_id')
        for column in reversed(TASK_COLUMNS):
            batch_op.drop_column(column.name)
    op.drop_table('work_item_changes')
    op.drop_table('work_items')
