"""Materializing the real Dagster assets yields exactly the simulator's ground truth, on both backends, and on
stores whose Centra version names fields differently, lacks optional ones, or refuses introspection."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from centra_assets.entities import ALL

from ..helpers import (
    SEED,
    TZ,
    materialize,
    pinned_clock,
    resource_for,
    rows,
    settings_for,
    sim_day,
    snapshot_day,
    today,
    truth,
)


# Fields the simulator's "sparse" Centra version lacks, and the columns that must then be empty (and only those).
def _all_columns(table: str) -> list[str]:
    return [c.name for spec in ALL for t in spec.tables if t.name == table for c in t.columns]


SPARSE_EMPTY = {
    "orders": ["is_on_hold", "internal_comment", "billing_country", "billing_city", "billing_zip_code"],
    "shipments": ["carrier_name", "service_name", "internal_shipping_cost"],
    "returns": ["completed_at", "returned_to_stock"],
    "products": ["harmonized_commodity_code", "country_of_origin", "is_bundle"],
    "sizes": ["ean"],
    "order_lines": ["ean", "shipped_quantity"],
    "purchase_orders": ["eta"],
    "purchase_order_delivery_lines": ["landed_cost", "customs_value"],
    "stock_change_lines": ["delivered_quantity"],
    "variants": ["unit_cost", "unit_cost_currency"],
    "markets": ["allocation_rule_id", "comment"],
    "accounts": ["sales_representative_id", "sales_representative_name", "payment_terms_id", "payment_terms"],
    "displays": ["canonical_category_id"],
    "customers": ["total_orders"],
    # a list the store lacks leaves its whole table empty, and the data type runs on
    **{
        t: _all_columns(t)
        for t in (
            "product_attributes",
            "variant_attributes",
            "order_attributes",
            "customer_attributes",
            "account_attributes",
            "order_line_allocations",
            "display_media",
            "display_markets",
            "display_categories",
        )
    },
}
CASES = {
    "local": ("local", None),
    "s3-postgres": ("s3-postgres", None),
    # §11.1's other names (itemsSubtotal, AppliedDiscount { discount }), learnt from validation errors alone; and a
    # store without the refund payment history, which cannot sensibly be absent together with the sparse store's
    # Return.completedAt: a refund then books on the return's completion, which that store lacks
    "alternative-names-no-introspection": (
        "local",
        {"preset": "alternative-names", "introspection": False, "hide": ["Return.refundPaymentHistory"]},
    ),
    "sparse": ("local", "sparse"),
}
# Per case, the columns its store's schema lacks (and only those are empty).
CASE_EMPTY = {
    "sparse": SPARSE_EMPTY,
    # an older schema's applied discount carries no voucher method
    "alternative-names-no-introspection": {
        "return_refunds": _all_columns("return_refunds"),
        "order_discounts": ["voucher_method"],
    },
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    return request.param


@pytest.fixture(scope="module")
def backend(case, request):
    from tests.conftest import backend_named

    with backend_named(request, CASES[case][0]) as chosen:
        yield chosen


def _delivered_into_stock(centra, first_day: str) -> bool:
    """Whether a delivery arrived on or after `first_day` and went into stock by now (so its delivery lines and
    stock change lines have rows to compare)."""
    now = centra.sim.clock.now()
    since = dt.datetime.combine(dt.date.fromisoformat(first_day), dt.time(), ZoneInfo(TZ)).timestamp()
    return any(
        since <= d["created"] and d["inserted"] <= now
        for po in centra.sim.timeline.purchase_orders_until(now)
        for d in po["deliveries"]
    )


@pytest.fixture(scope="module")
def synced(case, backend, tmp_path_factory):
    """A simulator with a seed the tests do not choose, synced for three past days, today, and the snapshots."""
    from centra_sim.testing.simulator import serve

    for history in range(20, 34):  # a delivery comes every few days: the first history with one in the synced days
        centra, server = serve(
            seed=SEED,
            days=history,
            orders_per_day=80,
            rate_limits=True,
            plan="enterprise",
            schema_variant=CASES[case][1],
        )
        if _delivered_into_stock(centra, sim_day(centra, 3)):
            break
        server.__exit__()
        centra.sim.stop()
    settings = settings_for(tmp_path_factory.mktemp("sync"))
    resource = resource_for(centra, settings)
    days = [sim_day(centra, n) for n in (3, 2, 1, 0)]
    with pinned_clock(centra.sim.clock.now()):  # the product's today is the simulator's
        runs = [materialize(settings, resource, day, "event") for day in days]
        runs.append(materialize(settings, resource, today(), "snapshot"))
        centra.runs = runs
        yield centra, settings, days
    server.__exit__()
    centra.sim.stop()


def test_orders_equal_ground_truth(synced):
    centra, settings, days = synced
    for day in days:
        expected = truth(centra, "orders", day)
        got = rows(
            settings,
            "orders",
            day,
            "order_number, order_id, status, store_type, market_id, currency, "
            "conversion_rate, customer_id, grand_total, items_subtotal, discounts, "
            "shipping, tax_included, quantity",
        )
        assert [r[0] for r in got] == [o["number"] for o in expected], f"seed {SEED}, {day}"
        for g, e in zip(got, expected, strict=True):
            assert g[1:8] == (
                e["id"],
                e["status"],
                e["store_type"],
                e["market_id"],
                e["currency"],
                e["conversion_rate"],
                e["customer_id"],
            ), f"seed {SEED}"
            assert g[8:13] == pytest.approx((e["grand_total"], e["subtotal"], e["discount"], e["shipping"], e["tax"]))
            assert g[13] == e["quantity"]


def test_order_lines_equal_ground_truth(synced):
    centra, settings, days = synced
    for day in days:
        expected = sorted(
            (
                r["order_number"],
                r["line_id"],
                r["sku"],
                r["quantity"],
                r["cancelled_quantity"],
                r["unit_price"],
                r["line_value"],
            )
            for r in truth(centra, "order_lines", day)
        )
        got = rows(
            settings,
            "order_lines",
            day,
            "order_number, line_id, sku, quantity, cancelled_quantity, unit_price, line_value",
        )
        assert got == expected, f"seed {SEED}, {day}"
        assert expected, "the simulator made orders with lines on every day"


def test_shipments_returns_and_supply_equal_ground_truth(synced):
    centra, settings, days = synced
    for day in days:
        assert [r[0] for r in rows(settings, "shipments", day, "shipment_id")] == sorted(
            s["id"] for s in truth(centra, "shipments", day)
        )
        got_returns = rows(settings, "returns", day, "return_id, return_status, refund_total")
        assert got_returns == sorted((r["id"], r["return_status"], r["refund"]) for r in truth(centra, "returns", day))
        assert [r[0] for r in rows(settings, "purchase_orders", day, "purchase_order_id")] == sorted(
            p["id"] for p in truth(centra, "purchase_orders", day)
        )
        assert [r[0] for r in rows(settings, "purchase_order_deliveries", day, "delivery_id")] == sorted(
            d["id"] for d in truth(centra, "purchase_order_deliveries", day)
        )
    line_units = sum(r[0] for r in rows(settings, "shipment_lines", None, "quantity"))
    assert line_units == sum(s["quantity"] for day in days for s in truth(centra, "shipments", day))


def test_payments_follow_the_order_lifecycle(synced):
    _, settings, days = synced
    payments = Counter(r[0] for r in rows(settings, "order_payments", days[0], "entry_type"))
    statuses = Counter(r[0] for r in rows(settings, "orders", days[0], "status"))
    assert payments["AUTH"] == sum(statuses.values())
    assert payments["CAPTURE"] == statuses["SHIPPED"]


def test_inventory_snapshot_equals_stock_per_size_and_warehouse(synced):
    centra, settings, _ = synced
    expected = sorted(
        (s["size_id"], s["warehouse_id"], s["physical"], s["allocated"], s["free_to_allocate"], s["incoming"])
        for s in truth(centra, "stock")
    )
    day = snapshot_day(settings)
    got = rows(settings, "inventory", day, "size_id, warehouse_id, physical, allocated, free_to_allocate, incoming")
    assert got == expected
    totals = rows(settings, "inventory_totals", day, "sum(physical), sum(allocated)")
    assert totals == [(sum(s[2] for s in expected), sum(s[3] for s in expected))]


@pytest.mark.parametrize(
    "table, entity, key",
    [
        ("customers", "customers", "customer_id"),
        ("products", "products", "product_id"),
        ("variants", "variants", "variant_id"),
        ("sizes", "sizes", "size_id"),
        ("prices", "prices", "price_id"),
        ("markets", "markets", "market_id"),
        ("pricelists", "pricelists", "pricelist_id"),
        ("warehouses", "warehouses", "warehouse_id"),
        ("vouchers", "vouchers", "voucher_id"),
        ("campaigns", "campaigns", "campaign_id"),
        ("categories", "categories", "category_id"),
        ("brands", "brands", "brand_id"),
        ("collections", "collections", "collection_id"),
        ("accounts", "accounts", "account_id"),
        ("suppliers", "suppliers", "supplier_id"),
        ("allocation_rules", "allocation_rules", "allocation_rule_id"),
        ("folders", "folders", "folder_id"),
    ],
)
def test_snapshot_tables_hold_every_record(synced, table, entity, key):
    centra, settings, _ = synced
    got = rows(settings, table, snapshot_day(settings), key)
    assert [r[0] for r in got] == sorted(r["id"] for r in truth(centra, entity))


def test_every_row_names_its_source_and_load_time(synced):
    centra, settings, days = synced
    sources = rows(settings, "orders", days[0], "DISTINCT _source")
    assert sources == [(centra.graphql_url.split("//")[1].split("/")[0],)]
    assert rows(settings, "order_lines", days[0], "count(*) FILTER (WHERE _loaded_at IS NULL)") == [(0,)]


def _empty_columns_check(runs) -> dict[str, list]:
    """Table -> the columns the WARN check says are empty, from every run's check evaluations."""
    found: dict[str, list] = {}
    for run in runs:
        for evaluation in run.get_asset_check_evaluations():
            if evaluation.check_name == "store_has_every_field":
                table = evaluation.asset_key.path[-1]
                found.setdefault(table, [])
                found[table] += evaluation.metadata["empty_columns"].value
                assert evaluation.severity.value == "WARN"
    return found


def test_columns_a_store_lacks_are_empty_and_named_by_a_warning(case, synced):
    centra, settings, _ = synced
    checked = _empty_columns_check(centra.runs)
    expected = CASE_EMPTY.get(case, {})
    named = {table: sorted({c.split(" ")[0].split(".")[1] for c in cols}) for table, cols in checked.items() if cols}
    assert named == {table: sorted(cols) for table, cols in expected.items()}
    for table, columns in SPARSE_EMPTY.items():
        # a table the sparse store leaves empty is checked for rows (an attribute's value may be a choice's)
        counted = ["*"] if columns == _all_columns(table) else columns
        filled = rows(settings, table, None, ", ".join(f"count({c})" for c in counted))[0]
        if case == "sparse":
            assert filled == (0,) * len(counted), f"{table} {columns} hold values the store's schema lacks"
        elif table not in ("returns", "purchase_orders"):  # a random seed's four days may hold no completed
            # return and no purchase order with an ETA; the other columns are filled on every record
            assert all(filled), f"{table}: {columns} are empty on a store that has their fields"


def test_other_field_names_are_read_through_their_alternatives(case, synced):
    centra, settings, days = synced
    discounts = rows(settings, "order_discounts", None, "count(*), count(voucher_code), count(voucher_name)")
    assert discounts[0][0] > 0 and discounts[0][0] == discounts[0][1] == discounts[0][2]
    used = {}
    for run in centra.runs:
        for event in run.get_asset_materialization_events():
            used.update(event.materialization.metadata["alternative_fields"].value)
    if case.startswith("alternative-names"):
        assert used["orders.items_subtotal"] == "totals.itemsSubtotal.value"
        assert used["order_discounts.voucher_code"] == "on AppliedDiscount.discount.code"
    else:
        assert used == {}


# What analysts read (docs/centra-facts.md §11.4): table -> (its partition, its columns; `column:truth key` where
# the ground truth names it otherwise). Each equals the simulator's ground truth, column for column.
ANALYST_TABLES = {
    "orders": (
        "event",
        "order_number:number payment_method_uri shipping_option_id allocation_rule_id internal_comment billing_country "
        "shipping_tax_included:shipping_tax",
    ),
    "order_lines": ("event", "order_number line_id shipped_quantity centra_returned_quantity:returned_quantity"),
    "order_line_allocations": ("event", "order_number line_id warehouse_id quantity"),
    "order_attributes": ("event", "order_number attribute_type element_key value selected_value selected_value_name"),
    "order_delivery_windows": ("event", "order_number delivery_window_id"),
    "shipments": (
        "event",
        "shipment_id:id shipment_plugin internal_shipping_cost shipping discounts return_tracking_number",
    ),
    # the size through the order line: Centra's ShipmentLine has no productSize (docs/centra-facts.md §12)
    "shipment_lines": ("event", "shipment_id line_id order_line_id size_id quantity"),
    "returns": ("event", "return_id:id comment return_cost returned_to_stock return_warehouse_id"),
    "order_discounts": ("event", "order_number position voucher_code voucher_method"),
    "return_refunds": ("event", "return_id entry_type value"),
    "stock_change_lines": (
        "event",
        "line_id stock_change_id size_id warehouse_id delivered_quantity unit_cost currency",
    ),
    "purchase_order_delivery_lines": (
        "event",
        "delivery_id position size_id quantity unit_cost landed_cost customs_value",
    ),
    "products": ("snapshot", "product_id:id is_bundle country_of_origin folder_id weight"),
    "product_attributes": (
        "snapshot",
        "product_id attribute_type element_key value selected_value selected_value_name",
    ),
    "product_media": ("snapshot", "product_id media_id url"),
    "variants": ("snapshot", "variant_id:id unit_cost supplier_id"),
    "variant_attributes": (
        "snapshot",
        "variant_id attribute_type element_key value selected_value selected_value_name",
    ),
    "customer_attributes": (
        "snapshot",
        "customer_id attribute_type element_key value selected_value selected_value_name",
    ),
    "accounts": ("snapshot", "account_id:id sales_representative_id payment_terms_id"),
    "account_attributes": (
        "snapshot",
        "account_id attribute_type element_key value selected_value selected_value_name",
    ),
    "display_markets": ("snapshot", "display_id market_id"),
    "display_media": ("snapshot", "display_id media_id url"),
    "markets": ("snapshot", "market_id:id allocation_rule_id comment"),
    "currencies": ("snapshot", "currency_id:id current_base_rate is_base"),
}


def _rounded(row) -> tuple:
    return tuple(round(v, 2) if isinstance(v, float) else v for v in row)


# Only where the fields differ: storage backends and other field names are compared by the tests above.
@pytest.mark.parametrize("case", ["local", "sparse"], indirect=True)
@pytest.mark.parametrize("table", list(ANALYST_TABLES))
def test_what_analysts_read_equals_ground_truth(case, synced, table):
    centra, settings, days = synced
    partition, spec = ANALYST_TABLES[table]
    columns = [c.split(":")[0] for c in spec.split()]
    keys = [c.split(":")[-1] for c in spec.split()]
    lacking = set(SPARSE_EMPTY.get(table, ())) if case == "sparse" else set()
    expected = []
    for day in days if partition == "event" else [None]:
        for r in truth(centra, table, day):
            expected.append(_rounded(None if c in lacking else r[k] for c, k in zip(columns, keys, strict=True)))
    if lacking == set(_all_columns(table)):
        expected = []  # the store lacks the list the rows come from
    got = rows(settings, table, None if partition == "event" else snapshot_day(settings), ", ".join(columns))
    assert sorted(map(_rounded, got)) == sorted(expected), f"seed {SEED}"
    # the synced days hold a delivery into stock (the fixture chose the history) and completed returns
    assert expected or lacking, f"{table}: the simulator made no rows to compare (seed {SEED})"


@pytest.mark.parametrize("case", ["sparse"], indirect=True)
def test_the_marts_build_on_a_store_lacking_optional_fields(case, synced):
    """On a Centra version without optional fields every model and dbt test passes: the marts of a list the store
    lacks are empty, a completed return, without `completedAt`, counts on its refund's day and says so, and without
    a customer's order count their first purchase is new or 'unknown' as far as the synced days can tell."""
    from tests.marts.test_marts import build_marts, local_day, query

    centra, settings, days = synced
    assert build_marts(settings).success
    completed = [r for day in days for r in truth(centra, "returns", day) if r["return_status"] == "COMPLETED"]
    assert completed, f"seed {SEED}: no completed return to count"
    got = dict(
        (r[0], r[1:]) for r in query(settings, "SELECT return_id, completed_day, completed_day_source FROM fct_returns")
    )
    # the simulated brand pays a refund back when the return completes: the estimate is the real day
    assert {r["id"]: (dt.date.fromisoformat(local_day(r["completed_at"])), "last_refund_entry") for r in completed} == {
        k: v for k, v in got.items() if v[0] is not None
    }
    units: Counter = Counter()
    for r in completed:
        units[dt.date.fromisoformat(local_day(r["completed_at"]))] += r["quantity"]
    booked = query(
        settings,
        "SELECT sales_day, sum(returned_units) FROM daily_sales GROUP BY 1 HAVING sum(returned_units) > 0",
    )
    assert dict(booked) == dict(units), f"seed {SEED}"
    assert query(settings, "SELECT count(*) FROM fct_allocations") == [(0,)]
    assert query(settings, "SELECT count(*) FROM dim_product_attributes WHERE attribute_level = 'product'") == [(0,)]

    # Without Customer.totalOrders nothing tells whether a customer created before the synced days bought before
    # them: their first purchase in the warehouse is 'unknown', never a guessed 'new'. A customer created on a synced
    # day has every order in it (Centra keeps none before its customer): their first is 'new', the truth says so.
    created = {c["id"]: c for c in truth(centra, "customers")}
    synced = {o["number"] for day in days for o in truth(centra, "orders", day)}
    first_ever, bought, expected, unknown = {}, set(), {}, set()
    for o in sorted(truth(centra, "orders"), key=lambda o: (o["created_at"], o["number"])):
        customer = o["customer_id"]
        if customer is None or o["status"] == "CANCELLED":
            continue
        # their first purchase since the simulator's first day, if it was their first ever
        first_ever.setdefault(customer, None if created[customer]["orders_before_history"] else o["number"])
        if o["number"] not in synced:
            continue
        if customer in bought:
            expected[o["number"]] = "repeat"
        elif local_day(created[customer]["created_at"]) >= days[0]:
            assert first_ever[customer] == o["number"], f"seed {SEED}: a customer created in range bought before it"
            expected[o["number"]] = "new"
        else:
            expected[o["number"]] = "unknown"
            unknown.add(customer)
        bought.add(customer)
    assert {"new", "repeat", "unknown"} <= set(expected.values()), f"seed {SEED}"
    assert query(settings, "SELECT count(total_orders) FROM staging.stg_centra__customers") == [(0,)]
    got = dict(query(settings, "SELECT order_number, new_or_repeat FROM fct_orders WHERE new_or_repeat IS NOT NULL"))
    assert got == expected, f"seed {SEED}"
    customers = query(
        settings,
        "SELECT customer_id, is_first_order_known, bought_before_synced_range, cohort_month FROM dim_customers "
        "WHERE first_order_at IS NOT NULL",
    )
    assert {c for c, known, before, cohort in customers if not known and before is None and cohort is None} == unknown


@pytest.mark.parametrize("case", ["alternative-names-no-introspection"], indirect=True)
def test_refunds_fall_back_to_the_completion_on_a_store_without_refund_history(case, synced):
    """Without Return.refundPaymentHistory the sync lands no refund entry, and each completed return's refund
    (Centra's refund total) books on the day it completed: only the returns' models are built (staging up to
    int_returns), which keeps this case cheap."""
    from tests.marts.test_marts import build_marts, local_day, query

    centra, settings, days = synced
    assert build_marts(settings, upstream_of="int_returns").success
    completed = [r for day in days for r in truth(centra, "returns", day) if r["return_status"] == "COMPLETED"]
    assert completed, f"seed {SEED}: no completed return to book"
    expected = sorted(
        (r["id"], dt.date.fromisoformat(local_day(r["completed_at"])), round(r["refund"], 2), False) for r in completed
    )
    got = query(
        settings,
        "SELECT return_id, refund_day, round(refund, 2), is_payment_entry FROM intermediate.int_return_refunds",
    )
    assert sorted(got) == expected, f"seed {SEED}"
    sources = query(settings, "SELECT DISTINCT completed_day_source FROM intermediate.int_returns WHERE is_completed")
    assert sources == [("completed_at",)]
