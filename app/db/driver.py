"""Statements and savepoints through the database driver, under SQLAlchemy's statement layer.

Every savepoint of the service is :func:`savepoint`; the store's hot write paths (the writer's
group commits of webhook deliveries and event batches: their inserts, the receivers' stamps,
``BEGIN IMMEDIATE``) run their own SQL text through :func:`execute`. Measured on the 2-core
build machine, SQLAlchemy's layer cost the calling thread about 45 µs per ``exec_driver_sql``
(2.6 µs for the same statement on the driver's cursor) and about 230 µs per ``begin_nested()``
savepoint and its release (3.4 µs as two statements), all of it holding the GIL: a group
commit of a few webhook deliveries spent more of the interpreter on that layer than on its
data, while the event loop that answers the senders waited for the GIL (bench/README.md,
``webhooks.py``).

Both run inside the connection's current transaction and raise what SQLAlchemy would have
raised (:class:`sqlalchemy.exc.DBAPIError` and its subclasses, such as ``IntegrityError``), so
callers and the service's error answers are the same. Statements built with SQLAlchemy Core
keep their compiler.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

_names = itertools.count(1)


def execute(connection: Connection, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
    """Run ``sql`` with ``parameters`` (the driver's paramstyle) on the connection's driver
    connection; the rows it returns (an empty list for a statement that returns none)."""
    driver = connection.connection.driver_connection
    assert driver is not None, "a connection in use has its driver connection"
    cursor = driver.cursor()
    try:
        if parameters:
            cursor.execute(sql, parameters)
        else:  # no placeholder processing (psycopg would read a '%' in the text as one)
            cursor.execute(sql)
        return cursor.fetchall() if cursor.description is not None else []
    except connection.dialect.loaded_dbapi.Error as exc:
        raise _wrapped(connection, sql, parameters, exc) from exc
    finally:
        cursor.close()


@contextmanager
def savepoint(connection: Connection) -> Iterator[None]:
    """What ``connection.begin_nested()`` does as a context manager: a savepoint released
    when the block ends, rolled back to when it raises (the exception passes on)."""
    name = f"arbiter_sp_{next(_names)}"
    execute(connection, f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        execute(connection, f"ROLLBACK TO SAVEPOINT {name}")
        execute(connection, f"RELEASE SAVEPOINT {name}")
        raise
    execute(connection, f"RELEASE SAVEPOINT {name}")


def _wrapped(
    connection: Connection, sql: str, parameters: Sequence[Any], exc: Exception
) -> BaseException:
    return DBAPIError.instance(
        sql,
        parameters,
        exc,
        connection.dialect.loaded_dbapi.Error,
        hide_parameters=connection.engine.hide_parameters,
        dialect=connection.dialect,
    )
