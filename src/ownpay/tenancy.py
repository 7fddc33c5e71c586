"""The tenant scope: one merchant (brand) in one mode.

Every read or write of merchant data names a :class:`TenantScope`; repository functions
take it as a required argument (ARCHITECTURE.md invariant 2), so forgetting the tenant is a
type error, not a leak.  Reads that deliberately span tenants (the operator's CLI, the
worker's sweeps) are named ``operator_…`` / are in the worker, never hidden behind an
optional argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["test", "live"]
MODES: tuple[Mode, ...] = ("test", "live")


@dataclass(frozen=True, slots=True)
class TenantScope:
    merchant_id: int
    mode: str

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be test or live, got {self.mode!r}")
