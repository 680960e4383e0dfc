"""Signed WooCommerce webhooks under concurrency, against a bare FastAPI endpoint in the same run.

    .venv/bin/python bench/webhooks.py [--connections 32] [--seconds 10] [--runs 3]
                                       [--root DIR] [--database-url URL] [--processes N]
                                       [--profile PREFIX] [--spy-rate HZ]

Starts `arbiter serve` (from ``--root``, default this checkout: point it at an unpacked older
commit to measure before/after) on a free loopback port with a throwaway data dir, a workspace
with the CONTRACT.md topology and a WooCommerce shop with a webhook secret; and a bare FastAPI
app on uvicorn whose one route reads the body and answers a small JSON (the ceiling of the same
server stack). Then, per run, wrk (Debian's `wrk` package) sends each of them order.updated
deliveries, every one a new order with its own delivery id and a valid signature, from
``--connections`` connections for ``--seconds``, and the script prints req/s and the latency
percentiles wrk measured, and the CPU each server process used per request answered (user and
system time of all its threads, from /proc: what the request rate costs, whatever the machine's
speed). Every 200 from Arbiter means the delivery and its events committed.

``--processes N`` (PostgreSQL only, with ``--database-url``: Arbiter's API is stateless there)
starts N `arbiter serve` processes and N bare processes, each on its own port, and one wrk per
process with its share of the connections; the rate printed is their sum, the percentiles the
worst of the N wrk's. ``--profile`` records the (first) server with py-spy (``py-spy`` next
to this Python, or on PATH).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

from connectors.webhooks import sign_woocommerce
from sandbox.topology import demo_topology

TOKEN = "arb_bench_admin_token"  # noqa: S105 - a throwaway server's token
SECRET = "bench-webhook-secret"  # noqa: S105
ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "woocommerce" / "webhook_order_updated.json"
TOPOLOGY = demo_topology()

BARE_APP = textwrap.dedent(
    """
    import sys, uvicorn
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    app = FastAPI()

    @app.post("/webhooks/bench/shop")
    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        return JSONResponse({"status": "ok", "bytes": len(body)})

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
    """
)

# Each wrk thread sends its own file of pre-signed deliveries, one a line: id TAB sig TAB body.
WRK_SCRIPT = textwrap.dedent(
    """
    local counter = 0
    local threads = {}
    function setup(thread)
      thread:set("id", counter)
      table.insert(threads, thread)
      counter = counter + 1
    end
    function init(args)
      requests = {}
      for line in io.lines(args[1] .. "-" .. id .. ".tsv") do
        local delivery, signature, body = line:match("([^\\t]*)\\t([^\\t]*)\\t(.*)")
        table.insert(requests, wrk.format("POST", nil, {
          ["Content-Type"] = "application/json",
          ["X-WC-Webhook-Topic"] = "order.updated",
          ["X-WC-Webhook-Resource"] = "order",
          ["X-WC-Webhook-Event"] = "updated",
          ["X-WC-Webhook-Source"] = "https://shop.example.com/",
          ["X-WC-Webhook-ID"] = "12",
          ["X-WC-Webhook-Delivery-ID"] = delivery,
          ["X-WC-Webhook-Signature"] = signature,
        }, body))
      end
      n = 0
      bad = 0
    end
    function request()
      n = n + 1
      return requests[(n - 1) % #requests + 1]
    end
    function response(status, headers, body)
      if status ~= 200 then bad = bad + 1 end
    end
    function done(summary, latency, requests)
      local total_bad = 0
      for _, thread in ipairs(threads) do total_bad = total_bad + thread:get("bad") end
      io.write(string.format("non-200 %d\\n", total_bad))
    end
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_deliveries(prefix: Path, threads: int, per_thread: int, run: int, first: int = 0) -> None:
    """``per_thread`` new orders per wrk thread, each signed, none repeated across runs (nor
    across wrk processes: each numbers its threads from ``first``)."""
    order = json.loads(FIXTURE.read_text())
    for thread in range(threads):
        with open(f"{prefix}-{thread}.tsv", "w") as out:
            for n in range(per_thread):
                number = 1_000_000 * (run + 1) + (first + thread) * per_thread + n
                order.update(id=number, number=str(number))
                body = json.dumps(order, separators=(",", ":"))
                signature = sign_woocommerce(body.encode(), SECRET)
                out.write(f"bench-{number}\t{signature}\t{body}\n")


WRK_THREADS = 2
"""wrk's threads in all (one wrk per server process shares them)."""


def wrk_all(
    urls: list[str], script: Path, prefixes: list[Path], connections: int, seconds: int
) -> dict[str, float]:
    """One wrk per url at once, each with its share of the connections: the rates summed, the
    worst of each percentile, the non-200 answers summed."""
    threads = max(1, WRK_THREADS // len(urls))
    share = max(threads, connections // len(urls))
    runs = [
        subprocess.Popen(
            [
                "wrk",
                f"-t{threads}",
                f"-c{share}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(script),
                url,
                "--",
                str(prefix),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for url, prefix in zip(urls, prefixes, strict=True)
    ]
    results = [_wrk_result(run.communicate()[0]) for run in runs]
    return {
        "rate": sum(r["rate"] for r in results),
        **{key: max(r[key] for r in results) for key in ("p50", "p90", "p99")},
        "errors": sum(r["errors"] for r in results),
    }


def _wrk_result(output: str) -> dict[str, float]:
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    percentiles = {
        int(p): _ms(value, unit)
        for p, value, unit in re.findall(r"\n\s+(50|90|99)%\s+([\d.]+)(us|ms|s)", output)
    }
    errors = re.search(r"non-200 (\d+)", output)
    return {
        "rate": rate,
        "p50": percentiles.get(50, float("nan")),
        "p90": percentiles.get(90, float("nan")),
        "p99": percentiles.get(99, float("nan")),
        "errors": float(errors.group(1)) if errors else float("nan"),
    }


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU the processes (all their threads) have used so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def shop_connection() -> dict[str, object]:
    """The shop's WooCommerce connection: its webhook secret, and never polled for real (a
    closed loopback port, once an hour)."""
    return {
        "base_url": f"http://127.0.0.1:{free_port()}",
        "credentials": {"consumer_key": "ck_bench", "consumer_secret": "cs_bench"},
        "webhook_secret": SECRET,
        "poll_interval_seconds": 3600,
    }


def wait_up(url: str) -> None:
    for _ in range(300):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--per-thread", type=int, default=15_000)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument(
        "--profile", type=Path, default=None,
        help="record the server with py-spy during each Arbiter run (speedscope JSON, per run)",
    )  # fmt: skip
    parser.add_argument("--spy-rate", type=int, default=100, help="py-spy samples a second")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    if args.processes > 1 and not args.database_url:
        raise SystemExit("--processes > 1 needs --database-url (PostgreSQL): on SQLite one serves")
    work = Path(tempfile.mkdtemp(prefix="arbiter-bench-webhooks-"))
    script = work / "deliveries.lua"
    script.write_text(WRK_SCRIPT)
    bare_ports = [free_port() for _ in range(args.processes)]
    ports = [free_port() for _ in range(args.processes)]
    env = dict(os.environ, ARBITER_DATA_DIR=str(work / "data"), ARBITER_ADMIN_TOKEN=TOKEN,
               ARBITER_DEMO="false", ARBITER_LOG_LEVEL="warning",
               ARBITER_INCIDENT_INTERVAL_SECONDS="0", PYTHONPATH=str(args.root))  # fmt: skip
    if args.database_url:
        env["ARBITER_DATABASE_URL"] = args.database_url
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for bare_port in bare_ports:
            bare = [sys.executable, "-c", BARE_APP, str(bare_port)]
            processes.append(subprocess.Popen(bare, **quiet))  # type: ignore[call-overload]
        for n, port in enumerate(ports):  # the first migrates the store before the others start
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "app", "serve", "--port", str(port)],
                cwd=args.root, env=env, **quiet,
            ))  # type: ignore[call-overload]  # fmt: skip
            if n == 0:
                wait_up(f"http://127.0.0.1:{port}/healthz")
        server = processes[len(bare_ports)]
        bare_pids = [p.pid for p in processes[: len(bare_ports)]]
        our_pids = [p.pid for p in processes[len(bare_ports) :]]
        for port in ports:
            wait_up(f"http://127.0.0.1:{port}/healthz")
        for bare_port in bare_ports:
            wait_up(f"http://127.0.0.1:{bare_port}/docs")
        port = ports[0]
        headers = {"Authorization": f"Bearer {TOKEN}"}
        base = f"http://127.0.0.1:{port}/api/v1/workspaces/bench"
        httpx.put(base, headers=headers).raise_for_status()
        httpx.put(f"{base}/topology", json=TOPOLOGY, headers=headers).raise_for_status()
        httpx.put(
            f"{base}/systems/shop/connection",
            headers=headers,
            json=shop_connection(),
        ).raise_for_status()
        store = "PostgreSQL" if args.database_url else "SQLite (WAL, synchronous=FULL)"
        print(f"root {args.root}; store {store}; {args.processes} server process(es) a side; "
              f"{args.connections} connections, {args.seconds} s per run; "
              f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
        print(f"{'run':>3} {'bare req/s':>10} {'p99 ms':>7} {'arbiter req/s':>13} {'p50 ms':>7} "
              f"{'p90 ms':>7} {'p99 ms':>7} {'non-200':>7} {'ratio':>6} {'load':>5} "
              f"{'cpu µs/req bare':>15} {'arbiter':>7}")  # fmt: skip
        hook = "/webhooks/bench/shop"
        spy_bin = Path(sys.executable).with_name("py-spy")
        for run in range(args.runs):
            prefixes = [work / f"run{run}-p{n}" for n in range(args.processes)]
            threads = max(1, WRK_THREADS // args.processes)
            for n, prefix in enumerate(prefixes):
                write_deliveries(prefix, threads, args.per_thread, run, first=n * threads)
            cpu = cpu_seconds(bare_pids)
            plain = wrk_all([f"http://127.0.0.1:{p}{hook}" for p in bare_ports], script,
                            prefixes, args.connections, args.seconds)  # fmt: skip
            bare_cpu = (cpu_seconds(bare_pids) - cpu) / (plain["rate"] * args.seconds)
            load = os.getloadavg()[0]
            spy = None
            if args.profile is not None:
                spy = subprocess.Popen(
                    [str(spy_bin) if spy_bin.exists() else "py-spy", "record",
                     "--pid", str(server.pid), "--format", "speedscope",
                     "--duration", str(args.seconds), "--nonblocking", "--threads", "--gil",
                     "--rate", str(args.spy_rate), "--output", f"{args.profile}-{run + 1}.json"],
                    **quiet,
                )  # type: ignore[call-overload]  # fmt: skip
            cpu = cpu_seconds(our_pids)
            ours = wrk_all([f"http://127.0.0.1:{p}{hook}" for p in ports], script,
                           prefixes, args.connections, args.seconds)  # fmt: skip
            our_cpu = (cpu_seconds(our_pids) - cpu) / (ours["rate"] * args.seconds)
            if spy is not None:
                spy.wait(timeout=60)
            print(f"{run + 1:>3} {plain['rate']:>10,.0f} {plain['p99']:>7.1f} "
                  f"{ours['rate']:>13,.0f} {ours['p50']:>7.1f} {ours['p90']:>7.1f} "
                  f"{ours['p99']:>7.1f} {ours['errors']:>7.0f} "
                  f"{ours['rate'] / plain['rate']:>6.2f} {load:>5.2f} "
                  f"{bare_cpu * 1e6:>15,.0f} {our_cpu * 1e6:>7,.0f}")  # fmt: skip
        page = httpx.get(f"{base}/events", params={"limit": 1}, headers=headers)
        page.raise_for_status()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
