"""invitations can be withdrawn; vendor links carry the language they are shown in"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations import columns as col

revision = "withdrawal_link_language"
down_revision = "token_grants"


def upgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(col.when("withdrawn_at", nullable=True))
    # Links made before spoke English: that is what they keep.
    with op.batch_alter_table("vendor_links") as batch:
        batch.add_column(
            sa.Column("language", sa.String(length=2), nullable=False, server_default="en")
        )


def downgrade() -> None:
    with op.batch_alter_table("vendor_links") as batch:
        batch.drop_column("language")
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("withdrawn_at")
