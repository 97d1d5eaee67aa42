"""The production server: gunicorn started from the project's folder with the repository's gunicorn.conf.py and
two workers, on SQLite and on PostgreSQL. Phones log in and sync through it, and failed logins are counted
across the workers."""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Journal, OpLog, Problem

from .conftest import PASSWORD, on_both_databases

ROOT = Path(__file__).resolve().parent.parent
PORTS = range(5670, 5680)
START_SECONDS = 60

database_url = on_both_databases()


class Gunicorn:
    """The master process, started as `gunicorn` in the project's folder; what it logs, line by line."""

    def __init__(self, env: dict[str, str]):
        self.process = subprocess.Popen([sys.executable, "-m", "gunicorn"], cwd=ROOT, env=env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = {"access": [], "errors": []}
        self.arrived = threading.Condition()
        self.readers = [threading.Thread(target=self._read, args=(stream, name), daemon=True)
                        for stream, name in ((self.process.stdout, "access"), (self.process.stderr, "errors"))]
        for reader in self.readers:
            reader.start()

    def _read(self, stream, name: str) -> None:
        for line in stream:
            with self.arrived:
                self.lines[name].append(line.rstrip("\n"))
                self.arrived.notify_all()

    def wait_for(self, log: str, needle: str, timeout: float = START_SECONDS) -> str:
        """The first line of the log (`access` or `errors`) that contains needle, once gunicorn has written it."""
        found = []

        def seen():
            found[:] = [line for line in self.lines[log] if needle in line][:1]
            return bool(found) or self.process.poll() is not None

        with self.arrived:
            self.arrived.wait_for(seen, timeout)
        assert found, f"gunicorn never logged {needle!r}; its errors:\n{self.errors()}"
        return found[0]

    def pid_that_served(self, tag: str) -> int:
        """The worker that answered the request tagged `?tag=…` (the access log ends with the worker's pid)."""
        return int(re.search(r"<(\d+)>$", self.wait_for("access", f"tag={tag} ")).group(1))

    def errors(self) -> str:
        return "\n".join(self.lines["errors"][-40:])

    def stop(self) -> int:
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout=45)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            for reader in self.readers:
                reader.join(5)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail(f"every port of {PORTS} is taken")


def production_env(tmp_path: Path, database_url: str, port: int) -> dict[str, str]:
    """This process's environment without any Zhucun or gunicorn settings of its own, plus the server's."""
    inherited = {name: value for name, value in os.environ.items()
                 if not name.startswith("ZHUCUN_") and name not in ("DATABASE_URL", "GUNICORN_CMD_ARGS")}
    return inherited | {"ZHUCUN_BIND": f"127.0.0.1:{port}", "ZHUCUN_WORKERS": "2",
                        "ZHUCUN_INSTANCE": str(tmp_path / "instance"), "DATABASE_URL": database_url}


@pytest.fixture
def gunicorn(app, world, database_url, tmp_path):
    """gunicorn on the test's database (migrated, with the world's users, by the app fixture in this process)."""
    port = free_port()
    server = Gunicorn(production_env(tmp_path, database_url, port))
    server.port = port
    try:
        # Once it listens, connections queue until a worker takes them: no polling needed.
        server.wait_for("errors", f"Listening at: http://127.0.0.1:{port}")
        yield server
    finally:
        exit_code = server.stop()
    assert exit_code == 0, server.errors()  # SIGTERM: the workers finish and the master exits cleanly


class Client:
    """One keep-alive HTTP connection to gunicorn; each request is tagged so the access log names its worker."""

    def __init__(self, server: Gunicorn):
        self.server = server
        self.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=START_SECONDS)

    def request(self, method: str, path: str, body=None, token: str | None = None) -> tuple[int, dict, int]:
        """(status, JSON body or {}, pid of the worker that answered)."""
        tag = uuid.uuid4().hex
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = json.dumps(body).encode() if body is not None else None
        self.connection.request(method, f"{path}?tag={tag}", body=payload, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        is_json = response.getheader("Content-Type", "").startswith("application/json")
        return response.status, json.loads(data) if is_json else {}, self.server.pid_that_served(tag)

    def log_in(self, username: str, password: str = PASSWORD) -> tuple[int, dict]:
        status, body, _pid = self.request("POST", "/api/auth/token", {
            "username": username, "password": password, "device_name": f"{username}'s phone"})
        return status, body

    def sync(self, session: dict, ops=(), cursor=None) -> dict:
        status, body, _pid = self.request("POST", "/api/sync", {"device": session["device"], "cursor": cursor,
                                                                 "ops": list(ops)}, token=session["token"])
        assert status == 200, (body, self.server.errors())
        return body

    def close(self):
        self.connection.close()


def op(rtype: str, fields: dict, record_id: str | None = None, base: int | None = None) -> dict:
    return {"op": str(uuid.uuid4()), "type": rtype, "id": record_id or str(uuid.uuid4()), "base": base,
            "set": fields, "at": "2026-03-02T09:30:00+08:00"}


def test_a_phone_logs_in_and_syncs_through_gunicorn_and_the_township_sees_it(app, gunicorn):
    phone = Client(gunicorn)
    status, sec1 = phone.log_in("sec1")
    assert status == 201 and sec1["user"]["username"] == "sec1"
    week = [op("journal", {"text": f"第{day}天：走访{day}户，了解春耕备肥情况", "visits": day}) for day in (1, 2, 3)]
    ditch = op("problem", {"title": "村东头水渠渗漏", "urgent": True})
    first = phone.sync(sec1, [*week, ditch])
    assert [(r["op"], r["status"], r["version"]) for r in first["results"]] == [
        (o["op"], "applied", 1) for o in (*week, ditch)]

    phone.close()  # the edit comes later, on a new connection: to whichever worker takes it
    phone = Client(gunicorn)
    edit = op("journal", {"reflection": "水渠要在雨季前修好。"}, record_id=week[0]["id"], base=1)
    second = phone.sync(sec1, [edit], cursor=first["cursor"])
    assert [(r["status"], r["version"]) for r in second["results"]] == [("applied", 2)]

    with app.app_context():
        journals = {j.id: j for j in db.session.scalars(select(Journal))}
        assert {i: (j.text, j.version) for i, j in journals.items()} == {
            o["id"]: (o["set"]["text"], 2 if o is week[0] else 1) for o in week}
        assert journals[week[0]["id"]].reflection == "水渠要在雨季前修好。"
        assert db.session.get(Problem, ditch["id"]).title == "村东头水渠渗漏"
        logged = dict(db.session.execute(select(OpLog.op_id, OpLog.status)).all())
        assert logged == {o["op"]: "applied" for o in (*week, ditch, edit)}

    township = Client(gunicorn)
    status, staff1 = township.log_in("staff1")
    assert status == 201
    pulled = township.sync(staff1)
    assert {(c["type"], c["id"], c["version"]) for c in pulled["changes"]} >= {
        *(("journal", o["id"], 2 if o is week[0] else 1) for o in week), ("problem", ditch["id"], 1)}
    for client in (phone, township):
        client.close()


def one_connection_per_worker(server: Gunicorn, workers: int = 2) -> dict[int, Client]:
    """Open connections until each worker holds one (a keep-alive connection stays with the worker that took it)."""
    held: dict[int, Client] = {}
    deadline = time.monotonic() + START_SECONDS
    while len(held) < workers and time.monotonic() < deadline:
        client = Client(server)
        status, _body, pid = client.request("GET", "/login")
        assert status == 200
        if pid in held:
            client.close()
        else:
            held[pid] = client
    assert len(held) == workers, f"only the workers {sorted(held)} answered in {START_SECONDS} s"
    return held


def test_failed_logins_are_counted_across_the_workers(gunicorn):
    held = one_connection_per_worker(gunicorn)
    clients = list(held.items())
    wrong = {"username": "sec1", "password": "not-the-password"}
    served_by = []
    for attempt in range(10):
        expected_pid, client = clients[attempt % 2]
        status, body, pid = client.request("POST", "/api/auth/token", wrong)
        assert (status, body["error"]["code"]) == (401, "bad_credentials")
        served_by.append(pid)
        assert pid == expected_pid
    assert sorted(set(served_by)) == sorted(held)  # five failures counted by each worker

    for pid, client in clients:
        status, body, served = client.request("POST", "/api/auth/token", wrong)
        assert served == pid
        assert (status, body["error"]["code"]) == (429, "too_many_attempts"), f"worker {pid} let the 11th through"
    for _pid, client in clients:
        client.close()
