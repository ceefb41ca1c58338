"""The example apps, run with firestream.testing: no server needed (python -m pytest)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "apps"))

from firestream import run_app  # noqa: E402
from sessions import Sessions  # noqa: E402
from wiener import Wiener  # noqa: E402


def reading(device, time, magnitude=1.0, direction=1):
    return {"device_id": device, "event_time": time, "magnitude": magnitude, "direction": direction}


def test_wiener_advances_by_the_square_root_of_the_time_step():
    run = run_app(Wiener(), [reading("a", 1000), reading("a", 2000, 2.0), reading("a", 6000, 1.0, 0)])
    assert [value for _, value in run.outputs] == [
        {"device_id": "a", "event_time": 2000, "measurement": 2.0, "increment": 2.0},
        {"device_id": "a", "event_time": 6000, "measurement": 0.0, "increment": -2.0},
    ]
    assert run.outputs[0][0] == "a"
    assert run.states["a"] == {"last": 6000, "position": 0.0}


def test_a_bad_reading_is_a_dead_letter_and_changes_nothing():
    run = run_app(Wiener(), [reading("a", 1000), reading("a", 1.5), b"not json {"])
    assert len(run.dead_letters) == 2
    assert "whole milliseconds" in run.dead_letters[0][1]
    assert run.dead_letters[1][1].startswith("cannot decode:")
    assert run.states["a"] == {"last": 1000, "position": 0.0}


def test_sessions_end_when_their_timeout_fires():
    clicks = [(0, {"user": "u", "page": "/"}), (10_000, {"user": "u", "page": "/cart"}), (5_000, {"user": "v", "page": "/"})]
    open_run = run_app(Sessions(), clicks, advance=10_000)
    assert open_run.outputs == []
    assert open_run.states["u"]["pages"] == ["/", "/cart"]
    closed = run_app(Sessions(), clicks, advance=31_000)
    assert sorted(value["user"] for _, value in closed.outputs) == ["u", "v"]
    assert closed.states == {}
