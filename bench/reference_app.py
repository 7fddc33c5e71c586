"""The reference the create-intent benchmark compares against (issue #2).

A minimal FastAPI app doing the least a payment-intent endpoint must do: one Pydantic model
of the same request body, one INSERT of one row through the same engine factory as OwnPay
(``ownpay.db.create_engine``: same pool, same SQLite pragmas), a small JSON answer.  No
authentication, no idempotency, no order check: the gap between this and OwnPay is the
price of those.

    OWNPAY_BENCH_DATABASE_URL=postgresql+asyncpg://… \
        uvicorn --factory bench.reference_app:create_app

The table ``bench_reference_intents`` is created by the benchmark before the server starts
(several worker processes must not race to create it).
"""

from __future__ import annotations

import os
import secrets
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    insert,
)
from starlette.responses import Response

from ownpay.db import create_engine, utcnow

metadata = MetaData()
reference_intents = Table(
    "bench_reference_intents",
    metadata,
    Column("id", String(24), primary_key=True),
    Column("gateway", String(32)),
    Column("amount_minor", BigInteger),
    Column("currency", String(3)),
    Column("order_id", String(100)),
    Column("customer_name", String(150)),
    Column("customer_email", String(254)),
    Column("return_url", String(2048)),
    Column("metadata", JSON),
    Column("created_at", DateTime(timezone=False)),
)


class Body(BaseModel):
    gateway: str = Field(max_length=32)
    amount: Decimal = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    order_id: str = Field(max_length=100)
    customer_name: str = Field(max_length=150)
    customer_email: str = Field(max_length=254)
    customer_phone: str | None = Field(default=None, max_length=30)
    description: str | None = Field(default=None, max_length=500)
    return_url: str = Field(max_length=2048)
    cancel_url: str | None = Field(default=None, max_length=2048)
    metadata: dict[str, Any] | None = None


def create_app() -> FastAPI:
    engine = create_engine(os.environ["OWNPAY_BENCH_DATABASE_URL"])
    app = FastAPI()

    @app.post("/api/v1/payment-intents", status_code=201)
    async def create(body: Body) -> Response:
        txn = "txn_" + secrets.token_hex(8)
        async with engine.begin() as conn:
            await conn.execute(
                insert(reference_intents).values(
                    id=txn, gateway=body.gateway, amount_minor=int(body.amount * 100),
                    currency=body.currency.upper(), order_id=body.order_id,
                    customer_name=body.customer_name, customer_email=body.customer_email,
                    return_url=body.return_url, metadata=body.metadata,
                    created_at=utcnow().replace(tzinfo=None),
                )
            )
        return Response(
            b'{"success":true,"transaction_id":"' + txn.encode() + b'","status":"pending"}',
            status_code=201, media_type="application/json",
        )

    return app
