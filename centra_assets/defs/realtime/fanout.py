"""Many stores, one sensor tick: the stores served a few at a time, longest-waiting first, within the tick's
budget (policy.TICK_SECONDS, policy.STORE_CONCURRENCY, read at each tick). A store that fails holds no other up."""

import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from centra_assets.settings import Settings, Store

from .. import policy


def serve_stores(
    stores: Sequence[Store], work: Callable[[Store], object], seconds: float | None, concurrency: int
) -> dict[str, object]:
    """`work(store)` for the stores in the order given, `concurrency` at a time, starting none once `seconds` have
    passed (None: all; the first `concurrency` always start). Returns store name -> result, or the exception it
    raised, for the stores served."""
    deadline = None if seconds is None else time.monotonic() + seconds
    todo, running, done = list(stores), {}, {}
    with ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="centra-store") as pool:
        while todo or running:
            while (
                todo
                and len(running) < concurrency
                and (deadline is None or len(todo) > len(stores) - concurrency or time.monotonic() < deadline)
            ):
                store = todo.pop(0)
                running[pool.submit(work, store)] = store.name
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                done[name] = future.exception() or future.result()
    return done


def longest_waiting(stores: Sequence[Store], served: dict[str, float]) -> list[Store]:
    """Fair rotation: the stores served longest ago (never: first), in the stores file's order on a tie."""
    return sorted(stores, key=lambda s: served.get(s.name, 0.0))


def serve_tick(context, settings: Settings, served: dict[str, float], started: float, work, what: str) -> list:
    """One sensor tick's share of the stores: the longest-waiting first, within the tick's budget (`served`, the
    cursor's store -> last served, is updated). Returns (store, result) for each store served without error; a
    store that failed is logged and holds no other up, and the tick fails only when every store served failed."""
    order = longest_waiting(settings.stores, served)
    results = serve_stores(order, work, policy.TICK_SECONDS, policy.STORE_CONCURRENCY)
    failed = {name: r for name, r in results.items() if isinstance(r, BaseException)}
    for name, error in failed.items():
        context.log.error(f"{what} of store {name!r} failed: {type(error).__name__}: {error}")
    if failed and len(failed) == len(results):
        raise next(iter(failed.values()))
    if len(results) < len(settings.stores):
        context.log.info(
            f"{what}: served {len(results)} of {len(settings.stores)} stores; the others come first next tick"
        )
    for name in results:
        served[name] = started
    return [(store, results[store.name]) for store in order if store.name in results and store.name not in failed]
