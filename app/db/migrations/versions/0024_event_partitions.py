"""event tables partitioned by week on PostgreSQL; refs carry their event's time

On PostgreSQL, events, event_refs and webhook_deliveries become tables partitioned by range of
time (app/db/partitions.py), with every row kept: the old tables are copied into the new ones
and dropped, their sequences (and so the sequence numbers) carried over. The idempotency keys
move to event_ids and webhook_delivery_ids. On SQLite, event_refs gains the time column only.
The downgrade undoes it, rows kept (tests/app/db/test_migrations.py).
"""

from datetime import UTC, datetime

from alembic import op
from sqlalchemy import Connection

from app.db import partitions

revision = "event_partitions"
down_revision = "worker_leases"
branch_labels = None
depends_on = ("0003",)  # webhook_deliveries

_OLDEST_WEEKS = 104
"""Weeks of existing history given partitions of their own; anything older goes to DEFAULT."""


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        op.execute(
            "ALTER TABLE event_refs ADD COLUMN time DATETIME NOT NULL "
            "DEFAULT '1970-01-01 00:00:00.000000'"
        )
        op.execute(
            "UPDATE event_refs SET time = COALESCE("
            "(SELECT events.time FROM events WHERE events.seq = event_refs.seq), time)"
        )
        return
    _partition(connection)


def _partition(connection: Connection) -> None:
    run = connection.exec_driver_sql
    for table in ("events", "event_refs", "webhook_deliveries"):
        run(f"ALTER TABLE {table} RENAME TO {table}_old")
    run("ALTER SEQUENCE events_seq_seq OWNED BY NONE")
    run("ALTER SEQUENCE webhook_deliveries_seq_seq OWNED BY NONE")
    # The old tables' constraint and index names are wanted by the new tables.
    for table in ("event_refs_old", "events_old", "webhook_deliveries_old"):
        names = run(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass "
            "ORDER BY contype = 'f' DESC",
            (table,),
        ).scalars()
        for name in list(names):
            run(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name in list(run("SELECT indexname FROM pg_indexes WHERE tablename = %s", (table,))):
            run(f'DROP INDEX "{name[0]}"')

    run(
        "CREATE TABLE events ("
        " seq BIGINT NOT NULL DEFAULT nextval('events_seq_seq'),"
        " workspace_id VARCHAR(63) NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,"
        " event_id VARCHAR(200) NOT NULL, time TIMESTAMP WITH TIME ZONE NOT NULL,"
        " flow VARCHAR(64) NOT NULL, kind VARCHAR(8) NOT NULL, system VARCHAR(64) NOT NULL,"
        " target VARCHAR(64), body TEXT NOT NULL,"
        " received_at TIMESTAMP WITH TIME ZONE NOT NULL,"
        " CONSTRAINT events_pkey PRIMARY KEY (seq, time)) PARTITION BY RANGE (time)"
    )
    run("CREATE INDEX ix_events_workspace_time ON events (workspace_id, time, seq)")
    run("CREATE INDEX ix_events_workspace_flow_time ON events (workspace_id, flow, time)")
    run(
        "CREATE TABLE event_refs ("
        " seq BIGINT NOT NULL, namespace VARCHAR(100) NOT NULL,"
        " workspace_id VARCHAR(63) NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,"
        " value VARCHAR(200) NOT NULL, time TIMESTAMP WITH TIME ZONE NOT NULL,"
        " CONSTRAINT event_refs_pkey PRIMARY KEY (seq, namespace, time))"
        " PARTITION BY RANGE (time)"
    )
    run("CREATE INDEX ix_event_refs_lookup ON event_refs (workspace_id, namespace, value, seq)")
    run(
        "CREATE TABLE webhook_deliveries ("
        " seq BIGINT NOT NULL DEFAULT nextval('webhook_deliveries_seq_seq'),"
        " workspace_id VARCHAR(63) NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,"
        " system_id VARCHAR(64) NOT NULL, delivery_id VARCHAR(200) NOT NULL,"
        " headers TEXT NOT NULL, body BYTEA NOT NULL,"
        " received_at TIMESTAMP WITH TIME ZONE NOT NULL,"
        " processed_at TIMESTAMP WITH TIME ZONE, error TEXT,"
        " CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (seq, received_at))"
        " PARTITION BY RANGE (received_at)"
    )
    for table in partitions.PARTITIONED:
        run(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    run("ALTER SEQUENCE events_seq_seq OWNED BY events.seq")
    run("ALTER SEQUENCE webhook_deliveries_seq_seq OWNED BY webhook_deliveries.seq")

    oldest = run(
        "SELECT least((SELECT min(time) FROM events_old),"
        " (SELECT min(received_at) FROM webhook_deliveries_old))"
    ).scalar_one()
    now = datetime.now(UTC)
    days = (now - oldest).total_seconds() / 86400 if oldest is not None else 0.0
    partitions.maintain(connection, keep_days=min(days, _OLDEST_WEEKS * 7.0), now=now)

    run("INSERT INTO events SELECT * FROM events_old")
    run(
        "INSERT INTO event_refs (seq, namespace, workspace_id, value, time)"
        " SELECT r.seq, r.namespace, r.workspace_id, r.value, e.time"
        " FROM event_refs_old r JOIN events_old e ON e.seq = r.seq"
    )
    run("INSERT INTO webhook_deliveries SELECT * FROM webhook_deliveries_old")
    run(
        "CREATE TABLE event_ids ("
        " workspace_id VARCHAR(63) NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,"
        " event_id VARCHAR(200) NOT NULL, time TIMESTAMP WITH TIME ZONE NOT NULL,"
        " PRIMARY KEY (workspace_id, event_id))"
    )
    run("INSERT INTO event_ids SELECT workspace_id, event_id, time FROM events_old")
    run("CREATE INDEX ix_event_ids_time ON event_ids (time)")
    run(
        "CREATE TABLE webhook_delivery_ids ("
        " workspace_id VARCHAR(63) NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,"
        " system_id VARCHAR(64) NOT NULL, delivery_id VARCHAR(200) NOT NULL,"
        " received_at TIMESTAMP WITH TIME ZONE NOT NULL,"
        " PRIMARY KEY (workspace_id, system_id, delivery_id))"
    )
    run(
        "INSERT INTO webhook_delivery_ids"
        " SELECT workspace_id, system_id, delivery_id, received_at FROM webhook_deliveries_old"
    )
    run("CREATE INDEX ix_webhook_delivery_ids_received_at ON webhook_delivery_ids (received_at)")
    for table in ("event_refs_old", "events_old", "webhook_deliveries_old"):
        run(f"DROP TABLE {table}")


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        with op.batch_alter_table("event_refs") as batch:
            batch.drop_column("time")
        return
    _unpartition(connection)


def _unpartition(connection: Connection) -> None:
    """Back to the plain tables of 0001 and 0003, every row kept, the sequences carried over."""
    run = connection.exec_driver_sql
    run(
        "CREATE TABLE events_plain ("
        " seq BIGINT NOT NULL DEFAULT nextval('events_seq_seq'),"
        " workspace_id VARCHAR(63) NOT NULL, event_id VARCHAR(200) NOT NULL,"
        " time TIMESTAMP WITH TIME ZONE NOT NULL, flow VARCHAR(64) NOT NULL,"
        " kind VARCHAR(8) NOT NULL, system VARCHAR(64) NOT NULL, target VARCHAR(64),"
        " body TEXT NOT NULL, received_at TIMESTAMP WITH TIME ZONE NOT NULL)"
    )
    run("INSERT INTO events_plain SELECT * FROM events")
    run(
        "CREATE TABLE event_refs_plain ("
        " seq BIGINT NOT NULL, namespace VARCHAR(100) NOT NULL,"
        " workspace_id VARCHAR(63) NOT NULL, value VARCHAR(200) NOT NULL)"
    )
    run("INSERT INTO event_refs_plain SELECT seq, namespace, workspace_id, value FROM event_refs")
    run(
        "CREATE TABLE webhook_deliveries_plain ("
        " seq BIGINT NOT NULL DEFAULT nextval('webhook_deliveries_seq_seq'),"
        " workspace_id VARCHAR(63) NOT NULL, system_id VARCHAR(64) NOT NULL,"
        " delivery_id VARCHAR(200) NOT NULL, headers TEXT NOT NULL, body BYTEA NOT NULL,"
        " received_at TIMESTAMP WITH TIME ZONE NOT NULL,"
        " processed_at TIMESTAMP WITH TIME ZONE, error TEXT)"
    )
    run("INSERT INTO webhook_deliveries_plain SELECT * FROM webhook_deliveries")

    run("ALTER SEQUENCE events_seq_seq OWNED BY NONE")
    run("ALTER SEQUENCE webhook_deliveries_seq_seq OWNED BY NONE")
    for table in ("event_ids", "webhook_delivery_ids", *partitions.PARTITIONED):
        run(f"DROP TABLE {table}")  # a partitioned table takes its partitions with it
    for table in partitions.PARTITIONED:
        run(f"ALTER TABLE {table}_plain RENAME TO {table}")

    workspace = "FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE"
    run(f"ALTER TABLE events ADD CONSTRAINT events_workspace_id_fkey {workspace}")
    run("ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (seq)")
    run(
        "ALTER TABLE events ADD CONSTRAINT uq_events_workspace_event"
        " UNIQUE (workspace_id, event_id)"
    )
    run("CREATE INDEX ix_events_workspace_flow_time ON events (workspace_id, flow, time)")
    run("CREATE INDEX ix_events_workspace_time ON events (workspace_id, time, seq)")
    run("ALTER TABLE event_refs ADD CONSTRAINT event_refs_pkey PRIMARY KEY (seq, namespace)")
    run(
        "ALTER TABLE event_refs ADD CONSTRAINT event_refs_seq_fkey"
        " FOREIGN KEY (seq) REFERENCES events (seq) ON DELETE CASCADE"
    )
    run("CREATE INDEX ix_event_refs_lookup ON event_refs (workspace_id, namespace, value, seq)")
    run(
        "ALTER TABLE webhook_deliveries"
        f" ADD CONSTRAINT webhook_deliveries_workspace_id_fkey {workspace}"
    )
    run("ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (seq)")
    run(
        "ALTER TABLE webhook_deliveries ADD CONSTRAINT uq_webhook_delivery"
        " UNIQUE (workspace_id, system_id, delivery_id)"
    )
    run("ALTER SEQUENCE events_seq_seq OWNED BY events.seq")
    run("ALTER SEQUENCE webhook_deliveries_seq_seq OWNED BY webhook_deliveries.seq")
