"""Outbound webhook signatures: both schemes, rotation, replay window, and the receivers we
publish (PHP, Node.js, Python in docs/webhooks.md) run against headers we produce.

Expected signatures are computed here by hand with ``hmac`` rather than through the module,
so a mistake in the module's formula cannot be mirrored by the test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ownpay.webhooks import (
    WebhookVerificationError,
    generate_secret,
    sign_headers,
    verify_signature,
)
from tests.support.ports import free_port

HERE = Path(__file__).resolve().parent
RECEIVERS = HERE / "receivers"
PHP_RECEIVER = RECEIVERS / "verify.php"
NODE_RECEIVER = RECEIVERS / "verify.mjs"
DOCS = HERE.parent.parent / "docs" / "webhooks.md"

NOW = 1_718_461_370
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
# Non-ASCII on purpose: receivers must sign bytes, not re-encoded text.
BODY = json.dumps(
    {
        "id": "evt_5c1d9e7a3b2f4c6d8e0a1b2c",
        "event": "payment.completed",
        "transaction_id": "txn_9f2c3a4b5d6e7f8a",
        "order_id": "ORDER-20240615-001",
        "amount": 99.99,
        "currency": "USD",
        "status": "completed",
        "paid_at": "2024-06-15T14:22:45Z",
        "gateway": "stripe",
        "mode": "live",
        "created_at": "2024-06-15T14:22:45Z",
        "metadata": {"user_id": "42", "note": "Café ☕ – 5 €"},
    },
    ensure_ascii=False,
).encode()
DELIVERY = "dlv_0e4b7c2a9f1d3e5b6a8c7d9e"
SCHEMES = ["ownpay", "standard"]


def hand_ownpay(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def hand_standard(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def signed(
    secrets: list[str] | None = None, body: bytes = BODY, timestamp: int = NOW
) -> dict[str, str]:
    return sign_headers(
        secrets or [SECRET],
        event_type="payment.completed",
        delivery_id=DELIVERY,
        body=body,
        timestamp=timestamp,
    )


def only(scheme: str, headers: dict[str, str]) -> dict[str, str]:
    """The headers a receiver of one scheme sees (the other scheme's headers dropped)."""
    if scheme == "ownpay":
        return {k: v for k, v in headers.items() if not k.startswith("webhook-")}
    return {k: v for k, v in headers.items() if not k.startswith("X-OwnPay-")}


def rejected(secret: str, headers: dict[str, str], body: bytes = BODY, **kw: Any) -> str:
    with pytest.raises(WebhookVerificationError) as info:
        verify_signature(secret, headers, body, now=kw.pop("now", NOW), **kw)
    return str(info.value)


# --- secrets and headers ---------------------------------------------------------------


def test_generate_secret_is_standard_webhooks_format_and_random() -> None:
    made = {generate_secret() for _ in range(100)}
    assert len(made) == 100
    for secret in made:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret[6:], validate=True)) == 32


def test_sign_headers_sends_every_header_with_hand_computed_signatures() -> None:
    headers = signed()
    assert headers == {
        "Content-Type": "application/json",
        "User-Agent": "OwnPay-Webhooks/1.0",
        "X-OwnPay-Event": "payment.completed",
        "X-OwnPay-Delivery": DELIVERY,
        "X-OwnPay-Timestamp": str(NOW),
        "X-OwnPay-Signature": hand_ownpay(SECRET, str(NOW), BODY),
        "webhook-id": DELIVERY,
        "webhook-timestamp": str(NOW),
        "webhook-signature": hand_standard(SECRET, DELIVERY, str(NOW), BODY),
    }
    assert re.fullmatch(r"sha256=[0-9a-f]{64}", headers["X-OwnPay-Signature"])


def test_rotation_sends_one_signature_per_secret_newest_first() -> None:
    new, old = generate_secret(), generate_secret()
    headers = signed([new, old])
    ts = str(NOW)
    assert headers["X-OwnPay-Signature"] == (
        f"{hand_ownpay(new, ts, BODY)} {hand_ownpay(old, ts, BODY)}"
    )
    assert headers["webhook-signature"] == (
        f"{hand_standard(new, DELIVERY, ts, BODY)} {hand_standard(old, DELIVERY, ts, BODY)}"
    )


@pytest.mark.parametrize(
    ("secrets", "kwargs", "error"),
    [
        ([], {}, ValueError),
        (SECRET, {}, TypeError),  # a bare string would be signed character by character
        (["no_prefix_AAAA"], {}, ValueError),
        (["whsec_not base64!"], {}, ValueError),
        (["whsec_"], {}, ValueError),
        ([SECRET], {"delivery_id": "dlv_1\r\nX-Evil: 1"}, ValueError),
        ([SECRET], {"delivery_id": ""}, ValueError),
        ([SECRET], {"event_type": "payment completed"}, ValueError),
        ([SECRET], {"timestamp": -1}, ValueError),
        ([SECRET], {"timestamp": True}, ValueError),
        ([SECRET], {"body": "text, not bytes"}, TypeError),
    ],
)
def test_sign_headers_refuses_bad_input(secrets: Any, kwargs: dict[str, Any], error: type) -> None:
    args: dict[str, Any] = {
        "event_type": "payment.completed",
        "delivery_id": DELIVERY,
        "body": BODY,
        "timestamp": NOW,
    } | kwargs
    with pytest.raises(error):
        sign_headers(secrets, **args)


# --- verification ----------------------------------------------------------------------


@pytest.mark.parametrize("scheme", [*SCHEMES, "both"])
def test_round_trip(scheme: str) -> None:
    headers = signed() if scheme == "both" else only(scheme, signed())
    verify_signature(SECRET, headers, BODY, now=NOW)  # returns None; raises if invalid


@pytest.mark.parametrize("scheme", SCHEMES)
def test_header_names_are_case_insensitive(scheme: str) -> None:
    headers = only(scheme, signed())
    verify_signature(SECRET, {k.lower(): v for k, v in headers.items()}, BODY, now=NOW)
    verify_signature(SECRET, {k.upper(): v for k, v in headers.items()}, BODY, now=NOW)


def test_accepts_a_starlette_headers_object() -> None:
    from starlette.datastructures import Headers

    verify_signature(SECRET, Headers(headers=signed()), BODY, now=NOW)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize(
    "body",
    [
        BODY.replace(b"99.99", b"9.99"),
        BODY + b"\n",
        BODY + b" ",
        b"",
        json.dumps(json.loads(BODY)).encode(),  # same JSON, re-serialised: different bytes
    ],
)
def test_tampered_body_is_rejected(scheme: str, body: bytes) -> None:
    assert rejected(SECRET, only(scheme, signed()), body) == "signature mismatch"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_wrong_secret_is_rejected(scheme: str) -> None:
    assert rejected(generate_secret(), only(scheme, signed())) == "signature mismatch"


def test_edited_webhook_id_is_rejected() -> None:
    headers = only("standard", signed()) | {"webhook-id": "dlv_other"}
    assert rejected(SECRET, headers) == "signature mismatch"


def test_edited_timestamp_is_rejected() -> None:
    for scheme, name in (("ownpay", "X-OwnPay-Timestamp"), ("standard", "webhook-timestamp")):
        headers = only(scheme, signed()) | {name: str(NOW + 1)}
        assert rejected(SECRET, headers) == "signature mismatch"


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_timestamp_within_tolerance_is_accepted(scheme: str, offset: int) -> None:
    verify_signature(SECRET, only(scheme, signed(timestamp=NOW + offset)), BODY, now=NOW)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize(("offset", "word"), [(-301, "old"), (-86_400, "old"), (301, "future")])
def test_stale_or_future_timestamp_is_rejected(scheme: str, offset: int, word: str) -> None:
    message = rejected(SECRET, only(scheme, signed(timestamp=NOW + offset)))
    assert "timestamp" in message and word in message


def test_custom_tolerance_and_real_clock() -> None:
    headers = signed(timestamp=NOW - 60)
    rejected(SECRET, headers, tolerance=30)
    verify_signature(SECRET, headers, BODY, tolerance=60, now=NOW)
    # Without ``now`` the current clock is used.
    verify_signature(SECRET, signed(timestamp=int(time.time())), BODY)
    rejected(SECRET, signed(timestamp=int(time.time()) - 3600), now=None)


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "1.5",
        "1718461370.0",
        "+1718461370",
        " 1718461370",
        "1_718_461_370",
        "١٧١٨٤٦١٣٧٠",
        "-1",
        "9" * 40,
    ],
)
def test_non_integer_timestamp_is_rejected(value: str) -> None:
    # Signed correctly over the odd value, so only the timestamp check can reject it.
    headers = {"X-OwnPay-Timestamp": value, "X-OwnPay-Signature": hand_ownpay(SECRET, value, BODY)}
    assert "not an integer" in rejected(SECRET, headers)
    std = {
        "webhook-id": DELIVERY,
        "webhook-timestamp": value,
        "webhook-signature": hand_standard(SECRET, DELIVERY, value, BODY),
    }
    assert "not an integer" in rejected(SECRET, std)


@pytest.mark.parametrize(
    ("scheme", "missing"),
    [
        ("ownpay", "X-OwnPay-Signature"),
        ("ownpay", "X-OwnPay-Timestamp"),
        ("standard", "webhook-id"),
        ("standard", "webhook-timestamp"),
        ("standard", "webhook-signature"),
    ],
)
def test_missing_or_empty_header_is_rejected(scheme: str, missing: str) -> None:
    headers = only(scheme, signed())
    without = {k: v for k, v in headers.items() if k != missing}
    assert rejected(SECRET, without) == f"missing {missing} header"
    assert rejected(SECRET, headers | {missing: ""}) == f"missing {missing} header"


def test_no_signature_headers_at_all_is_rejected() -> None:
    assert rejected(SECRET, {}).startswith("missing signature headers")
    plain = {"Content-Type": "application/json", "X-OwnPay-Event": "payment.completed"}
    assert rejected(SECRET, plain).startswith("missing signature headers")


def test_broken_ownpay_signature_is_not_rescued_by_the_standard_one() -> None:
    headers = signed() | {"X-OwnPay-Signature": hand_ownpay(generate_secret(), str(NOW), BODY)}
    assert rejected(SECRET, headers) == "signature mismatch"
    # and a half-present X-OwnPay pair does not fall back either
    partial = {k: v for k, v in signed().items() if k != "X-OwnPay-Signature"}
    assert rejected(SECRET, partial) == "missing X-OwnPay-Signature header"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_rotation_either_secret_verifies(scheme: str) -> None:
    new, old = generate_secret(), generate_secret()
    headers = only(scheme, signed([new, old]))
    verify_signature(new, headers, BODY, now=NOW)
    verify_signature(old, headers, BODY, now=NOW)
    assert rejected(generate_secret(), headers) == "signature mismatch"


@pytest.mark.parametrize(
    "value",
    [
        lambda good: good.upper().replace("SHA256=", "sha256="),  # we send lower-case hex
        lambda good: good.replace("sha256=", "sha1="),
        lambda good: good.removeprefix("sha256="),
        lambda good: good[:-1],
        lambda good: good + "0",
        lambda good: "sha256=é" + good[8:],  # non-ASCII must not raise TypeError
        lambda good: "😀",
        lambda good: ",,, sha256=",
    ],
)
def test_malformed_signatures_are_rejected_cleanly(value: Any) -> None:
    good = hand_ownpay(SECRET, str(NOW), BODY)
    headers = {"X-OwnPay-Timestamp": str(NOW), "X-OwnPay-Signature": value(good)}
    assert rejected(SECRET, headers) == "signature mismatch"


def test_extra_signatures_in_the_list_are_ignored() -> None:
    good = hand_ownpay(SECRET, str(NOW), BODY)
    headers = {"X-OwnPay-Timestamp": str(NOW), "X-OwnPay-Signature": f"sha256=00 junk {good}"}
    verify_signature(SECRET, headers, BODY, now=NOW)
    std = only("standard", signed())
    std["webhook-signature"] = "v2,abc v1,AAAA " + std["webhook-signature"]
    verify_signature(SECRET, std, BODY, now=NOW)


def test_receiver_misconfiguration_is_not_a_verification_error() -> None:
    with pytest.raises(ValueError):
        verify_signature("", signed(), BODY, now=NOW)
    with pytest.raises(TypeError):
        verify_signature(SECRET, signed(), BODY.decode(), now=NOW)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        verify_signature(SECRET, signed(), json.loads(BODY), now=NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError):  # the Standard Webhooks key must be whsec_<base64>
        verify_signature("plain-secret", only("standard", signed()), BODY, now=NOW)
    with pytest.raises(ValueError):
        verify_signature(SECRET, signed(), BODY, tolerance=-1, now=NOW)


@settings(max_examples=60, deadline=None)
@given(body=st.binary(min_size=1, max_size=512), data=st.data())
def test_any_body_round_trips_and_any_bit_flip_is_caught(body: bytes, data: Any) -> None:
    headers = signed(body=body)
    for scheme in SCHEMES:
        verify_signature(SECRET, only(scheme, headers), body, now=NOW)
    bit = data.draw(st.integers(0, len(body) * 8 - 1))
    flipped = bytearray(body)
    flipped[bit // 8] ^= 1 << (bit % 8)
    for scheme in SCHEMES:
        rejected(SECRET, only(scheme, headers), bytes(flipped))


# --- Standard Webhooks interoperability -----------------------------------------------


def test_official_standardwebhooks_library_agrees() -> None:
    sw = pytest.importorskip("standardwebhooks.webhooks")
    now = int(time.time())  # the library checks against the real clock
    new, old = generate_secret(), generate_secret()
    headers = only("standard", signed([new, old], timestamp=now))
    # The library verifies what we send, with either secret of a rotation ...
    assert sw.Webhook(new).verify(BODY, headers) == json.loads(BODY)
    assert sw.Webhook(old).verify(BODY, headers) == json.loads(BODY)
    with pytest.raises(sw.WebhookVerificationError):
        sw.Webhook(generate_secret()).verify(BODY, headers)
    with pytest.raises(sw.WebhookVerificationError):
        sw.Webhook(new).verify(BODY + b" ", headers)
    # ... and we verify what the library signs.
    from datetime import UTC, datetime

    theirs = sw.Webhook(new).sign(DELIVERY, datetime.fromtimestamp(now, UTC), BODY.decode())
    assert theirs == hand_standard(new, DELIVERY, str(now), BODY)
    verify_signature(
        new,
        {"webhook-id": DELIVERY, "webhook-timestamp": str(now), "webhook-signature": theirs},
        BODY,
    )


# --- published receivers: PHP and Node.js ----------------------------------------------

RUNTIMES = {"php": ("php", PHP_RECEIVER), "node": ("node", NODE_RECEIVER)}


def run_receiver(
    runtime: str, tmp_path: Path, *, secret: str, timestamp: str, signature: str, body: bytes
) -> int:
    binary, script = RUNTIMES[runtime]
    if shutil.which(binary) is None:
        pytest.skip(f"`{binary}` is not installed; the {runtime} receiver snippet cannot run")
    body_file = tmp_path / "body.json"
    body_file.write_bytes(body)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "OWNPAY_WEBHOOK_SECRET": secret,
        "OWNPAY_TIMESTAMP": timestamp,
        "OWNPAY_SIGNATURE": signature,
        "OWNPAY_BODY_FILE": str(body_file),
    }
    proc = subprocess.run(
        [binary, str(script)], env=env, capture_output=True, timeout=30, check=False
    )
    assert proc.returncode in (0, 1), (proc.returncode, proc.stdout, proc.stderr)
    return proc.returncode


@pytest.mark.e2e  # runs the published PHP and Node receivers
@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_published_receiver_accepts_our_signature(runtime: str, tmp_path: Path) -> None:
    now = int(time.time())
    headers = signed(timestamp=now)
    code = run_receiver(
        runtime,
        tmp_path,
        secret=SECRET,
        timestamp=headers["X-OwnPay-Timestamp"],
        signature=headers["X-OwnPay-Signature"],
        body=BODY,
    )
    assert code == 0


@pytest.mark.e2e  # runs the published PHP and Node receivers
@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
@pytest.mark.parametrize(
    "case", ["tampered body", "wrong secret", "stale", "future", "edited timestamp", "no signature"]
)
def test_published_receiver_rejects(runtime: str, case: str, tmp_path: Path) -> None:
    now = int(time.time())
    timestamp = now - 3600 if case == "stale" else now + 3600 if case == "future" else now
    headers = signed(timestamp=timestamp)
    secret, body = SECRET, BODY
    ts, signature = headers["X-OwnPay-Timestamp"], headers["X-OwnPay-Signature"]
    if case == "tampered body":
        body = BODY.replace(b"99.99", b"0.01")
    elif case == "wrong secret":
        secret = generate_secret()
    elif case == "edited timestamp":
        ts = str(now - 1)
    elif case == "no signature":
        signature = ""
    code = run_receiver(
        runtime, tmp_path, secret=secret, timestamp=ts, signature=signature, body=body
    )
    assert code == 1


@pytest.mark.e2e  # runs the published PHP and Node receivers
@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_published_receiver_handles_rotation(runtime: str, tmp_path: Path) -> None:
    new, old = generate_secret(), generate_secret()
    headers = signed([new, old], timestamp=int(time.time()))
    ts, signature = headers["X-OwnPay-Timestamp"], headers["X-OwnPay-Signature"]
    for secret, expected in ((new, 0), (old, 0), (generate_secret(), 1)):
        code = run_receiver(
            runtime, tmp_path, secret=secret, timestamp=ts, signature=signature, body=BODY
        )
        assert code == expected


@pytest.fixture
def php_endpoint() -> Iterator[str]:
    """verify.php served by PHP's built-in web server, i.e. run as a real endpoint script."""
    if shutil.which("php") is None:
        pytest.skip("`php` is not installed; the PHP receiver snippet cannot run")
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "OWNPAY_WEBHOOK_SECRET": SECRET}
    proc = subprocess.Popen(
        ["php", "-S", f"127.0.0.1:{port}", str(PHP_RECEIVER)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("php -S did not start")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/ownpay/webhooks"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.e2e
def test_php_receiver_as_an_endpoint_script(php_endpoint: str) -> None:
    headers = signed(timestamp=int(time.time()))
    with httpx.Client(timeout=10) as client:
        assert client.post(php_endpoint, content=BODY, headers=headers).status_code == 204
        tampered = BODY.replace(b"99.99", b"0.01")
        assert client.post(php_endpoint, content=tampered, headers=headers).status_code == 401
        stale = signed(timestamp=int(time.time()) - 3600)
        assert client.post(php_endpoint, content=BODY, headers=stale).status_code == 401
        unsigned = {"Content-Type": "application/json"}
        assert client.post(php_endpoint, content=BODY, headers=unsigned).status_code == 401


# --- docs/webhooks.md stays true -------------------------------------------------------


def fenced_blocks(language: str) -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.S | re.M)


@pytest.mark.parametrize(("language", "path"), [("php", PHP_RECEIVER), ("js", NODE_RECEIVER)])
def test_docs_quote_the_tested_receivers_verbatim(language: str, path: Path) -> None:
    assert path.read_text(encoding="utf-8") in fenced_blocks(language)


def test_docs_test_vector_is_correct() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("### Test vector", 1)[1].split("\n## ", 1)[0]
    secret = re.search(r"```text\n(whsec_\S+)\n```", section)
    body = re.search(r"```json\n(.*)\n```", section)
    assert secret and body
    raw = body.group(1).encode()
    headers = dict(line.split(": ", 1) for line in re.findall(r"^[\w-]+: .+$", section, flags=re.M))
    ts, msg_id = headers["X-OwnPay-Timestamp"], headers["X-OwnPay-Delivery"]
    assert headers["webhook-id"] == msg_id and headers["webhook-timestamp"] == ts
    assert headers["X-OwnPay-Signature"] == hand_ownpay(secret.group(1), ts, raw)
    assert headers["webhook-signature"] == hand_standard(secret.group(1), msg_id, ts, raw)
    assert json.loads(raw)["event"] == headers["X-OwnPay-Event"] == "payment.completed"
    verify_signature(secret.group(1), headers, raw, now=int(ts))


@pytest.mark.api
async def test_docs_python_receiver_works(monkeypatch: pytest.MonkeyPatch) -> None:
    [source] = [block for block in fenced_blocks("python") if "verify_signature" in block]
    monkeypatch.setenv("OWNPAY_WEBHOOK_SECRET", SECRET)
    namespace: dict[str, Any] = {}
    exec(compile(source, str(DOCS), "exec"), namespace)  # noqa: S102 - our own docs
    transport = httpx.ASGITransport(app=namespace["app"])
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:

        async def post(body: bytes, headers: dict[str, str]) -> int:
            return (
                await client.post("/ownpay/webhooks", content=body, headers=headers)
            ).status_code

        headers = signed(timestamp=int(time.time()))
        assert await post(BODY, headers) == 204
        std_only = only("standard", headers) | {"X-OwnPay-Delivery": DELIVERY}
        assert await post(BODY, std_only) == 204
        assert await post(BODY.replace(b"99.99", b"0.01"), headers) == 401
        assert await post(BODY, {"Content-Type": "application/json"}) == 401
