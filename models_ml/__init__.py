"""The prediction layer: train, evaluate, register and score churn, buyer and care models.

Features and labels are built point in time by dbt (schema ``features``); this package reads
them, trains scikit-learn models with temporal validation, keeps every version in a registry
under ``CLUBCRM_HOME/models`` and writes the ``prediction`` marts. See docs/prediction.md.
"""

import os

# OpenMP threads that spin while waiting (the default) make scikit-learn's training many times
# slower on a machine shared with dbt and DuckDB; the runtime reads this when it first loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
