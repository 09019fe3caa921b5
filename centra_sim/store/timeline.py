"""Orders, customers and purchase orders as plans: everything that will ever happen to them, decided up front.

Each day's orders come from a random generator seeded by (seed, day) alone, so any day can be generated
without the days before it: the simulator never holds more than a few days in memory, however many
orders it serves. A plan carries its whole lifecycle (created, confirmed, shipped, returned...); what
the API shows at clock time T is the plan with every step at or before T applied (see records.py).
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

from .catalog import CURRENCIES, DAY, FIRST_NAMES, LAST_NAMES, Catalog

HOUR = 3600.0
# The longest an order's lifecycle can run (ship, return window, return handling): an order created
# more than this before T is settled. Used to bound "updated in a window" scans.
MAX_LIFECYCLE = 36 * DAY
WEEKDAY_FACTOR = [0.92, 0.95, 0.97, 1.0, 1.05, 1.08, 1.03]  # Monday..Sunday, mean 1.0
FIRST_ORDER_NUMBER = 1001
WHOLESALE_SHARE = 0.03
NEW_CUSTOMER_SHARE = 0.45
RETURN_RATE = 0.17
CANCEL_RATE = 0.03
VOUCHER_RATE = 0.12
# Orders by hour of the store's day (relative): quiet at night but never empty, a lunch peak and a higher evening
# one, as web shops see them. Every hour has orders on a normal day, the first and the last included.
HOURLY_PROFILE = (
    *(2.2, 1.4, 0.9, 0.7, 0.6, 0.8),  # 00-05
    *(1.5, 2.6, 3.6, 4.3, 4.8, 5.4),  # 06-11
    *(6.0, 5.7, 4.9, 4.6, 4.7, 5.1),  # 12-17
    *(5.8, 6.6, 7.2, 6.8, 5.2, 3.6),  # 18-23
)
_ASCII = str.maketrans("åäöüéÅÄÖÜÉ", "aaoueAAOUE")


def day_rate(currency: dict, day: int) -> float:
    """The currency's rate to the base currency (SEK) on a simulated day: it drifts around the reference rate.
    Orders record the rate of the day they were placed; `Currency.currentBaseRate` is the rate of the clock's day."""
    base_rate = currency["_rate"]
    return 1.0 if currency["code"] == "SEK" else round(base_rate * (1 + 0.02 * math.sin(day / 9.0 + base_rate)), 6)


class OrderPlan:
    """One order and its whole future. Lines are tuples (line id, size id, quantity, original unit price,
    unit price, discount percent, warehouse id)."""

    __slots__ = (
        "number",
        "day",
        "created",
        "wholesale",
        "market",
        "customer",
        "account",
        "buyer",
        "lines",
        "voucher",
        "rate",
        "shipping",
        "confirmed",
        "cancelled",
        "shipped_gtg",
        "shipped",
        "return_created",
        "return_done",
        "returned_lines",
        "ip",
    )

    def transitions(self) -> list[float]:
        """Every moment the order (or its shipment or return) changes, ascending."""
        return [
            t
            for t in (
                self.created,
                self.cancelled,
                self.confirmed,
                self.shipped_gtg,
                self.shipped,
                self.return_created,
                self.return_done,
            )
            if t is not None
        ]

    def last_change(self) -> float:
        return max(self.transitions())


@dataclass(frozen=True)
class DayHeader:
    orders: int
    wholesale: int
    new_customers: int


class Timeline:
    def __init__(self, catalog: Catalog, orders_per_day: int, tz: dt.tzinfo, max_cached_orders: int = 300_000):
        self.catalog = catalog
        self.seed = catalog.seed
        self.start = catalog.start
        self.orders_per_day = orders_per_day
        self.tz = tz
        self.existing_customers = max(20, orders_per_day * 3)
        self._order_prefix = [0]  # orders before day d
        self._customer_prefix = [0]  # new customers before day d
        # Cache whole days, bounded by the orders they hold: scans over Centra's 36-day lifecycle window
        # stay cached for small stores, and a 10k-orders-a-day store still fits in a few hundred MB.
        self._days: OrderedDict[int, list[OrderPlan]] = OrderedDict()
        self._cached_orders = 0
        self.max_cached_orders = max_cached_orders
        self._days_lock = threading.Lock()
        # every D2C order's (created, cancelled or inf), by customer, for the days indexed so far (totalOrders)
        self._customer_orders: dict[int, array] = {}
        self._customer_orders_days = 0
        self._customer_orders_lock = threading.Lock()

    # -- days ----------------------------------------------------------------------------------------
    def day_start(self, d: int) -> float:
        """Midnight of day d in the store timezone (DST-safe)."""
        first = dt.datetime.fromtimestamp(self.start, self.tz).date()
        day = first + dt.timedelta(days=d)
        return dt.datetime(day.year, day.month, day.day, tzinfo=self.tz).timestamp()

    def day_of(self, ts: float) -> int:
        first = dt.datetime.fromtimestamp(self.start, self.tz).date()
        return (dt.datetime.fromtimestamp(ts, self.tz).date() - first).days

    @lru_cache(maxsize=4096)  # noqa: B019 - one timeline per process, bounded
    def header(self, d: int) -> DayHeader:
        if d < 0:
            return DayHeader(0, 0, 0)
        rng = random.Random(f"{self.seed}:day:{d}")
        weekday = dt.datetime.fromtimestamp(self.day_start(d) + 12 * HOUR, self.tz).weekday()
        n = max(0, round(self.orders_per_day * WEEKDAY_FACTOR[weekday] * rng.uniform(0.85, 1.15)))
        wholesale = min(n, round(n * WHOLESALE_SHARE * rng.uniform(0.4, 1.6)))
        return DayHeader(n, wholesale, round((n - wholesale) * NEW_CUSTOMER_SHARE))

    def _prefix(self, table: list[int], d: int, attr: str) -> int:
        while len(table) <= d:
            table.append(table[-1] + getattr(self.header(len(table) - 1), attr))
        return table[d]

    def orders_before(self, d: int) -> int:
        return self._prefix(self._order_prefix, max(d, 0), "orders")

    def customers_before(self, d: int) -> int:
        return self.existing_customers + self._prefix(self._customer_prefix, max(d, 0), "new_customers")

    def day_of_number(self, number: int, last_day: int) -> int:
        """The day an order number was created on (numbers are given out in creation order); -1 if none."""
        self.orders_before(last_day + 1)
        d = bisect.bisect_right(self._order_prefix, number - FIRST_ORDER_NUMBER) - 1
        return d if 0 <= d <= last_day and number >= FIRST_ORDER_NUMBER else -1

    def day_of_customer(self, customer_id: int) -> int:
        """The day a customer placed their first order; -1 for customers from before the history."""
        target = customer_id - self.existing_customers  # 1-based among customers who came during the history
        if target <= 0:
            return -1
        while self._customer_prefix[-1] < target:
            self.customers_before(len(self._customer_prefix))
        return bisect.bisect_left(self._customer_prefix, target) - 1

    # -- customers -----------------------------------------------------------------------------------
    def customer_home_market(self, customer_id: int) -> dict:
        rng = random.Random(f"{self.seed}:customer:{customer_id}")
        d2c = [m for m in self.catalog.markets if m["store"]["type"] == "DIRECT_TO_CONSUMER"]
        return rng.choices(d2c, weights=[m["_share"] for m in d2c])[0]

    @lru_cache(maxsize=20_000)  # noqa: B019
    def customer(self, customer_id: int) -> dict:
        rng = random.Random(f"{self.seed}:customer:{customer_id}")
        rng.random()  # the draw customer_home_market used
        market = self.customer_home_market(customer_id)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        d = self.day_of_customer(customer_id)
        if d < 0:
            created = self.start - (self.existing_customers - customer_id + 1) * (400 * DAY / self.existing_customers)
        else:
            created = self.new_customers_of_day(d)[customer_id]
        country = self.catalog.countries[rng.choice(market["_countries"])]
        return {
            "id": customer_id,
            "email": f"{first}.{last}.{customer_id}@example.com".lower().translate(_ASCII).replace(" ", ""),
            "firstName": first,
            "lastName": last,
            "gender": rng.choice(["FEMALE", "FEMALE", "MALE", "MALE", "OTHER", "UNKNOWN"]),
            "phoneNumber": f"+46 70 {rng.randrange(10**6):06d}",
            "status": "ACTIVE",
            "createdAt": created,
            "updatedAt": created,
            "country": country,
            "market": market,
        }

    def orders_before_history(self, customer_id: int) -> int:
        """How many orders a customer from before the history placed before it: none for a third of them (they
        registered without buying) and for every later customer (created by their first order)."""
        if customer_id > self.existing_customers:
            return 0
        return random.Random(f"{self.seed}:customer-history:{customer_id}").choice((0, 0, 1, 2, 3, 5))

    def total_orders(self, customer_id: int, t: float) -> int:
        """`Customer.totalOrders` at time t: the customer's orders placed by t and not cancelled by t, those before
        the history included. (Centra's exact rule is UNCONFIRMED; the warehouse copes with either, see
        dbt_models/DECISIONLOG.md.)"""
        days = self.days_until(t)
        with self._customer_orders_lock:
            while self._customer_orders_days < days:
                for o in self.day_orders(self._customer_orders_days):
                    if not o.wholesale:
                        cancelled = math.inf if o.cancelled is None else o.cancelled
                        self._customer_orders.setdefault(o.customer, array("d")).extend((o.created, cancelled))
                self._customer_orders_days += 1
            mine = self._customer_orders.get(customer_id, ())
        placed = sum(1 for i in range(0, len(mine), 2) if mine[i] <= t < mine[i + 1])
        return self.orders_before_history(customer_id) + placed

    @lru_cache(maxsize=64)  # noqa: B019
    def new_customers_of_day(self, d: int) -> dict[int, float]:
        """Customers whose first order was on day d, with that order's time."""
        first = self.customers_before(d) + 1
        return {o.customer: o.created for o in self.day_orders(d) if not o.wholesale and o.customer >= first}

    def customers_until(self, t: float) -> int:
        """How many customers exist at time t (ids 1..n)."""
        days = self.days_until(t)
        if days == 0:
            return self.existing_customers
        last = days - 1
        return self.customers_before(last) + sum(1 for c in self.new_customers_of_day(last).values() if c <= t)

    @lru_cache(maxsize=64)  # noqa: B019
    def day_times(self, d: int) -> list[float]:
        """Creation times of day d's orders, ascending (orders are numbered in creation order)."""
        return [o.created for o in self.day_orders(d)]

    @lru_cache(maxsize=40)  # noqa: B019
    def day_changes(self, d: int) -> list[tuple[float, int, str]]:
        """Every lifecycle step of day d's orders as (time, order number, step), by time."""
        steps = ("created", "cancelled", "confirmed", "shipped_gtg", "shipped", "return_created", "return_done")
        out = [(getattr(o, s), o.number, s) for o in self.day_orders(d) for s in steps if getattr(o, s) is not None]
        out.sort()
        return out

    # -- orders --------------------------------------------------------------------------------------
    def day_orders(self, d: int) -> list[OrderPlan]:
        """Day d's orders, generated on first use and kept while the cache has room."""
        with self._days_lock:
            day = self._days.get(d)
            if day is not None:
                self._days.move_to_end(d)
                return day
        day = self._generate_day(d)
        with self._days_lock:
            if d not in self._days:
                self._days[d] = day
                self._cached_orders += len(day)
                while self._cached_orders > self.max_cached_orders and len(self._days) > 1:
                    _, dropped = self._days.popitem(last=False)
                    self._cached_orders -= len(dropped)
        return day

    def _generate_day(self, d: int) -> list[OrderPlan]:
        header = self.header(d)
        cat = self.catalog
        rng = random.Random(f"{self.seed}:orders:{d}")
        times = self._order_times(d, header.orders, rng)
        wholesale_at = set(rng.sample(range(header.orders), header.wholesale))
        d2c_positions = [i for i in range(header.orders) if i not in wholesale_at]
        new_at = set(rng.sample(d2c_positions, min(header.new_customers, len(d2c_positions))))
        next_new = self.customers_before(d) + 1
        returning_pool = self.customers_before(d)
        first_number = FIRST_ORDER_NUMBER + self.orders_before(d)
        plans = []
        for i, created in enumerate(times):
            o = OrderPlan()
            o.number, o.day, o.created = first_number + i, d, created
            o.wholesale = i in wholesale_at
            o.voucher = None
            o.ip = f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            if o.wholesale:
                account = cat.accounts[rng.randrange(len(cat.accounts))]
                o.account, o.buyer, o.customer = account, rng.choice(account["buyers"]), None
                o.market = account["market"]
                n_lines = rng.randint(3, 10)
            else:
                if i in new_at:
                    o.customer, next_new = next_new, next_new + 1
                else:
                    o.customer = rng.randint(1, returning_pool)
                o.account = o.buyer = None
                o.market = self.customer_home_market(o.customer)
                n_lines = min(6, 1 + int(rng.expovariate(1.1)))
            currency = o.market["_currency"]
            o.rate = day_rate(cat.currencies[currency], d)  # the order records the day's rate
            pct = 0.0 if o.wholesale else cat.campaign_pct(o.market["id"], created)
            lines, seen = [], set()
            warehouses = o.market["_warehouses"]
            for _ in range(n_lines):
                variant = cat.pick_variant(rng)
                size = rng.choices(variant["productSizes"], weights=[s["_weight"] for s in variant["productSizes"]])[0]
                if size["id"] in seen:
                    continue
                seen.add(size["id"])
                original = cat.price_of[(variant["id"], o.market["pricelist"]["id"])]
                unit = round(original * (1 - pct / 100), 2)
                wh = warehouses[0] if len(warehouses) == 1 or rng.random() < 0.8 else warehouses[1]
                qty = 6 * rng.randint(1, 4) if o.wholesale else (1 if rng.random() < 0.9 else 2)
                lines.append((o.number * 100 + len(lines) + 1, size["id"], qty, original, unit, pct, wh))
            o.lines = lines
            subtotal = sum(line[2] * line[4] for line in lines)
            if not o.wholesale and rng.random() < VOUCHER_RATE:
                o.voucher = cat.pick_voucher(rng)
            _, _, _, fee, free_from = next(c for c in CURRENCIES if c[0] == currency)
            o.shipping = 0.0 if o.wholesale or subtotal >= free_from else fee
            # lifecycle
            o.cancelled = o.confirmed = o.shipped_gtg = o.shipped = None
            o.return_created = o.return_done = None
            o.returned_lines = ()
            if rng.random() < (0.01 if o.wholesale else CANCEL_RATE):
                o.cancelled = created + rng.uniform(0.5, 30) * HOUR
            elif o.wholesale:
                o.confirmed = created + rng.uniform(1, 72) * HOUR
                o.shipped_gtg = o.confirmed + rng.uniform(1, 5) * DAY
                o.shipped = o.shipped_gtg + rng.uniform(0.5, 3) * DAY
            else:
                o.confirmed = created + rng.uniform(5 / 60, 10) * HOUR
                o.shipped_gtg = o.confirmed + rng.uniform(1, 20) * HOUR
                o.shipped = o.shipped_gtg + rng.uniform(1, 48) * HOUR
                if rng.random() < RETURN_RATE:
                    o.return_created = o.shipped + rng.uniform(3, 25) * DAY
                    o.return_done = o.return_created + rng.uniform(1, 6) * DAY
                    returned = tuple(line[0] for line in lines if rng.random() < 0.7)
                    o.returned_lines = returned or (lines[0][0],)
            plans.append(o)
        return plans

    def _order_times(self, d: int, n: int, rng: random.Random) -> list[int]:
        """When day d's n orders are placed, ascending, in whole seconds as Centra records them. Each hour of the day
        as the store's clock shows it draws orders by HOURLY_PROFILE: a day the clock changes has one hour fewer
        (none of its orders) or one more (orders in both)."""
        start, end = int(self.day_start(d)), int(self.day_start(d + 1))
        hours = [(h, min(int(HOUR), end - h)) for h in range(start, end, int(HOUR))]  # (first second, seconds)
        weights = [HOURLY_PROFILE[dt.datetime.fromtimestamp(h, self.tz).hour] * seconds for h, seconds in hours]
        return sorted(h + int(rng.random() * seconds) for h, seconds in rng.choices(hours, weights, k=n))

    def plan(self, number: int, last_day: int) -> OrderPlan | None:
        d = self.day_of_number(number, last_day)
        if d < 0:
            return None
        day = self.day_orders(d)
        idx = number - FIRST_ORDER_NUMBER - self.orders_before(d)
        return day[idx] if 0 <= idx < len(day) else None

    def days_until(self, t: float) -> int:
        """Number of days (0..n-1) that have begun by time t."""
        return max(0, self.day_of(t) + 1) if t >= self.start else 0

    # -- purchase orders -----------------------------------------------------------------------------
    @lru_cache(maxsize=1024)  # noqa: B019
    def purchase_order(self, week: int, supplier: int) -> dict:
        """One purchase order per supplier per week, with its deliveries (arrival and stock insertion)."""
        cat = self.catalog
        rng = random.Random(f"{self.seed}:po:{week}:{supplier}")
        po_id = (week + 10) * 10 + supplier
        created = self.start + week * 7 * DAY + rng.uniform(0, 5) * DAY
        candidates = [
            s for s in cat.sizes if s["product"]["_supplier"] == supplier and s["productVariant"]["_popularity"] > 0
        ]
        chosen = sorted(rng.sample(candidates, min(len(candidates), rng.randint(4, 10))), key=lambda s: s["id"])
        currency = "USD" if supplier == 3 else "EUR"
        warehouse = rng.choice([1, 2, 3]) if supplier == 3 else 1
        lines = []
        for n, size in enumerate(chosen, 1):
            sek_cost = size["productVariant"]["unitCost"]["value"]
            cost = round(sek_cost / cat.currencies[currency]["_rate"], 2)
            lines.append(
                {"id": po_id * 100 + n, "size": size["id"], "quantity": 6 * rng.randint(5, 40), "unitCost": cost}
            )
        eta = created + rng.uniform(21, 42) * DAY
        deliveries = []
        parts = [1.0] if rng.random() < 0.7 else [0.6, 0.4]
        arrival = eta + rng.uniform(-3, 5) * DAY
        for k, share in enumerate(parts, 1):
            delivered = []
            for line in lines:
                qty = (
                    round(line["quantity"] * share)
                    if k < len(parts)
                    else line["quantity"] - sum(round(line["quantity"] * p) for p in parts[:-1])
                )
                if rng.random() < 0.05:
                    qty = max(0, qty - rng.randint(1, 6))  # short delivery
                delivered.append(
                    {
                        "id": po_id * 1000 + k * 100 + len(delivered) + 1,
                        "line": line["id"],
                        "size": line["size"],
                        "quantity": qty,
                        "unitCost": line["unitCost"],
                    }
                )
            deliveries.append(
                {
                    "id": po_id * 10 + k,
                    "number": f"{po_id}-{k}",
                    "created": arrival,
                    "inserted": arrival + rng.uniform(2, 24) * HOUR,
                    "lines": delivered,
                }
            )
            arrival += rng.uniform(3, 10) * DAY
        return {
            "id": po_id,
            "week": week,
            "supplier": supplier,
            "created": created,
            "eta": eta,
            "currency": currency,
            "warehouse": warehouse,
            "lines": lines,
            "deliveries": deliveries,
            "ourReference": f"NV-PO-{po_id}",
            "supplierReference": f"S{supplier}-{rng.randrange(10**5):05d}",
        }

    PO_HISTORY_WEEKS = 8  # purchase orders start this many weeks before the first day

    def purchase_orders_until(self, t: float) -> list[dict]:
        last_week = math.floor((t - self.start) / (7 * DAY))
        return [
            po
            for w in range(-self.PO_HISTORY_WEEKS, last_week + 1)
            for s in (1, 2, 3)
            if (po := self.purchase_order(w, s))["created"] <= t
        ]
