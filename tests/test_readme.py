"""The docs stay true: the README lists every table the project writes, and docs/operating.md every permission its
queries use."""

import re
from pathlib import Path

from centra_assets.entities import ALL

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
OPERATING = (ROOT / "docs" / "operating.md").read_text()  # the permission table: "Pointing it at a real Centra store"


def test_readme_lists_every_table():
    missing = [t.name for spec in ALL for t in spec.tables if f"`{t.name}`" not in README]
    assert not missing


# The read list of a commercial Centra analytics sync (Dema), as docs/centra-facts.md §2 quotes it.
DEMA = {
    f"{name}:read"
    for name in (
        "Allocation AllocationRule Attribute Brand Category Collection Display Folder Market Market.comment Order "
        "Order.attributes Order.billingAddress Order.internalComment Order.shippingAddress PaymentHistory Product "
        "Product.attributes ProductMedia ProductMedia.attributes ProductSize ProductSize.stockTotals ProductVariant "
        "ProductVariant.stock ProductVariant.stockTotals PurchaseOrder Return Shipment Store StorePlugin Voucher "
        "Warehouse"
    ).split()
}
PERMISSION_ROW = re.compile(
    r"^\s*\| `(?P<permission>[\w.]+:read)` \| (?P<ours>yes)? *\| (?P<dema>yes)? *\| (?P<why>.*?) *\|$"
)


def _permission_table() -> dict[str, tuple[bool, bool, str]]:
    return {
        m["permission"]: (bool(m["ours"]), bool(m["dema"]), m["why"])
        for m in map(PERMISSION_ROW.match, OPERATING.splitlines())
        if m
    }


def test_the_docs_list_exactly_the_permissions_the_queries_use_beside_demas(centra):
    from centra_assets.cli import project_queries

    used = set()
    for _, query, variables in project_queries():
        used.update(centra.post({"query": query, "variables": variables}).json()["extensions"]["permissionsUsed"])
    table = _permission_table()
    assert {p for p, (ours, _, _) in table.items() if ours} == used
    assert {p for p, (_, dema, _) in table.items() if dema} == DEMA
    assert not [p for p, (ours, dema, why) in table.items() if ours != dema and not why], "say why they differ"
