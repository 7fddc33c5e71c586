"""``/api/v1/transactions``: thin routes over the transaction queries (scope ``read``).

Everything is scoped to the API key's merchant and mode.  Query parameters are parsed by
``schemas`` (every bad one reported at once); ``openapi_extra`` documents them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response, StreamingResponse

from ownpay.db import utcnow
from ownpay.errors import json_response
from ownpay.transactions import export, schemas, service
from ownpay.transactions.schemas import (
    FILTER_PARAMETERS,
    PAGE_PARAMETERS,
    TransactionDetail,
    TransactionList,
)
from ownpay.web.deps import Reader, ReadSession, Session, app_context
from ownpay.web.openapi import ErrorResponses, not_found_example, validation_example

router = APIRouter(prefix="/api/v1/transactions", tags=["Transactions"])

TransactionId = Annotated[str, Path(description="The transaction's id (`txn_…`).")]
FILTER_ERRORS = [
    validation_example("Bad filters, every one at once", {
        "status": ["Unknown status 'paid'; use one of: " + ", ".join(schemas.states.STATUSES)
                   + "."],
        "amount_min": ["The amount_min is in major units of a currency: give currency too."],
    }),
    validation_example("A misspelt parameter (never silently ignored)",
                       {"stauts": ["Unknown parameter."]}),
]
LIST_ERRORS = {400: [
    *FILTER_ERRORS,
    validation_example("A bad page size", {"limit": [
        f"The limit must be a whole number from 1 to {schemas.MAX_LIMIT}."]}),
    validation_example("A cursor that is not ours", {"cursor": [
        "The cursor is not valid: pass next_cursor of the previous page unchanged."]}),
]}


@router.get(
    "", summary="List transactions", response_model=TransactionList,
    responses=ErrorResponses(codes=LIST_ERRORS),
    openapi_extra={"parameters": schemas.openapi_parameters(FILTER_PARAMETERS, PAGE_PARAMETERS)},
)
async def list_transactions(request: Request, principal: Reader,
                            session: ReadSession) -> Response:
    """Newest first, filtered, `limit` per page (default 20, at most 100).

    Pass `next_cursor` as `cursor` for the next page: pages stay stable while payments are
    being created (no repeats, no gaps). `VALIDATION_ERROR` lists every bad parameter,
    including unknown ones.
    """
    query = schemas.parse_list_query(request.query_params.multi_items())
    page = await service.list_transactions(
        session, scope=principal.scope, query=query
    )
    return json_response(200, service.serialize_page(page))


@router.get(
    "/export", summary="Export transactions as CSV (streamed)",
    responses={
        200: {"description": "RFC 4180 CSV with a header row, newest first.",
              "content": {"text/csv": {"schema": {"type": "string"}}}},
        **ErrorResponses(codes={400: FILTER_ERRORS}),
    },
    openapi_extra={"parameters": schemas.openapi_parameters(FILTER_PARAMETERS)},
)
async def export_transactions(request: Request, principal: Reader) -> Response:
    """Every matching transaction (the listing's filters), streamed in batches in constant
    memory. Cells a spreadsheet would run as formulas are prefixed with `'`."""
    filters = schemas.parse_filters(request.query_params.multi_items())
    ctx = app_context(request)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        export.csv_stream(
            ctx.reads, scope=principal.scope,
            filters=filters,
        ),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="transactions-{principal.mode}-'
            f'{stamp}.csv"',
        },
    )


@router.get(
    "/{transaction_id}", summary="Retrieve a transaction", response_model=TransactionDetail,
    responses=ErrorResponses(codes={404: [not_found_example("Payment intent not found.")]}),
)
async def get_transaction(
    transaction_id: TransactionId, principal: Reader, session: Session
) -> Response:
    """The listing's fields plus the status history. Another merchant's or mode's id is 404."""
    body = await service.get_transaction(
        session, scope=principal.scope,
        transaction_id=transaction_id,
    )
    return json_response(200, body)
