"""The accounts tests' fixtures: a quiet service with one incident and a loopback mailbox."""

from tests.accounts.conftest import database_url, mailbox, opened, quiet_client  # noqa: F401
