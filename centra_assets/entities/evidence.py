"""The evidence for every name the project's generated queries send to Centra, kept in one place.

Each `Type.field` a generated query selects (``centra-assets queries``) has one entry here: the type it returns (so
the queries can be walked without a store's schema) and the strongest evidence that Centra has that name:

- REFERENCE: Centra's generated schema reference, one page per type (centra.dev/graphql/<type>.html;
  docs/centra-facts.md §12), or, for an interface, the page of its implementation that was read;
- EXAMPLES: Centra's documented example queries (its docs repository; docs/centra-facts.md §0 D-DTC, D-B2B, D-PIM,
  D-ERP, D-EV; tests/centra_sim/documented/);
- LIVE: query documents of code that ran against live stores (docs/centra-facts.md §11);
- UNCONFIRMED: none of these. The sync still runs without such a field: the query planner leaves it out on a store
  that lacks it and writes its columns empty, unless the data type cannot do without it (``without``).

``centra-assets queries --evidence`` prints the table; a test fails when a generated query sends a name without an
entry, or an entry names a type the simulator's schema does not give the field. Change an entry when new evidence
comes (a store's introspection settles every name, docs/centra-facts.md §11.5).
"""

from __future__ import annotations

from graphql import FieldNode, InlineFragmentNode, OperationDefinitionNode, parse

from .query import build_document
from .spec import INDEX, EntitySpec

REFERENCE = "Centra's generated reference"
EXAMPLES = "Centra's examples"
LIVE = "live client code"
UNCONFIRMED = "UNCONFIRMED"
NO_ENTRY = "NO ENTRY"  # a name sent without an entry here: a test fails on it

# "Type.field": (the named type it returns, its evidence)
FIELDS: dict[str, tuple[str, str]] = {
    "Account.attributes": ("Attribute", LIVE),
    "Account.buyers": ("Buyer", UNCONFIRMED),
    "Account.createdAt": ("DateTimeTz", UNCONFIRMED),
    "Account.id": ("Int", EXAMPLES),
    "Account.market": ("Market", UNCONFIRMED),
    "Account.name": ("String", EXAMPLES),
    "Account.paymentTerms": ("PaymentTerms", EXAMPLES),
    "Account.salesRepresentative": ("SalesRepresentative", EXAMPLES),
    "Account.shippingTerms": ("ShippingTerms", EXAMPLES),
    "Account.status": ("Status", UNCONFIRMED),
    "Address.city": ("String", EXAMPLES),
    "Address.country": ("Country", EXAMPLES),
    "Address.zipCode": ("String", EXAMPLES),
    "AllocationRule.id": ("Int", EXAMPLES),
    "AllocationRule.name": ("String", EXAMPLES),
    "AppliedVoucher.voucher": ("Voucher", REFERENCE),
    "AppliedVoucher.voucherMethod": ("VoucherMethod", REFERENCE),
    "Attribute.elements": ("AttributeElement", EXAMPLES),
    "Attribute.type": ("AttributeType", EXAMPLES),
    "AttributeChoiceElement.selectedValue": ("String", EXAMPLES),
    "AttributeChoiceElement.selectedValueName": ("String", EXAMPLES),
    "AttributeElement.key": ("String", EXAMPLES),
    "AttributeElement.kind": ("AttributeElementKind", EXAMPLES),
    "AttributeStringElement.value": ("String", EXAMPLES),
    "AttributeType.name": ("String", EXAMPLES),
    "Brand.id": ("Int", EXAMPLES),
    "Brand.name": ("String", EXAMPLES),
    "Buyer.email": ("String", EXAMPLES),
    "Buyer.firstName": ("String", EXAMPLES),
    "Buyer.id": ("Int", EXAMPLES),
    "Buyer.lastName": ("String", EXAMPLES),
    "Campaign.discountPercent": ("Float", UNCONFIRMED),
    "Campaign.id": ("Int", EXAMPLES),
    "Campaign.markets": ("Market", UNCONFIRMED),
    "Campaign.name": ("String", EXAMPLES),
    "Campaign.startDate": ("DateTimeTz", UNCONFIRMED),
    "Campaign.status": ("Status", UNCONFIRMED),
    "Campaign.stopDate": ("DateTimeTz", UNCONFIRMED),
    "Campaign.updatedAt": ("DateTimeTz", UNCONFIRMED),
    "CarrierInformation.carrierName": ("String", EXAMPLES),
    "CarrierInformation.serviceName": ("String", EXAMPLES),
    "Category.childCategories": ("Category", EXAMPLES),
    "Category.id": ("Int", EXAMPLES),
    "Category.name": ("String", EXAMPLES),
    "Category.uri": ("String", EXAMPLES),
    "Collection.id": ("Int", EXAMPLES),
    "Collection.name": ("String", EXAMPLES),
    "Collection.status": ("Status", EXAMPLES),
    "Country.code": ("String", REFERENCE),
    "Country.continent": ("String", REFERENCE),
    "Country.id": ("Int", REFERENCE),
    "Country.isEU": ("Boolean", REFERENCE),
    "Country.name": ("String", REFERENCE),
    "Currency.code": ("String", REFERENCE),
    "Currency.currentBaseRate": ("Float", REFERENCE),
    "Currency.id": ("Int", REFERENCE),
    "Currency.isBase": ("Boolean", REFERENCE),
    "Currency.name": ("String", REFERENCE),
    "Customer.attributes": ("Attribute", LIVE),
    "Customer.country": ("Country", UNCONFIRMED),
    "Customer.createdAt": ("DateTimeTz", UNCONFIRMED),
    "Customer.email": ("String", EXAMPLES),
    "Customer.firstName": ("String", EXAMPLES),
    "Customer.gender": ("Gender", UNCONFIRMED),
    "Customer.id": ("Int", EXAMPLES),
    "Customer.lastName": ("String", EXAMPLES),
    "Customer.market": ("Market", UNCONFIRMED),
    "Customer.status": ("Status", UNCONFIRMED),
    "Customer.totalOrders": ("Int", LIVE),
    "Customer.updatedAt": ("DateTimeTz", UNCONFIRMED),
    "DeliveryWindow.id": ("Int", EXAMPLES),
    "DeliveryWindow.name": ("String", EXAMPLES),
    "DirectToConsumerOrder.customer": ("Customer", EXAMPLES),
    "Display.canonicalCategory": ("Category", EXAMPLES),
    "Display.categories": ("Category", EXAMPLES),
    "Display.id": ("Int", EXAMPLES),
    "Display.markets": ("Market", EXAMPLES),
    "Display.media": ("ProductMedia", EXAMPLES),
    "Display.name": ("String", EXAMPLES),
    "Display.product": ("Product", EXAMPLES),
    "Display.status": ("Status", EXAMPLES),
    "Display.store": ("Store", EXAMPLES),
    "Display.updatedAt": ("DateTimeTz", EXAMPLES),
    "Display.uri": ("String", EXAMPLES),
    "Folder.childFolders": ("Folder", EXAMPLES),
    "Folder.id": ("Int", EXAMPLES),
    "Folder.isTopFolder": ("Boolean", EXAMPLES),
    "Folder.name": ("String", EXAMPLES),
    "Market.allocationRule": ("AllocationRule", EXAMPLES),
    "Market.assignedToCountries": ("Country", EXAMPLES),
    "Market.comment": ("String", EXAMPLES),
    "Market.id": ("Int", EXAMPLES),
    "Market.name": ("String", EXAMPLES),
    "Market.store": ("Store", EXAMPLES),
    "MediaSource.url": ("String", EXAMPLES),
    "MonetaryValue.conversionRate": ("Float", REFERENCE),
    "MonetaryValue.currency": ("Currency", EXAMPLES),
    "MonetaryValue.value": ("Float", REFERENCE),
    "Order.allocationRule": ("AllocationRule", UNCONFIRMED),
    "Order.attributes": ("Attribute", REFERENCE),
    "Order.billingAddress": ("Address", REFERENCE),
    "Order.createdAt": ("DateTimeTz", REFERENCE),
    "Order.discountsApplied": ("OrderDiscount", REFERENCE),
    "Order.grandTotal": ("MonetaryValue", REFERENCE),
    "Order.id": ("String", REFERENCE),
    "Order.internalComment": ("String", REFERENCE),
    "Order.isOnHold": ("Boolean", EXAMPLES),
    "Order.lines": ("OrderLine", EXAMPLES),
    "Order.market": ("Market", EXAMPLES),
    "Order.number": ("Int", REFERENCE),
    "Order.orderDate": ("DateTimeTz", REFERENCE),
    "Order.paymentHistory": ("PaymentHistoryEntry", EXAMPLES),
    "Order.paymentMethod": ("PaymentMethod", EXAMPLES),
    "Order.pricelist": ("Pricelist", EXAMPLES),
    "Order.shippingAddress": ("Address", EXAMPLES),
    "Order.shippingPriceGroup": ("ShippingPriceGroup", EXAMPLES),
    "Order.status": ("OrderStatus", REFERENCE),
    "Order.store": ("Store", EXAMPLES),
    "Order.totals": ("OrderTotals", EXAMPLES),
    "Order.updatedAt": ("DateTimeTz", REFERENCE),
    "OrderConnection.totalCount": ("Int", EXAMPLES),
    "OrderDiscount.date": ("DateTimeTz", REFERENCE),
    "OrderDiscount.value": ("MonetaryValue", REFERENCE),
    "OrderLine.allocations": ("OrderLineAllocation", EXAMPLES),
    "OrderLine.brand": ("Brand", EXAMPLES),
    "OrderLine.cancelledQuantity": ("Int", EXAMPLES),
    "OrderLine.discountPercent": ("Float", EXAMPLES),
    "OrderLine.id": ("Int", EXAMPLES),
    "OrderLine.lineValue": ("MonetaryValue", EXAMPLES),
    "OrderLine.product": ("Product", EXAMPLES),
    "OrderLine.productName": ("String", EXAMPLES),
    "OrderLine.productNumber": ("String", LIVE),
    "OrderLine.productSize": ("ProductSize", EXAMPLES),
    "OrderLine.productVariant": ("ProductVariant", EXAMPLES),
    "OrderLine.productVariantName": ("String", EXAMPLES),
    "OrderLine.quantity": ("Int", EXAMPLES),
    "OrderLine.returnedQuantity": ("Int", LIVE),
    "OrderLine.shippedQuantity": ("Int", LIVE),
    "OrderLine.size": ("String", LIVE),
    "OrderLine.taxPercent": ("Float", EXAMPLES),
    "OrderLine.unitOriginalPrice": ("MonetaryValue", EXAMPLES),
    "OrderLine.unitPrice": ("MonetaryValue", EXAMPLES),
    "OrderLineAllocation.id": ("Int", EXAMPLES),
    "OrderLineAllocation.quantity": ("Int", EXAMPLES),
    "OrderLineAllocation.warehouse": ("Warehouse", EXAMPLES),
    "OrderTotals.discounts": ("MonetaryValue", REFERENCE),
    "OrderTotals.handling": ("MonetaryValue", REFERENCE),
    "OrderTotals.lineValues": ("MonetaryValue", REFERENCE),
    "OrderTotals.quantity": ("Int", REFERENCE),
    "OrderTotals.shipping": ("MonetaryValue", REFERENCE),
    "OrderTotals.shippingTaxAdded": ("MonetaryValue", REFERENCE),
    "OrderTotals.shippingTaxDeducted": ("MonetaryValue", REFERENCE),
    "OrderTotals.shippingTaxIncluded": ("MonetaryValue", REFERENCE),
    "OrderTotals.taxAdded": ("MonetaryValue", REFERENCE),
    "OrderTotals.taxDeducted": ("MonetaryValue", REFERENCE),
    "OrderTotals.taxIncluded": ("MonetaryValue", REFERENCE),
    "PaymentHistoryEntry.createdAt": ("DateTimeTz", EXAMPLES),
    "PaymentHistoryEntry.entryType": ("PaymentHistoryEntryType", EXAMPLES),
    "PaymentHistoryEntry.externalReference": ("String", EXAMPLES),
    "PaymentHistoryEntry.id": ("Int", EXAMPLES),
    "PaymentHistoryEntry.paymentMethod": ("String", LIVE),
    "PaymentHistoryEntry.status": ("PaymentHistoryEntryStatus", EXAMPLES),
    "PaymentHistoryEntry.value": ("MonetaryValue", EXAMPLES),
    "PaymentMethod.name": ("String", LIVE),
    "PaymentMethod.plugin": ("String", EXAMPLES),
    "PaymentMethod.uri": ("String", EXAMPLES),
    "PaymentTerms.description": ("String", EXAMPLES),
    "PaymentTerms.id": ("Int", EXAMPLES),
    "Price.id": ("Int", REFERENCE),
    "Price.price": ("MonetaryValue", REFERENCE),
    "Price.pricelist": ("Pricelist", REFERENCE),
    "Price.product": ("Product", REFERENCE),
    "Price.productVariant": ("ProductVariant", REFERENCE),
    "Price.recommendedRetailPrice": ("MonetaryValue", REFERENCE),
    "Pricelist.currency": ("Currency", EXAMPLES),
    "Pricelist.id": ("Int", EXAMPLES),
    "Pricelist.name": ("String", EXAMPLES),
    "Pricelist.status": ("Status", EXAMPLES),
    "Pricelist.store": ("Store", UNCONFIRMED),
    "Product.attributes": ("Attribute", LIVE),
    "Product.brand": ("Brand", UNCONFIRMED),
    "Product.collection": ("Collection", UNCONFIRMED),
    "Product.countryOfOrigin": ("Country", LIVE),
    "Product.createdAt": ("DateTimeTz", EXAMPLES),
    "Product.folder": ("Folder", LIVE),
    "Product.harmonizedCommodityCode": ("String", EXAMPLES),
    "Product.harmonizedCommodityCodeDescription": ("String", EXAMPLES),
    "Product.id": ("Int", EXAMPLES),
    "Product.isBundle": ("Boolean", EXAMPLES),
    "Product.isSerializableProduct": ("Boolean", EXAMPLES),
    "Product.media": ("ProductMedia", LIVE),
    "Product.name": ("String", EXAMPLES),
    "Product.productNumber": ("String", EXAMPLES),
    "Product.status": ("ProductStatus", EXAMPLES),
    "Product.updatedAt": ("DateTimeTz", EXAMPLES),
    "Product.weight": ("Weight", EXAMPLES),
    "ProductMedia.id": ("Int", EXAMPLES),
    "ProductMedia.source": ("MediaSource", EXAMPLES),
    "ProductSize.EAN": ("String", LIVE),
    "ProductSize.SKU": ("String", EXAMPLES),
    "ProductSize.description": ("String", EXAMPLES),
    "ProductSize.id": ("Int", EXAMPLES),
    "ProductSize.isActive": ("Boolean", UNCONFIRMED),
    "ProductSize.preorder": ("Boolean", EXAMPLES),
    "ProductSize.productVariant": ("ProductVariant", LIVE),
    "ProductSize.size": ("Size", UNCONFIRMED),
    "ProductSize.sizeNumber": ("String", EXAMPLES),
    "ProductSize.stock": ("Stock", UNCONFIRMED),
    "ProductSize.stockTotals": ("StockTotals", EXAMPLES),
    "ProductSize.updatedAt": ("DateTimeTz", UNCONFIRMED),
    "ProductVariant.attributes": ("Attribute", LIVE),
    "ProductVariant.id": ("Int", EXAMPLES),
    "ProductVariant.internalName": ("String", EXAMPLES),
    "ProductVariant.name": ("String", EXAMPLES),
    "ProductVariant.product": ("Product", LIVE),
    "ProductVariant.status": ("Status", EXAMPLES),
    "ProductVariant.supply": ("ProductVariantSupply", LIVE),
    "ProductVariant.unitCost": ("MonetaryValue", EXAMPLES),
    "ProductVariant.updatedAt": ("DateTimeTz", EXAMPLES),
    "ProductVariant.variantNumber": ("String", EXAMPLES),
    "ProductVariantSupply.supplier": ("Supplier", LIVE),
    "PurchaseOrder.ETA": ("DateTimeTz", UNCONFIRMED),
    "PurchaseOrder.createdAt": ("DateTimeTz", LIVE),
    "PurchaseOrder.id": ("Int", LIVE),
    "PurchaseOrder.lines": ("PurchaseOrderLine", UNCONFIRMED),
    "PurchaseOrder.ourReference": ("String", UNCONFIRMED),
    "PurchaseOrder.status": ("PurchaseOrderStatus", UNCONFIRMED),
    "PurchaseOrder.supplier": ("Supplier", UNCONFIRMED),
    "PurchaseOrder.supplierReference": ("String", UNCONFIRMED),
    "PurchaseOrder.totalValue": ("MonetaryValue", UNCONFIRMED),
    "PurchaseOrder.updatedAt": ("DateTimeTz", UNCONFIRMED),
    "PurchaseOrder.warehouse": ("Warehouse", UNCONFIRMED),
    "PurchaseOrderDelivery.createdAt": ("DateTimeTz", LIVE),
    "PurchaseOrderDelivery.id": ("Int", LIVE),
    "PurchaseOrderDelivery.lines": ("PurchaseOrderDeliveryLine", LIVE),
    "PurchaseOrderDelivery.number": ("String", LIVE),
    "PurchaseOrderDelivery.purchaseOrder": ("PurchaseOrder", LIVE),
    "PurchaseOrderDelivery.status": ("PurchaseOrderDeliveryStatus", LIVE),
    "PurchaseOrderDelivery.supplier": ("Supplier", LIVE),
    "PurchaseOrderDelivery.warehouse": ("Warehouse", LIVE),
    "PurchaseOrderDeliveryLine.customsValue": ("MonetaryValue", LIVE),
    "PurchaseOrderDeliveryLine.landedCost": ("MonetaryValue", LIVE),
    "PurchaseOrderDeliveryLine.product": ("Product", LIVE),
    "PurchaseOrderDeliveryLine.productSize": ("ProductSize", LIVE),
    "PurchaseOrderDeliveryLine.productVariant": ("ProductVariant", LIVE),
    "PurchaseOrderDeliveryLine.quantity": ("Int", LIVE),
    "PurchaseOrderDeliveryLine.unitCost": ("MonetaryValue", LIVE),
    "PurchaseOrderLine.deliveredQuantity": ("Int", UNCONFIRMED),
    "PurchaseOrderLine.id": ("Int", UNCONFIRMED),
    "PurchaseOrderLine.product": ("Product", UNCONFIRMED),
    "PurchaseOrderLine.productSize": ("ProductSize", UNCONFIRMED),
    "PurchaseOrderLine.productVariant": ("ProductVariant", UNCONFIRMED),
    "PurchaseOrderLine.quantity": ("Int", UNCONFIRMED),
    "PurchaseOrderLine.unitCost": ("MonetaryValue", UNCONFIRMED),
    "Query.accounts": ("Account", UNCONFIRMED),
    "Query.allocationRules": ("AllocationRule", EXAMPLES),
    "Query.brands": ("Brand", EXAMPLES),
    "Query.campaigns": ("Campaign", UNCONFIRMED),
    "Query.categories": ("Category", EXAMPLES),
    "Query.collections": ("Collection", EXAMPLES),
    "Query.countries": ("Country", EXAMPLES),
    "Query.currencies": ("Currency", EXAMPLES),
    "Query.customers": ("Customer", EXAMPLES),
    "Query.displays": ("Display", EXAMPLES),
    "Query.folders": ("Folder", EXAMPLES),
    "Query.markets": ("Market", EXAMPLES),
    "Query.orderConnection": ("OrderConnection", EXAMPLES),
    "Query.orders": ("Order", EXAMPLES),
    "Query.pricelists": ("Pricelist", EXAMPLES),
    "Query.prices": ("Price", UNCONFIRMED),
    "Query.productSizes": ("ProductSize", LIVE),
    "Query.productVariants": ("ProductVariant", LIVE),
    "Query.products": ("Product", EXAMPLES),
    "Query.purchaseOrderDeliveries": ("PurchaseOrderDelivery", LIVE),
    "Query.purchaseOrders": ("PurchaseOrder", UNCONFIRMED),
    "Query.returns": ("Return", EXAMPLES),
    "Query.shipments": ("Shipment", UNCONFIRMED),
    "Query.stockChangeLines": ("StockChangeLine", LIVE),
    "Query.stores": ("Store", EXAMPLES),
    "Query.suppliers": ("Supplier", LIVE),
    "Query.vouchers": ("Voucher", UNCONFIRMED),
    "Query.warehouses": ("Warehouse", EXAMPLES),
    "Return.comment": ("String", REFERENCE),
    "Return.completedAt": ("DateTimeTz", UNCONFIRMED),
    "Return.createdAt": ("DateTimeTz", REFERENCE),
    "Return.grandTotal": ("MonetaryValue", REFERENCE),
    "Return.id": ("Int", REFERENCE),
    "Return.lines": ("ReturnLine", REFERENCE),
    "Return.order": ("Order", LIVE),
    "Return.refundPaymentHistory": ("PaymentHistoryEntry", REFERENCE),
    "Return.returnStatus": ("ReturnStatus", REFERENCE),
    "Return.returnWarehouse": ("Warehouse", REFERENCE),
    "Return.returnedToStock": ("Boolean", REFERENCE),
    "Return.shipment": ("Shipment", LIVE),
    "Return.status": ("Status", EXAMPLES),
    "Return.totals": ("ReturnTotals", REFERENCE),
    "ReturnLine.id": ("Int", REFERENCE),
    "ReturnLine.orderLine": ("OrderLine", REFERENCE),
    "ReturnLine.quantity": ("Int", REFERENCE),
    "ReturnLine.shipmentLine": ("ShipmentLine", REFERENCE),
    "ReturnTotals.discounts": ("MonetaryValue", REFERENCE),
    "ReturnTotals.handling": ("MonetaryValue", REFERENCE),
    "ReturnTotals.returnCost": ("MonetaryValue", REFERENCE),
    "ReturnTotals.shipping": ("MonetaryValue", REFERENCE),
    "SalesRepresentative.id": ("Int", EXAMPLES),
    "SalesRepresentative.name": ("String", EXAMPLES),
    "Shipment.capturedAt": ("DateTimeTz", REFERENCE),
    "Shipment.carrierInformation": ("CarrierInformation", REFERENCE),
    "Shipment.createdAt": ("DateTimeTz", REFERENCE),
    "Shipment.grandTotal": ("MonetaryValue", REFERENCE),
    "Shipment.id": ("Int", REFERENCE),
    "Shipment.internalShippingCost": ("MonetaryValue", REFERENCE),
    "Shipment.isCaptured": ("Boolean", REFERENCE),
    "Shipment.isGoodToGo": ("Boolean", REFERENCE),
    "Shipment.isPaid": ("Boolean", REFERENCE),
    "Shipment.isShipped": ("Boolean", REFERENCE),
    "Shipment.lines": ("ShipmentLine", EXAMPLES),
    "Shipment.number": ("String", REFERENCE),
    "Shipment.numberOfPackages": ("Int", REFERENCE),
    "Shipment.order": ("Order", UNCONFIRMED),
    "Shipment.paidAt": ("DateTimeTz", REFERENCE),
    "Shipment.returnTrackingNumber": ("String", REFERENCE),
    "Shipment.shipmentPlugin": ("StorePlugin", EXAMPLES),
    "Shipment.shippedAt": ("DateTimeTz", REFERENCE),
    "Shipment.totals": ("ShipmentTotals", LIVE),
    "Shipment.trackingNumber": ("String", REFERENCE),
    "Shipment.updatedAt": ("DateTimeTz", REFERENCE),
    "Shipment.warehouse": ("Warehouse", UNCONFIRMED),
    "ShipmentLine.id": ("Int", REFERENCE),
    "ShipmentLine.lineValue": ("MonetaryValue", REFERENCE),
    "ShipmentLine.orderLine": ("OrderLine", REFERENCE),
    "ShipmentLine.quantity": ("Int", REFERENCE),
    "ShipmentTotals.discounts": ("MonetaryValue", LIVE),
    "ShipmentTotals.shipping": ("MonetaryValue", LIVE),
    "ShipmentTotals.taxAdded": ("MonetaryValue", LIVE),
    "ShippingOption.id": ("Int", EXAMPLES),
    "ShippingOption.name": ("String", EXAMPLES),
    "ShippingPriceGroup.shippingOption": ("ShippingOption", EXAMPLES),
    "ShippingTerms.description": ("String", EXAMPLES),
    "ShippingTerms.id": ("Int", EXAMPLES),
    "Size.name": ("String", EXAMPLES),
    "Stock.allocatedQuantity": ("Int", REFERENCE),
    "Stock.availableNowQuantity": ("Int", REFERENCE),
    "Stock.availableQuantity": ("Int", REFERENCE),
    "Stock.demandQuantity": ("Int", REFERENCE),
    "Stock.freeToAllocateQuantity": ("Int", REFERENCE),
    "Stock.incomingQuantity": ("Int", REFERENCE),
    "Stock.linkedIncomingQuantity": ("Int", REFERENCE),
    "Stock.onDeliveryQuantity": ("Int", REFERENCE),
    "Stock.physicalQuantity": ("Int", REFERENCE),
    "Stock.unlinkedIncomingQuantity": ("Int", REFERENCE),
    "Stock.unshippedQuantity": ("Int", UNCONFIRMED),
    "Stock.warehouse": ("Warehouse", REFERENCE),
    "StockChange.comment": ("String", LIVE),
    "StockChange.id": ("Int", UNCONFIRMED),
    "StockChange.type": ("StockChangeType", LIVE),
    "StockChangeLine.createdAt": ("DateTimeTz", UNCONFIRMED),
    "StockChangeLine.currencyBaseRate": ("Float", LIVE),
    "StockChangeLine.deliveredQuantity": ("Int", EXAMPLES),
    "StockChangeLine.id": ("Int", EXAMPLES),
    "StockChangeLine.productSize": ("ProductSize", LIVE),
    "StockChangeLine.stockChange": ("StockChange", LIVE),
    "StockChangeLine.unitCost": ("MonetaryValue", LIVE),
    "StockChangeLine.warehouse": ("Warehouse", UNCONFIRMED),
    "StockTotals.allocatedQuantity": ("Int", EXAMPLES),
    "StockTotals.availableQuantity": ("Int", EXAMPLES),
    "StockTotals.demandQuantity": ("Int", EXAMPLES),
    "StockTotals.linkedIncomingQuantity": ("Int", EXAMPLES),
    "StockTotals.onDeliveryQuantity": ("Int", EXAMPLES),
    "StockTotals.physicalQuantity": ("Int", EXAMPLES),
    "StockTotals.unlinkedIncomingQuantity": ("Int", EXAMPLES),
    "StockTotals.unshippedQuantity": ("Int", EXAMPLES),
    "Store.id": ("Int", EXAMPLES),
    "Store.name": ("String", EXAMPLES),
    "Store.type": ("StoreType", EXAMPLES),
    "StorePlugin.name": ("String", EXAMPLES),
    "Supplier.id": ("Int", UNCONFIRMED),
    "Supplier.name": ("String", UNCONFIRMED),
    "Supplier.status": ("Status", UNCONFIRMED),
    "Voucher.code": ("String", UNCONFIRMED),
    "Voucher.createdAt": ("DateTimeTz", UNCONFIRMED),
    "Voucher.discountPercent": ("Float", UNCONFIRMED),
    "Voucher.id": ("Int", UNCONFIRMED),
    "Voucher.method": ("VoucherMethod", UNCONFIRMED),
    "Voucher.name": ("String", LIVE),
    "Voucher.startAt": ("DateTimeTz", UNCONFIRMED),
    "Voucher.status": ("Status", UNCONFIRMED),
    "Voucher.stopAt": ("DateTimeTz", UNCONFIRMED),
    "Voucher.store": ("Store", UNCONFIRMED),
    "Voucher.type": ("VoucherType", LIVE),
    "Voucher.updatedAt": ("DateTimeTz", UNCONFIRMED),
    "Warehouse.country": ("Country", UNCONFIRMED),
    "Warehouse.id": ("Int", EXAMPLES),
    "Warehouse.name": ("String", EXAMPLES),
    "Warehouse.status": ("Status", EXAMPLES),
    "Weight.unit": ("WeightUnit", EXAMPLES),
    "Weight.value": ("Float", EXAMPLES),
    "WholesaleOrder.account": ("Account", EXAMPLES),
    "WholesaleOrder.buyer": ("Buyer", EXAMPLES),
    "WholesaleOrder.deliveryWindows": ("DeliveryWindow", EXAMPLES),
    "WholesaleOrder.purchaseOrderNumber": ("String", EXAMPLES),
}


def sent_fields(document: str) -> list[str]:
    """The `Type.field` names a query document selects, in order, each once (`__typename` aside). A field whose
    parent type is unknown (its parent had no entry) is named `?.field`."""
    seen: dict[str, None] = {}

    def walk(selections, type_name: str) -> None:
        for node in selections:
            if isinstance(node, InlineFragmentNode):
                walk(
                    node.selection_set.selections, node.type_condition.name.value if node.type_condition else type_name
                )
            elif isinstance(node, FieldNode) and not node.name.value.startswith("__"):
                name = f"{type_name}.{node.name.value}"
                seen[name] = None
                if node.selection_set:
                    walk(node.selection_set.selections, FIELDS.get(name, ("?", ""))[0])

    for definition in parse(document).definitions:
        if isinstance(definition, OperationDefinitionNode):
            walk(definition.selection_set.selections, "Query")
    return list(seen)


def evidence_of(name: str) -> str:
    return FIELDS[name][1] if name in FIELDS else NO_ENTRY


def without(specs: tuple[EntitySpec, ...]) -> dict[str, list[str]]:
    """`Type.field` -> what the sync does on a store that lacks it (as `query.plan` decides): a table written empty
    (the list its rows come from), a column written empty, or a data type that cannot be synced (a table's key, the
    partition date); a column with another name to try reads that one where the store has it, else is written
    empty."""
    effects: dict[str, list[str]] = {}

    def add(names: list[str], effect: str) -> None:
        for name in names:
            effects.setdefault(name, [])
            if effect not in effects[name]:
                effects[name].append(effect)

    for spec in specs:
        add([f"Query.{spec.root}"], f"{spec.name} cannot be synced")
        for table in spec.tables:
            along = sent_fields(build_document(spec, [table.rows_at]))[1:] if table.rows_at else []
            add(along, f"table {table.name} empty")
            for column in table.columns:
                path = table.record_path(column.path)
                if path is None:
                    continue
                names = [n for n in sent_fields(build_document(spec, [path]))[1:] if n not in along]
                if column.alternatives == (INDEX,):  # always there: the row's place in its list
                    add(names, f"{table.name}.{column.name} read from `{INDEX}`")
                elif column.alternatives:
                    add(names, f"{table.name}.{column.name} read from `{column.alternatives[0]}` (else empty)")
                elif column.name in table.key or column.path == spec.date_field:
                    add(names, f"{spec.name} cannot be synced")
                else:
                    add(names, f"{table.name}.{column.name} empty")
    return effects


def evidence_table(documents: list[str], specs: tuple[EntitySpec, ...]) -> list[str]:
    """The lines `centra-assets queries --evidence` prints: each name the documents send, its evidence, and for an
    UNCONFIRMED one what the sync does without it; then a count per kind of evidence."""
    names = sorted({name for document in documents for name in sent_fields(document)})
    effects = without(specs)
    lines = []
    for name in names:
        evidence = evidence_of(name)
        line = f"{name:<48} {evidence}"
        if evidence in (UNCONFIRMED, NO_ENTRY):
            line += f"; without it: {', '.join(effects.get(name, ['nothing of the sync']))}"
        lines.append(line)
    counts = {kind: sum(evidence_of(n) == kind for n in names) for kind in (REFERENCE, EXAMPLES, LIVE, UNCONFIRMED)}
    lines.append(f"{len(names)} names: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    return lines
