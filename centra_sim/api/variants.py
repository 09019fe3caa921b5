"""Schema variants: the simulator serving "another Centra version" of its schema.

A variant hides types and fields, renames types and output fields, and can refuse introspection. The served
schema is the SDL with those edits applied, so validation, ``__typename`` and introspection all show the
variant, while the data (resolvers, records) stays the default schema's: a renamed field answers with the same
value. Names in a variant always refer to the *default* schema (``schema.graphql``).

A hidden or renamed interface field is hidden or renamed on every implementation too, so the served schema
stays valid; edits that still leave it invalid are refused with ``ValueError``.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    EnumTypeDefinitionNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLSchema,
    InterfaceTypeDefinitionNode,
    NamedTypeNode,
    NameNode,
    Node,
    ObjectTypeDefinitionNode,
    UnionTypeDefinitionNode,
)

PRESETS: dict[str, dict] = {
    # Centra's 2024 DTC example and older integrations: names from before the evidence review.
    # Its applied discount is one concrete type, `AppliedDiscount { discount }`, without the AppliedVoucher interface
    # (and credit vouchers) of Centra's current reference (docs/centra-facts.md §12).
    "alternative-names": {
        "hide": ["AppliedVoucher", "AppliedVoucherCredit"],
        "rename": {
            "OrderTotals.lineValues": "itemsSubtotal",
            "AppliedVoucherDiscount": "AppliedDiscount",
            "AppliedVoucherDiscount.voucher": "discount",
        },
    },
    # A store whose schema lacks several optional fields.
    "sparse": {
        "hide": [
            "Order.isOnHold",
            "Shipment.carrierInformation",
            "Return.completedAt",
            "Product.harmonizedCommodityCode",
            "ProductSize.EAN",
            "PurchaseOrder.ETA",
            # Centra added `updatedAt` to its filters version by version (changelog v0.11.4 added it to four), and
            # no real integration filters purchase orders by it (docs/centra-facts.md §11.1): older stores may lack it
            "PurchaseOrderFilter.updatedAt",
            # what analysts read (docs/centra-facts.md §11.4): older stores may lack any of it
            "Product.attributes",
            "Product.countryOfOrigin",
            "Order.attributes",
            "OrderLine.allocations",
            "OrderLine.shippedQuantity",
            "Shipment.internalShippingCost",
            "Display.media",
            # the rest of §11.4, each optional on some store (a reviewer hid them one at a time)
            "Market.allocationRule",
            "Market.comment",
            "ProductVariant.unitCost",
            "Display.canonicalCategory",
            "Display.markets",
            "Display.categories",
            "Account.salesRepresentative",
            "Account.paymentTerms",
            "Order.internalComment",
            "Order.billingAddress",
            "Return.returnedToStock",
            "PurchaseOrderDeliveryLine.landedCost",
            "PurchaseOrderDeliveryLine.customsValue",
            "StockChangeLine.deliveredQuantity",
            "Product.isBundle",
            "ProductSize.weight",
            "Customer.attributes",
            # Centra's count of a customer's orders (its own read permission): a store may lack it, and the marts
            # then cannot tell new from repeat for a customer created before the synced range ('unknown')
            "Customer.totalOrders",
            "Account.attributes",
            "ProductVariant.attributes",
        ]
    },
}
ROOT_TYPES = ("Query", "Mutation")


@dataclass(frozen=True)
class Variant:
    """A normalised variant: interface edits expanded to implementations, everything sorted."""

    hide: tuple[str, ...] = ()
    rename: tuple[tuple[str, str], ...] = ()
    introspection: bool = True
    preset: str | None = field(default=None, compare=False)

    @property
    def is_default(self) -> bool:
        return not self.hide and not self.rename and self.introspection

    @property
    def key(self) -> str:
        """A canonical text of the variant: the cache key of its built schema."""
        return json.dumps({"hide": self.hide, "rename": self.rename, "introspection": self.introspection})

    def app_version(self, base: str) -> str:
        """Each variant has its own appVersion, so a client caching the schema per appVersion notices."""
        return base if self.is_default else f"{base}+{hashlib.sha256(self.key.encode()).hexdigest()[:8]}"

    def as_dict(self) -> dict:
        return {
            "preset": self.preset,
            "hide": list(self.hide),
            "rename": dict(self.rename),
            "introspection": self.introspection,
        }


DEFAULT = Variant()


def normalize(spec, schema: GraphQLSchema) -> Variant:
    """None | preset name | {"preset"?, "hide"?, "rename"?, "introspection"?} -> Variant (checked against `schema`,
    the default schema)."""
    if isinstance(spec, Variant):
        return spec
    if spec is None or spec == "":
        return DEFAULT
    if isinstance(spec, str):
        spec = {"preset": spec}
    if not isinstance(spec, dict):
        raise ValueError(f"a schema variant is a preset name or an object, not {spec!r}")
    unknown = set(spec) - {"preset", "hide", "rename", "introspection"}
    if unknown:
        raise ValueError(f"unknown schema variant keys {sorted(unknown)}; allowed: preset, hide, rename, introspection")
    preset = spec.get("preset")
    base: dict = {}
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown schema variant preset {preset!r}; presets: {sorted(PRESETS)}")
        base = PRESETS[preset]
    hide = list(base.get("hide", [])) + list(spec.get("hide") or [])
    rename = {**base.get("rename", {}), **(spec.get("rename") or {})}
    if not isinstance(spec.get("hide") or [], list) or not isinstance(spec.get("rename") or {}, dict):
        raise ValueError("hide is a list of names, rename an object of name -> new name")
    introspection = spec.get("introspection", True)
    if not isinstance(introspection, bool):
        raise ValueError("introspection is true or false")
    for name in hide:
        _check_name(schema, name, renaming=False)
    for name, new in rename.items():
        _check_name(schema, name, renaming=True)
        if not isinstance(new, str) or not new.isidentifier() or new.startswith("__"):
            raise ValueError(f"{new!r} is not a valid GraphQL name (renaming {name})")
    hidden, renamed = set(hide), dict(rename)
    for name in hide:  # an interface field hides on every implementation
        hidden.update(_implementations(schema, name))
    for name, new in rename.items():
        for impl in _implementations(schema, name):
            renamed.setdefault(impl, new)
    return Variant(tuple(sorted(hidden)), tuple(sorted(renamed.items())), introspection, preset)


def _check_name(schema: GraphQLSchema, name: str, renaming: bool) -> None:
    if not isinstance(name, str):
        raise ValueError(f"{name!r} is not a type or Type.field name")
    type_name, _, field_name = name.partition(".")
    type_ = schema.type_map.get(type_name)
    if type_ is None or type_name.startswith("__"):
        raise ValueError(f"unknown type {type_name!r} in schema variant")
    if not field_name:
        if type_name in ROOT_TYPES or type_name in ("String", "Int", "Float", "Boolean", "ID"):
            raise ValueError(f"{type_name} cannot be hidden or renamed")
        return
    if isinstance(type_, GraphQLEnumType):
        members = type_.values
    else:
        members = getattr(type_, "fields", None) or {}
    if field_name not in members:
        raise ValueError(f"unknown field {name!r} in schema variant")
    if renaming and isinstance(type_, GraphQLInputObjectType | GraphQLEnumType):
        raise ValueError(f"only types and output fields can be renamed, not {name!r}")


def _implementations(schema: GraphQLSchema, name: str) -> list[str]:
    type_name, _, field_name = name.partition(".")
    type_ = schema.type_map[type_name]
    if not field_name or not isinstance(type_, GraphQLInterfaceType):
        return []
    return [f"{t.name}.{field_name}" for t in schema.get_possible_types(type_)]


def _named(type_node) -> str:
    while not isinstance(type_node, NamedTypeNode):
        type_node = type_node.type
    return type_node.name.value


def transform(document: DocumentNode, variant: Variant) -> DocumentNode:
    """The default SDL document with the variant's edits applied."""
    if variant.is_default:
        return document
    doc = copy.deepcopy(document)
    hide, rename = set(variant.hide), dict(variant.rename)
    hidden_types = {h for h in hide if "." not in h}
    type_rename = {k: v for k, v in rename.items() if "." not in k}
    kept_defs = []
    for d in doc.definitions:
        name = d.name.value
        if name in hidden_types:
            continue
        if getattr(d, "fields", None) is not None:
            fields = []
            for f in d.fields:
                key = f"{name}.{f.name.value}"
                if key in hide or _named(f.type) in hidden_types:
                    continue
                if getattr(f, "arguments", None):
                    f.arguments = tuple(a for a in f.arguments if _named(a.type) not in hidden_types)
                if key in rename:
                    f.name = NameNode(value=rename[key])
                fields.append(f)
            d.fields = tuple(fields)
        if isinstance(d, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode) and d.interfaces:
            d.interfaces = tuple(i for i in d.interfaces if i.name.value not in hidden_types)
        if isinstance(d, UnionTypeDefinitionNode):
            d.types = tuple(t for t in d.types if t.name.value not in hidden_types)
        if isinstance(d, EnumTypeDefinitionNode):
            d.values = tuple(v for v in d.values if f"{name}.{v.name.value}" not in hide)
        kept_defs.append(d)
    doc.definitions = tuple(kept_defs)
    _drop_unfulfilled_interfaces(doc)
    if type_rename:
        _rename_types(doc, type_rename)
    return doc


def _drop_unfulfilled_interfaces(doc: DocumentNode) -> None:
    """A type with a hidden field no longer implements a capability interface that declares it (a store without
    `Product.attributes` does not call its products `ObjectWithAttributes`). Only interfaces no field returns
    are capabilities; hiding a field an interface that fields return needs (`Order.number` on `WholesaleOrder`
    only) still leaves an invalid schema, which is refused."""
    returned = {
        _named(f.type) for d in doc.definitions for f in (getattr(d, "fields", None) or ()) if hasattr(f, "type")
    }
    capabilities = {
        d.name.value: {f.name.value for f in d.fields}
        for d in doc.definitions
        if isinstance(d, InterfaceTypeDefinitionNode) and d.name.value not in returned
    }
    for d in doc.definitions:
        if isinstance(d, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode) and d.interfaces:
            own = {f.name.value for f in d.fields}
            d.interfaces = tuple(i for i in d.interfaces if not capabilities.get(i.name.value, set()) - own)


def _rename_types(doc: DocumentNode, renames: dict[str, str]) -> None:
    """Rename type definitions and every reference to them, in place."""
    for d in doc.definitions:
        if d.name.value in renames:
            d.name = NameNode(value=renames[d.name.value])
    _rename_references(doc, renames)


def _rename_references(node: Node, renames: dict[str, str]) -> None:
    if isinstance(node, NamedTypeNode) and node.name.value in renames:
        node.name = NameNode(value=renames[node.name.value])
        return
    for key in node.keys:
        value = getattr(node, key, None)
        if isinstance(value, Node):
            _rename_references(value, renames)
        elif isinstance(value, tuple | list):
            for item in value:
                if isinstance(item, Node):
                    _rename_references(item, renames)


def served_names(variant: Variant) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """(internal type -> served type, (internal type, internal field) -> served field)."""
    types, fields = {}, {}
    for name, new in variant.rename:
        type_name, _, field_name = name.partition(".")
        if field_name:
            fields[(type_name, field_name)] = new
        else:
            types[type_name] = new
    return types, fields
