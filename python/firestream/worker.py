"""The process Firestream runs for a Python app: ``python -m firestream.worker FILE.py:Class``.

It speaks the framed protocol of ``firestream._engine`` on its standard input and output (what
the app prints goes to standard error), and ends at the end of its input. ``--describe`` prints
the app's topics as JSON and exits: what ``firestream validate`` and ``up`` check first.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import traceback
from typing import Any, List, Optional

from . import _engine
from ._app import App


class LoadError(Exception):
    """The app could not be loaded; the message says what to fix."""


def load(reference: str) -> App:
    """``path/to/file.py:ClassName`` (relative to the working directory) as an app instance."""
    path, separator, name = reference.rpartition(":")
    if not separator or not path or not name:
        raise LoadError(f"{reference!r} is not FILE.py:Class (for example apps/wiener.py:Wiener)")
    if not os.path.isfile(path):
        raise LoadError(f"{path}: no such file")
    directory = os.path.dirname(os.path.abspath(path))
    if directory not in sys.path:
        sys.path.insert(0, directory)
    module_name = "firestream_app_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise LoadError(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:  # noqa: BLE001
        raise LoadError(f"{path}: importing it failed:\n{traceback.format_exc()}") from None
    cls = getattr(module, name, None)
    if cls is None:
        names = sorted(n for n, v in vars(module).items() if isinstance(v, type) and issubclass(v, App) and v.__module__ == module_name)
        raise LoadError(f"{path} has no class {name}" + (f" (apps there: {', '.join(names)})" if names else ""))
    if not (isinstance(cls, type) and issubclass(cls, App)):
        raise LoadError(f"{path}:{name} is not a subclass of firestream.App")
    app = cls()
    inputs = list(app.inputs)
    if not inputs or not all(isinstance(topic, str) and topic for topic in inputs):
        raise LoadError(f"{path}:{name}: inputs must list at least one topic name")
    if not isinstance(app.output, str) or not app.output:
        raise LoadError(f"{path}:{name}: output must name a topic")
    return app


def describe(app: App) -> dict:
    return {
        "protocol": _engine.PROTOCOL_VERSION,
        "class": type(app).__name__,
        "inputs": list(app.inputs),
        "output": app.output,
        "timeouts": type(app).on_timeout is not App.on_timeout,
    }


def _read_exactly(fd: int, count: int) -> Optional[bytes]:
    chunks: List[bytes] = []
    remaining = count
    while remaining:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _write_frame(fd: int, kind: int, payload: bytes) -> None:
    data = _engine.HEADER.pack(len(payload) + 1, kind) + payload
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def serve(app: App, fd_in: int, fd_out: int) -> None:
    engine = _engine.Engine(app)
    _write_frame(fd_out, _engine.HELLO, json.dumps(describe(app)).encode())
    while True:
        header = _read_exactly(fd_in, 5)
        if header is None:
            return
        length, kind = _engine.HEADER.unpack(header)
        payload = memoryview(_read_exactly(fd_in, length - 1) or b"")
        if kind == _engine.KEYS:
            _write_frame(fd_out, _engine.KEYS_DONE, _engine.encode_keys(engine.keys(_engine.decode_records(payload))))
        elif kind == _engine.PROCESS:
            (now,) = _engine.I64.unpack_from(payload, 0)
            states, _ = _engine.decode_states(payload, 8)
            _write_frame(fd_out, _engine.PROCESS_DONE, _engine.encode_results(engine.process(now, dict(states))))
        elif kind == _engine.TIMEOUTS:
            (now,) = _engine.I64.unpack_from(payload, 0)
            due, _ = _engine.decode_states(payload, 8)
            _write_frame(fd_out, _engine.TIMEOUTS_DONE, _engine.encode_results(engine.timeouts(now, due)))
        else:
            _write_frame(fd_out, _engine.FAILED, f"unknown frame type {kind}".encode())
            return


def main(argv: Optional[List[str]] = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    describe_only = "--describe" in arguments
    arguments = [a for a in arguments if a != "--describe"]
    if len(arguments) != 1:
        print("usage: python -m firestream.worker [--describe] FILE.py:Class", file=sys.stderr)
        return 2
    # The protocol owns file descriptor 1; what the app prints goes to standard error.
    protocol_out = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        app = load(arguments[0])
    except LoadError as error:
        if describe_only:
            os.write(protocol_out, (json.dumps({"error": str(error)}) + "\n").encode())
        else:
            _write_frame(protocol_out, _engine.FAILED, str(error).encode())
        return 1
    if describe_only:
        os.write(protocol_out, (json.dumps(describe(app)) + "\n").encode())
        return 0
    serve(app, 0, protocol_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
