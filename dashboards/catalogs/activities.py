"""Labels: activities (see __init__.py)."""

STRINGS: dict[str, dict[str, str]] = {
    "zh_CN": {},
    "en_US": {},
}
