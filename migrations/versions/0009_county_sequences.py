"""the change sequence per county: a counter row per county, a county column on synced rows, (county, seq) unique

Every county's counter starts at the old server-wide value, so every cursor a client holds stays exact: the
records it has not seen are still those above it, in whichever county they are.

Revision ID: 0009_county_sequences
Revises: 0008_rate_limit_counters
"""
from alembic import op
import sqlalchemy as sa

revision = '0009_county_sequences'
down_revision = '0008_rate_limit_counters'
branch_labels = None
depends_on = None

SYNCED_TABLES = ('journals', 'problems', 'meetings', 'requests', 'tasks', 'reviews')


def _units_by_county(connection) -> dict[int, list[int]]:
    """county id → the ids of its units; a unit's county is the first id of its path ("/county/township/village/")."""
    counties: dict[int, list[int]] = {}
    for unit_id, path in connection.execute(sa.text("SELECT id, path FROM units")):
        counties.setdefault(int(path.strip('/').split('/')[0]), []).append(unit_id)
    return counties


def upgrade():
    connection = op.get_bind()
    op.create_table(
        'sync_counters',
        sa.Column('county_id', sa.Integer(), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['county_id'], ['units.id']),
        sa.PrimaryKeyConstraint('county_id'),
    )
    start = connection.execute(sa.text("SELECT COALESCE(MAX(value), 0) FROM sync_counter")).scalar()
    connection.execute(sa.text("INSERT INTO sync_counters (county_id, value) "
                               "SELECT id, :start FROM units WHERE level = 'county'"), {"start": start})
    counties = _units_by_county(connection)
    for table in SYNCED_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('county_id', sa.Integer(), nullable=True))
        for county_id, units in counties.items():
            connection.execute(sa.text(f"UPDATE {table} SET county_id = :county WHERE unit_id IN :units")
                               .bindparams(sa.bindparam('units', expanding=True)), {"county": county_id, "units": units})
        with op.batch_alter_table(table) as batch:
            batch.alter_column('county_id', existing_type=sa.Integer(), nullable=False)
            batch.drop_index(f'ix_{table}_seq')
            batch.create_index(f'ix_{table}_county_seq', ['county_id', 'seq'], unique=True)
            batch.create_index(f'ix_{table}_unit_seq', ['unit_id', 'seq'], unique=False)
    op.drop_table('sync_counter')


def downgrade():
    """Back to one server-wide sequence: every record is numbered anew above every county's counter, in the
    order of its county's numbers, so no client's cursor skips anything (each pulls its scope once more)."""
    connection = op.get_bind()
    top = connection.execute(sa.text("SELECT COALESCE(MAX(value), 0) FROM sync_counters")).scalar()
    rows = sorted((seq, county_id, table, record_id) for table in SYNCED_TABLES
                  for record_id, county_id, seq in connection.execute(
                      sa.text(f"SELECT id, county_id, seq FROM {table}")))
    for table in SYNCED_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f'ix_{table}_unit_seq')
            batch.drop_index(f'ix_{table}_county_seq')
    renumbered: dict[str, list[dict]] = {table: [] for table in SYNCED_TABLES}
    for number, (_seq, _county, table, record_id) in enumerate(rows, start=top + 1):
        renumbered[table].append({"seq": number, "id": record_id})
    for table, numbers in renumbered.items():
        if numbers:
            connection.execute(sa.text(f"UPDATE {table} SET seq = :seq WHERE id = :id"), numbers)
    for table in SYNCED_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.create_index(f'ix_{table}_seq', ['seq'], unique=True)
            batch.drop_column('county_id')
    counter = op.create_table(
        'sync_counter',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.bulk_insert(counter, [{'id': 1, 'value': top + len(rows)}])
    op.drop_table('sync_counters')
