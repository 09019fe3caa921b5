"""The soak test's code location: the project's own Definitions (centra_assets/definitions.py, what `make dev`
loads), with the sweep ticking every SOAK_SWEEP_INTERVAL seconds (test_soak.py sets it) instead of policy's 15
minutes, so that a soak of a few minutes sees it tick several times. Everything else (sensor intervals, the
automation, pools, retries) is policy's own; the daily schedules' times come from CENTRA_EVENTS_CRON and
CENTRA_SNAPSHOT_CRON, which the soak sets.

The sweep sensor reads its interval when it is built (realtime/sweep.py), so it is set on that module before the
definitions are built; a check below fails loudly if the sensor did not take it (say, the constant moved)."""

import os

from centra_assets.defs.realtime import sweep

SWEEP_INTERVAL = int(os.environ["SOAK_SWEEP_INTERVAL"])  # seconds

sweep.SWEEP_INTERVAL = SWEEP_INTERVAL

from centra_assets.definitions import defs  # noqa: E402  (built after the interval is set)

if defs.get_sensor_def("centra_sweep_sensor").minimum_interval_seconds != SWEEP_INTERVAL:
    raise RuntimeError("the soak could not shorten the sweep's interval: see tests/soak/location.py")

__all__ = ["defs"]
