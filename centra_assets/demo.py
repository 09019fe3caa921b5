"""`make demo`: the pipeline end to end on the local Centra simulator.

Starts the simulator, runs the project's own jobs (the code location `make dev` loads): `centra_events` for the
last 7 days, `centra_snapshots` (today's), then `centra_marts` (every dbt model into warehouse/centra.duckdb).
It shows each data type as it lands, then a summary from the marts and what to do next. The engine's own log
(Dagster's events, dbt's output) goes to $DAGSTER_HOME/demo.log; the runs are kept in DAGSTER_HOME, so
`make dev` shows them in the UI.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import httpx

from centra_assets import calendar
from centra_assets.calendar import day_of
from centra_assets.cli import dagster_home, init_instance
from centra_assets.entities import ALL
from centra_assets.warehouse import layout
from centra_sim.process import SimulatorProcess

TOKEN = "demo-token"
TIMEZONE = "Europe/Stockholm"
DAYS = 7  # of event data, today included
HISTORY = 30  # days the simulator has before today
QUERY = (
    "uv run python -c \"import duckdb; duckdb.connect('{duckdb_file}', read_only=True).sql('SELECT sales_day, "
    "sum(orders) AS orders, round(sum(net_sales_base), 2) AS net_sales FROM daily_sales GROUP BY 1 ORDER BY 1')"
    '.show()"'
)
SPECS = {f"centra_{s.name}": s for s in ALL}
WATCHED = {
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
}


def store_days(sim: SimulatorProcess, days: int) -> tuple[str, str, str]:
    """(the simulator's first day, the first and the last day the demo syncs): the last `days` days up to the day the
    simulator calls today, read from its own clock once it is up (it stands still from the simulator's start), not
    the machine's before it: a demo started at 23:59:59 syncs up to the simulator's today, not the day before."""
    info = httpx.get(f"{sim.url}/admin/info", timeout=10).raise_for_status().json()
    tz = ZoneInfo(info["timezone"])
    today = day_of(dt.datetime.fromtimestamp(info["now"], dt.UTC), tz)
    start = day_of(dt.datetime.fromtimestamp(info["start"], dt.UTC), tz)
    return start.isoformat(), (today - dt.timedelta(days=days - 1)).isoformat(), today.isoformat()


def _shown(path: str | Path) -> str:
    """A path as a person types it: relative to here when it is under here."""
    path = Path(path).resolve()
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


class Progress:
    """Follows a run's event log and shows a line per step: rows and pages as each partition lands, rewritten in
    place on a terminal, one line when the step ends otherwise."""

    def __init__(self, out, days: int):
        self.out, self.days, self.tty = out, days, out.isatty()
        self.failures: list[str] = []

    def follow(self, instance: dg.DagsterInstance, run_id: str, done: threading.Event) -> None:
        cursor, steps, current = None, {}, None
        while True:
            finished = done.is_set()  # read before the last look, so nothing recorded before the end is missed
            while True:
                page = instance.get_records_for_run(run_id, cursor=cursor, of_type=WATCHED, limit=500)
                cursor = page.cursor
                for record in page.records:
                    current = self._event(record.event_log_entry, steps, current)
                if not page.has_more:
                    break
            if finished:
                return
            time.sleep(0.2)

    def _event(self, entry, steps: dict, current: str | None) -> str | None:
        event = entry.dagster_event
        step = event.step_key
        if event.event_type == dg.DagsterEventType.STEP_START:
            steps[step] = {"rows": 0, "pages": 0, "parts": 0, "models": 0, "tests": 0, "start": entry.timestamp}
            self._show(step, steps[step], end=False)
            return step
        state = steps.get(step)
        if state is None:
            return current
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization
            spec = SPECS.get(step)
            if spec and materialization.asset_key.path[-1] == spec.tables[0].name:  # a data type's main table
                metadata = materialization.metadata
                state["parts"] += 1
                state["rows"] += metadata["dagster/row_count"].value if "dagster/row_count" in metadata else 0
                state["pages"] += metadata["pages"].value if "pages" in metadata else 0
            elif not spec:
                state["models"] += 1
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            state["tests"] += 0 if SPECS.get(step) else 1
        else:  # the step ended
            state["seconds"] = entry.timestamp - state["start"]
            if event.event_type == dg.DagsterEventType.STEP_FAILURE:
                error = event.event_specific_data.error
                message = (error.cause or error).message if error else "see the log"
                state["failed"] = message.strip().splitlines()[0][:200]
                self.failures.append(f"{step}: {state['failed']}")
            self._show(step, state, end=True)
            return None
        self._show(step, state, end=False)
        return current

    def _show(self, step: str, state: dict, end: bool) -> None:
        spec = SPECS.get(step)
        seconds = f"{state['seconds']:5.1f} s" if "seconds" in state else ""
        if spec:
            days = f"{state['parts']}/{self.days} days" if spec.partition == "event" else "today"
            line = f"  {spec.name:<26}{days:>9}{state['rows']:>10,} rows{state['pages']:>6,} pages  {seconds}"
        else:
            line = f"  dbt: {state['models']} models built, {state['tests']} tests run  {seconds}"
        if "failed" in state:
            line += f"  FAILED: {state['failed']}"
        if self.tty:
            self.out.write("\r\033[K" + line + ("\n" if end else ""))
        elif end:
            self.out.write(line + "\n")
        self.out.flush()


def run_job(defs: dg.Definitions, name: str, instance, log, progress: Progress, tags=None) -> bool:
    """One of the project's jobs, in this process, its engine log to `log`, its steps shown as they go."""
    run_id = str(uuid.uuid4())
    done = threading.Event()
    watcher = threading.Thread(target=progress.follow, args=(instance, run_id, done), daemon=True)
    watcher.start()
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            result = defs.resolve_job_def(name).execute_in_process(
                instance=instance, run_id=run_id, tags=tags or {}, raise_on_error=False
            )
    finally:
        done.set()
        watcher.join()
    return result.success


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=DAYS, help="days of event data to sync, today included")
    parser.add_argument("--orders-per-day", type=int, default=300, help="the simulated store's orders a day")
    args = parser.parse_args(argv)
    home = dagster_home()
    init_instance(home)  # the instance `make dev` and a real store use: run history, the centra_api pool
    os.environ["DAGSTER_HOME"] = str(home)
    warehouse = os.environ.get("CENTRA_WAREHOUSE_DIR", "warehouse")
    log_path = home / "demo.log"
    out = sys.stdout
    started = time.monotonic()
    with open(log_path, "w") as log:  # open to the end: Dagster's handlers keep the stream they were given
        with SimulatorProcess(
            *("--now", calendar.now().isoformat()),  # the pipeline's clock (CENTRA_CLOCK_OFFSET replays a past day)
            *("--days", str(HISTORY), "--orders-per-day", str(args.orders_per_day), "--timezone", TIMEZONE),
            token=TOKEN,
        ) as sim:
            start, first, today = store_days(sim, args.days)
            # the code location `make dev` loads, built from these settings, as a real store's is from its own
            os.environ.update(
                CENTRA_API_URL=sim.graphql_url,
                CENTRA_API_TOKEN=TOKEN,
                CENTRA_TIMEZONE=TIMEZONE,
                CENTRA_START_DATE=start,
                CENTRA_WAREHOUSE_DIR=warehouse,
            )
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                from centra_assets.definitions import defs
                from centra_assets.settings import settings_from_env

                settings = settings_from_env()
                instance = dg.DagsterInstance.get()
            raw = Path(layout.raw_root(layout.store_root(settings.warehouse_dir, settings.stores[0])))
            print(
                f"Centra simulator on {sim.url}: a fashion store with {HISTORY} days of orders "
                f"({args.orders_per_day} a day).\n"
                f"Engine log (Dagster, dbt): {_shown(log_path)}\n\n"
                f"Syncing {first} .. {today} of event data and today's snapshots into {_shown(raw)}/<table>/ :",
                file=out,
                flush=True,
            )
            progress = Progress(out, args.days)
            range_tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": today}
            synced = run_job(defs, "centra_events", instance, log, progress, range_tags)
            synced = run_job(defs, "centra_snapshots", instance, log, progress) and synced
        if not synced:
            raise SystemExit(f"\nA sync failed (above; the whole story in {_shown(log_path)}). Nothing else was built.")
        print(
            f"\nBuilding the dbt models into {_shown(settings.duckdb_file)} (job centra_marts):", file=out, flush=True
        )
        if not run_job(defs, "centra_marts", instance, log, progress):
            raise SystemExit(f"\nThe dbt build failed; see {_shown(log_path)}. The last good warehouse is kept.")
        report(settings, raw, time.monotonic() - started, log_path, out)


def report(settings, raw: Path, seconds: float, log_path: Path, out=sys.stdout) -> None:
    tables = sorted(p.name for p in raw.iterdir() if p.is_dir())
    con = duckdb.connect(str(settings.duckdb_file), read_only=True)
    base = con.execute("SELECT any_value(base_currency) FROM daily_sales").fetchone()[0]
    print(f"\nDone in {seconds:.0f} s: {len(tables)} raw tables, and the marts. Per day ({base}):", file=out)
    print(
        f"  {'day':<12}{'orders':>8}{'units':>8}{'net sales':>13}{'AOV':>8}{'returned':>10}{'new customers':>15}",
        file=out,
    )
    days = con.execute("""
        SELECT d.sales_day, sum(d.orders), sum(d.units), sum(d.net_sales_base),
               sum(d.gross_sales_base - d.discounts_base) / nullif(sum(d.orders), 0),
               sum(d.order_day_returned_units), bool_and(d.are_returns_settled), any_value(n.new)
        FROM daily_sales AS d
        LEFT JOIN (SELECT order_day, count(*) FILTER (WHERE new_or_repeat = 'new') AS new FROM fct_orders GROUP BY 1)
            AS n ON n.order_day = d.sales_day
        GROUP BY d.sales_day ORDER BY d.sales_day""").fetchall()
    for day, orders, units, net, aov, returned, _, new in days:
        print(
            f"  {day!s:<12}{orders:>8,}{units:>8,}{net:>13,.0f}{aov or 0:>8,.0f}{returned:>10,}{new or 0:>15,}",
            file=out,
        )
    if not all(settled for *_, settled, _ in days):
        print(
            "  returned: units of the day's orders returned so far. No return rate yet: returns come up to 35 days "
            "after\n  an order (var return_window_days), so a day's rate is final only then (`are_returns_settled`; "
            "the mart\n  return_rates holds settled days only).",
            file=out,
        )
    print("  Net sales by market, all days:", file=out)
    for market, store_type, net in con.execute(
        "SELECT market_name, store_type, sum(net_sales_base) FROM daily_sales GROUP BY ALL ORDER BY 3 DESC LIMIT 4"
    ).fetchall():
        print(f"    {market or '(market unknown)':<24}{store_type or '':<20}{net:>12,.0f}", file=out)
    sizes, low, cover = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE days_of_cover < 14), median(days_of_cover) FROM inventory_health"
    ).fetchone()
    print(
        f"  Stock: {sizes:,} sizes x warehouses; {low:,} under 14 days of cover; median {cover or 0:.0f} days", file=out
    )
    con.close()
    duckdb_file = _shown(settings.duckdb_file)
    print(
        f"""
The simulator has stopped. Next:
  make dev     the Dagster UI (http://127.0.0.1:3000) with these runs (jobs centra_events, centra_snapshots,
               centra_marts), a live simulator and its webhooks
  query        the marts in {duckdb_file}, read-only (never blocks a build), e.g.:
    {QUERY.format(duckdb_file=duckdb_file)}
  raw data     Parquet in {_shown(raw)}/<table>/date=YYYY-MM-DD/data.parquet
  engine log   {_shown(log_path)}
  a real store docs/operating.md, "Pointing it at a real Centra store": centra-assets check, init, dev""",
        file=out,
        flush=True,
    )


if __name__ == "__main__":
    main()
