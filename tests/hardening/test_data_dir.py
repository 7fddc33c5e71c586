"""Finding 8 of issue 16: the SQLite database is as private as the installation key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.support.processes import server_env

pytestmark = pytest.mark.e2e


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_makes_the_data_directory_and_its_files_owner_only(tmp_path: Path) -> None:
    import subprocess
    import sys

    data = tmp_path / "data"
    env = server_env(f"sqlite+aiosqlite:///{data / 'ownpay.db'}", data)
    env.pop("OWNPAY_SECRET_KEY")
    done = subprocess.run([sys.executable, "-m", "ownpay", "init", "--json"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert _mode(data) == 0o700
    files = [p for p in data.iterdir() if p.is_file()]
    assert {p.name for p in files} >= {"ownpay.db", "secret.key"}
    assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}


def test_an_existing_world_readable_installation_is_tightened(tmp_path: Path) -> None:
    from ownpay.security import secure_data_dir

    data = tmp_path / "old"
    data.mkdir(mode=0o755)
    (data / "ownpay.db").write_bytes(b"")
    (data / "ownpay.db").chmod(0o644)
    secure_data_dir(data)
    assert _mode(data) == 0o700 and _mode(data / "ownpay.db") == 0o600
