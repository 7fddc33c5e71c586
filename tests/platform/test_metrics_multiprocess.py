"""With several HTTP worker processes, one scrape reports the requests of all of them."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.support.metrics import sample
from tests.support.processes import server_env, start_server

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
SCRAPES = 24


def test_metrics_aggregate_every_worker_process(
    backend: str, database_url: str, tmp_path: Path
) -> None:
    if backend != "postgresql":
        pytest.skip("several HTTP workers need PostgreSQL")
    env = server_env(database_url, tmp_path / "data", OWNPAY_WORKERS="2")
    server = start_server(env, tmp_path / "server.log")
    try:
        seen = []
        for _ in range(SCRAPES):
            # a fresh connection each time, so the scrapes land on both processes
            text = httpx.get(server.url + "/metrics", timeout=10).text
            seen.append(sample(text, "ownpay_http_requests_total",
                               route="/metrics", method="GET", status="200"))
    finally:
        server.stop()
    prom_dir = tmp_path / "data" / "prometheus"
    pids = {m.group(1) for f in prom_dir.iterdir() if (m := re.search(r"_(\d+)\.db$", f.name))}
    assert len(pids) >= 2  # both worker processes answered and wrote their metrics
    # each scrape sees every earlier scrape, whichever process answered it or the earlier ones
    assert seen == [float(n) for n in range(SCRAPES)]
