"""What the fake platforms share on the wire."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


async def read_json(request: web.Request) -> Any:
    """The request body as JSON, as a platform reads it: whatever value it holds (a platform
    checks the shape next), or None when the body is not JSON at all."""
    try:
        return json.loads(await request.read())
    except ValueError:
        return None
