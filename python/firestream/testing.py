"""Run an app without a server: for unit tests (pytest) and notebooks.

``run_app(Wiener(), records)`` processes the records in order, in steps, with the runtime's
semantics: outputs, the final state per key, dead letters with their reasons, and timeouts
fired when ``advance`` moves the clock past them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ._engine import ERROR, UNCHANGED, Engine


@dataclass
class AppRun:
    """What a run produced."""

    outputs: List[Tuple[Optional[str], Any]] = field(default_factory=list)
    states: Dict[str, Any] = field(default_factory=dict)
    dead_letters: List[Tuple[Any, str]] = field(default_factory=list)
    timers: Dict[str, int] = field(default_factory=dict)


def run_app(app: Any, records: Iterable[Any], *, step: int = 500, start: int = 0, advance: int = 0, topic: int = 0) -> AppRun:
    """Feeds ``records`` (values as JSON-able objects or bytes; ``(timestamp, value)`` pairs set
    the timestamp, otherwise 1 ms apart from ``start``) to ``app`` in steps of ``step``, then
    moves the clock ``advance`` ms past the last record and fires the timeouts then due. Output
    values are decoded from JSON where they are JSON."""
    engine = Engine(app)
    run = AppRun()
    texts: Dict[str, Optional[str]] = {}
    batch: List[Tuple[int, Optional[bytes], Optional[bytes], int]] = []
    originals: List[Any] = []
    clock = start

    def flush(now: int) -> None:
        answers = engine.keys(batch)
        keys = {text for tag, text in answers if tag == 0}
        results = engine.process(now, {key: texts.get(key) for key in keys})
        for original, (tag, text), result in zip(originals, answers, results):
            if tag == 2:
                run.dead_letters.append((original, f"cannot decode: {text}"))
            elif result[0] == ERROR:
                run.dead_letters.append((original, result[1]))
            else:
                _apply(run, texts, text if tag == 0 else None, result, now)
        batch.clear()
        originals.clear()

    for index, item in enumerate(records):
        timestamp, value = item if isinstance(item, tuple) and len(item) == 2 else (start + index, item)
        clock = max(clock, timestamp)
        data = value if isinstance(value, bytes) else json.dumps(value).encode()
        batch.append((topic, None, data, timestamp))
        originals.append(value)
        if len(batch) >= step:
            flush(clock)
    if batch:
        flush(clock)
    now = clock + advance
    due = sorted((deadline, key) for key, deadline in run.timers.items() if deadline <= now)
    for (deadline, key), result in zip(due, engine.timeouts(now, [(key, texts.get(key)) for _, key in due])):
        if result[0] == ERROR:
            run.timers.pop(key, None)
            run.dead_letters.append(({"timeout": key}, result[1]))
        else:
            _apply(run, texts, key, result, now)
    return run


def _apply(run: AppRun, texts: Dict[str, Optional[str]], key: Optional[str], result: Any, now: int) -> None:
    _, flag, text, timeout, outputs, _value = result
    if key is not None:
        if flag != UNCHANGED:
            texts[key] = text
            if text is None:
                run.states.pop(key, None)
            else:
                run.states[key] = json.loads(text)
        if timeout is None:
            run.timers.pop(key, None)
        else:
            run.timers[key] = now + timeout
    for output_key, value in outputs:
        try:
            decoded: Any = json.loads(value)
        except ValueError:
            decoded = value
        run.outputs.append((output_key.decode() if output_key is not None else None, decoded))
