"""The ``arbiter`` command: serve the API, backfill a connection, run the sandbox."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
import uvicorn

from app.settings import Settings

cli = typer.Typer(
    help="Arbiter: which integration link failed, how, and who answers for it.",
    no_args_is_help=True,
)


@cli.callback()
def _root() -> None:
    """Keeps `serve` a subcommand even while it is the only one."""


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Serve the REST API, the webhook receiver and the dashboard."""
    from app.demo import decide as decide_demo
    from app.main import create_app
    from app.runtime import Runtime

    overrides = {"host": host, "port": port}
    settings = Settings().replace(**{k: v for k, v in overrides.items() if v is not None})
    if settings.processes.role == "worker":
        typer.echo("ARBITER_ROLE=worker: run `arbiter worker` for the background work.")
        raise typer.Exit(2)
    if settings.processes.role == "api" and settings.store.is_sqlite:
        typer.echo("ARBITER_ROLE=api needs PostgreSQL: on SQLite one process does everything.")
        raise typer.Exit(2)
    _configure_logging(settings)
    runtime = Runtime.start(decide_demo(settings))
    store = "SQLite" if settings.store.is_sqlite else "PostgreSQL"
    role = "" if settings.processes.role == "all" else f", role: {settings.processes.role}"
    typer.echo(f"Arbiter on http://{settings.host}:{settings.port}/  (store: {store}{role})")
    if runtime.admin_token_path is not None:
        typer.echo(f"Admin token: in {runtime.admin_token_path.resolve()}")
    else:
        typer.echo("Admin token: the one set in ARBITER_ADMIN_TOKEN")
    uvicorn.run(
        create_app(settings, runtime),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
    )


@cli.command()
def worker() -> None:
    """Run pollers, webhook sweeps, incidents and exporters (PostgreSQL; as many as needed).

    Workspaces are shared among the running workers through leases in PostgreSQL; a worker
    that stops or dies has its workspaces taken over by the others. `arbiter serve` with
    ARBITER_ROLE=api then only answers the API.
    """
    import asyncio

    from app import egress
    from app.runtime import Runtime
    from app.workers.service import run_worker

    settings = Settings().replace(role="worker", demo=False)
    if settings.store.is_sqlite:
        typer.echo(
            "arbiter worker needs PostgreSQL (ARBITER_DATABASE_URL=postgresql+psycopg://...): "
            "on SQLite `arbiter serve` does all the work in one process."
        )
        raise typer.Exit(2)
    _configure_logging(settings)
    runtime = Runtime.start(settings)
    egress.configure(settings.egress)
    typer.echo(f"Arbiter worker {runtime.scope.worker.id} (store: PostgreSQL)")
    try:
        asyncio.run(run_worker(runtime))
    finally:
        runtime.close()


@cli.command()
def workers() -> None:
    """List the live workers and the workspaces each holds (PostgreSQL)."""
    from app.db.engine import make_engine
    from app.workers.leases import STORE, live_workers

    settings = Settings()
    if settings.store.is_sqlite:
        typer.echo("On SQLite `arbiter serve` does all the work; there are no workers.")
        raise typer.Exit(2)
    engine = make_engine(settings.store.resolved_database_url)
    try:
        with engine.connect() as connection:
            found = live_workers(connection)
    finally:
        engine.dispose()
    if not found:
        typer.echo("No worker is alive.")
    for alive in found:
        worker = alive.worker
        store = " + store-wide work" if STORE in alive.holds else ""
        held = [key for key in alive.holds if key != STORE]
        typer.echo(
            f"{worker.id}  {worker.role:<6} {worker.host} pid {worker.pid}  "
            f"renewed, expires in {alive.expires_in:.0f} s  "
            f"{len(held)} workspace{'' if len(held) == 1 else 's'}{store}: "
            f"{', '.join(held) or '-'}"
        )


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if settings.log_level.lower() != "debug":
        # One line per outgoing poll request drowns what matters.
        logging.getLogger("httpx").setLevel(logging.WARNING)


@cli.command()
def retention(
    days: Annotated[
        float | None, typer.Option(help="Keep this many days (default: ARBITER_RETENTION_DAYS).")
    ] = None,
) -> None:
    """Delete raw events and webhook deliveries older than the retention period, now."""
    from app.db.retention import expire
    from app.runtime import Runtime

    runtime = Runtime.start(Settings())
    try:
        keep = runtime.settings.store.retention_days if days is None else days
        if keep <= 0:
            typer.echo("Retention is off (0 days): nothing deleted.")
            return
        done = expire(runtime.engine, runtime.writer, days=keep)
    finally:
        runtime.close()
    typer.echo(f"Deleted {done.events} events and {done.deliveries} webhook deliveries "
               f"older than {keep:g} days.")  # fmt: skip


@cli.command()
def backfill(
    workspace: Annotated[str, typer.Argument(help="The workspace.")],
    system: Annotated[str, typer.Argument(help="The system whose connection is read.")],
    days: Annotated[float, typer.Option(help="How many days of history to read.")] = 7,
) -> None:
    """Read a system's recent history once, within its rate limit (resumable: run it again)."""
    import asyncio

    from app.connections.backfill import backfill as run_backfill
    from app.exceptions import ArbiterError
    from app.runtime import Runtime
    from connectors.base import ConnectorError

    runtime = Runtime.start(Settings())
    try:
        with typer.progressbar(length=100, label=f"{workspace}/{system}, {days:g} days") as bar:
            shown = [0]

            def progress(share: float, _stored: int) -> None:
                step = int(share * 100) - shown[0]
                if step > 0:
                    bar.update(step)
                    shown[0] += step

            done = asyncio.run(
                run_backfill(runtime, workspace, system, days=days, progress=progress)
            )
    except ConnectorError as exc:
        typer.echo(f"Backfill stopped: {type(exc).__name__}: {exc}; run it again to resume.")
        raise typer.Exit(1) from exc
    except (ArbiterError, ValueError) as exc:
        typer.echo(f"Cannot backfill {workspace}/{system}: {exc}")
        raise typer.Exit(2) from exc
    finally:
        runtime.close()
    how = "resumed, " if done.resumed else ""
    typer.echo(f"Backfill done ({how}{done.rounds} rounds): {done.stored} events stored.")


@cli.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def sandbox(context: typer.Context) -> None:
    """Run the sandbox: imitated shop, OMS and ERP with fault injection (--help for options)."""
    from sandbox.__main__ import main as sandbox_main

    sandbox_main(context.args)


def main() -> None:
    cli()
