"""A sync keeps raw data true: a value that does not fit its column is refused and nothing is published; a date
without an offset is the store's; a 200 answer hiding an internal error is retried. (The conversion itself:
tests/warehouse/test_parquet.py; publishing: tests/warehouse/test_publish.py.)"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from centra_assets.centra.client import CentraClient
from centra_assets.defs.raw.sync import refresh_records, sync_partition
from centra_assets.entities.sales import ORDERS
from centra_assets.entities.spec import Table, col, event, f64, i64, ts
from centra_assets.warehouse.parquet import SchemaDriftError, read_partition

from ..helpers import TZ, sim_day, truth

STORE_TZ = ZoneInfo(TZ)
TOKEN = "test-token-full"
AUDIT = {"_store": "test", "_source": "simulator"}


# ---------------------------------------------------------------- values that don't fit


@pytest.fixture(scope="module")
def schema_cache(tmp_path_factory) -> str:
    """One introspection of the shared simulator for the whole module."""
    return str(tmp_path_factory.mktemp("schema"))


def probe(*columns) -> Table:
    """Orders read into columns of our own: what a spec that mistook a Centra field's type would write."""
    table = Table("orders_probe", key=("order_number",), columns=(i64("order_number", "number"), *columns))
    return event(
        name="orders_probe",
        group="sales",
        description="a probe",
        root="orders",
        filter_type="OrderFilter",
        sort="number_ASC",
        refresh_field="number",
        tables=(table,),
    )


def sync(centra, spec, root: Path, day: str, schema_cache: str, **client_options):
    client = CentraClient(centra.graphql_url, TOKEN, schema_cache_dir=schema_cache, **client_options)
    try:
        return sync_partition(client, spec, str(root), dt.date.fromisoformat(day), STORE_TZ, AUDIT)
    finally:
        client.close()


@pytest.mark.parametrize(
    "column, first_misfit",
    [
        (i64("units", "grandTotal.value"), lambda o: not float(o["grand_total"]).is_integer()),  # 498.25 units
        (f64("on_hold", "isOnHold"), lambda o: True),  # a Boolean read as a number
        (col("reference", "number"), lambda o: True),  # a number read as text
        (ts("placed_at", 'orderDate(format: "\\\\")'), lambda o: True),  # a date Centra renders as ""
    ],
    ids=["fraction-as-integer", "boolean-as-float", "number-as-text", "empty-date"],
)
def test_a_sync_refuses_a_value_that_does_not_fit_and_publishes_nothing(
    centra, tmp_path, schema_cache, column, first_misfit
):
    day = sim_day(centra, 1)
    with pytest.raises(SchemaDriftError) as refused:
        sync(centra, probe(column), tmp_path, day, schema_cache)
    order = next(o for o in truth(centra, "orders", day) if first_misfit(o))
    assert f"for orders_probe.{column.name}, which is declared {column.type}" in str(refused.value)
    assert f"in the record order_number={order['number']};" in str(refused.value)
    assert not list(tmp_path.rglob("*parquet*"))  # neither a partition nor a temp file


def test_a_sync_refuses_impossible_money_naming_the_record(make_centra, tmp_path, schema_cache):
    """The simulator serves a literal as every order's grandTotal.value; the real gql client reads it as a float."""
    centra = make_centra(orders_per_day=20)
    day = sim_day(centra, 1)
    first = min(o["number"] for o in truth(centra, "orders", day))
    for literal in ("NaN", "Infinity", "1e309"):
        centra.admin("faults", {"money_literal": literal})
        with pytest.raises(SchemaDriftError) as refused:
            sync(centra, ORDERS, tmp_path, day, schema_cache)
        read = float(literal)  # what Python's JSON reader makes of it: nan or inf
        assert f"Centra returned {read!r} for orders.grand_total, which is declared double" in str(refused.value)
        assert f"in the record order_number={first};" in str(refused.value)
        assert "correct it there, then re-sync the day" in str(refused.value)
        assert not list(tmp_path.rglob("*parquet*"))


# ---------------------------------------------------------------- dates without an offset


def test_a_date_without_an_offset_is_read_in_the_store_timezone(centra, tmp_path, schema_cache):
    day = sim_day(centra, 1)  # November: Stockholm is UTC+1, read as UTC every order would be an hour late
    spec = probe(ts("placed_at", 'orderDate(format: "Y-m-d H:i:s")'))  # Centra renders it without an offset
    expected = [
        {"order_number": o["number"], "placed_at": dt.datetime.fromisoformat(o["created_at"])}
        for o in truth(centra, "orders", day)
    ]

    def stored():
        return read_partition(str(tmp_path), "orders_probe", day).select(["order_number", "placed_at"]).to_pylist()

    sync(centra, spec, tmp_path, day, schema_cache)
    assert stored() == expected and expected
    client = CentraClient(centra.graphql_url, TOKEN, schema_cache_dir=schema_cache)
    keys = [o["order_number"] for o in expected[::10]]
    refresh_records(client, spec, str(tmp_path), [dt.date.fromisoformat(day)], keys, STORE_TZ, AUDIT)  # a refresh too
    client.close()
    assert stored() == expected


# ---------------------------------------------------------------- a 200 hiding an internal error


def test_an_internal_error_beside_partial_data_is_retried_and_changes_nothing(make_centra, tmp_path, schema_cache):
    centra = make_centra(orders_per_day=120)
    day = sim_day(centra, 1)
    sync(centra, ORDERS, tmp_path / "calm", day, schema_cache)
    centra.admin("faults", {"internal_error_rate": 0.3})
    sync(centra, ORDERS, tmp_path / "faulty", day, schema_cache, max_attempts=12, backoff_base=0.01)
    assert centra.admin("info")["faults_fired"]["internal_error_rate"] >= 1
    for t in ORDERS.tables:
        calm, faulty = (read_partition(str(tmp_path / r), t.name, day).drop(["_loaded_at"]) for r in ("calm", "faulty"))
        assert faulty.equals(calm) and calm.num_rows
