"""Inventory: every stock quantity per size and warehouse, and the size's totals, as of the snapshot day."""

from .spec import Table, col, i64, snapshot

QUANTITIES = (
    "physical",
    "allocated",
    "free_to_allocate",
    "demand",
    "available_now",
    "available",
    "incoming",
    "unshipped",
    "on_delivery",
)


# The quantities Centra documents on `stockTotals` (docs/centra-facts.md §11.1): free-to-allocate, available-now and
# incoming are per warehouse only.
TOTALS = (
    "physical",
    "allocated",
    "demand",
    "available",
    "unshipped",
    "on_delivery",
    "linked_incoming",
    "unlinked_incoming",
)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest) + "Quantity"


INVENTORY = snapshot(
    name="inventory",
    group="inventory",
    description="Stock per size and warehouse (physical, allocated, free to allocate, demand, incoming, ...) and "
    "the totals per size, as Centra reports them at the moment of the snapshot.",
    root="productSizes",
    filter_type="ProductSizeFilter",
    concurrency=1,  # each page is budget-heavy: no speculative pages past the end
    nested_limits=(("stock", 20),),
    tables=(
        Table(
            "inventory",
            key=("size_id", "warehouse_id"),
            rows_at="stock(limit: 20)",
            parent_key="size_id",
            columns=(
                i64("size_id", "^id"),
                col("sku", "^SKU"),
                i64("warehouse_id", "warehouse.id"),
                *(i64(q, _camel(q)) for q in QUANTITIES),
                i64("linked_incoming", "linkedIncomingQuantity"),
                i64("unlinked_incoming", "unlinkedIncomingQuantity"),
            ),
        ),
        Table(
            "inventory_totals",
            key=("size_id",),
            columns=(
                i64("size_id", "id"),
                col("sku", "SKU"),
                *(i64(q, f"stockTotals.{_camel(q)}") for q in TOTALS),
            ),
        ),
    ),
)

SPECS = (INVENTORY,)
