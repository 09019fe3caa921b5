"""`make demo`: start the local Centra simulator, read a week of it through the Integration API, stop it.

Prints orders and revenue per day, the market split and stock, all read with the gql client over HTTP.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from gql import Client, gql
from gql.transport.requests import RequestsHTTPTransport

from centra_assets.simulator.process import SimulatorProcess

TOKEN = "demo-token"
ORDERS = gql("""
query Orders($from: DateTimeTz!, $page: Int!) {
  orders(where: {createdAt: {from: $from}}, sort: [number_ASC], limit: 200, page: $page) {
    number status createdAt market { name }
    grandTotal { value currency { code } conversionRate }
    lines(includeFullyCancelled: true) { quantity }
  }
}""")
STOCK = gql(
    "{ warehouses { name } productSizes(limit: 200) { stockTotals { physicalQuantity allocatedQuantity "
    "freeToAllocateQuantity incomingQuantity } } }"
)


def main() -> None:
    with SimulatorProcess("--days", "30", "--orders-per-day", "300", token=TOKEN, quiet=False) as sim:
        transport = RequestsHTTPTransport(
            url=sim.graphql_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30, retries=3
        )
        with Client(transport=transport) as session:
            since = (dt.date.today() - dt.timedelta(days=6)).isoformat() + " 00:00:00"
            orders, page = [], 1
            while True:
                request = ORDERS
                request.variable_values = {"from": since, "page": page}
                batch = session.execute(request)["orders"]
                orders += batch
                if len(batch) < 200:
                    break
                page += 1
            stock = session.execute(STOCK)
    report(orders, stock, page)


def report(orders: list[dict], stock: dict, pages: int) -> None:
    by_day: dict[str, list] = defaultdict(list)
    by_market: dict[str, float] = defaultdict(float)
    for o in orders:
        by_day[o["createdAt"][:10]].append(o)
        if o["status"] != "CANCELLED":
            by_market[o["market"]["name"]] += o["grandTotal"]["value"] * o["grandTotal"]["conversionRate"]
    print(f"\nLast 7 days from the Centra simulator ({len(orders)} orders in {pages} pages of up to 200):\n")
    print(f"{'day':<12}{'orders':>8}{'units':>8}{'net sales (SEK)':>18}")
    for day in sorted(by_day):
        rows = [o for o in by_day[day] if o["status"] != "CANCELLED"]
        sek = sum(o["grandTotal"]["value"] * o["grandTotal"]["conversionRate"] for o in rows)
        units = sum(line["quantity"] for o in rows for line in o["lines"])
        print(f"{day:<12}{len(by_day[day]):>8}{units:>8}{sek:>18,.0f}")
    print("\nRevenue by market (SEK, base currency):")
    for market, sek in sorted(by_market.items(), key=lambda kv: -kv[1]):
        print(f"  {market:<20}{sek:>14,.0f}")
    totals = defaultdict(int)
    for size in stock["productSizes"]:
        for key, value in size["stockTotals"].items():
            totals[key] += value
    print(
        f"\nStock over {len(stock['productSizes'])} sizes in {len(stock['warehouses'])} warehouses: "
        + ", ".join(f"{k.removesuffix('Quantity')} {v:,}" for k, v in totals.items())
    )
    print("\nThe simulator has stopped. Next: `make test`, and the README for pointing this at a real store.")


if __name__ == "__main__":
    main()
