"""The pacer (centra/pacing.py) keeps our share of Centra's rate budget in one SQLite file that every process of a
machine reads: what one pacer spends, another sees; and a 429's pause holds them all."""

from __future__ import annotations

import time

from centra_assets.centra.pacing import Pacer

# Centra's answer to `rateLimits`, cut to one bucket: 10 requests per 10 s, all of them left
LIMITS = [{"type": "REQUEST_COUNT", "intervalSeconds": "TEN_SECONDS", "quota": 10, "remainingQuota": 10}]


def test_a_pacer_spends_only_its_share_and_then_waits_for_the_refill(tmp_path):
    pacer = Pacer(tmp_path / "budget.sqlite", share=0.5)  # half of 10 is ours: 5 now, refilled at 0.5 a second
    pacer.configure(LIMITS)
    assert [pacer.acquire() for _ in range(5)] == [0.0] * 5
    started = time.monotonic()
    waited = pacer.acquire()
    assert 1.0 <= waited and time.monotonic() - started >= 1.0  # the sixth waits for a token to come back


def test_two_pacers_on_one_file_share_one_budget(tmp_path):
    first, second = Pacer(tmp_path / "budget.sqlite"), Pacer(tmp_path / "budget.sqlite")
    first.configure([{**LIMITS[0], "remainingQuota": 3.5}])  # other integrations spent 6.5; 1 is kept in reserve
    assert [first.acquire() for _ in range(2)] == [0.0, 0.0]
    second.configure(LIMITS)  # learns the quota again: the tokens the first spent stay spent
    assert second.acquire(requests=0.5) == 0.0
    assert second.acquire() > 0  # nothing is left for either


def test_a_pause_after_a_429_holds_every_pacer_of_the_file(tmp_path):
    first, second = Pacer(tmp_path / "budget.sqlite"), Pacer(tmp_path / "budget.sqlite")
    first.configure(LIMITS)
    first.pause_until(time.time() + 1.2)
    assert second.acquire() >= 1.0


def test_a_wait_for_the_budget_is_logged_naming_the_empty_bucket(tmp_path, caplog):
    """A sync waiting for the budget says so (its run's event log shows it), not silence. The windows run 100 times
    faster (as a simulator with --time-scale), and every wait is long enough to be told here."""
    pacer = Pacer(tmp_path / "budget.sqlite", window_scale=100, notice_after=0)
    pacer.configure([{**LIMITS[0], "remainingQuota": 1}])  # the reserve is all that is left: the first request waits
    with caplog.at_level("INFO", logger="centra_assets.centra"):
        assert pacer.acquire() > 0
    assert [r.getMessage() for r in caplog.records] == [
        "waiting about 0 s for Centra's rate budget (REQUEST_COUNT per TEN_SECONDS)"
    ]
