"""The Dagster definitions: one graph from operational tables to the published warehouse."""

from __future__ import annotations

import dagster as dg
import pytest

from ingestion.operational import OPERATIONAL_TABLES
from orchestration.project import dbt_project, manifest_is_current
from orchestration.publish_assets import PUBLISHED_KEY


@pytest.fixture
def defs(monkeypatch: pytest.MonkeyPatch) -> dg.Definitions:
    # Loading the definitions defaults CLUBCRM_WAREHOUSE_PATH; keep that out of other tests.
    monkeypatch.delenv("CLUBCRM_WAREHOUSE_PATH", raising=False)
    from orchestration.definitions import defs

    return defs


def test_the_definitions_load(defs: dg.Definitions) -> None:
    dg.Definitions.validate_loadable(defs)
    assert manifest_is_current(dbt_project)


def test_every_raw_table_feeds_its_staging_model(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    for table in (*OPERATIONAL_TABLES, "swipes"):
        node = graph.get(dg.AssetKey(["raw", table]))
        assert node.group_name == "raw"
        children = {key.path[0] for key in node.child_keys}
        # Only the restricted model reads raw directly (the unmasked contact details).
        assert children == ({"staging", "restricted"} if table == "members" else {"staging"}), table


def test_publishing_waits_for_every_dbt_model_and_the_predictions(defs: dg.Definitions) -> None:
    from orchestration.ml_assets import MART_KEYS

    graph = defs.resolve_asset_graph()
    dbt_keys = {
        key for key in graph.get_all_asset_keys()
        if key.path[0] in {"staging", "intermediate", "core", "reporting", "analysis",
                           "features", "restricted"}
    }  # fmt: skip

    assert {"core", "reporting", "analysis", "features"} <= {key.path[0] for key in dbt_keys}
    assert graph.get(PUBLISHED_KEY).parent_keys == dbt_keys | set(MART_KEYS.values())
    assert graph.get(dg.AssetKey(["core", "dim_members"])).group_name == "core"
