"""The engine's semantics (those of the Swift runtime) and the protocol's wire form."""

import json
import os
import struct
import subprocess
import sys
import textwrap

import pytest

from firestream import App, Filter, FlatMap, Map, Output, run_app
from firestream import _engine


class Counter(App):
    inputs = ["in"]
    output = "out"

    def key(self, record):
        return record.get("k")

    def process(self, record, state, ctx):
        count = state.get() or {"n": 0}
        count["n"] += 1  # changed in place
        if record.get("boom"):
            raise RuntimeError("boom")
        if record.get("reset"):
            state.clear()
            return None
        state.set(count)
        return [Output(record.get("k"), count["n"]), {"seen": count["n"]}]


def test_state_changes_of_a_failed_record_are_dropped_even_in_place():
    run = run_app(Counter(), [{"k": "a"}, {"k": "a", "boom": True}, {"k": "a"}])
    assert run.states == {"a": {"n": 2}}
    assert [value for _, value in run.outputs] == [1, {"seen": 1}, 2, {"seen": 2}]
    assert run.outputs[0][0] == "a" and run.outputs[1][0] is None
    assert "RuntimeError: boom" in run.dead_letters[0][1]


def test_flags_say_unchanged_set_or_cleared():
    engine = _engine.Engine(Counter())
    records = [(0, None, json.dumps(r).encode(), 5) for r in ({"k": "a"}, {"k": "a", "reset": True}, {"other": 1})]
    assert engine.keys(records) == [(0, "a"), (0, "a"), (1, "")]
    results = engine.process(7, {"a": '{"n":4}'})
    assert results[0][:3] == (0, _engine.SET, '{"n":5}')
    assert results[1][:3] == (0, _engine.CLEARED, None)
    # A keyless record keeps no state.
    assert results[2][0] == 0 and results[2][1] == _engine.UNCHANGED and len(results[2][4]) == 2


def test_stateless_helpers():
    class Upper(Map):
        inputs, output = ["in"], "out"

        def map(self, record):
            return record.upper()

    class Even(Filter):
        inputs, output = ["in"], "out"

        def keep(self, record):
            return record % 2 == 0

    class Twice(FlatMap):
        inputs, output = ["in"], "out"

        def flat_map(self, record):
            return [record, record]

    assert [v for _, v in run_app(Upper(), ["a", "b"]).outputs] == [b"A", b"B"]
    assert [v for _, v in run_app(Even(), [1, 2, 3, 4]).outputs] == [2, 4]
    assert [v for _, v in run_app(Twice(), [7]).outputs] == [7, 7]


def test_the_wire_form_round_trips():
    records = [(1, b"key", b'{"a":1}', 42), (0, None, None, -1)]
    payload = struct.pack(">I", 2)
    for topic, key, value, timestamp in records:
        payload += struct.pack(">Bqi", topic, timestamp, -1 if key is None else len(key)) + (key or b"")
        payload += struct.pack(">i", -1 if value is None else len(value)) + (value or b"")
    assert _engine.decode_records(memoryview(payload)) == records
    states = struct.pack(">I", 2) + struct.pack(">I", 1) + b"a" + struct.pack(">i", 2) + b"{}" + struct.pack(">I", 1) + b"b" + struct.pack(">i", -1)
    assert _engine.decode_states(memoryview(b"\0" * 8 + states), 8)[0] == [("a", "{}"), ("b", None)]
    encoded = _engine.encode_results([(0, _engine.SET, "{}", 30, [(b"k", b"v"), (None, b"w")], {}), (1, "trace")])
    assert encoded == (
        struct.pack(">I", 2) + b"\x00\x01" + struct.pack(">I", 2) + b"{}" + struct.pack(">qI", 30, 2)
        + struct.pack(">i", 1) + b"k" + struct.pack(">I", 1) + b"v" + struct.pack(">i", -1) + struct.pack(">I", 1) + b"w"
        + b"\x01" + struct.pack(">I", 5) + b"trace"
    )


def write_app(tmp_path, body):
    path = tmp_path / "app.py"
    path.write_text(textwrap.dedent(body))
    return path


def describe(tmp_path, reference):
    done = subprocess.run([sys.executable, "-m", "firestream.worker", "--describe", reference], cwd=tmp_path, capture_output=True, text=True)
    return done.returncode, json.loads(done.stdout)


def test_describe_names_the_app_or_says_what_is_wrong(tmp_path):
    write_app(tmp_path, """
        from firestream import App
        class Echo(App):
            inputs = ["in"]
            output = "out"
            def process(self, record, state, ctx):
                print("printed lines go to stderr")
                return record
    """)
    assert describe(tmp_path, "app.py:Echo") == (0, {"protocol": 1, "class": "Echo", "inputs": ["in"], "output": "out", "timeouts": False})
    code, answer = describe(tmp_path, "app.py:Missing")
    assert code == 1 and answer["error"] == "app.py has no class Missing (apps there: Echo)"
    code, answer = describe(tmp_path, "nowhere.py:Echo")
    assert answer["error"] == "nowhere.py: no such file"


def test_the_worker_speaks_the_protocol(tmp_path):
    write_app(tmp_path, """
        from firestream import App
        class Echo(App):
            inputs = ["in"]
            output = "out"
            def process(self, record, state, ctx):
                print("noise on stdout")
                return record
    """)
    worker = subprocess.Popen([sys.executable, "-m", "firestream.worker", "app.py:Echo"], cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def frame():
        length, kind = struct.unpack(">IB", worker.stdout.read(5))
        return kind, worker.stdout.read(length - 1)

    kind, hello = frame()
    assert kind == ord("H") and json.loads(hello)["class"] == "Echo"
    record = struct.pack(">I", 1) + struct.pack(">Bqi", 0, 9, -1) + struct.pack(">i", 2) + b"{}"
    worker.stdin.write(struct.pack(">IB", len(record) + 1, ord("K")) + record)
    worker.stdin.flush()
    assert frame() == (ord("k"), struct.pack(">I", 1) + b"\x01")
    process = struct.pack(">q", 100) + struct.pack(">I", 0)
    worker.stdin.write(struct.pack(">IB", len(process) + 1, ord("P")) + process)
    worker.stdin.flush()
    kind, results = frame()
    assert kind == ord("p") and results.endswith(struct.pack(">i", -1) + struct.pack(">I", 2) + b"{}")
    worker.stdin.close()
    assert worker.wait(timeout=10) == 0
    assert b"noise on stdout" in worker.stderr.read()


def test_the_context_names_the_input_topic():
    class Join(App):
        inputs = ["left", "right"]
        output = "out"

        def process(self, record, state, ctx):
            return {"from": ctx.topic, "at": ctx.timestamp}

    engine = _engine.Engine(Join())
    engine.keys([(1, None, b"{}", 5), (0, None, b"{}", 6)])
    outputs = [result[4][0][1] for result in engine.process(9, {})]
    assert outputs == [b'{"from":"right","at":5}', b'{"from":"left","at":6}']
