"""The demo's Wiener app in Python: per device, the previous reading's time and a running
position; each reading after the first advances the position by
``dW = (+1 if direction == 1 else -1) * magnitude * sqrt(dt)``, ``dt`` in seconds, and emits
``{device_id, event_time, measurement, increment}`` keyed by device. Its outputs are byte for
byte those of the Swift ``WienerApp``."""

import math

from firestream import App, Output


class BadReading(ValueError):
    pass


class Wiener(App):
    inputs = ["metronome"]
    output = "wiener"

    def key(self, reading):
        return reading["device_id"]

    def process(self, reading, state, ctx):
        check(reading)
        previous = state.get()
        if previous is None:
            state.set({"last": reading["event_time"], "position": 0.0})
            return None
        dt = max(0, reading["event_time"] - previous["last"]) / 1000
        increment = (1.0 if reading["direction"] == 1 else -1.0) * reading["magnitude"] * math.sqrt(dt)
        position = previous["position"] + increment
        state.set({"last": max(previous["last"], reading["event_time"]), "position": position})
        # Insertion order and "+ 0.0" (no negative zero) write the Swift app's exact bytes.
        point = {"device_id": reading["device_id"], "event_time": reading["event_time"], "measurement": position + 0.0, "increment": increment + 0.0}
        return Output(reading["device_id"], point)


def check(reading):
    if not isinstance(reading.get("device_id"), str):
        raise BadReading('missing string "device_id"')
    time = reading.get("event_time")
    if isinstance(time, bool) or not isinstance(time, (int, float)) or time != int(time) or abs(time) > 2**53:
        raise BadReading('"event_time" must be whole milliseconds within ±2^53')
    reading["event_time"] = int(time)
    magnitude = reading.get("magnitude")
    if isinstance(magnitude, bool) or not isinstance(magnitude, (int, float)) or not 0 <= magnitude <= 1e6:
        raise BadReading('"magnitude" must be between 0 and 1e6')
    if reading.get("direction") not in (0, 1):
        raise BadReading('"direction" must be 0 or 1')
