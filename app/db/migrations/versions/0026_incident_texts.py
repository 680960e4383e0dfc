"""incidents keep their summary, and timeline entries their sentence, as message and parameters"""

from alembic import op

from app.db.migrations import columns as col

revision = "incident_texts"
down_revision = "open_journeys"
branch_labels = None
depends_on = ("0004",)  # incidents, incident_updates


def upgrade() -> None:
    # JSON of a graph.text.Text (app.i18n.texts.text_json); rows from before have none and are
    # shown in the English they were written in.
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(col.text("summary_text", nullable=True))
    with op.batch_alter_table("incident_updates") as batch:
        batch.add_column(col.text("text", nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incident_updates") as batch:
        batch.drop_column("text")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("summary_text")
