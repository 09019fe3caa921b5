"""Which Centra permission each part of the schema needs.

Centra names permissions ``<Type>:read|write``, with nested ``<Type>.<field>:read`` ones for sensitive
fields (docs/centra-facts.md §2). Reading any field that returns a guarded type needs that type's permission.
Entries marked UNCONFIRMED are plausible by Centra's naming scheme but not documented.
"""

from __future__ import annotations

from graphql import GraphQLError, GraphQLSchema, get_named_type

TYPE_PERMISSIONS = {
    "Order": "Order:read",
    "DirectToConsumerOrder": "Order:read",
    "WholesaleOrder": "Order:read",
    "OrderConnection": "Order:read",
    "Shipment": "Shipment:read",
    "DirectToConsumerShipment": "Shipment:read",
    "WholesaleShipment": "Shipment:read",
    "Return": "Return:read",
    "DirectToConsumerReturn": "Return:read",
    "WholesaleReturn": "Return:read",
    "PaymentHistoryEntry": "PaymentHistory:read",
    "Product": "Product:read",
    "ProductVariant": "ProductVariant:read",
    "ProductSize": "ProductSize:read",
    "Warehouse": "Warehouse:read",
    "Market": "Market:read",
    "Store": "Store:read",
    "Brand": "Brand:read",
    "Collection": "Collection:read",
    "Category": "Category:read",
    "Display": "Display:read",
    "ProductMedia": "ProductMedia:read",
    "AllocationRule": "AllocationRule:read",
    "Voucher": "Voucher:read",
    "PurchaseOrder": "PurchaseOrder:read",
    "PurchaseOrderDelivery": "PurchaseOrderDelivery:read",
    "Event": "Event:read",
    "EventListener": "Event:read",
    "Customer": "Customer:read",  # UNCONFIRMED (older docs show Purchaser:read)
    "Account": "Account:read",  # UNCONFIRMED
    "Buyer": "Buyer:read",  # UNCONFIRMED
    "Pricelist": "Pricelist:read",  # UNCONFIRMED
    "Price": "Price:read",  # UNCONFIRMED
    "Campaign": "Campaign:read",  # UNCONFIRMED
    "Supplier": "Supplier:read",  # UNCONFIRMED
    # Types of Centra's documented example queries (docs/centra-facts.md §6.9, §11.4).
    "Attribute": "Attribute:read",  # on Dema's permission list
    "MappedAttribute": "Attribute:read",  # UNCONFIRMED
    "Folder": "Folder:read",  # UNCONFIRMED
    "SizeChart": "SizeChart:read",  # UNCONFIRMED
    "Language": "Language:read",  # UNCONFIRMED
    "DeliveryWindow": "DeliveryWindow:read",  # UNCONFIRMED
    "AtOnceDeliveryWindow": "DeliveryWindow:read",  # UNCONFIRMED
    "PreorderDeliveryWindow": "DeliveryWindow:read",  # UNCONFIRMED
    "PriceAlteration": "PriceAlteration:read",  # UNCONFIRMED
    # What analysts read (docs/centra-facts.md §11.4); permissions on Dema's list, type names UNCONFIRMED where noted.
    "OrderLineAllocation": "Allocation:read",  # type name UNCONFIRMED
    "StorePlugin": "StorePlugin:read",
    "StockChange": "StockChange:read",
    "StockChangeLine": "StockChange:read",  # UNCONFIRMED (one permission for changes and their lines)
    # Centra's generated reference (docs/centra-facts.md §12): ObjectWithTranslations.translations and
    # AppliedTaxRule.taxRule name these permissions.
    "LanguageTranslation": "Translation:read",
    "TaxRule": "TaxRule:read",
}
FIELD_PERMISSIONS = {
    "Order.shippingAddress": "Order.shippingAddress:read",
    "Order.billingAddress": "Order.billingAddress:read",
    "Order.internalComment": "Order.internalComment:read",
    "Order.userIP": "Order.userIP:read",
    "Shipment.shippingAddress": "Shipment.shippingAddress:read",
    "Product.internalComment": "Product.internalComment:read",
    "Market.comment": "Market.comment:read",
    "PurchaseOrder.internalComment": "PurchaseOrder.internalComment:read",
    "ProductSize.stock": "ProductSize.stock:read",
    "ProductSize.stockTotals": "ProductSize.stockTotals:read",
    "ProductVariant.stock": "ProductVariant.stock:read",
    "ProductVariant.stockTotals": "ProductVariant.stockTotals:read",
    "Warehouse.stock": "ProductSize.stock:read",  # UNCONFIRMED
    "Product.attributes": "Product.attributes:read",  # on Dema's permission list
    "ProductVariant.attributes": "Product.attributes:read",  # UNCONFIRMED (Dema's list has no variant one)
    "Order.attributes": "Order.attributes:read",  # on Dema's permission list
    "Product.countryOfOrigin": "Product.countryOfOrigin:read",
    "Customer.totalOrders": "Customer.totalOrders:read",  # docs/centra-facts.md §6.5 (CustomerFilter.totalOrders)
    "Mutation.setEventListeners": "Event:write",
    "Mutation.unsetEventListeners": "Event:write",
    "Mutation.confirmEvents": "Event:write",
}
# Implementations inherit their interface's field permissions.
_INTERFACE_OF = {
    "DirectToConsumerOrder": "Order",
    "WholesaleOrder": "Order",
    "DirectToConsumerShipment": "Shipment",
    "WholesaleShipment": "Shipment",
}
ALL_PERMISSIONS = frozenset(TYPE_PERMISSIONS.values()) | frozenset(FIELD_PERMISSIONS.values())


def required(schema: GraphQLSchema, type_name: str, field_name: str) -> tuple[str, ...]:
    """Permissions needed to read ``type_name.field_name``: its own, then its return type's."""
    perms = []
    own = FIELD_PERMISSIONS.get(f"{type_name}.{field_name}") or FIELD_PERMISSIONS.get(
        f"{_INTERFACE_OF.get(type_name, '')}.{field_name}"
    )
    if own:
        perms.append(own)
    field = schema.get_type(type_name).fields[field_name]
    by_type = TYPE_PERMISSIONS.get(get_named_type(field.type).name)
    if by_type and by_type not in perms:
        perms.append(by_type)
    return tuple(perms)


def denied(permission: str, field_name: str) -> GraphQLError:
    """Centra's documented error for a missing permission."""
    return GraphQLError(
        f"You need {permission} permission to access {field_name}.", extensions={"category": "authorization"}
    )
