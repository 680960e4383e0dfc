"""Does the demo blame anyone for an ordinary shop day? Runs `arbiter serve` in demo mode (the
sandbox, the demo workspace, its pollers and webhooks: what `make run` starts) on free loopback
ports with a temporary data dir, polls the diagnosis every few seconds for N minutes, and prints
every suspect it ever saw with a verdict:

- ``--fault none``: no suspect in any diagnosis;
- ``--fault kind:target``: only the suspects that fault must produce (the right link or system,
  mode and party), and at least one of them.

    .venv/bin/python bench/realism.py [--minutes 30] [--fault none|reject:erp|outage:erp|...]

Exit status 0 when the verdict holds, 1 when it does not, 2 when the run itself failed. Each new
suspect is also written with its evidence (and the traces of its sample entities) to
``suspects.jsonl`` in the run's directory (``--keep`` keeps it) so a flicker can be explained.
Sandbox tuning reaches the sandbox through the environment (``SANDBOX_ORDER_INTERVAL``,
``SANDBOX_BANK_TRANSFER_WAIT``, ...), Arbiter's through ``ARBITER_DEMO_*``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from sandbox.config import free_port_block

WORKSPACE = "demo"
ROOT = Path(__file__).resolve().parent.parent

# fault → the suspects it may rightly produce: (place, modes, responsible)
Expected = tuple[str, frozenset[str], str]
ERP_UNAVAILABLE: tuple[Expected, ...] = (
    ("system erp", frozenset({"down"}), "ERP partner"),
    ("order oms>erp", frozenset({"unavailable"}), "ERP partner"),
    ("stock erp>oms", frozenset({"unavailable"}), "ERP partner"),
)
EXPECTED: dict[str, tuple[Expected, ...]] = {
    "reject:erp": (("order oms>erp", frozenset({"rejected"}), "ERP partner"),),
    "lost:erp": (("order oms>erp", frozenset({"lost"}), "ERP partner"),),
    "slow:erp": (("order oms>erp", frozenset({"late", "lost"}), "ERP partner"),),
    "down:erp": ERP_UNAVAILABLE,
    "outage:erp": ERP_UNAVAILABLE,
    "throttle:erp": (
        ("order oms>erp", frozenset({"rate_limited"}), "ERP partner"),
        ("stock erp>oms", frozenset({"rate_limited"}), "BaseLinker"),
    ),
    "token_expired:shop": (("order shop>oms", frozenset({"rejected"}), "BaseLinker"),),
    "wrong_stock:oms": (("stock oms>shop", frozenset({"mismatch"}), "BaseLinker"),),
    "stale_stock:oms": (("stock oms>shop", frozenset({"missing"}), "BaseLinker"),),
}


@dataclass
class Sighting:
    place: str
    mode: str
    responsible: str
    first: float
    first_wall: str
    last: float
    polls: int = 0
    most_affected: int = 0
    summary: str = ""


@dataclass
class Run:
    fault: str
    started: float = field(default_factory=time.monotonic)
    polls: int = 0
    failed_polls: int = 0
    polls_with_suspects: int = 0
    seen: dict[tuple[str, str, str], Sighting] = field(default_factory=dict)
    sandbox: dict[str, Any] = field(default_factory=dict)
    """The sandbox's counts at the end: what the day held (orders by status, by payment)."""

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def place_of(suspect: dict[str, Any]) -> str:
    link = suspect.get("link")
    if link is None:
        return f"system {suspect.get('system')}"
    return f"{link['flow']} {link['from']}>{link['to']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def demo_server(data_dir: Path, extra_env: dict[str, str]) -> Iterator[tuple[str, str, int]]:
    """`arbiter serve` in demo mode, with no fault of its own; yields (url, admin token,
    sandbox control port)."""
    port, sandbox_port = free_port(), free_port_block()
    token = "arb_realism_" + secrets.token_hex(12)
    env = dict(
        os.environ,
        ARBITER_DATA_DIR=str(data_dir),
        ARBITER_ADMIN_TOKEN=token,
        ARBITER_DEMO="true",
        ARBITER_DEMO_FAULT="none",
        ARBITER_DEMO_SANDBOX_PORT=str(sandbox_port),
        ARBITER_PORT=str(port),
        ARBITER_LOG_LEVEL="warning",
        **extra_env,
    )
    env.pop("ARBITER_DATABASE_URL", None)
    with (data_dir / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_for(f"{url}/healthz", process)
            _wait_for(f"http://127.0.0.1:{sandbox_port + 4}/healthz", process)
            yield url, token, sandbox_port + 4
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def inject(control_port: int, fault: str, params: dict[str, Any]) -> None:
    """The fault as the demo injects it (a ``reject`` hits 30 % of orders), with ``params``."""
    kind, _, target = fault.partition(":")
    spec = {"kind": kind, "target": target, "ratio": 0.3 if kind == "reject" else 1.0, **params}
    answer = httpx.post(f"http://127.0.0.1:{control_port}/faults", json=spec, timeout=10)
    if answer.status_code != 201:
        raise RuntimeError(f"the sandbox refused the fault {spec}: {answer.text}")


def _wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"arbiter serve exited with {process.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


def poll(api: httpx.Client, run: Run, record: Path) -> list[dict[str, Any]]:
    """One diagnosis; new suspects are printed and written with their evidence."""
    run.polls += 1
    try:
        try:
            answer = api.get(f"/workspaces/{WORKSPACE}/diagnosis")
        except httpx.TransportError:
            # polling every 5 s meets the server's 5 s keep-alive timeout now and then: the
            # connection it just closed is reused; once more on a fresh one
            answer = api.get(f"/workspaces/{WORKSPACE}/diagnosis")
        answer.raise_for_status()
    except httpx.HTTPError as exc:
        run.failed_polls += 1
        print(f"[{run.elapsed():6.0f} s] diagnosis failed: {exc}", flush=True)
        return []
    suspects: list[dict[str, Any]] = answer.json()["suspects"]
    if suspects:
        run.polls_with_suspects += 1
    now = run.elapsed()
    for suspect in suspects:
        key = (place_of(suspect), suspect["mode"], suspect["responsible"])
        sighting = run.seen.get(key)
        if sighting is None:
            wall = datetime.now(UTC).strftime("%H:%M:%S")
            sighting = run.seen[key] = Sighting(*key, first=now, first_wall=wall, last=now)
            print(
                f"[{now:6.0f} s] new suspect: {key[0]} {key[1]} ({key[2]}), "
                f"affected {suspect.get('affected')}: {suspect.get('summary')}",
                flush=True,
            )
            with record.open("a") as out:
                out.write(json.dumps(_evidence(api, suspect, now)) + "\n")
        sighting.polls += 1
        sighting.last = now
        sighting.most_affected = max(sighting.most_affected, int(suspect.get("affected") or 0))
        sighting.summary = str(suspect.get("summary") or "")
    return suspects


def _evidence(api: httpx.Client, suspect: dict[str, Any], elapsed: float) -> dict[str, Any]:
    """The suspect as first seen, with the traces of a few of its entities."""
    traces = {}
    for entity in (suspect.get("evidence") or {}).get("entities", [])[:3]:
        ref = entity if isinstance(entity, dict) else {}
        namespace, value = ref.get("namespace"), ref.get("value")
        if namespace and value:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                answer = api.get(f"/workspaces/{WORKSPACE}/traces/{namespace}/{value}")
                traces[f"{namespace}/{value}"] = answer.json()
    return {
        "elapsed_s": round(elapsed, 1),
        "at": datetime.now(UTC).isoformat(),
        "suspect": suspect,
        "traces": traces,
    }


def verdict(run: Run) -> tuple[bool, str]:
    seen = list(run.seen.values())
    if run.polls == 0 or run.failed_polls > run.polls // 10:
        return False, f"FAIL: {run.failed_polls} of {run.polls} diagnoses failed"
    if run.fault == "none":
        if not seen:
            return True, f"PASS: no suspect in any of {run.polls} diagnoses"
        return False, (
            f"FAIL: {len(seen)} suspect(s) in {run.polls_with_suspects} of {run.polls} "
            "diagnoses of a healthy run"
        )
    expected = EXPECTED.get(run.fault)
    if expected is None:
        ok = len(seen) == 1
        return ok, (
            f"{'PASS' if ok else 'FAIL'}: {len(seen)} distinct suspect(s) for {run.fault} "
            "(no expectation recorded for this fault: only their number is checked)"
        )
    right = [
        s
        for s in seen
        if any(s.place == p and s.mode in m and s.responsible == r for p, m, r in expected)
    ]
    wrong = [s for s in seen if s not in right]
    if wrong:
        names = "; ".join(f"{s.place} {s.mode} ({s.responsible})" for s in wrong)
        return False, f"FAIL: suspects {run.fault} must not produce: {names}"
    if not right:
        return False, f"FAIL: {run.fault} was never found in {run.polls} diagnoses"
    return True, (
        f"PASS: only the right suspect(s) for {run.fault}: "
        + "; ".join(f"{s.place} {s.mode} ({s.responsible})" for s in right)
    )


def report(run: Run) -> None:
    print(f"\n{run.polls} diagnoses over {run.elapsed() / 60:.1f} min, fault {run.fault}")
    if run.sandbox:
        print(f"the sandbox's day: {json.dumps(run.sandbox, sort_keys=True)}")
    if not run.seen:
        print("no suspect seen")
    else:
        header = f"{'link':<18} {'mode':<13} {'responsible':<13} {'first':>8} {'wall':>9}"
        print(f"{header} {'polls':>6} {'affected':>8}")
        for s in sorted(run.seen.values(), key=lambda s: s.first):
            print(
                f"{s.place:<18} {s.mode:<13} {s.responsible:<13} {s.first:>7.0f}s "
                f"{s.first_wall:>9} {s.polls:>6} {s.most_affected:>8}"
            )
            print(f"    last summary: {s.summary}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to watch (30)")
    parser.add_argument("--fault", default="none", help="none, or kind:target (reject:erp)")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between diagnoses")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set for the server and its sandbox (ARBITER_DEMO_SLA_SECONDS=20, "
        "SANDBOX_BANK_TRANSFER_WAIT=50...); repeatable",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter of the fault (duration_seconds=40 for an outage); repeatable",
    )
    parser.add_argument("--keep", action="store_true", help="keep the run's data directory")
    args = parser.parse_args(argv)
    params: dict[str, Any] = {}
    for item in args.param:
        name, equals, value = item.partition("=")
        if not equals:
            parser.error(f"--param {item!r}: expected NAME=VALUE")
        with contextlib.suppress(ValueError):
            params[name] = float(value)
        params.setdefault(name, value)
    extra: dict[str, str] = {}
    for item in args.env:
        name, equals, value = item.partition("=")
        if not equals or not name.startswith(("ARBITER_", "SANDBOX_")):
            parser.error(f"--env {item!r}: expected ARBITER_...=value or SANDBOX_...=value")
        extra[name] = value
    data_dir = Path(tempfile.mkdtemp(prefix="arbiter-realism-"))
    record = data_dir / "suspects.jsonl"
    run = Run(args.fault)
    print(f"realism run: fault {args.fault}, {args.minutes:g} min, data in {data_dir}", flush=True)
    try:
        with (
            demo_server(data_dir, extra) as (url, token, control),
            httpx.Client(
                base_url=f"{url}/api/v1",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            ) as api,
        ):
            if args.fault != "none":
                inject(control, args.fault, params)
            run.started = time.monotonic()
            end = run.started + args.minutes * 60
            while time.monotonic() < end:
                began = time.monotonic()
                poll(api, run, record)
                time.sleep(max(0.0, args.every - (time.monotonic() - began)))
            with contextlib.suppress(httpx.HTTPError, ValueError):
                counts = httpx.get(f"http://127.0.0.1:{control}/state", timeout=10).json()
                run.sandbox = counts["counts"]
    except (RuntimeError, OSError) as exc:
        print(f"the run failed: {exc}; server log in {data_dir / 'server.log'}", flush=True)
        return 2
    report(run)
    ok, line = verdict(run)
    print(line, flush=True)
    if run.seen:
        print(f"evidence of each suspect as first seen: {record}")
    if not args.keep and not run.seen:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
