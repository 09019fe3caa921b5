"""The simulator's schema agrees, field for field, with the complete pages of Centra's generated schema reference
(docs/centra-facts.md §12) for the types the project reads there; on a partial page, it has every field seen."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from centra_sim.api.schema import default_schema

FACTS = Path(__file__).resolve().parents[2] / "docs" / "centra-facts.md"
# Complete pages the simulator is held to, field for field (names and arguments). The other complete pages of §12 are
# input types of mutations the simulator does not serve, and PurchaseOrderDelivery, whose stored copy lost its names.
COMPLETE = (
    "AppliedTaxRule",
    "AppliedTaxRuleValue",
    "AppliedVoucherCredit",
    "AppliedVoucherDiscount",
    "Currency",
    "Language",
    "ObjectWithTranslations",
    "OrderTotals",
    "ReturnLine",
    "ReturnTotals",
    "ShipmentLine",
    "TaxRule",
)
# Partial pages whose fields the simulator has (it may have more: the rest of the page was not seen).
PARTIAL = (
    "AppliedVoucher",
    "Country",
    "DirectToConsumerOrder",
    "DirectToConsumerReturn",
    "DirectToConsumerShipment",
    "MonetaryValue",
    "Order",
    "OrderDiscount",
    "Price",
    "Stock",
)


def _pages() -> dict[str, tuple[str, dict[str, tuple[str, ...]]]]:
    """§12's table: type -> (complete | partial, field -> its argument names)."""
    text = FACTS.read_text()
    section = text[text.index("## 12.") :]
    pages = {}
    for type_, seen_as, fields in re.findall(r"^\| `(\w+)` \| (complete|partial) \| ([^|]*) \|", section, re.M):
        pages[type_] = (
            seen_as,
            {
                name: tuple(a for a in args.split(",") if a)
                for name, args in re.findall(r"`(\w+)(?:\(([\w,]*)\))?`", fields)
            },
        )
    return pages


def _served(type_: str) -> dict[str, tuple[str, ...]]:
    return {name: tuple(f.args) for name, f in default_schema().type_map[type_].fields.items()}


@pytest.mark.parametrize("type_", COMPLETE)
def test_a_complete_page_and_the_simulator_name_the_same_fields(type_):
    seen_as, page = _pages()[type_]
    assert seen_as == "complete"
    assert _served(type_) == page


@pytest.mark.parametrize("type_", PARTIAL)
def test_the_simulator_has_every_field_of_a_partial_page(type_):
    _, page = _pages()[type_]
    assert set(page) <= set(_served(type_))  # names only: §12 lists a partial page's fields without arguments


def test_a_return_names_its_warehouse_as_centra_does():
    _, page = _pages()["DirectToConsumerReturn"]
    assert "returnWarehouse" in page and "returnWarehouse" in _served("DirectToConsumerReturn")
    assert "returnedToWarehouse" not in _served("DirectToConsumerReturn")
