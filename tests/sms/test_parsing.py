"""The wallet-SMS parsers against the corpus (real shapes and constructed ones), exact
amounts for every way of grouping thousands, hostile input, and the pattern tester CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ownpay.sms import patterns
from ownpay.sms.parsing import MAX_LENGTH, Kind, parse, taka_minor
from tests.support.commands import in_process

CORPUS = json.loads((Path(__file__).parent / "corpus.json").read_text())["messages"]


@pytest.mark.parametrize("sample", CORPUS, ids=lambda s: f"{s['label']}-{s['sender']}-"
                         f"{s['expect']['kind']}-{s['text'][:24]}")
def test_the_corpus_reads_exactly(sample: dict[str, Any]) -> None:
    got = parse(sample["sender"], sample["text"]).as_dict()
    wanted = sample["expect"]
    assert {k: got[k] for k in wanted} == wanted, got


def test_the_corpus_covers_every_kind_and_provider() -> None:
    kinds = {s["expect"]["kind"] for s in CORPUS}
    assert {k.value for k in Kind} | {"unrecognised", "not_a_provider"} <= kinds
    read = {parse(s["sender"], s["text"]).provider for s in CORPUS
            if s["expect"]["kind"] == "received"}
    assert read == {p.slug for p in patterns.PROVIDERS}
    assert {"real", "synthetic"} == {s["label"] for s in CORPUS}


def test_only_credits_may_verify_a_payment() -> None:
    for sample in CORPUS:
        parsed = parse(sample["sender"], sample["text"])
        assert parsed.is_credit == (parsed.kind in ("received", "cash_in")), sample["text"]


def test_digits_outside_ascii_never_read_as_an_amount() -> None:
    message = ("You have received Tk ৫০০.00 from 01712345678. Fee Tk 0.00. Balance Tk 1.00. "
               "TrxID BHQ4K8L2ZP at 26/05/2026 10:58.")
    assert parse("bKash", message).kind == "unrecognised"


def _grouped(minor: int, width: int) -> str:
    """``minor`` paisa as taka with thousands separators: width 3 (1,234,567) or the South
    Asian 3-then-2 grouping (12,34,567)."""
    whole, paisa = divmod(minor, 100)
    digits = str(whole)
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while head:
        groups.insert(0, head[-width:])
        head = head[:-width]
    return ",".join([*groups, tail]) + f".{paisa:02d}"


@given(st.integers(min_value=0, max_value=10**11), st.sampled_from([2, 3]))
def test_amounts_read_exactly_whatever_the_grouping(minor: int, width: int) -> None:
    text = _grouped(minor, width)
    assert taka_minor(text) == minor
    message = (f"You have received Tk {text} from 01712345678. Fee Tk 0.00. Balance Tk "
               f"{text}. TrxID BHQ4K8L2ZP at 26/05/2026 10:58.")
    parsed = parse("bKash", message)
    assert (parsed.kind, parsed.amount_minor, parsed.balance_minor) == ("received", minor, minor)


@pytest.mark.parametrize("bad", ["1,2", "12,3456.00", ",100", "100,", "1.234", "1..2", "1e3",
                                 "²", "৫০০", "1.²", "", ".5", "1\x00"])
def test_a_misgrouped_amount_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        taka_minor(bad)


@settings(max_examples=300)
@given(st.sampled_from(["bKash", "NAGAD", "16216", "upay", "someone"]), st.text(max_size=400))
def test_any_text_is_classified_and_never_raises(sender: str, text: str) -> None:
    parsed = parse(sender, text)
    assert parsed.kind in {k.value for k in Kind} | {"unrecognised", "not_a_provider"}


@pytest.mark.parametrize("sender", ["bKash", "NAGAD", "16216", "upay"])
def test_hostile_long_messages_are_refused_or_read_in_linear_time(sender: str) -> None:
    # 16 KiB: over the length limit, refused before any pattern runs.
    huge = "You have received Tk " + "1," * 8200 + "00"
    assert len(huge.encode()) >= 16 * 1024
    refused = parse(sender, huge)
    assert refused.kind == "unrecognised" and "longer than" in (refused.problem or "")
    # Within the limit, the shapes that make backtracking patterns explode: long runs of
    # what an amount, a reference or a spaced field could be, never closed.
    for filler in ("1," * 790, "Ref " + "x." * 780, "Tk " * 530, "\n" * 1590, " 0" * 790):
        message = ("You have received Tk " + filler)[:MAX_LENGTH]
        assert parse(sender, message).kind != "received"


def test_the_pattern_tester_shows_what_a_message_reads_as() -> None:
    sample = next(s for s in CORPUS if s["expect"].get("reference") == "INV-12 shop")
    ok = in_process({}, "sms", "parse", "--sender", "NAGAD", "--json", input=sample["text"])
    assert ok.exit_code == 0, ok.stderr
    shown = json.loads(ok.stdout)
    assert (shown["kind"], shown["amount_minor"], shown["trx_id"], shown["currency"]) == (
        "received", 50000, "71ABCD9E", "BDT")
    human = in_process({}, "sms", "parse", "--sender", "bKash",
                       input="Your bKash verification code is 123456.")
    assert human.exit_code == 0 and "kind: otp" in human.stdout
    unknown = in_process({}, "sms", "parse", "--sender", "bKash", input="hello")
    assert unknown.exit_code == 1 and "no pattern matches" in unknown.stdout
    forged = in_process({}, "sms", "parse", "--sender", "01712345678",
                        input=sample["text"])
    assert forged.exit_code == 1 and "not_a_provider" in forged.stdout
