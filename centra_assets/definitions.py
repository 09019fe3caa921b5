"""The one Definitions object of the code location (assets arrive with the ingestion work)."""

import dagster as dg

defs = dg.Definitions()
