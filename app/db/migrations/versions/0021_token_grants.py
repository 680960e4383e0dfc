"""tokens given a role, an owner and an expiry

Revision ID: token_grants
Revises: vendor_links
"""

import sqlalchemy as sa
from alembic import op

revision = "token_grants"
down_revision = "vendor_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "token_grants",
        sa.Column("token_id", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("person", sa.String(length=320), nullable=True),
        sa.Column("integration", sa.String(length=200), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["token_id"], ["tokens.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_id"),
    )
    # The tokens made before keep the rights they had: operators of their workspace.
    op.execute(
        "INSERT INTO token_grants (token_id, role, person, integration, expires_at, last_used_at) "
        "SELECT id, 'operator', NULL, NULL, NULL, NULL FROM tokens"
    )


def downgrade() -> None:
    op.drop_table("token_grants")
