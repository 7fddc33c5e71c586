"""Prometheus metrics at ``GET /metrics``.

What an operator watches: request rate, errors and latency per route; payment status
changes per gateway; webhook attempts and their outcome; provider (gateway) HTTP calls per
gateway, operation and outcome (counted by the provider executor); and,
read from the database at scrape time, the backlog gauges (undispatched outbox events,
deliveries waiting or dead-lettered, payments stuck in ``processing``, refunds pending).

Counters about database changes are counted only once the transaction commits (a rolled
back transition is not a transition), through the same ``after_commit`` session hook idea
as the outbox wake-up.

Several ``ownpay serve`` worker processes: ``ownpay serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at ``<data_dir>/prometheus`` (emptied at start) before the
workers start, and the scrape aggregates every process's files.

Access: with ``OWNPAY_METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer
<token>`` (compared in constant time); without it, only loopback clients may scrape.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, MutableMapping
from ipaddress import ip_address
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prom_multiprocess
from sqlalchemy import event
from sqlalchemy.orm import Session

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_PENDING_KEY = "metrics_after_commit"

HTTP_REQUESTS = Counter(
    "ownpay_http_requests_total", "HTTP requests answered", ["route", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "ownpay_http_request_duration_seconds",
    "Time to answer an HTTP request (until the response starts)",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PAYMENT_TRANSITIONS = Counter(
    "ownpay_payment_transitions_total", "Committed payment status changes", ["gateway", "to"]
)
WEBHOOK_ATTEMPTS = Counter(
    "ownpay_webhook_attempts_total", "Webhook delivery attempts", ["outcome"]
)
WEBHOOK_LATENCY = Histogram(
    "ownpay_webhook_attempt_duration_seconds",
    "Duration of one webhook POST",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
OUTBOX_EVENTS_FAILED = Counter(
    "ownpay_outbox_events_failed_total",
    "Outbox events set aside because no webhook body could be made from them (see the "
    "events.dispatch_error column)",
)
# Counted by the provider executor (``ownpay.gateways.executor``), once per HTTP call --
# answered or not: ``outcome`` is ok, provider_error (4xx), server_error (5xx), timeout,
# connection_error or cancelled.
PROVIDER_REQUESTS = Counter(
    "ownpay_provider_requests_total", "HTTP calls to payment providers",
    ["gateway", "operation", "outcome"],
)
PROVIDER_LATENCY = Histogram(
    "ownpay_provider_request_duration_seconds",
    "Duration of one provider HTTP call (failed ones included)", ["gateway", "operation"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
BACKLOG = Gauge(
    "ownpay_backlog", "Work waiting, read from the database at scrape time", ["queue"],
    multiprocess_mode="mostrecent",
)


# ---- counting after commit -----------------------------------------------------------------


def after_commit(session: Any, action: Callable[[], None]) -> None:
    """Run ``action`` (a metric update) once ``session``'s transaction commits."""
    session.info.setdefault(_PENDING_KEY, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_pending(session: Session) -> None:
    for action in session.info.pop(_PENDING_KEY, ()):
        action()


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def count_transition(session: Any, *, gateway: str, to: str) -> None:
    after_commit(session, PAYMENT_TRANSITIONS.labels(gateway=gateway, to=to).inc)


SMS_MESSAGES = Counter(
    "ownpay_sms_messages_total", "Forwarded wallet SMS, by what became of them", ["outcome"])
SMS_ALERTS = Counter(
    "ownpay_sms_alerts_total", "SMS alerts raised (gap, balance, offline)", ["kind"])


def count_sms(session: Any, counter: Counter, **labels: str) -> None:
    """Counted once the upload's transaction commits."""
    after_commit(session, counter.labels(**labels).inc)


# ---- HTTP ----------------------------------------------------------------------------------


def route_label(scope: MutableMapping[str, Any]) -> str:
    """The matched route's template (bounded cardinality), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


def observe_request(scope: MutableMapping[str, Any], status: int, started: float) -> None:
    route = route_label(scope)
    method = str(scope.get("method", ""))
    HTTP_REQUESTS.labels(route=route, method=method, status=str(status)).inc()
    HTTP_LATENCY.labels(route=route, method=method).observe(time.perf_counter() - started)


def observe_provider_call(gateway: str, operation: str, outcome: str, seconds: float) -> None:
    """One provider HTTP call (the executor calls this; labels are bounded by the adapters'
    operation names, never a URL)."""
    PROVIDER_REQUESTS.labels(gateway=gateway, operation=operation, outcome=outcome).inc()
    PROVIDER_LATENCY.labels(gateway=gateway, operation=operation).observe(seconds)


# ---- the scrape ----------------------------------------------------------------------------


FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip", "x-forwarded-host")


def scrape_allowed(token: str | None, authorization: str, client_host: str | None,
                   *, forwarded: bool = False) -> bool:
    """With a token: the bearer token only (constant-time).  Without: a loopback client that
    came straight to us -- a request carrying any forwarding header came through a proxy
    (nginx on the same box connects from 127.0.0.1), so it is refused."""
    if token:
        scheme, _, given = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode())
    if forwarded:
        return False
    try:
        return client_host is not None and ip_address(client_host).is_loopback
    except ValueError:
        return False


def render() -> tuple[bytes, str]:
    """The exposition text, aggregated over processes in multi-process mode."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        prom_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
