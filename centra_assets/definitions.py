"""The one Definitions object of the code location. Settings come from the environment, read here once."""

import dagster as dg

from centra_assets.defs import build_definitions
from centra_assets.settings import settings_from_env

# Every dbt model and test in one run, under a name (`make demo` builds the marts with it; the marts'
# automation sensor otherwise builds what changed).
centra_marts = dg.define_asset_job(
    "centra_marts",
    selection=dg.AssetSelection.key_prefixes("analytics"),
    description="Every dbt model and its tests, published to the DuckDB file together when all pass",
)

defs = dg.Definitions.merge(build_definitions(settings_from_env()), dg.Definitions(jobs=[centra_marts]))
