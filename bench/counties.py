"""Writers of different counties never wait for each other: N devices of N counties against N devices of one
county, all syncing at once through gunicorn (the repository's gunicorn.conf.py) on PostgreSQL.

Each device is a village secretary's phone on its own keep-alive connection; at a signal all of them send
`--requests` sync requests of `--batch` new journals each, one after another, carrying their cursor. Printed per
case: ops/s over the wall time of the whole case, the latency of a request (median, p95), and how many of the
server's database sessions were waiting for a counter row's lock, on average (pg_stat_activity, sampled
every 20 ms).

Usage: python bench/counties.py [--devices 8] [--requests 20] [--batch 25] [--rounds 2] [--workers N] [--port 5660]
PostgreSQL uses TEST_DATABASE_URL (a throwaway schema, dropped afterwards); gunicorn binds the first free port
from --port to --port + 9.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from app.cli import add_unit, add_user  # noqa: E402
from app.extensions import db  # noqa: E402

PASSWORD = "bench-password"
TEXT = "今天走访了村东组的农户，了解春耕备肥情况，水渠有一段渗漏，已记入问题清单。"


def build(url: str, devices: int) -> dict[str, list[str]]:
    """Counties C00…: one village each; county ONE: as many villages. Returns each case's secretaries."""
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    cases = {"one county": [], f"{devices} counties": []}
    with app.app_context():
        upgrade()
        add_unit("ONE", "同一县", "county", None)
        add_unit("ONE-T", "同一镇", "township", "ONE")
        for n in range(devices):
            add_unit(f"ONE-V{n:02d}", f"同一县{n}村", "village", "ONE-T")
            add_user(f"one{n:02d}", "secretary", f"ONE-V{n:02d}", PASSWORD)
            cases["one county"].append(f"one{n:02d}")
            add_unit(f"C{n:02d}", f"{n}县", "county", None)
            add_unit(f"C{n:02d}-T", f"{n}县镇", "township", f"C{n:02d}")
            add_unit(f"C{n:02d}-V", f"{n}县村", "village", f"C{n:02d}-T")
            add_user(f"county{n:02d}", "secretary", f"C{n:02d}-V", PASSWORD)
            cases[f"{devices} counties"].append(f"county{n:02d}")
        db.session.commit()
        db.engine.dispose()
    return cases


def free_port(first: int) -> int:
    for port in range(first, first + 10):
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit(f"no free port from {first} to {first + 9}")


def start_gunicorn(url: str, port: int, workers: int | None, instance: str) -> subprocess.Popen:
    env = {name: value for name, value in os.environ.items() if not name.startswith("ZHUCUN_")}
    env |= {"DATABASE_URL": url, "ZHUCUN_BIND": f"127.0.0.1:{port}", "ZHUCUN_INSTANCE": instance}
    if workers:
        env["ZHUCUN_WORKERS"] = str(workers)
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("gunicorn did not listen within 60 s")


class Phone:
    def __init__(self, port: int, username: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        body = self.post("/api/auth/token", {"username": username, "password": PASSWORD,
                                             "device_name": f"{username}'s phone"})
        self.token, self.device, self.cursor = body["token"], body["device"], None

    def post(self, path: str, body: dict, token: str | None = None) -> dict:
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
        self.connection.request("POST", path, body=json.dumps(body, ensure_ascii=False).encode(), headers=headers)
        response = self.connection.getresponse()
        data = json.loads(response.read())
        assert response.status in (200, 201), (response.status, data)
        return data

    def sync(self, ops: int) -> None:
        journals = [{"op": str(uuid.uuid4()), "type": "journal", "id": str(uuid.uuid4()), "base": None,
                     "set": {"text": TEXT, "visits": 3}} for _ in range(ops)]
        body = self.post("/api/sync", {"device": self.device, "cursor": self.cursor, "ops": journals}, self.token)
        assert all(result["status"] == "applied" for result in body["results"]), body["results"][:1]
        self.cursor = body["cursor"]


class LockWaits:
    """Samples the server's sessions (by their application_name) waiting for a lock on a counter row."""

    def __init__(self, engine, application: str):
        self.engine, self.application, self.samples, self.done = engine, application, [], threading.Event()
        self.thread = threading.Thread(target=self._sample)

    def _sample(self):
        query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name "
                        "AND wait_event_type = 'Lock' AND query LIKE '%sync_counter%'")
        # Autocommit: inside one transaction PostgreSQL would answer every sample from its first snapshot.
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            while not self.done.wait(0.02):
                self.samples.append(connection.execute(query, {"name": self.application}).scalar())

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.done.set()
        self.thread.join()

    def mean(self) -> float:
        return statistics.mean(self.samples) if self.samples else 0.0


def run_case(phones: list[Phone], requests: int, batch: int) -> tuple[float, list[float]]:
    """(ops per second over the case's wall time, every request's latency in ms)."""
    start, latencies, failures = threading.Barrier(len(phones) + 1), [], []

    def device(phone: Phone):
        phone.connection.close()  # a fresh connection: the server may have closed an idle one since
        start.wait()
        try:
            for _ in range(requests):
                began = time.perf_counter()
                phone.sync(batch)
                latencies.append((time.perf_counter() - began) * 1000)
        except Exception as error:  # reported after the case; a failed device fails the bench
            failures.append(error)

    threads = [threading.Thread(target=device, args=(phone,)) for phone in phones]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if failures:
        raise failures[0]
    return len(phones) * requests * batch / wall, latencies


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=8)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: the config's)")
    parser.add_argument("--port", type=int, default=5660)
    args = parser.parse_args()

    base = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    base = base.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = "counties_" + uuid.uuid4().hex[:8]
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = f"{base}?options=-csearch_path%3D{schema}&application_name={schema}"
    server = None
    try:
        cases = build(url, args.devices)
        port = free_port(args.port)
        with tempfile.TemporaryDirectory() as instance:
            server = start_gunicorn(url, port, args.workers, instance)
            phones = {case: [Phone(port, username) for username in usernames] for case, usernames in cases.items()}
            for phone in (p for case in phones.values() for p in case):
                phone.sync(1)  # warm: every worker's connections, the county's counter row, the cursor
            print(f"gunicorn with gunicorn.conf.py (workers: {args.workers or 'its default'}) on PostgreSQL, port "
                  f"{port}: {args.devices} devices at once, each {args.requests} requests of {args.batch} new journals")
            for round_ in range(1, args.rounds + 1):
                for case, case_phones in phones.items():
                    with LockWaits(engine, schema) as waits:
                        rate, latencies = run_case(case_phones, args.requests, args.batch)
                    print(f"  round {round_}  {case:<12} {rate:6.0f} ops/s   request median "
                          f"{statistics.median(latencies):5.0f} ms   p95 {p95(latencies):5.0f} ms   "
                          f"waiting for a counter: {waits.mean():4.2f}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


if __name__ == "__main__":
    main()
