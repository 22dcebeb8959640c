"""Showing a refused request to the user in their language (ServiceError, Problem).

Services raise errors with a stable ``code`` and ``params`` (operational/services/common.py);
labels ``problem.<code>`` (catalogs/errors.py) render them; without a label the service's English
message is shown, so a new code is never hidden.
"""

from __future__ import annotations

import streamlit as st

from dashboards.i18n import STRINGS, current_locale, t
from operational.services.common import Problem, ServiceError, ValidationFailed


def problem_text(problem: Problem) -> str:
    """'身份证号：校验位是 5，应为 X……' — the field's label, then what is wrong."""
    field = t(f"field.{problem.field}") if _has(f"field.{problem.field}") else problem.field
    return (
        f"{field}：{_render(problem.code, problem.params, problem.message)}"
        if _zh()
        else (f"{field}: {_render(problem.code, problem.params, problem.message)}")
    )


def error_text(error: ServiceError) -> str:
    return _render(error.code, error.params, error.message)


def show_error(error: ServiceError) -> None:
    """st.error with every problem of a ValidationFailed, or the error's one message."""
    if isinstance(error, ValidationFailed) and error.problems:
        st.error("\n".join(f"- {problem_text(p)}" for p in error.problems), icon=":material/error:")
    else:
        st.error(error_text(error), icon=":material/error:")


def problems_by_field(error: ValidationFailed) -> dict[str, list[str]]:
    """Messages grouped by field, to show each under its input."""
    grouped: dict[str, list[str]] = {}
    for problem in error.problems:
        grouped.setdefault(problem.field, []).append(
            _render(problem.code, problem.params, problem.message)
        )
    return grouped


def _render(code: str, params: dict, fallback: str) -> str:
    key = f"problem.{code}"
    if not _has(key):
        return fallback
    try:
        return t(key, **{k: ("" if v is None else v) for k, v in params.items()})
    except (KeyError, IndexError, ValueError):  # a label naming a param this error lacks
        return fallback


def _has(key: str) -> bool:
    return key in STRINGS.get(current_locale(), {})


def _zh() -> bool:
    return current_locale() == "zh_CN"
