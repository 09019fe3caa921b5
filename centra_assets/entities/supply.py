"""Supply: purchase orders and their deliveries (Centra's "indeliveries"), by the day they were created."""

from .spec import INDEX, Table, col, event, f64, i64, money, ts

# Days before the start date whose purchase orders and deliveries the start date's partition holds too (spec.py)
REACH_BEFORE_START = 120

PURCHASE_ORDERS = event(
    name="purchase_orders",
    group="supply",
    description="Centra purchase orders by the day they were created, with their lines (ordered and delivered).",
    root="purchaseOrders",
    filter_type="PurchaseOrderFilter",
    date_field="createdAt",
    refresh_field="id",
    event_object="PurchaseOrder",
    sweep_field="updatedAt",  # deliveries weeks later change status and delivered quantities
    # purchase orders placed before the start date are still open on it: the units they bring are the synced days'
    # incoming stock. A season's buying ahead: one placed earlier and still open is not synced (README, known limits)
    reach_before_start=REACH_BEFORE_START,
    tables=(
        Table(
            "purchase_orders",
            key=("purchase_order_id",),
            columns=(
                i64("purchase_order_id", "id"),
                col("status"),
                col("our_reference", "ourReference"),
                col("supplier_reference", "supplierReference"),
                ts("created_at", "createdAt"),
                ts("updated_at", "updatedAt"),
                ts("eta", "ETA"),
                i64("supplier_id", "supplier.id"),
                col("supplier_name", "supplier.name"),
                i64("warehouse_id", "warehouse.id"),
                *money("total_value", "totalValue"),
            ),
        ),
        Table(
            "purchase_order_lines",
            key=("purchase_order_id", "line_id"),
            rows_at="lines",
            parent_key="purchase_order_id",
            columns=(
                i64("purchase_order_id", "^id"),
                # PurchaseOrderLine's names are UNCONFIRMED (its reference page shows types, not names): a store
                # without `id` keys its lines by their place in the purchase order, so the data type still syncs
                i64("line_id", "id", alt=(INDEX,)),
                i64("product_id", "product.id"),
                i64("variant_id", "productVariant.id"),
                i64("size_id", "productSize.id"),
                i64("quantity", "quantity"),
                i64("delivered_quantity", "deliveredQuantity"),
                f64("unit_cost", "unitCost.value"),
                col("currency", "^totalValue.currency.code"),
            ),
        ),
    ),
)

PURCHASE_ORDER_DELIVERIES = event(
    name="purchase_order_deliveries",
    group="supply",
    description="Centra purchase order deliveries (indeliveries) by the day they arrived, with their lines.",
    root="purchaseOrderDeliveries",
    filter_type="PurchaseOrderDeliveryFilter",
    date_field="createdAt",
    refresh_field="id",
    event_object="PurchaseOrderDelivery",
    # no updatedAt in PurchaseOrderDeliveryFilter: deliveries not yet inserted into stock are read again
    settled=("status", ("INSERTED",)),
    # the deliveries of the purchase orders synced from before the start date: what of them has already arrived
    reach_before_start=REACH_BEFORE_START,
    tables=(
        Table(
            "purchase_order_deliveries",
            key=("delivery_id",),
            columns=(
                i64("delivery_id", "id"),
                col("delivery_number", "number"),
                col("status"),
                ts("created_at", "createdAt"),
                i64("supplier_id", "supplier.id"),
                i64("purchase_order_id", "purchaseOrder.id"),
                i64("warehouse_id", "warehouse.id"),
            ),
        ),
        Table(
            "purchase_order_delivery_lines",
            # The one live client reads no line id (docs/centra-facts.md §11.1): a line is keyed by its place in it.
            key=("delivery_id", "position"),
            rows_at="lines",
            parent_key="delivery_id",
            columns=(
                i64("delivery_id", "^id"),
                i64("position", "@index"),
                i64("product_id", "product.id"),
                i64("variant_id", "productVariant.id"),
                i64("size_id", "productSize.id"),
                i64("quantity", "quantity"),
                f64("unit_cost", "unitCost.value"),
                f64("landed_cost", "landedCost.value"),
                f64("customs_value", "customsValue.value"),
                col("currency", "unitCost.currency.code"),
            ),
        ),
    ),
)

STOCK_CHANGES = event(
    name="stock_changes",
    group="supply",
    description="Centra stock change lines (stock moving into a warehouse, e.g. a delivery inserted) by the day of "
    "their stock change, with the delivered quantity and its unit cost: the cost of goods and stock valuation.",
    root="stockChangeLines",
    filter_type="StockChangeLineFilter",
    date_field="createdAt",
    refresh_field="id",
    tables=(
        Table(
            "stock_change_lines",
            key=("line_id",),
            columns=(
                i64("line_id", "id"),
                ts("created_at", "createdAt"),
                i64("stock_change_id", "stockChange.id"),
                col("stock_change_type", "stockChange.type"),
                col("comment", "stockChange.comment"),
                i64("warehouse_id", "warehouse.id"),
                i64("size_id", "productSize.id"),
                i64("variant_id", "productSize.productVariant.id"),
                i64("delivered_quantity", "deliveredQuantity"),
                f64("unit_cost", "unitCost.value"),
                col("currency", "unitCost.currency.code"),
                f64("conversion_rate", "currencyBaseRate"),
            ),
        ),
    ),
)

SPECS = (PURCHASE_ORDERS, PURCHASE_ORDER_DELIVERIES, STOCK_CHANGES)
