"""tokens given a role, an owner and an expiry"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations import columns as col

revision = "token_grants"
down_revision = "vendor_links"


def upgrade() -> None:
    op.create_table(
        "token_grants",
        col.string("token_id", 40),
        col.string("role", 16),
        col.string("person", 320, nullable=True),
        col.string("integration", 200, nullable=True),
        col.when("expires_at", nullable=True),
        col.when("last_used_at", nullable=True),
        col.cascade("token_id", "tokens.id"),
        sa.PrimaryKeyConstraint("token_id"),
    )
    # The tokens made before keep the rights they had: operators of their workspace.
    op.execute(
        "INSERT INTO token_grants (token_id, role, person, integration, expires_at, last_used_at) "
        "SELECT id, 'operator', NULL, NULL, NULL, NULL FROM tokens"
    )


def downgrade() -> None:
    op.drop_table("token_grants")
