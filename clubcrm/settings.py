"""Settings from environment variables (all optional), per ARCHITECTURE.md.

Every part reads its paths from here so that one variable (``CLUBCRM_HOME``) moves the whole
data folder: operational SQLite file, warehouse, Dagster home, spool, model registry, backups.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    buyer_horizon_days: int
    churn_horizon_days: int
    locale: str
    test_database_url: str | None
    #: Incremental ingestion re-reads rows changed this long before the last watermark, so a
    #: transaction still open at the last run (committed later, stamped earlier) is not missed.
    ingest_lookback_minutes: int = 60

    # -- derived locations -------------------------------------------------------------------
    @property
    def operational_sqlite_path(self) -> Path:
        return self.home / "operational.sqlite"

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def build_warehouse_path(self) -> Path:
        """The DuckDB file the pipeline writes. Only the pipeline opens it."""
        return self.warehouse_dir / "build.duckdb"

    @property
    def published_dir(self) -> Path:
        return self.warehouse_dir / "published"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def spool_dir(self) -> Path:
        return self.home / "spool"

    @property
    def model_registry_dir(self) -> Path:
        return self.home / "models"

    @property
    def backups_dir(self) -> Path:
        return self.home / "backups"

    @property
    def truth_dir(self) -> Path:
        """Latent truths of the demo generator: never in the operational DB."""
        return self.home / "truth"

    @property
    def dbt_target_dir(self) -> Path:
        return self.home / "dbt" / "target"

    def ensure_dirs(self) -> None:
        for path in (
            self.home,
            self.warehouse_dir,
            self.published_dir,
            self.dagster_home,
            self.spool_dir,
            self.model_registry_dir,
            self.backups_dir,
            self.truth_dir,
        ):
            path.mkdir(parents=True, exist_ok=True)


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from exc
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


def get_settings() -> Settings:
    """Read the settings afresh (cheap; tests change the environment between calls)."""
    home = Path(os.environ.get("CLUBCRM_HOME", "").strip() or "./var").expanduser().resolve()
    database_url = os.environ.get("CLUBCRM_DATABASE_URL", "").strip()
    if not database_url:
        database_url = f"sqlite:///{home / 'operational.sqlite'}"
    return Settings(
        home=home,
        database_url=database_url,
        buyer_horizon_days=_int_env("CLUBCRM_BUYER_HORIZON_DAYS", 90),
        churn_horizon_days=_int_env("CLUBCRM_CHURN_HORIZON_DAYS", 180),
        locale=os.environ.get("CLUBCRM_LOCALE", "").strip() or "zh_CN",
        test_database_url=os.environ.get("CLUBCRM_TEST_DATABASE_URL", "").strip() or None,
        ingest_lookback_minutes=_int_env("CLUBCRM_INGEST_LOOKBACK_MINUTES", 60),
    )
