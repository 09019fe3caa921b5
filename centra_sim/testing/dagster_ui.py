"""Driving a running Dagster webserver (`dagster dev`) the way an operator's UI does, through its GraphQL API: what
the browser test, the soak test and the freshness bench share."""

from __future__ import annotations

import time

import httpx

LOCATION = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
START_SENSOR = """mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) {
  __typename ... on Sensor { sensorState { status } } ... on PythonError { message } } }"""


def graphql(url: str, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
    """The answer's data; its errors raised."""
    answer = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=timeout).json()
    if "errors" in answer:
        raise RuntimeError(answer["errors"])
    return answer["data"]


def until(condition, seconds: float, what: str, every: float = 1.0, passing: tuple = (httpx.TransportError,)):
    """The first truthy result of `condition`, asked every `every` s (its `passing` errors taken for "not yet"),
    or TimeoutError after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if result := condition():
                return result
        except passing:
            pass
        time.sleep(every)
    raise TimeoutError(f"timed out after {seconds:.0f} s waiting for {what}")


def loaded_location(url: str, seconds: float = 300) -> str:
    """The name of the webserver's one code location, once it has loaded."""
    (location,) = until(
        lambda: [
            e["name"]
            for e in graphql(url, LOCATION)["workspaceOrError"]["locationEntries"]
            if e["loadStatus"] == "LOADED"
        ],
        seconds,
        "Dagster's code location",
        every=2,
    )
    return location


def _loaded(entry: dict) -> bool:
    return entry["loadStatus"] == "LOADED"


def start_sensor(url: str, location: str, sensor: str) -> None:
    """Turn a sensor on, as an operator does in the UI."""
    selector = {"repositoryLocationName": location, "repositoryName": "__repository__", "sensorName": sensor}
    answer = graphql(url, START_SENSOR, {"s": selector})["startSensor"]
    if answer["__typename"] != "Sensor":
        raise RuntimeError(f"could not start {sensor}: {answer}")
