"""Every shell command shown in README.md and docs/*.md, run as a reader would run it, against
a fresh installation -- so a guide cannot drift from the product.

**What is a command.** The lines of a ```sh or ```bash block, and in a ```console block each
``$ `` line (the other lines are the output shown), split as bash splits them: a trailing
``\\`` or an open quote continues the command on the next line; comment lines are not
commands.  Syntax summaries with ``[optional]`` parts or ``a|b`` are ```text blocks, not
``sh`` (a reader pastes an ``sh`` block).

**The documented prerequisites.** The README's: the checkout's ``.venv`` (so ``ownpay`` is the
installed command), ``ownpay init`` (what ``make run`` does before serving), a server, and the
variables the README defines -- ``$OWNPAY_BASE_URL`` (the server), ``$OWNPAY_API_KEY`` (a
``read,write`` key, made with the README's ``ownpay api-keys create``) and ``$ADMIN_KEY``
(the demo key ``init`` prints: ``read,write,admin``).  Every guide starts from a fresh
installation (a copy of one ``ownpay init``'s data directory: SQLite and the demo merchant),
and ``ownpay serve`` is started for it on a free loopback port when a step needs one.
Nothing else is set: no ``OWNPAY_WEBHOOKS_ALLOW_PRIVATE``, default settings.

**How a command runs.** ``bash -c`` with ``set -euo pipefail`` (an undefined variable fails),
in a scratch directory (files a guide saves land there), with a 60 s timeout.  Two shims come
first on ``PATH``: ``curl`` is the system's with ``--fail-with-body``, so an HTTP error status
fails the step like a non-zero exit; ``ownpay`` runs the installed entry point in a process
forked from one that has imported it already (``tests/support/warm_cli.py``: start-up costs
seconds per process, twenty times per guide), while the set-up runs ``.venv/bin/ownpay``
itself.  Each step must exit 0, and where the guide shows what comes back, ``expect`` checks
it.

**The plan.** :data:`PLANS` names, per document and in its order, every command: a
:class:`Run` -- the guide's placeholders (``txn_…``, ``rf_…``, ``SLUG``, a sample id) and what
replaces them (a value, a prerequisite made through the API as the guides describe, or an id
taken from an earlier command's output) -- or a :class:`Skip` with the reason it cannot run
here.  A command in neither, or an entry that matches no command, fails
``test_every_shell_command_is_run_or_skipped_for_a_reason``.
"""

from __future__ import annotations

import os
import re
import select
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import pytest

from tests.support.checkout import CSRF
from tests.support.processes import ServerProcess, server_env, start_server, stop_process
from tests.support.warm_cli import write_client

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_BLOCKS = {"sh", "bash", "console"}
COMMAND_TIMEOUT = 60


# ---- reading the documents ------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    doc: str  # "docs/refunds.md"
    line: int
    text: str  # as shown, continuation lines included

    @property
    def flat(self) -> str:
        """One line, continuations joined and whitespace collapsed: what PLANS match."""
        return " ".join(self.text.replace("\\\n", " ").split())

    def where(self) -> str:
        return f"{self.doc}:{self.line}: {self.flat[:100]}"


def _complete(text: str) -> bool:
    """Whether bash would run ``text`` now (no trailing backslash, no open quote)."""
    if text.endswith("\\"):
        return False
    try:
        shlex.split(text, comments=True)
    except ValueError:  # "No closing quotation"
        return False
    return True


def shell_commands(doc: Path) -> list[Command]:
    name = doc.relative_to(ROOT).as_posix() if doc.is_relative_to(ROOT) else doc.name
    found: list[Command] = []
    language: str | None = None  # inside a fenced block: its language ("" for none)
    start, text = 0, ""
    for number, line in enumerate(doc.read_text().splitlines(), 1):
        fence = re.match(r"\s*```(\S*)", line)
        if fence:
            assert not text, f"{name}:{start}: a command runs past its block's end"
            language = fence.group(1) if language is None else None
            continue
        if language not in SHELL_BLOCKS:
            continue
        if not text:
            if language == "console":
                if not line.startswith("$ "):
                    continue  # output shown after a command
                line = line[2:]
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            start, text = number, line
        else:
            text += "\n" + line
        if _complete(text):
            found.append(Command(name, start, text))
            text = ""
    assert language is None, f"{name}: a code block is not closed"
    return found


# ---- one guide's fresh installation ---------------------------------------------------------


@dataclass(frozen=True)
class Install:
    """One ``ownpay init``, copied for every guide, and the README's keys for it."""

    data: Path
    admin_key: str  # the demo merchant's test key from ``init``: read, write, admin
    api_key: str  # ``ownpay api-keys create --merchant demo --mode test --scopes read,write``
    bin: Path  # a directory with the ``curl`` and ``ownpay`` shims, first on PATH


def _env(data: Path) -> dict[str, str]:
    return server_env(f"sqlite:///{data}/ownpay.db", data)


def _defaults(env: dict[str, str]) -> dict[str, str]:
    # server_env sets what the test suite likes; a reader's installation has the defaults.
    for name in list(env):
        if name.startswith("OWNPAY_RATE_LIMIT_") or name in {
                "OWNPAY_WEBHOOKS_ALLOW_PRIVATE", "OWNPAY_WORKER_INTERVAL"}:
            del env[name]
    return env


class Guide:
    """The state of one document's run: its installation, server, and values it learnt."""

    def __init__(self, install: Install, root: Path) -> None:
        data = root / "data"
        shutil.copytree(install.data, data)
        self.root = root
        self.work = root / "work"
        self.work.mkdir()
        self.env = _defaults(_env(data))
        venv_bin = Path(sys.executable).parent
        self.env.update({
            "PATH": f"{install.bin}{os.pathsep}{venv_bin}{os.pathsep}{os.environ['PATH']}",
            "OWNPAY_API_KEY": install.api_key,
            "ADMIN_KEY": install.admin_key,
        })
        self.values: dict[str, str] = {}
        self._server: ServerProcess | None = None

    def server(self) -> ServerProcess:
        if self._server is None:
            self._server = start_server(self.env, self.root / "server.log")
        return self._server

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.server().url, timeout=30)

    def server_log(self) -> str:
        return self._server.log()[-3000:] if self._server else "(no server was started)"


# ---- prerequisites, made as the guides describe -------------------------------------------


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _paid(guide: Guide, gateway: str) -> str:
    """A payment of USD 99.99 paid on the hosted checkout: sandbox "succeed", or a manual
    transfer submitted by the customer and approved by the operator (docs/integration.md)."""
    with guide.http() as http:
        made = http.post("/api/v1/payment-intents", headers=_auth(guide.env["OWNPAY_API_KEY"]),
                         json={"gateway": gateway, "amount": 99.99, "currency": "USD",
                               "order_id": f"DOCS-{len(guide.values)}-{gateway}",
                               "customer_name": "Jane Smith",
                               "customer_email": "jane@example.com",
                               "return_url": "https://yoursite.com/success"})
        assert made.status_code == 201, made.text
        txn = str(made.json()["transaction_id"])
        guide.values[txn] = gateway
        page = http.get(f"/checkout/{txn}")
        token = CSRF.search(page.text)
        assert token, page.text[:500]
        form = ({"outcome": "succeed"} if gateway == "sandbox"
                else {"sender_account": "01700000000", "provider_txn_id": f"T{txn[-8:]}"})
        sent = http.post(f"/checkout/{txn}/pay", data={"csrf_token": token.group(1), **form})
        assert sent.status_code == 303, sent.text
        if gateway == "manual":
            approved = http.post(f"/api/v1/payment-intents/{txn}/approve",
                                 headers=_auth(guide.env["ADMIN_KEY"]))
            assert approved.status_code == 200, approved.text
        got = http.get(f"/api/v1/payment-intents/{txn}",
                       headers=_auth(guide.env["OWNPAY_API_KEY"]))
        assert got.json()["status"] == "completed", got.text
    return txn


def paid_payment(guide: Guide) -> str:
    return _paid(guide, "sandbox")


def offline_refund(guide: Guide) -> str:
    """A refund of a paid manual payment, waiting for the operator (docs/refunds.md)."""
    txn = _paid(guide, "manual")
    with guide.http() as http:
        r = http.post("/api/v1/refunds", headers=_auth(guide.env["OWNPAY_API_KEY"]),
                      json={"transaction_id": txn})
    assert r.status_code == 201 and r.json()["pending_reason"] == "awaiting_operator", r.text
    return str(r.json()["id"])


def learnt(name: str) -> Callable[[Guide], str]:
    """The value an earlier step's ``capture`` took from its output."""
    def value(guide: Guide) -> str:
        assert name in guide.values, f"no earlier step captured {name!r}"
        return guide.values[name]
    return value


# ---- the plan -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    starts: str  # the command, whitespace collapsed, starts with this
    subs: dict[str, str | Callable[[Guide], str]] = field(default_factory=dict)
    capture: dict[str, str] = field(default_factory=dict)  # name -> regex with one group
    expect: str | None = None  # a regex its output must match


@dataclass(frozen=True)
class Skip:
    starts: str
    reason: str


Step = Run | Skip

LONG_RUNNING_DEMO = ("installs and starts the long-running demo server; this test does what it "
                     "does (ownpay init, then ownpay serve on a free port)")
BENCHMARK = ("a benchmark: minutes of load, PostgreSQL and wrk; its results are kept in "
             "docs/benchmark-runs/")
STRIPE_KEYS = {"sk_test_…": "sk_test_51DocsExample", "pk_test_…": "pk_test_51DocsExample",
               "whsec_…": "whsec_DocsExample"}
SAMPLE_ENDPOINT = "we_5f0c3a9e2b7d4c1a8e6f0b3d"

PLANS: dict[str, list[Step]] = {
    "README.md": [
        Skip("make run", LONG_RUNNING_DEMO),
        Skip("make test", "the whole suite, which this test is part of"),
        Run("curl -X POST $OWNPAY_BASE_URL/api/v1/payment-intents",
            expect=r'"payment_url":"http://127\.0\.0\.1:\d+/checkout/txn_'),
        Skip("OWNPAY_TEST_DATABASE_URL=postgresql://", "the whole suite, on PostgreSQL"),
        Skip("make lint", "the linters over the whole repository (CI runs them), minutes"),
        Skip("make bench", BENCHMARK),
    ],
    "docs/benchmarks.md": [
        Skip(".venv/bin/python bench/create_intents.py # SQLite", BENCHMARK),
        Skip(".venv/bin/python bench/create_intents.py --count-queries", BENCHMARK),
        Skip(".venv/bin/python bench/webhooks.py", BENCHMARK),
    ],
    "docs/gateways.md": [
        Run("ownpay gateways enable stripe --merchant SLUG --mode test",
            subs={"SLUG": "demo", **STRIPE_KEYS}),
        Run("ownpay gateways enable bkash --merchant SLUG --mode live", subs={"SLUG": "demo"}),
        Skip(".venv/bin/python -m tests.simulators.bkash",
             "starts the bKash simulator, a long-running server (tests/gateways/bkash/ "
             "drive it); the next command only configures the gateway"),
        Run("ownpay gateways enable bkash --merchant demo --mode test"),
        Run("ownpay gateways enable aamarpay --merchant SLUG --mode live",
            subs={"SLUG": "demo"}),
        Skip(".venv/bin/python -m tests.simulators.aamarpay",
             "starts the aamarPay stand-in, a long-running server (tests/gateways/aamarpay/ "
             "drive it); the next command only configures the gateway"),
        Run("ownpay gateways enable aamarpay --merchant demo --mode test"),
    ],
    "docs/integration.md": [
        Run("ownpay merchants create --slug shop", expect="created merchant shop"),
        Run("ownpay gateways enable manual --merchant shop --mode live",
            expect="enabled manual for shop"),
    ],
    "docs/ledger.md": [
        Run("ownpay merchants create --slug shop", expect="created merchant shop"),
        Run("ownpay fees set --merchant shop --mode live --gateway stripe"),
        Run("ownpay fees set --merchant shop --mode live --gateway bkash"),
        Run("ownpay fees list --merchant shop --mode live", expect=r'"percent": 1\.85'),
        Run("ownpay fees remove --merchant shop --mode live --gateway bkash",
            expect=r"removed the bkash fee rule \(any currency, live mode\)"),
        Run("curl -X PUT $OWNPAY_BASE_URL/api/v1/fee-rules",
            expect=r'"flat":0\.3,"percent":2\.9,"min":0\.5'),
        Run("curl $OWNPAY_BASE_URL/api/v1/fee-rules", expect=r'"gateway":"stripe"'),
        Run('curl -X DELETE "$OWNPAY_BASE_URL/api/v1/fee-rules?gateway=stripe&currency=USD"',
            expect=r'"currency":"USD","flat":0\.3'),
    ],
    "docs/refunds.md": [
        Run("curl -X POST $OWNPAY_BASE_URL/api/v1/refunds -H",
            subs={"txn_9f2c3a4b5d6e7f8a": paid_payment}, expect=r'"amount":25\.5'),
        Run("curl -X POST $OWNPAY_BASE_URL/api/v1/refunds/rf_…/confirm",
            subs={"rf_…": offline_refund}, expect=r'"status":"completed"'),
        Run("ownpay refunds confirm rf_…", subs={"rf_…": offline_refund}),
        Run("ownpay refunds fail rf_…", subs={"rf_…": offline_refund}),
    ],
    "docs/transactions.md": [
        Run('curl -s "$OWNPAY_BASE_URL/api/v1/transactions?', expect=r'"has_more":false'),
        Run('curl -s -OJ "$OWNPAY_BASE_URL/api/v1/transactions/export?'),
        Run("ownpay transactions export --merchant demo --mode live",
            expect="exported 0 transactions to june.csv"),
    ],
    "docs/webhooks.md": [
        Run('curl -s -X POST "$OWNPAY_BASE_URL/api/v1/webhook-endpoints"',
            expect=r'"secret":"whsec_'),
        Run("ownpay webhooks add --merchant demo --mode live",
            capture={"endpoint": r"created webhook endpoint (we_[0-9a-f]+)"}),
        Run("ownpay webhooks list --merchant demo", expect="https://shop.example/ownpay/webhooks"),
        Run(f"ownpay webhooks rotate {SAMPLE_ENDPOINT}",
            subs={SAMPLE_ENDPOINT: learnt("endpoint")}, expect="whsec_"),
        Run(f"ownpay webhooks remove {SAMPLE_ENDPOINT}",
            subs={SAMPLE_ENDPOINT: learnt("endpoint")}),
        Run('curl -s "$OWNPAY_BASE_URL/api/v1/webhooks/deliveries?', expect=r'"data":\['),
    ],
}


def planned(commands: list[Command], plan: list[Step]) -> Iterator[tuple[Command, Step | None]]:
    """Each command with the one plan entry it matches (None: no entry)."""
    for command in commands:
        matches = [step for step in plan if command.flat.startswith(" ".join(step.starts.split()))]
        assert len(matches) <= 1, f"{command.where()} matches several entries: {matches}"
        yield command, (matches[0] if matches else None)


def test_every_shell_command_is_run_or_skipped_for_a_reason() -> None:
    problems: list[str] = []
    for doc in DOCS:
        commands = shell_commands(doc)
        name = doc.relative_to(ROOT).as_posix()
        plan = PLANS.get(name, [])
        used = [step for _, step in planned(commands, plan)]
        problems += [f"{c.where()}: neither run nor skipped: add it to PLANS in {__name__}"
                     for c, step in planned(commands, plan) if step is None]
        problems += [f"{name}: the PLANS entry {step.starts!r} matches no command (stale)"
                     for step in plan if step not in used]
    assert set(PLANS) <= {d.relative_to(ROOT).as_posix() for d in DOCS}
    assert not problems, "\n".join(problems)
    assert sum(len(shell_commands(d)) for d in DOCS) >= 20  # the reader found the blocks


def test_the_command_reader_splits_as_bash_does(tmp_path: Path) -> None:
    sample = tmp_path / "sample.md"
    sample.write_text("\n".join([
        "```sh", "# a comment", "curl -X POST x \\", "  -d '{\"a\": 1,", "       \"b\": 2}'",
        "ownpay one   # it's a comment", "```", "```json", "{\"not\": \"a command\"}", "```",
        "```console", "$ ownpay two \\", "    --json", "output line", "$ ownpay three", "```",
    ]))
    assert [(c.line, c.flat) for c in shell_commands(sample)] == [
        (3, "curl -X POST x -d '{\"a\": 1, \"b\": 2}'"),
        (6, "ownpay one # it's a comment"),
        (12, "ownpay two --json"),
        (15, "ownpay three"),
    ]


# ---- running them ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shims(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The ``curl`` and ``ownpay`` shims (see the module docstring), and the warm process."""
    shim = tmp_path_factory.mktemp("docs-bin")
    socket_path = shim / "ownpay.sock"
    warm = subprocess.Popen([sys.executable, "-m", "tests.support.warm_cli", str(socket_path)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([warm.stdout], [], [], COMMAND_TIMEOUT)
        assert ready and warm.stdout and warm.stdout.readline() == "ready\n", "warm_cli failed"
        write_client(shim, socket_path)
        curl = shutil.which("curl")
        assert curl, "curl is needed to run the guides' commands"
        (shim / "curl").write_text(
            f'#!/bin/sh\nexec {shlex.quote(curl)} --fail-with-body --max-time 30 "$@"\n')
        (shim / "curl").chmod(0o755)
        yield shim
    finally:
        stop_process(warm)


@pytest.fixture(scope="module")
def install(tmp_path_factory: pytest.TempPathFactory, shims: Path) -> Install:
    """``ownpay init`` once, and the README's read/write key: the installed command itself."""
    data = tmp_path_factory.mktemp("docs-install") / "data"
    env = _defaults(_env(data))
    installed = Path(sys.executable).parent / "ownpay"

    def ownpay(*args: str) -> dict[str, object]:
        done = subprocess.run([str(installed), *args, "--json"], env=env,
                              capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return dict(orjson.loads(done.stdout))

    made = ownpay("init")
    key = ownpay("api-keys", "create", "--merchant", "demo", "--mode", "test",
                 "--scopes", "read,write")
    api_keys = made["api_keys"]
    assert isinstance(api_keys, dict)
    return Install(data=data, admin_key=str(api_keys["test"]), api_key=str(key["api_key"]),
                   bin=shims)


RUN_DOCS = [name for name, plan in PLANS.items() if any(isinstance(s, Run) for s in plan)]


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("doc", RUN_DOCS)
def test_the_guide_s_commands_work_on_a_fresh_install(
    doc: str, install: Install, tmp_path: Path
) -> None:
    guide = Guide(install, tmp_path)
    try:
        for command, step in planned(shell_commands(ROOT / doc), PLANS[doc]):
            if not isinstance(step, Run):
                continue  # a Skip (or unplanned: the test above fails for it)
            text = command.text
            for placeholder, value in step.subs.items():
                assert placeholder in text, f"{command.where()}: no {placeholder!r} to replace"
                text = text.replace(placeholder, value if isinstance(value, str) else value(guide))
            if "$OWNPAY_BASE_URL" in text:
                guide.server()
            done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + text], cwd=guide.work,
                                  env=guide.env, capture_output=True, text=True,
                                  timeout=COMMAND_TIMEOUT)
            said = f"{command.where()}\nran: {text}\nexit {done.returncode}\nstdout: " \
                   f"{done.stdout[-2000:]}\nstderr: {done.stderr[-2000:]}\nserver log: " \
                   f"{guide.server_log()}"
            assert done.returncode == 0, said
            output = done.stdout + done.stderr
            if step.expect:
                assert re.search(step.expect, output), f"expected /{step.expect}/ in\n{said}"
            for name, pattern in step.capture.items():
                got = re.search(pattern, output)
                assert got, f"nothing for {name} (/{pattern}/) in\n{said}"
                guide.values[name] = got.group(1)
    finally:
        guide.close()
