"""Filtered, facility-scoped, paginated listings shared by the collection endpoints."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.sql import Select

from assistant.backend.app_state import DB
from assistant.backend.auth import principal
from assistant.backend.fields import Parameter, Whole

# A page of a listing holds at most MAX_PAGE records, DEFAULT_PAGE unless ``limit`` says otherwise;
# ``offset`` goes no deeper than MAX_OFFSET (narrow the listing instead).
MAX_PAGE = 200
DEFAULT_PAGE = 50
MAX_OFFSET = 10_000_000
LIMIT = Parameter("query", Whole("limit", 1, MAX_PAGE, default=DEFAULT_PAGE))
OFFSET = Parameter("query", Whole("offset", 0, MAX_OFFSET, default=0))
PAGING = (LIMIT, OFFSET)


async def paged_response(
    request: web.Request,
    query: Select,
    facility_column: Any,
    order_by: Sequence[Any],
    to_json: Callable[[Any], dict[str, Any]],
    *,
    already_scoped: bool = False,
) -> web.Response:
    """A page of ``query``'s rows, narrowed to the caller's facilities unless the query is ``already_scoped``."""
    who = principal(request)
    if who.visible_facilities is not None and not already_scoped:
        query = query.where(facility_column.in_(who.visible_facilities))
    limit, offset = LIMIT.read(request), OFFSET.read(request)
    async with request.app[DB].read() as session:
        total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        rows = (await session.execute(query.order_by(*order_by).limit(limit).offset(offset))).scalars()
        items = [to_json(row) for row in rows]
    return web.json_response({"items": items, "total": total, "limit": limit, "offset": offset})
