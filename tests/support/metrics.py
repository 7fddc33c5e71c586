"""Reading the Prometheus text format that ``GET /metrics`` answers."""

from __future__ import annotations

import re


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name + "{"):
            continue
        metric, _, value = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', metric))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0
