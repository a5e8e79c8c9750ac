"""A login flood beside clinicians' authenticated reads (security review 1, finding 1).

The app runs in its own process (``netmdt serve``: uvicorn, one worker, SQLite) on
loopback. This process keeps ``--flooders`` concurrent unauthenticated ``POST /login``
requests going (random user names, wrong passwords, each flooder with a valid CSRF token
of its own), for ``--seconds``, while ``--clinicians`` clients read ``GET /api/patients``
with an API token. Two floods: from one address, and spread over ``--addresses``
loopback addresses (127.0.0.2, 127.0.0.3, ...: a distributed flood, so the per-address
limit does not stop it and the bounded password pool must). Loopback only; every loop is
bounded in time and stops by itself.

Prints the clinicians' p50/p99 latency (target: p99 under 1 s) before and during each
flood, and the flood's answers by status (429 throttled, 503 pool full, 401 checked;
"0: 1" when the flood's requests were still hanging two minutes after its end). The
flood runs in a process of its own, so that the two event loops do not slow each other.

    python -m benchmarks.login_flood [--seconds 20 --flooders 100 --clinicians 4]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import queue
import re
import secrets
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import httpx2

from benchmarks.api import free_port, pct

SERVE = [sys.executable, "-m", "netmdt.cli", "serve"]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def prepare(db_url: str) -> str:
    """A database with a clinician, 20 patients and an API token; returns the token."""
    from netmdt.api.routes import add_user, user_input
    from netmdt.api.security import create_token
    from netmdt.store import schemas as s
    from netmdt.store import services as svc
    from netmdt.store.db import make_engine, migrate, session_factory

    engine = make_engine(db_url)
    migrate(engine)
    with session_factory(engine)() as db:
        user = add_user(
            db, "bench", user_input("bench", ["clinician"], "violet staple orbit canoe")
        )
        actor = svc.Actor("bench", frozenset({"coordinator"}))
        for i in range(20):
            svc.create_patient(
                db, actor, s.PatientIn(name=f"Patient {i}", date_of_birth=date(1960, 1, 1))
            )
        return create_token(db, user)


async def clinicians(base: str, token: str, clients: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    stop = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(base_url=base, timeout=60, headers=headers) as client:

        async def reader() -> None:
            while time.perf_counter() < stop:
                start = time.perf_counter()
                r = await client.get("/api/patients")
                latencies.append(time.perf_counter() - start)
                assert r.status_code == 200, r.status_code
                await asyncio.sleep(0.05)  # a person's pace, roughly: pages, not a loop

        await asyncio.gather(*(reader() for _ in range(clients)))
    return latencies


async def flood(base: str, flooders: int, addresses: int, seconds: float) -> Counter[int]:
    """The flood; its clients (one per flooder, each from its address, with its own login
    page's CSRF token) are set up before the clock starts."""
    statuses: Counter[int] = Counter()
    context = ssl.create_default_context()  # made once: plain http, but httpx builds one
    clients = []
    for n in range(flooders):
        source = f"127.0.0.{2 + n % addresses}" if addresses > 1 else "127.0.0.1"
        transport = httpx2.AsyncHTTPTransport(local_address=source, verify=context)
        clients.append(httpx2.AsyncClient(base_url=base, transport=transport, timeout=60))
    tokens = []
    for c in clients:
        found = CSRF.search((await c.get("/login")).text)
        assert found, "no CSRF token on the login page"
        tokens.append(found.group(1))
    stop = time.perf_counter() + seconds

    async def flooder(c: httpx2.AsyncClient, token: str) -> None:
        while time.perf_counter() < stop:
            data = {
                "name": f"user{secrets.randbelow(10**6)}",
                "password": secrets.token_urlsafe(12),
                "csrf_token": token,
            }
            r = await c.post("/login", data=data)
            statuses[r.status_code] += 1

    try:
        await asyncio.gather(*(flooder(c, tk) for c, tk in zip(clients, tokens, strict=True)))
    finally:
        for c in clients:
            await c.aclose()
    return statuses


def _flood_process(
    base: str, flooders: int, addresses: int, seconds: float, out: multiprocessing.Queue[Any]
) -> None:
    out.put(dict(asyncio.run(flood(base, flooders, addresses, seconds))))


def scenario(
    base: str, token: str, args: argparse.Namespace, addresses: int | None
) -> tuple[list[float], Counter[int]]:
    """The clinicians read in this process; the flood runs in a process of its own, so
    that neither's event loop delays the other's measurements."""
    if addresses is None:
        return asyncio.run(clinicians(base, token, args.clinicians, args.seconds)), Counter()
    out: multiprocessing.Queue[Any] = multiprocessing.Queue()
    process = multiprocessing.Process(
        target=_flood_process, args=(base, args.flooders, addresses, args.seconds, out)
    )
    process.start()
    time.sleep(2.0)  # the flood's clients are set up and it is under way
    latencies = asyncio.run(clinicians(base, token, args.clinicians, args.seconds - 3.0))
    try:
        statuses = Counter(out.get(timeout=args.seconds + 120))
    except queue.Empty:  # the flood's last requests still hang: report what we have
        statuses = Counter({0: 1})
    process.join(timeout=5)
    if process.is_alive():
        process.terminate()
    return latencies, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each run")
    parser.add_argument("--flooders", type=int, default=100, help="concurrent login flooders")
    parser.add_argument("--clinicians", type=int, default=4, help="concurrent readers")
    parser.add_argument("--addresses", type=int, default=50, help="loopback addresses used")
    parser.add_argument("--server-log", type=Path, help="write the server's log here")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="netmdt-flood-"))
    db_url = f"sqlite:///{folder / 'flood.db'}"
    token = prepare(db_url)
    port = free_port()
    env = {**os.environ, "NETMDT_DATABASE_URL": db_url}
    log = args.server_log.open("w") if args.server_log else subprocess.DEVNULL
    server = subprocess.Popen([*SERVE, "--port", str(port)], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    row = "{:<34} {:>7} {:>8} {:>8} {:>9}  {}"
    try:
        for _ in range(200):
            try:
                if httpx2.get(base + "/healthz").status_code == 200:
                    break
            except httpx2.TransportError:
                time.sleep(0.05)
        print(
            f"login flood on loopback: {args.flooders} flooders, {args.clinicians} clinicians "
            f"reading GET /api/patients, {args.seconds:g} s a run, one uvicorn worker, SQLite"
        )
        print(row.format("run", "reads", "p50 ms", "p99 ms", "logins/s", "flood answers"))
        runs: list[tuple[str, int | None]] = [
            ("no flood", None),
            ("flood from one address", 1),
            (f"flood from {args.addresses} addresses", args.addresses),
        ]
        for label, addresses in runs:
            latencies, statuses = scenario(base, token, args, addresses)
            answers = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items())) or "-"
            print(
                row.format(
                    label,
                    len(latencies),
                    f"{pct(latencies, 50):.1f}",
                    f"{pct(latencies, 99):.1f}",
                    f"{sum(statuses.values()) / args.seconds:.0f}",
                    answers,
                )
            )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
