"""workers, their leases on workspaces, and what their connectors report (several worker
processes on PostgreSQL)

Revision ID: worker_leases
Revises: withdrawal_link_language
"""

import sqlalchemy as sa
from alembic import op

revision = "worker_leases"
down_revision = "withdrawal_link_language"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "worker_leases",
        sa.Column("key", sa.String(length=80), primary_key=True),
        sa.Column("holder", sa.String(length=64), nullable=True),
        sa.Column("epoch", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("connector_reports")
    op.drop_index("ix_worker_leases_holder", table_name="worker_leases")
    op.drop_table("worker_leases")
    op.drop_table("workers")
