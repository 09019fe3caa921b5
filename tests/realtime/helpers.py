"""Drive the real sensors and refresh runs the way the Dagster daemon would, one tick at a time."""

from __future__ import annotations

import time

import dagster as dg

from centra_sim.testing.runs import run

from ..helpers import assets_of, definitions


def execute(settings, resource, instance, request: dg.RunRequest) -> bool:
    return run(assets_of(settings), request, resource, instance)


def tick(settings, resource, instance, cursor):
    sensor = definitions(settings).get_sensor_def("centra_webhook_sensor")
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"centra": resource})
    result = sensor(context)
    requests = result.run_requests if isinstance(result, dg.SensorResult) else []
    return requests, context.cursor


def wait_for_webhooks(centra) -> None:
    deadline = time.monotonic() + 60
    while not centra.admin("webhooks")["idle"] and time.monotonic() < deadline:
        time.sleep(0.05)
