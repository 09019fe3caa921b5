"""Sales: orders with lines, discounts and payments; shipments; returns. Partitioned by the day they happened."""

from .spec import EntitySpec, Table, boolean, col, f64, i64, money, ts

ORDERS = EntitySpec(
    name="orders",
    group="sales",
    description="Centra orders (D2C and wholesale) by the day they were placed, with their lines, applied "
    "discounts and payment history. One row per order; money in the order's currency with the conversion rate "
    "Centra recorded on the order.",
    document="orders.graphql",
    root="orders",
    partition="event",
    date_field="createdAt",
    refresh_field="number",
    count_document="order_count.graphql",
    tables=(
        Table("orders", key=("order_number",), columns=(
            i64("order_number", "number"), col("order_id", "id"), col("order_type", "__typename"),
            col("status", "status"), ts("order_date", "orderDate"), ts("created_at", "createdAt"),
            ts("updated_at", "updatedAt"), boolean("is_on_hold", "isOnHold"),
            i64("store_id", "store.id"), col("store_type", "store.type"), i64("market_id", "market.id"),
            col("market_name", "market.name"), i64("pricelist_id", "pricelist.id"),
            i64("customer_id", "customer.id"), col("customer_email", "customer.email"),
            i64("account_id", "account.id"), col("account_name", "account.name"), i64("buyer_id", "buyer.id"),
            col("purchase_order_number", "purchaseOrderNumber"),
            col("currency", "grandTotal.currency.code"), f64("conversion_rate", "grandTotal.conversionRate"),
            f64("grand_total", "grandTotal.value"), i64("quantity", "totals.quantity"),
            f64("items_subtotal", "totals.itemsSubtotal.value"), f64("discounts", "totals.discounts.value"),
            f64("shipping", "totals.shipping.value"), f64("handling", "totals.handling.value"),
            f64("tax_added", "totals.taxAdded.value"), f64("tax_deducted", "totals.taxDeducted.value"),
            f64("tax_included", "totals.taxIncluded.value"), col("shipping_country", "shippingAddress.country.code"),
            col("shipping_city", "shippingAddress.city"), col("shipping_zip_code", "shippingAddress.zipCode"))),
        Table("order_lines", key=("order_number", "line_id"), rows_at="lines", parent_key="order_number", columns=(
            i64("order_number", "^number"), i64("line_id", "id"), i64("product_id", "product.id"),
            i64("variant_id", "productVariant.id"), i64("size_id", "productSize.id"), i64("brand_id", "brand.id"),
            col("sku", "SKU"), col("ean", "productSize.EAN"), col("product_number", "productNumber"),
            col("product_name", "productName"), col("variant_name", "productVariantName"), col("size", "size"),
            i64("quantity", "quantity"), i64("cancelled_quantity", "cancelledQuantity"),
            f64("tax_percent", "taxPercent"), f64("discount_percent", "discountPercent"),
            col("currency", "^grandTotal.currency.code"), f64("conversion_rate", "^grandTotal.conversionRate"),
            f64("unit_price", "unitPrice.value"), f64("unit_original_price", "unitOriginalPrice.value"),
            f64("line_value", "lineValue.value"))),
        Table("order_discounts", key=("order_number", "voucher_id"), rows_at="discountsApplied",
              parent_key="order_number", columns=(
            i64("order_number", "^number"), i64("voucher_id", "discount.id"), col("voucher_code", "discount.code"),
            col("voucher_name", "discount.name"), f64("value", "value.value"), ts("applied_at", "date"),
            col("currency", "^grandTotal.currency.code"), f64("conversion_rate", "^grandTotal.conversionRate"))),
        Table("order_payments", key=("order_number", "payment_id"), rows_at="paymentHistory",
              parent_key="order_number", columns=(
            i64("order_number", "^number"), i64("payment_id", "id"), ts("created_at", "createdAt"),
            col("status", "status"), col("entry_type", "entryType"), col("external_reference", "externalReference"),
            col("payment_method", "paymentMethod"), f64("value", "value.value"),
            col("currency", "^grandTotal.currency.code"), f64("conversion_rate", "^grandTotal.conversionRate"))),
    ),
)

SHIPMENTS = EntitySpec(
    name="shipments",
    group="sales",
    description="Centra shipments by the day they were created, with their lines.",
    document="shipments.graphql",
    root="shipments",
    partition="event",
    date_field="createdAt",
    refresh_field="id",
    tables=(
        Table("shipments", key=("shipment_id",), columns=(
            i64("shipment_id", "id"), col("shipment_number", "number"), col("shipment_type", "__typename"),
            i64("order_number", "order.number"), col("order_id", "order.id"), ts("created_at", "createdAt"),
            ts("updated_at", "updatedAt"), boolean("is_good_to_go", "isGoodToGo"), boolean("is_shipped", "isShipped"),
            ts("shipped_at", "shippedAt"), boolean("is_paid", "isPaid"), ts("paid_at", "paidAt"),
            boolean("is_captured", "isCaptured"), ts("captured_at", "capturedAt"),
            i64("number_of_packages", "numberOfPackages"), col("tracking_number", "trackingNumber"),
            col("carrier_name", "carrierInformation.carrierName"), col("service_name", "carrierInformation.serviceName"),
            i64("warehouse_id", "warehouse.id"), *money("grand_total", "grandTotal"))),
        Table("shipment_lines", key=("shipment_id", "line_id"), rows_at="lines", parent_key="shipment_id", columns=(
            i64("shipment_id", "^id"), i64("line_id", "id"), i64("order_line_id", "orderLine.id"),
            i64("size_id", "productSize.id"), i64("quantity", "quantity"), f64("line_value", "lineValue.value"),
            col("currency", "^grandTotal.currency.code"), f64("conversion_rate", "^grandTotal.conversionRate"))),
    ),
)

RETURNS = EntitySpec(
    name="returns",
    group="sales",
    description="Centra returns by the day they were created, with their lines and refund totals.",
    document="returns.graphql",
    root="returns",
    partition="event",
    date_field="createdAt",
    refresh_field="id",
    tables=(
        Table("returns", key=("return_id",), columns=(
            i64("return_id", "id"), col("return_type", "__typename"), col("status", "status"),
            col("return_status", "returnStatus"), ts("created_at", "createdAt"), ts("completed_at", "completedAt"),
            i64("order_number", "order.number"), col("order_id", "order.id"), i64("shipment_id", "shipment.id"),
            i64("warehouse_id", "returnedToWarehouse.id"), *money("refund_total", "refundTotal"))),
        Table("return_lines", key=("return_id", "line_id"), rows_at="lines", parent_key="return_id", columns=(
            i64("return_id", "^id"), i64("line_id", "id"), i64("order_line_id", "orderLine.id"),
            i64("size_id", "productSize.id"), i64("quantity", "quantity"), f64("line_value", "lineValue.value"),
            col("currency", "^refundTotal.currency.code"), f64("conversion_rate", "^refundTotal.conversionRate"))),
    ),
)

CUSTOMERS = EntitySpec(
    name="customers",
    group="sales",
    description="Centra customers (D2C), as of the snapshot day.",
    document="customers.graphql",
    root="customers",
    partition="snapshot",
    tables=(
        Table("customers", key=("customer_id",), columns=(
            i64("customer_id", "id"), col("email"), col("first_name", "firstName"), col("last_name", "lastName"),
            col("gender"), col("status"), ts("created_at", "createdAt"), ts("updated_at", "updatedAt"),
            col("country", "country.code"), i64("market_id", "market.id"))),
    ),
)

ACCOUNTS = EntitySpec(
    name="accounts",
    group="sales",
    description="Centra wholesale accounts and their buyers, as of the snapshot day.",
    document="accounts.graphql",
    root="accounts",
    partition="snapshot",
    tables=(
        Table("accounts", key=("account_id",), columns=(
            i64("account_id", "id"), col("name"), col("status"), ts("created_at", "createdAt"),
            i64("market_id", "market.id"))),
        Table("buyers", key=("buyer_id",), rows_at="buyers", parent_key="account_id", columns=(
            i64("buyer_id", "id"), i64("account_id", "^id"), col("email"), col("first_name", "firstName"),
            col("last_name", "lastName"))),
    ),
)

SPECS = (ORDERS, SHIPMENTS, RETURNS, CUSTOMERS, ACCOUNTS)
