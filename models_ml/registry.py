"""The model registry under ``CLUBCRM_HOME/models``: every trained version, and which is current.

Layout, one folder per task::

    models/<task>/<version>/model.joblib   the fitted model (joblib, scikit-learn objects)
    models/<task>/<version>/card.json      features, metrics (model, baselines, the current
                                           model on the same validation rows), training
                                           window, horizon, data fingerprint, promotion verdict
    models/<task>/current                  the promoted version's name (replaced atomically)

Versions are never deleted by training: a rejected candidate stays for inspection, with the
reason in its card. ``clubcrm backup`` copies the folder with the rest of CLUBCRM_HOME.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib

MODEL_FILE = "model.joblib"
CARD_FILE = "card.json"
CURRENT_FILE = "current"


class ModelNotFound(LookupError):
    """No (current) model for a task in the registry."""


@dataclass(frozen=True)
class ModelVersion:
    task: str
    version: str
    path: Path
    card: dict[str, Any]

    def load(self) -> Any:
        return joblib.load(self.path / MODEL_FILE)


class Registry:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def task_dir(self, task: str) -> Path:
        return self.root / task

    def save(self, task: str, version: str, model: Any, card: dict[str, Any]) -> ModelVersion:
        """Write a version folder (artifact first, card last: a card means a complete version)."""
        folder = self.task_dir(task) / version
        folder.mkdir(parents=True, exist_ok=False)
        joblib.dump(model, folder / MODEL_FILE, compress=3)
        self.write_card(folder, card)
        return ModelVersion(task, version, folder, card)

    @staticmethod
    def write_card(folder: Path, card: dict[str, Any]) -> None:
        tmp = folder / (CARD_FILE + ".tmp")
        tmp.write_text(
            json.dumps(card, indent=2, ensure_ascii=False, default=_json_default) + "\n",
            encoding="utf-8",
        )
        os.replace(tmp, folder / CARD_FILE)

    def versions(self, task: str) -> list[ModelVersion]:
        folder = self.task_dir(task)
        if not folder.is_dir():
            return []
        found = []
        for child in sorted(folder.iterdir()):
            card_path = child / CARD_FILE
            if child.is_dir() and card_path.exists():
                card = json.loads(card_path.read_text(encoding="utf-8"))
                found.append(ModelVersion(task, child.name, child, card))
        return found

    def current(self, task: str) -> ModelVersion | None:
        pointer = self.task_dir(task) / CURRENT_FILE
        if not pointer.exists():
            return None
        version = pointer.read_text(encoding="utf-8").strip()
        folder = self.task_dir(task) / version
        if not (folder / CARD_FILE).exists():
            return None
        card = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
        return ModelVersion(task, version, folder, card)

    def require_current(self, task: str) -> ModelVersion:
        current = self.current(task)
        if current is None:
            raise ModelNotFound(
                f"no current {task} model in {self.task_dir(task)}: train one "
                "(clubcrm pipeline run trains when none exists)"
            )
        return current

    def promote(self, task: str, version: str) -> None:
        """Point ``current`` at ``version`` (write a temporary file, then rename it)."""
        folder = self.task_dir(task)
        if not (folder / version / CARD_FILE).exists():
            raise ModelNotFound(f"{task} model version {version} is not in the registry")
        tmp = folder / (CURRENT_FILE + ".tmp")
        tmp.write_text(version + "\n", encoding="utf-8")
        os.replace(tmp, folder / CURRENT_FILE)


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
