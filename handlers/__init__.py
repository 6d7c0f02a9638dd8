"""All chat commands. Routes are data; the help text is generated from this table."""

from __future__ import annotations

from bot.router import Route
from handlers import decisions, meetings, minutes, roster, votes, workbench
from handlers.help import THANKS, make_help

_FEATURES: list[Route] = [
    *meetings.ROUTES,
    *votes.ROUTES,
    *decisions.ROUTES,
    *minutes.ROUTES,
    *roster.ROUTES,
    *workbench.ROUTES,
]
ALL_ROUTES: list[Route] = [make_help(_FEATURES), *_FEATURES, THANKS]
