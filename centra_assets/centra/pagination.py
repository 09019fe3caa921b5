"""Page after page of a list query, in order, with several requests in flight.

Centra charges complexity from a query's ``limit``, not from what it returns, so a speculative request for a
page past the end costs as much as a full one. With a known total (``totalCount``), exactly the needed
pages are requested; without one, concurrency ramps up (1, 2, 4 ... pages in flight) while pages come
back full, so a one-page partition never pays for speculation and a long one soon runs at full width.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

MAX_PAGE_SIZE = 200  # "Limit must be in range 1 - 200"


def fetch_pages(
    fetch: Callable[[int], list],
    page_size: int = MAX_PAGE_SIZE,
    concurrency: int = 4,
    total: int | None = None,
    first: int = 1,
) -> Iterator[list]:
    """Yield pages `first`, `first` + 1, ... (1-based, as Centra counts) until a short page or `total` rows."""
    last_page = math.ceil(total / page_size) if total is not None else None
    if last_page is not None and last_page < first:
        return
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="centra-page") as pool:
        in_flight: dict[int, Future] = {}
        next_page, current, width = first, first, 1 if total is None else concurrency
        while True:
            while len(in_flight) < width and (last_page is None or next_page <= last_page):
                in_flight[next_page] = pool.submit(fetch, next_page)
                next_page += 1
            rows = in_flight.pop(current).result()
            yield rows
            if len(rows) < page_size or (last_page is not None and current >= last_page):
                for future in in_flight.values():
                    future.cancel()
                return
            current += 1
            width = min(concurrency, width * 2)
