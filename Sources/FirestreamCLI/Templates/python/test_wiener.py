"""Unit tests of the Wiener app, with no server: python -m pytest tests"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "apps"))

from firestream import run_app  # noqa: E402
from wiener import Wiener  # noqa: E402


def reading(device, time, magnitude=1.0, direction=1):
    return {"device_id": device, "event_time": time, "magnitude": magnitude, "direction": direction}


def test_the_position_moves_by_the_square_root_of_the_time_step():
    run = run_app(Wiener(), [reading("a", 1000), reading("a", 5000, 0.5, 0)])
    assert run.outputs == [("a", {"device_id": "a", "event_time": 5000, "measurement": -1.0, "increment": -1.0})]
    assert run.states == {"a": {"last": 5000, "position": -1.0}}


def test_a_reading_without_a_time_is_a_dead_letter():
    run = run_app(Wiener(), [{"device_id": "a", "magnitude": 1.0, "direction": 1}])
    assert run.outputs == []
    assert "event_time" in run.dead_letters[0][1]
