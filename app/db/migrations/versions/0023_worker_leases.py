"""workers, their leases on workspaces, and what their connectors report (several worker
processes on PostgreSQL)
"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations import columns as col

revision = "worker_leases"
down_revision = "withdrawal_link_language"


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.String(length=64), primary_key=True),
        col.string("host", 255),
        col.integer("pid"),
        col.string("role", 16),
        col.when("started_at"),
        col.when("expires_at"),
    )
    op.create_table(
        "worker_leases",
        sa.Column("key", sa.String(length=80), primary_key=True),
        col.string("holder", 64, nullable=True),
        sa.Column("epoch", sa.BigInteger(), nullable=False, server_default="0"),
        col.when("acquired_at", nullable=True),
        col.when("expires_at", nullable=True),
    )
    op.create_index("ix_worker_leases_holder", "worker_leases", ["holder"])
    op.create_table(
        "connector_reports",
        sa.Column(
            "workspace_id",
            sa.String(length=63),
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("system", sa.String(length=64), primary_key=True),
        col.text("status"),
        col.when("reported_at"),
    )


def downgrade() -> None:
    op.drop_table("connector_reports")
    op.drop_index("ix_worker_leases_holder", table_name="worker_leases")
    op.drop_table("worker_leases")
    op.drop_table("workers")
