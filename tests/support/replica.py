"""A primary PostgreSQL and a streaming replica of it, made for one test: two throw-away
clusters (``initdb`` + ``pg_basebackup -R``) on free loopback ports, run as the
``postgres`` user when the tests run as root (PostgreSQL refuses root).

:func:`replica_pair` yields both URLs; :func:`caught_up` waits until the replica has
replayed everything the primary had written when it was called; :func:`paused` holds
replay (``pg_wal_replay_pause``), so a test can show which server answered a read.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from tests.support.ports import free_port

BIN = Path("/usr/lib/postgresql") / sorted(os.listdir("/usr/lib/postgresql"))[-1] / "bin" \
    if os.path.isdir("/usr/lib/postgresql") else Path("/usr/bin")


@dataclass
class Pair:
    primary_url: str
    replica_url: str
    primary_port: int
    replica_port: int


def _run(*command: str | Path) -> None:
    args = [str(c) for c in command]
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{' '.join(args)}: {done.stdout}{done.stderr}"


def _configure(data: Path, port: int, socket_dir: Path) -> None:
    with (data / "postgresql.auto.conf").open("a") as conf:
        conf.write(f"port = {port}\nlisten_addresses = '127.0.0.1'\n"
                   f"unix_socket_directories = '{socket_dir}'\nfsync = off\n"
                   "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n")


@contextmanager
def replica_pair() -> Iterator[Pair]:
    home = Path(tempfile.mkdtemp(prefix="ownpay-replica-"))
    home.chmod(0o777)
    primary, standby = home / "primary", home / "standby"
    p1, p2 = free_port(), free_port()
    started: list[Path] = []
    try:
        _run(BIN / "initdb", "-D", primary, "-A", "trust", "-U", "postgres", "--no-sync")
        (primary / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 trust\n"
            "host replication all 127.0.0.1/32 trust\n")
        _configure(primary, p1, home)
        _run(BIN / "pg_ctl", "-D", primary, "-l", home / "primary.log", "-w", "start")
        started.append(primary)
        _run(BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", str(p1), "-U", "postgres",
             "-D", standby, "-R", "-X", "stream", "--no-sync")
        _configure(standby, p2, home)
        _run(BIN / "pg_ctl", "-D", standby, "-l", home / "standby.log", "-w", "start")
        started.append(standby)
        yield Pair(f"postgresql://postgres@127.0.0.1:{p1}/postgres",
                   f"postgresql://postgres@127.0.0.1:{p2}/postgres", p1, p2)
    finally:
        for data in reversed(started):
            subprocess.run(
                (["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else [])
                + [str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True, timeout=60, check=False)
        shutil.rmtree(home, ignore_errors=True)


async def caught_up(pair: Pair, within: float = 30) -> None:
    """Wait until the replica has replayed what the primary has written so far."""
    primary = await asyncpg.connect(pair.primary_url)
    replica = await asyncpg.connect(pair.replica_url)
    try:
        target = await primary.fetchval("SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + within
        while True:
            replayed = await replica.fetchval("SELECT pg_last_wal_replay_lsn()")
            if replayed is not None and replayed >= target:
                return
            assert time.monotonic() < deadline, f"replica at {replayed}, primary at {target}"
            await asyncio.sleep(0.05)
    finally:
        await primary.close()
        await replica.close()


@asynccontextmanager
async def paused(pair: Pair) -> AsyncIterator[None]:
    """Replay held on the replica (it keeps receiving WAL, it applies none of it)."""
    await caught_up(pair)
    replica = await asyncpg.connect(pair.replica_url)
    try:
        await replica.execute("SELECT pg_wal_replay_pause()")
        yield
    finally:
        await replica.execute("SELECT pg_wal_replay_resume()")
        await replica.close()
