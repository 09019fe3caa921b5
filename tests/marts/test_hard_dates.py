"""daily_sales against the simulator's ground truth at simulated dates chosen to be hard, and at today: a few days
around each, so that a date-dependent defect shows on the date it belongs to, every day the suite runs, not on
the calendar day the data happens to hold it. The marts suite (test_marts.py) covers the autumn clock change and
two month ends at its own pinned date; these cover the rest, leanly (orders and returns only, and the models
daily_sales reads)."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from centra_assets.calendar import DAY, day_start
from centra_assets.defs import build_definitions
from centra_assets.defs.marts.dbt import dbt_resource

from ..helpers import TZ, assets_of, new_instance, pinned_clock, resource_for, settings_for, sim_day
from .test_marts import daily_sales, expected_daily

pytestmark = pytest.mark.slow

SYNCED = 4  # days synced, the simulator's today included
HISTORY = 10  # days the simulator has before today: returns of orders before the synced range complete inside it
AFTERNOON = dt.time(15, 30)
HARD = {  # the simulator's (and the product's) now, in the store's timezone
    # Stockholm's clock jumps forward on Sunday 2026-03-29 (a 23-hour day); the 31st ends the month and a quarter
    "spring-forward-month-end": dt.datetime.combine(dt.date(2026, 3, 31), AFTERNOON, ZoneInfo(TZ)),
    # the year (and month) turns inside the synced days
    "year-end": dt.datetime.combine(dt.date(2026, 1, 1), AFTERNOON, ZoneInfo(TZ)),
    # today, as the suite has always run; the one date read from the machine's clock, on purpose
    "today": None,
}
FIGURES = ("order_day_net_base", "order_day_net_excl_tax_base", "refunds_base", "net_base", "net_excl_tax_base")


def build_daily_sales(settings) -> bool:
    """daily_sales and the models it reads, without the dbt tests: the marts suite runs those, some of them on
    marts this build leaves out."""
    (dbt_assets,) = [a for a in build_definitions(settings).assets if a.op.name == "centra_dbt"]
    upstream = dg.AssetSelection.assets(dg.AssetKey(["analytics", "daily_sales"])).upstream()
    return dg.materialize(
        [dbt_assets],
        selection=upstream.without_checks(),
        resources={"dbt": dbt_resource()},
        instance=dg.DagsterInstance.ephemeral(),
    ).success


def _now(case: str) -> dt.datetime:
    at = HARD[case]
    if at is None:  # the real today at AFTERNOON, as the marts suite ran before its date was pinned
        at = dt.datetime.combine(dt.datetime.fromtimestamp(time.time(), ZoneInfo(TZ)).date(), AFTERNOON, ZoneInfo(TZ))
    return at


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """One warehouse folder for every date, emptied between them but for dbt's artifacts: dbt's variables (the
    paths) stay the same, so its partial parse is kept, about 10 s a date on 2 cores."""
    return tmp_path_factory.mktemp("hard-dates")


def _emptied(place):
    warehouse = place / "warehouse"
    for child in warehouse.iterdir() if warehouse.exists() else ():
        if child.name != ".state":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    return place


@pytest.mark.parametrize("case", list(HARD))
def test_daily_sales_match_the_ground_truth_around_a_hard_date(case, place):
    """Orders, net sales with and without tax, returned units and refunds per day and market, on days around a
    clock change, a month end and the year end, and today."""
    from centra_sim.testing.simulator import serve

    at = _now(case)
    centra, server = serve(seed=11, days=HISTORY, orders_per_day=20, now=at.timestamp())
    try:
        with pinned_clock(at):
            first, last = sim_day(centra, SYNCED - 1), sim_day(centra, 0)
            days = [dt.date.fromisoformat(first) + n * DAY for n in range(SYNCED)]
            if case != "today":  # the hard case lies inside the synced days
                tz = ZoneInfo(TZ)
                hours = {(day_start(d + DAY, tz) - day_start(d, tz)) / dt.timedelta(hours=1) for d in days}
                assert hours != {24.0} or days[0].year != days[-1].year, (case, days)
            settings = settings_for(_emptied(place), start=first)
            assert dg.materialize(  # only what daily_sales reads: orders and returns, as a backfill's ranged run
                [a for a in assets_of(settings, "event") if a.op.name in ("centra_orders", "centra_returns")],
                resources={"centra": resource_for(centra, settings)},
                instance=new_instance(),
                tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
            ).success
            assert build_daily_sales(settings)
            expected = expected_daily(centra, first=first)
            got = daily_sales(settings)
    finally:
        server.__exit__()
        centra.sim.stop()
    assert got.keys() == expected.keys()
    assert sum(e["orders"] for e in expected.values()) > SYNCED * 10
    for key, e in expected.items():
        g = got[key]
        assert (g["orders"], g["returned_units"]) == (e["orders"], e["returned_units"]), (case, key)
        for figure in FIGURES:
            assert g[figure] == pytest.approx(e[figure], abs=0.011), (case, key, figure)
