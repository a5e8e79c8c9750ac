"""HTTP throughput and latency of ``POST /api/assess`` (full and summary view) beside
``GET /healthz``.

Each assess request sends another of 1,000 seeded, varied cases (``netmdt synth``). The
app runs in its own process (``netmdt serve``: uvicorn, one worker, SQLite, request
logging on as in production) on loopback; this process drives it with 1, 8 and 32
concurrent keep-alive clients (asyncio, httpx2) for a fixed time per run, and prints
requests/s, p50 and p99 latency, assess's throughput as a share of healthz's, and the
server's CPU time per request (user + system, from ``/proc``, with one worker): the
client shares the machine's cores, and on a loaded machine the rates say more about the
neighbours than about the server, while its CPU time per request holds still.

    python -m benchmarks.api [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2

SERVE = [sys.executable, "-m", "netmdt.cli", "serve"]
ROW = "{:>7}  {:<16} {:>8} {:>8} {:>8} {:>6} {:>11}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(db_url: str) -> str:
    """Create the database, a clinician and an API token; return the token."""
    from netmdt.api.routes import add_user, user_input
    from netmdt.api.security import create_token
    from netmdt.store.db import make_engine, migrate, session_factory

    engine = make_engine(db_url)
    migrate(engine)
    with session_factory(engine)() as db:
        user = add_user(db, "bench", user_input("bench", ["clinician"], "quiet falcon orbit 2026"))
        return create_token(db, user)


def varied_cases(n: int = 1000, seed: int = 7) -> list[bytes]:
    """Request bodies: seeded, varied synthetic cases (no two alike, so no cache anywhere
    can flatter the figures)."""
    from netmdt.synth import synthetic_cases

    return [json.dumps(c, default=str).encode() for c in synthetic_cases(n, seed)]


async def run(
    base: str, method: str, path: str, clients: int, seconds: float, **kw: Any
) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx2.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        bodies = kw.pop("bodies", None)
        sent = 0

        async def worker() -> None:
            nonlocal errors, sent
            while time.perf_counter() < stop:
                if bodies:
                    kw["content"] = bodies[sent % len(bodies)]
                    sent += 1
                start = time.perf_counter()
                r = await client.request(method, path, **kw)
                latencies.append(time.perf_counter() - start)
                errors += r.status_code != 200

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    return len(latencies) / elapsed, latencies, errors


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` so far (Linux), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each run")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--clients", default="1,8,32", help="concurrent clients, per run")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="netmdt-bench-"))
    db_url = f"sqlite:///{folder / 'bench.db'}"
    token = prepare(db_url)
    port = free_port()
    env = {**os.environ, "NETMDT_DATABASE_URL": db_url}
    server = subprocess.Popen(
        [*SERVE, "--port", str(port), "--workers", str(args.workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx2.get(base + "/healthz").status_code == 200:
                    break
            except httpx2.TransportError:
                time.sleep(0.05)
        time.sleep(3.0 * (args.workers - 1))  # the other workers finish starting
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        bodies = varied_cases()
        print(f"netmdt API on loopback, {args.workers} uvicorn worker(s), {args.seconds:g} s a run")
        print(f"load average {os.getloadavg()[0]:.2f} (1 min) at the start")
        print(ROW.format("clients", "endpoint", "req/s", "p50 ms", "p99 ms", "errors", "server µs"))
        assess = {"bodies": bodies, "headers": headers}
        for clients in (int(c) for c in args.clients.split(",")):
            rates = {}
            for label, method, path, kw in (
                ("GET /healthz", "GET", "/healthz", {}),
                ("POST /api/assess", "POST", "/api/assess", dict(assess)),
                ("  ?view=summary", "POST", "/api/assess?view=summary", dict(assess)),
            ):
                asyncio.run(run(base, method, path, clients, 0.5, **kw))  # warm up
                cpu_before = cpu_seconds(server.pid) if args.workers == 1 else None
                rate, lat, errors = asyncio.run(
                    run(base, method, path, clients, args.seconds, **kw)
                )
                cpu_after = cpu_seconds(server.pid) if args.workers == 1 else None
                rates[label] = rate
                p50, p99 = f"{pct(lat, 50):.1f}", f"{pct(lat, 99):.1f}"
                cpu = "n/a"
                if cpu_before is not None and cpu_after is not None and lat:
                    cpu = f"{(cpu_after - cpu_before) / len(lat) * 1e6:.0f}"
                print(ROW.format(clients, label, f"{rate:.0f}", p50, p99, errors, cpu))
            full, summary = rates["POST /api/assess"], rates["  ?view=summary"]
            healthz = rates["GET /healthz"]
            print(
                f"{clients:>7}  throughput / healthz's: full {full / healthz:.0%}, "
                f"summary {summary / healthz:.0%}"
            )
        print(f"load average {os.getloadavg()[0]:.2f} (1 min) at the end")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
