"""Label catalogues by area, merged into ``dashboards.i18n.STRINGS`` at import.

Each module defines ``STRINGS = {"zh_CN": {...}, "en_US": {...}}`` with keys prefixed by its
area (``apply.``, ``review.``, ``problem.``…); a key defined twice is an error at start-up.
"""

from __future__ import annotations

import importlib

CATALOGS = (
    "errors",
    "applications",
    "membership",
    "points",
    "purchases",
    "complaints",
    "activities",
    "care",
    "merchants",
    "dictionary",
    "readers",
    "dashboards",
    "admin",
)


def load() -> list[dict[str, dict[str, str]]]:
    return [importlib.import_module(f"{__name__}.{name}").STRINGS for name in CATALOGS]
