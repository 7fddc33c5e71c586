"""The always-on leak detector (issue 16): no API key, webhook secret, gateway credential,
master key, password or card number may reach a log line -- anywhere in the suite.

Two kinds of needle:

* **canaries**: the fixed credentials the suite configures everywhere (the bKash app
  secret and password every bKash test uses, the Stripe secret key of every Stripe test,
  the other stand-ins' secrets -- Razorpay, PayPal, Nagad, the SSLCommerz store password --
  and the installation's master key) -- each is known exactly, so any appearance is a leak;
* **shapes** of secrets minted at run time: ``op_test_``/``op_live_`` API keys (39 base32
  characters), ``whsec_`` webhook secrets, Stripe ``sk_``/``rk_`` keys, and the test card
  numbers.

What is searched: every log record the suite produced -- the captured output of every test
in this process or an xdist worker (the root conftest feeds each report here), and the log
files of every server, worker and CLI process the suite started (``*.log`` under the run's
temporary directory, scanned when the session ends).  A log record is a structlog line
(console ``2026-…Z [level ] event`` or JSON with ``"event"``) and the traceback that follows
it; deliberate output is not (``ownpay quickstart`` prints the demo key it minted, once, on
purpose).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.simulators import nagad, paypal, razorpay, sslcommerz
from tests.support import bkash, settings, stripe

CANARIES: dict[str, str] = {
    "bKash app secret": bkash.CREDENTIALS["app_secret"],
    "bKash password": bkash.CREDENTIALS["password"],
    "Stripe secret key": stripe.SECRET_KEY,
    "master key (OWNPAY_SECRET_KEY)": settings.SECRET_KEY,
    "Razorpay key secret": razorpay.KEY_SECRET,
    "Razorpay webhook secret": razorpay.WEBHOOK_SECRET,
    "PayPal client secret": paypal.CLIENT_SECRET,
    # SSLCommerz takes it as a plain request field on every call (never hashed).
    "SSLCommerz store password": sslcommerz.STORE_PASSWD,
    # A line from the middle of the merchant's PEM private key (any part of it in a log is
    # a leak; the armour lines are public).
    "Nagad merchant private key": nagad.CREDENTIALS["merchant_private_key"].splitlines()[5],
}
SHAPES: dict[str, re.Pattern[str]] = {
    "API key": re.compile(r"\bop_(?:test|live)_[a-z2-7]{39}\b"),
    "webhook secret": re.compile(r"\bwhsec_[A-Za-z0-9+/]{24,}={0,2}"),
    # The PayPal stand-in's OAuth access tokens (PayPal's own start with A21AA too).
    "PayPal access token": re.compile(r"\bA21AA[A-Za-z0-9_-]{24,}"),
    "Stripe key": re.compile(r"\b[sr]k_(?:test|live)_[A-Za-z0-9]{16,}"),
    "card number": re.compile(r"(?<!\d)(?:4242424242424242|4000056655665556|"
                              r"5555555555554444|378282246310005|4000000000000002)(?!\d)"),
}
_RECORD = re.compile(r"^(?:\d{4}-\d\d-\d\dT[\d:.]+Z? \[\s*\w+\s*\]|\{.*\"event\")")
_CONTINUATION = re.compile(r"^(?:\s|Traceback|[\w.]+(?:Error|Exception|Warning)\b)")


@dataclass(frozen=True)
class Leak:
    where: str
    what: str
    line: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what} in a log line: {self.line[:300]}"


def log_records(text: str) -> Iterator[str]:
    """The lines of ``text`` that are log records or the traceback right after one."""
    inside = False
    for line in text.splitlines():
        if _RECORD.match(line):
            inside = True
            yield line
        elif inside and _CONTINUATION.match(line):
            yield line
        else:
            inside = False


def find(text: str, where: str, *, records_only: bool = True) -> list[Leak]:
    leaks = []
    for line in (log_records(text) if records_only else text.splitlines()):
        for what, value in CANARIES.items():
            if value in line:
                leaks.append(Leak(where, what, line))
        for what, pattern in SHAPES.items():
            if pattern.search(line):
                leaks.append(Leak(where, what, line))
    return leaks


def scan_report_sections(nodeid: str, sections: Iterable[tuple[str, str]]) -> list[Leak]:
    """A test report's captured output: stdlib log capture whole, stdout/stderr by record."""
    leaks = []
    for title, content in sections:
        leaks += find(content, f"{nodeid} ({title})", records_only="log" not in title.lower())
    return leaks


def scan_log_files(root: Path) -> list[Leak]:
    leaks = []
    for path in sorted(root.rglob("*.log")):
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        leaks += find(text, str(path))
    return leaks
