"""One app's steps, computed as the Firestream runtime will apply them, and the framed protocol
the runtime speaks with ``python -m firestream.worker`` (docs/python.md, "The protocol").

A step is two exchanges: the runtime sends the step's records and gets each one's key (decoding
happens here, once); then it sends those keys' states and gets, per record, the outputs, the new
state and the timeout, or the error that dead-letters it. Due timeouts are a third exchange.
"""

from __future__ import annotations

import struct
import traceback
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ._app import Context, Output, State

PROTOCOL_VERSION = 1

# Frame: u32 payload length (type byte included), u8 type, payload. Integers are big-endian.
HEADER = struct.Struct(">IB")
U8 = struct.Struct(">B")
U32 = struct.Struct(">I")
I32 = struct.Struct(">i")
I64 = struct.Struct(">q")
RECORD = struct.Struct(">Bqi")  # topic index, timestamp, key length (-1: none)

# Frame types: runtime → worker, and the worker's answers.
KEYS, KEYS_DONE = ord("K"), ord("k")
PROCESS, PROCESS_DONE = ord("P"), ord("p")
TIMEOUTS, TIMEOUTS_DONE = ord("T"), ord("t")
HELLO, FAILED = ord("H"), ord("E")

# Per-record tags.
HAS_KEY, NO_KEY, UNDECODABLE = 0, 1, 2
OK, ERROR = 0, 1
UNCHANGED, SET, CLEARED = 0, 1, 2

Record = Tuple[int, Optional[bytes], Optional[bytes], int]  # topic index, key, value, timestamp
Result = Tuple[Any, ...]


class Engine:
    """Computes steps for one app instance, with the runtime's semantics."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._decoded: List[Any] = []
        self._keys: List[Optional[str]] = []
        self._timestamps: List[int] = []
        self._topics: List[Optional[str]] = []
        self._failed: List[Optional[str]] = []

    # Exchange 1: decode each record once, and key it.
    def keys(self, records: Sequence[Record]) -> List[Tuple[int, str]]:
        app = self.app
        decode, key_of = app.decode, app.key
        self._decoded, self._keys, self._timestamps, self._topics, self._failed = [], [], [], [], []
        names = list(app.inputs)
        answers: List[Tuple[int, str]] = []
        for topic, _key, value, timestamp in records:
            self._timestamps.append(timestamp)
            self._topics.append(names[topic] if topic < len(names) else None)
            try:
                record = decode(value if value is not None else b"")
            except Exception as error:  # noqa: BLE001 - any failure dead-letters the record
                self._fail(f"{type(error).__name__}: {error}")
                answers.append((UNDECODABLE, f"{type(error).__name__}: {error}"))
                continue
            try:
                key = key_of(record)
                if key is not None and not isinstance(key, str):
                    if isinstance(key, int) and not isinstance(key, bool):
                        key = str(key)
                    else:
                        raise TypeError(f"key() must return a str or None, not {type(key).__name__}")
            except Exception:  # noqa: BLE001
                message = "key() failed:\n" + traceback.format_exc()
                self._fail(message)
                answers.append((UNDECODABLE, message))
                continue
            self._decoded.append(record)
            self._keys.append(key)
            self._failed.append(None)
            answers.append((NO_KEY, "") if key is None else (HAS_KEY, key))
        return answers

    def _fail(self, message: str) -> None:
        self._decoded.append(None)
        self._keys.append(None)
        self._failed.append(message)

    # Exchange 2: process the records in order, given the keys' states as the step starts.
    def process(self, now: int, states: Dict[str, Optional[str]]) -> List[Result]:
        app = self.app
        process, load, state_type = app.process, app._load_state, app.state_type
        texts: Dict[str, Optional[str]] = dict(states)
        values: Dict[str, Any] = {}
        results: List[Result] = []
        append = results.append
        for record, key, timestamp, topic, failed in zip(self._decoded, self._keys, self._timestamps, self._topics, self._failed):
            if failed is not None:
                append((ERROR, failed))  # never read: the runtime dead-letters it at decoding
                continue
            ctx = Context(now, timestamp, topic)
            if key is None:
                append(self._run(process, (record, State(None, state_type), ctx), ctx, None, None, None))
                continue
            text = texts.get(key)
            if key in values:
                value = values[key]
            else:
                value = values[key] = load(text) if text is not None else None
            state = State(value, state_type)
            try:
                returned = process(record, state, ctx)
            except Exception:  # noqa: BLE001 - any failure dead-letters the record
                returned, result = None, (ERROR, traceback.format_exc())
            else:
                result = self._finish(returned, ctx, key, text, state)
            self._remember(result, key, text, texts, values)
            append(result)
        return results

    # Exchange 3: the timeouts due in the step, with their keys' states after its records.
    def timeouts(self, now: int, due: Sequence[Tuple[str, Optional[str]]]) -> List[Result]:
        app = self.app
        results: List[Result] = []
        texts: Dict[str, Optional[str]] = {}
        values: Dict[str, Any] = {}
        for key, text in due:
            texts[key] = text
            values[key] = app._load_state(text) if text is not None else None
            ctx = Context(now, now)
            state = State(values[key], app.state_type)
            result = self._run(lambda k, s, c: app.on_timeout(k, s, c), (key, state, ctx), ctx, key, text, state)
            self._remember(result, key, text, texts, values)
            results.append(result)
        return results

    def _run(self, function: Any, arguments: Tuple[Any, ...], ctx: Any, key: Optional[str], text: Optional[str], state: Any) -> Result:
        try:
            returned = function(*arguments)
        except Exception:  # noqa: BLE001
            return (ERROR, traceback.format_exc())
        return self._finish(returned, ctx, key, text, state)

    def _finish(self, returned: Any, ctx: Any, key: Optional[str], text: Optional[str], state: Any) -> Result:
        """A call's outputs encoded and its new state written, or why they cannot be."""
        try:
            outputs = self._outputs(returned)
        except Exception as error:  # noqa: BLE001
            return (ERROR, f"cannot encode an output: {type(error).__name__}: {error}")
        if key is None:
            return (OK, UNCHANGED, None, ctx._timeout, outputs, None)
        value = state._value
        try:
            new_text = self.app._dump_state(value) if value is not None else None
        except Exception as error:  # noqa: BLE001
            return (ERROR, f"cannot encode the new state of key {key!r}: {type(error).__name__}: {error}")
        flag = UNCHANGED if new_text == text else (CLEARED if new_text is None else SET)
        return (OK, flag, new_text, ctx._timeout, outputs, value)

    def _remember(self, result: Result, key: str, text: Optional[str], texts: Dict[str, Optional[str]], values: Dict[str, Any]) -> None:
        if result[0] == OK:
            if result[1] != UNCHANGED:
                texts[key] = result[2]
            values[key] = result[5]
        else:
            # A failed record's changes are dropped, even those made to the object in place.
            values[key] = self.app._load_state(text) if text is not None else None

    def _outputs(self, returned: Any) -> List[Tuple[Optional[bytes], bytes]]:
        if returned is None:
            return []
        app = self.app
        if type(returned) is Output:
            key = returned.key
            return [(key.encode() if isinstance(key, str) else key, app.encode(returned.value))]
        items = returned if isinstance(returned, (list, tuple)) else [returned]
        encoded: List[Tuple[Optional[bytes], bytes]] = []
        for item in items:
            if isinstance(item, Output):
                key, value = item.key, item.value
            else:
                key, value = app.output_key(item), item
            encoded.append((key.encode() if isinstance(key, str) else key, app.encode(value)))
        return encoded


# The wire form of the exchanges.


def decode_records(payload: memoryview) -> List[Record]:
    (count,) = U32.unpack_from(payload, 0)
    position = 4
    records: List[Record] = []
    unpack_record, unpack_i32 = RECORD.unpack_from, I32.unpack_from
    for _ in range(count):
        topic, timestamp, key_length = unpack_record(payload, position)
        position += 13
        key = None
        if key_length >= 0:
            key = bytes(payload[position : position + key_length])
            position += key_length
        (value_length,) = unpack_i32(payload, position)
        position += 4
        value = None
        if value_length >= 0:
            value = bytes(payload[position : position + value_length])
            position += value_length
        records.append((topic, key, value, timestamp))
    return records


def encode_keys(answers: List[Tuple[int, str]]) -> bytes:
    parts = [U32.pack(len(answers))]
    for tag, text in answers:
        if tag == NO_KEY:
            parts.append(b"\x01")
        else:
            data = text.encode()
            parts.append(U8.pack(tag) + U32.pack(len(data)) + data)
    return b"".join(parts)


def decode_states(payload: memoryview, position: int) -> Tuple[List[Tuple[str, Optional[str]]], int]:
    (count,) = U32.unpack_from(payload, position)
    position += 4
    states: List[Tuple[str, Optional[str]]] = []
    for _ in range(count):
        (key_length,) = U32.unpack_from(payload, position)
        position += 4
        key = bytes(payload[position : position + key_length]).decode()
        position += key_length
        (text_length,) = I32.unpack_from(payload, position)
        position += 4
        text = None
        if text_length >= 0:
            text = bytes(payload[position : position + text_length]).decode()
            position += text_length
        states.append((key, text))
    return states, position


TAIL = struct.Struct(">qI")  # timeout (-1: none), output count
NO_KEY_VALUE = struct.Struct(">iI")  # -1 (no key), value length


def encode_results(results: List[Result]) -> bytes:
    parts = [U32.pack(len(results))]
    append = parts.append
    pack_u32, pack_i32, pack_tail, pack_unkeyed = U32.pack, I32.pack, TAIL.pack, NO_KEY_VALUE.pack
    for result in results:
        if result[0] == ERROR:
            data = result[1].encode()
            append(b"\x01" + pack_u32(len(data)) + data)
            continue
        _, flag, text, timeout, outputs, _value = result
        tail = pack_tail(-1 if timeout is None else timeout, len(outputs))
        if flag == SET:
            data = text.encode()
            append(b"\x00\x01" + pack_u32(len(data)) + data + tail)
        else:
            append((b"\x00\x02" if flag == CLEARED else b"\x00\x00") + tail)
        for key, value in outputs:
            if key is None:
                append(pack_unkeyed(-1, len(value)) + value)
            else:
                append(pack_i32(len(key)) + key + pack_u32(len(value)) + value)
    return b"".join(parts)
