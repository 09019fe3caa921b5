"""Sales: orders with lines, discounts and payments; shipments; returns. Partitioned by the day they happened."""

from .spec import Table, attributes_table, boolean, col, event, f64, i64, money, snapshot, ts

ORDERS = event(
    name="orders",
    group="sales",
    description="Centra orders (D2C and wholesale) by the day they were placed, with their lines, applied "
    "discounts and payment history. One row per order; money in the order's currency with the conversion rate "
    "Centra recorded on the order.",
    root="orders",
    filter_type="OrderFilter",
    sort="number_ASC",
    date_field="createdAt",
    refresh_field="number",
    count_document="order_count.graphql",
    webhook_type="order",
    event_object="Order",
    sweep_field="updatedAt",
    tables=(
        Table(
            "orders",
            key=("order_number",),
            columns=(
                i64("order_number", "number"),
                col("order_id", "id"),
                col("order_type", "__typename"),
                col("status", "status"),
                ts("order_date", "orderDate"),
                ts("created_at", "createdAt"),
                ts("updated_at", "updatedAt"),
                boolean("is_on_hold", "isOnHold"),
                i64("store_id", "store.id"),
                col("store_type", "store.type"),
                i64("market_id", "market.id"),
                col("market_name", "market.name"),
                i64("pricelist_id", "pricelist.id"),
                i64("customer_id", "on DirectToConsumerOrder.customer.id"),
                col("customer_email", "on DirectToConsumerOrder.customer.email"),
                i64("account_id", "on WholesaleOrder.account.id"),
                col("account_name", "on WholesaleOrder.account.name"),
                i64("buyer_id", "on WholesaleOrder.buyer.id"),
                col("purchase_order_number", "on WholesaleOrder.purchaseOrderNumber"),
                col("currency", "grandTotal.currency.code"),
                f64("conversion_rate", "grandTotal.conversionRate"),
                f64("grand_total", "grandTotal.value"),
                i64("quantity", "totals.quantity"),
                # Live clients read `lineValues`; older documented examples `itemsSubtotal` (docs/centra-facts.md §11.1)
                f64("items_subtotal", "totals.lineValues.value", alt=("totals.itemsSubtotal.value",)),
                f64("discounts", "totals.discounts.value"),
                f64("shipping", "totals.shipping.value"),
                f64("handling", "totals.handling.value"),
                f64("tax_added", "totals.taxAdded.value"),
                f64("tax_deducted", "totals.taxDeducted.value"),
                f64("tax_included", "totals.taxIncluded.value"),
                # the part of the taxes above on shipping (Centra's complete OrderTotals page, docs/centra-facts.md §12)
                f64("shipping_tax_added", "totals.shippingTaxAdded.value"),
                f64("shipping_tax_deducted", "totals.shippingTaxDeducted.value"),
                f64("shipping_tax_included", "totals.shippingTaxIncluded.value"),
                col("shipping_country", "shippingAddress.country.code"),
                col("shipping_city", "shippingAddress.city"),
                col("shipping_zip_code", "shippingAddress.zipCode"),
                # Channel and payment (docs/centra-facts.md §11.4); billing address without the person's name or contact
                col("payment_method_name", "paymentMethod.name"),
                col("payment_method_uri", "paymentMethod.uri"),
                col("payment_method_plugin", "paymentMethod.plugin"),
                i64("shipping_option_id", "shippingPriceGroup.shippingOption.id"),
                col("shipping_option_name", "shippingPriceGroup.shippingOption.name"),
                col("billing_country", "billingAddress.country.code"),
                col("billing_city", "billingAddress.city"),
                col("billing_zip_code", "billingAddress.zipCode"),
                col("internal_comment", "internalComment"),
                i64("allocation_rule_id", "allocationRule.id"),
            ),
        ),
        Table(
            "order_lines",
            key=("order_number", "line_id"),
            rows_at="lines(includeFullyCancelled: true)",  # Centra hides fully cancelled lines unless asked
            parent_key="order_number",
            columns=(
                i64("order_number", "^number"),
                i64("line_id", "id"),
                i64("product_id", "product.id"),
                i64("variant_id", "productVariant.id"),
                i64("size_id", "productSize.id"),
                i64("brand_id", "brand.id"),
                col("sku", "productSize.SKU"),
                col("ean", "productSize.EAN"),
                col("product_number", "productNumber"),
                col("product_name", "productName"),
                col("variant_name", "productVariantName"),
                col("size", "size"),
                i64("quantity", "quantity"),
                i64("cancelled_quantity", "cancelledQuantity"),
                f64("tax_percent", "taxPercent"),
                f64("discount_percent", "discountPercent"),
                col("currency", "^grandTotal.currency.code"),
                f64("conversion_rate", "^grandTotal.conversionRate"),
                f64("unit_price", "unitPrice.value"),
                f64("unit_original_price", "unitOriginalPrice.value"),
                f64("line_value", "lineValue.value"),
                i64("shipped_quantity", "shippedQuantity"),  # a live client drops it where it is refused
                # Centra's own count; the marts count `returned_quantity` from the return lines (int_order_lines)
                i64("centra_returned_quantity", "returnedQuantity"),
            ),
        ),
        Table(
            "order_line_allocations",
            key=("order_number", "line_id", "allocation_id"),
            rows_at="lines(includeFullyCancelled: true).allocations",
            parent_key="order_number",
            columns=(
                i64("order_number", "^number"),
                i64("line_id", "^lines(includeFullyCancelled: true).id"),
                i64("allocation_id", "id"),
                i64("warehouse_id", "warehouse.id"),
                i64("quantity", "quantity"),
            ),
        ),
        attributes_table("order_attributes", i64("order_number", "^number")),
        Table(
            "order_delivery_windows",  # wholesale orders: the delivery windows the buyer chose
            key=("order_number", "delivery_window_id"),
            rows_at="on WholesaleOrder.deliveryWindows",
            parent_key="order_number",
            columns=(i64("order_number", "^number"), i64("delivery_window_id", "id"), col("name")),
        ),
        Table(
            "order_discounts",
            # Live clients read `AppliedVoucher { voucher }`; Centra's 2024 example `AppliedDiscount { discount }`
            # (docs/centra-facts.md §11.1). No document reads a voucher id, so a row is keyed by its place in the list.
            key=("order_number", "position"),
            rows_at="discountsApplied",
            parent_key="order_number",
            columns=(
                i64("order_number", "^number"),
                i64("position", "@index"),
                i64("voucher_id", "on AppliedVoucher.voucher.id", alt=("on AppliedDiscount.discount.id",)),
                col("voucher_code", "on AppliedVoucher.voucher.code", alt=("on AppliedDiscount.discount.code",)),
                col("voucher_name", "on AppliedVoucher.voucher.name", alt=("on AppliedDiscount.discount.name",)),
                col("voucher_type", "on AppliedVoucher.voucher.type", alt=("on AppliedDiscount.discount.type",)),
                # AUTO, CODE or URL, carried on the applied voucher itself (Centra's AppliedVoucher pages, §12)
                col("voucher_method", "on AppliedVoucher.voucherMethod"),
                f64("value", "value.value"),
                ts("applied_at", "date"),
                col("currency", "^grandTotal.currency.code"),
                f64("conversion_rate", "^grandTotal.conversionRate"),
            ),
        ),
        Table(
            "order_payments",
            key=("order_number", "payment_id"),
            rows_at="paymentHistory",
            parent_key="order_number",
            columns=(
                i64("order_number", "^number"),
                i64("payment_id", "id"),
                ts("created_at", "createdAt"),
                col("status", "status"),
                col("entry_type", "entryType"),
                col("external_reference", "externalReference"),
                col("payment_method", "paymentMethod"),
                f64("value", "value.value"),
                col("currency", "^grandTotal.currency.code"),
                f64("conversion_rate", "^grandTotal.conversionRate"),
            ),
        ),
    ),
)

SHIPMENTS = event(
    name="shipments",
    group="sales",
    description="Centra shipments by the day they were created, with their lines.",
    filter_type="ShipmentFilter",
    webhook_type="shipment",
    event_object="Shipment",
    sweep_field="updatedAt",
    root="shipments",
    date_field="createdAt",
    refresh_field="id",
    tables=(
        Table(
            "shipments",
            key=("shipment_id",),
            columns=(
                i64("shipment_id", "id"),
                col("shipment_number", "number"),
                col("shipment_type", "__typename"),
                i64("order_number", "order.number"),
                col("order_id", "order.id"),
                ts("created_at", "createdAt"),
                ts("updated_at", "updatedAt"),
                boolean("is_good_to_go", "isGoodToGo"),
                boolean("is_shipped", "isShipped"),
                ts("shipped_at", "shippedAt"),
                boolean("is_paid", "isPaid"),
                ts("paid_at", "paidAt"),
                boolean("is_captured", "isCaptured"),
                ts("captured_at", "capturedAt"),
                i64("number_of_packages", "numberOfPackages"),
                col("tracking_number", "trackingNumber"),
                col("carrier_name", "carrierInformation.carrierName"),
                col("service_name", "carrierInformation.serviceName"),
                i64("warehouse_id", "warehouse.id"),
                *money("grand_total", "grandTotal"),
                # Shipment economics (docs/centra-facts.md §6.3, §11.4): what the customer paid for shipping, carrier's
                # charge to the brand, in the order's currency.
                col("shipment_plugin", "shipmentPlugin.name"),
                col("return_tracking_number", "returnTrackingNumber"),
                f64("shipping", "totals.shipping.value"),
                f64("discounts", "totals.discounts.value"),
                f64("tax_added", "totals.taxAdded.value"),
                f64("internal_shipping_cost", "internalShippingCost.value"),
                f64("conversion_rate", "grandTotal.conversionRate"),
            ),
        ),
        Table(
            "shipment_lines",
            key=("shipment_id", "line_id"),
            rows_at="lines",
            parent_key="shipment_id",
            columns=(
                i64("shipment_id", "^id"),
                i64("line_id", "id"),
                i64("order_line_id", "orderLine.id"),
                # Centra's ShipmentLine has no productSize (its complete reference page, docs/centra-facts.md §12):
                # the size is the order line's, as on return lines
                i64("size_id", "orderLine.productSize.id"),
                i64("quantity", "quantity"),
                f64("line_value", "lineValue.value"),
                col("currency", "^grandTotal.currency.code"),
                f64("conversion_rate", "^grandTotal.conversionRate"),
            ),
        ),
    ),
)

RETURNS = event(
    name="returns",
    group="sales",
    description="Centra returns by the day they were created, with their lines and refund totals.",
    filter_type="ReturnFilter",
    webhook_type="return",
    event_object="Return",
    settled=("returnStatus", ("COMPLETED",)),  # ReturnFilter has no updatedAt: pending returns are read again
    root="returns",
    date_field="createdAt",
    refresh_field="id",
    tables=(
        Table(
            "returns",
            key=("return_id",),
            columns=(
                i64("return_id", "id"),
                col("return_type", "__typename"),
                col("status", "status"),
                col("return_status", "returnStatus"),
                ts("created_at", "createdAt"),
                ts("completed_at", "completedAt"),
                i64("order_number", "order.number"),
                col("order_id", "order.id"),
                i64("shipment_id", "shipment.id"),
                boolean("returned_to_stock", "returnedToStock"),
                i64(
                    "return_warehouse_id", "returnWarehouse.id"
                ),  # where the units go back (Centra's Return pages, §12)
                *money("refund_total", "grandTotal"),  # what is paid back (live clients: `grandTotal`)
                # the same without its tax (Centra's Return page: grandTotal(includingTax)): the refund's tax known
                # from the return itself, also when its order lies before the start date
                f64("refund_total_excl_tax", "refundTotalExclTax: grandTotal(includingTax: false).value"),
                col("comment"),
                f64("return_cost", "totals.returnCost.value"),  # return economics (docs/centra-facts.md §11.1, §11.4)
                f64("return_shipping", "totals.shipping.value"),
                f64("return_handling", "totals.handling.value"),
                f64("return_discounts", "totals.discounts.value"),
                f64("conversion_rate", "grandTotal.conversionRate"),
            ),
        ),
        Table(
            "return_refunds",  # live clients read refunds here, not in the order's payment history
            key=("return_id", "payment_id"),
            rows_at="refundPaymentHistory",
            parent_key="return_id",
            columns=(
                i64("return_id", "^id"),
                i64("payment_id", "id"),
                ts("created_at", "createdAt"),
                col("status"),
                col("entry_type", "entryType"),
                col("payment_method", "paymentMethod"),
                f64("value", "value.value"),
                col("currency", "^grandTotal.currency.code"),
                f64("conversion_rate", "^grandTotal.conversionRate"),
            ),
        ),
        Table(
            "return_lines",
            key=("return_id", "line_id"),
            rows_at="lines",
            parent_key="return_id",
            columns=(
                i64("return_id", "^id"),
                i64("line_id", "id"),
                i64("order_line_id", "orderLine.id"),
                i64("shipment_line_id", "shipmentLine.id"),
                i64("size_id", "orderLine.productSize.id"),  # live clients reach the product through the order line
                i64("quantity", "quantity"),
            ),
        ),
    ),
)

CUSTOMERS = snapshot(
    name="customers",
    group="sales",
    description="Centra customers (D2C), as of the snapshot day.",
    filter_type="CustomerFilter",
    root="customers",
    tables=(
        Table(
            "customers",
            key=("customer_id",),
            columns=(
                i64("customer_id", "id"),
                col("email"),
                col("first_name", "firstName"),
                col("last_name", "lastName"),
                col("gender"),
                col("status"),
                ts("created_at", "createdAt"),
                ts("updated_at", "updatedAt"),
                col("country", "country.code"),
                i64("market_id", "market.id"),
                # Centra's count of the customer's orders, as of the snapshot (Customer.totalOrders:read); an
                # absent field is null: the marts then cannot tell new from repeat before the synced range
                i64("total_orders", "totalOrders"),
            ),
        ),
        attributes_table("customer_attributes", i64("customer_id", "^id")),
    ),
)

ACCOUNTS = snapshot(
    name="accounts",
    group="sales",
    description="Centra wholesale accounts and their buyers, as of the snapshot day.",
    filter_type="AccountFilter",
    root="accounts",
    tables=(
        Table(
            "accounts",
            key=("account_id",),
            columns=(
                i64("account_id", "id"),
                col("name"),
                col("status"),
                ts("created_at", "createdAt"),
                i64("market_id", "market.id"),
                i64("sales_representative_id", "salesRepresentative.id"),
                col("sales_representative_name", "salesRepresentative.name"),
                i64("payment_terms_id", "paymentTerms.id"),
                col("payment_terms", "paymentTerms.description"),
                i64("shipping_terms_id", "shippingTerms.id"),
                col("shipping_terms", "shippingTerms.description"),
            ),
        ),
        attributes_table("account_attributes", i64("account_id", "^id")),
        Table(
            "buyers",
            key=("buyer_id",),
            rows_at="buyers",
            parent_key="account_id",
            columns=(
                i64("buyer_id", "id"),
                i64("account_id", "^id"),
                col("email"),
                col("first_name", "firstName"),
                col("last_name", "lastName"),
            ),
        ),
    ),
)

SPECS = (ORDERS, SHIPMENTS, RETURNS, CUSTOMERS, ACCOUNTS)
