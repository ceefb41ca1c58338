"""The app model: App and its stateless helpers, the per-record State and Context."""

from __future__ import annotations

import dataclasses
import json
import json.scanner
from typing import Any, ClassVar, Iterable, List, Optional, Sequence, Union


def _compact_encoder() -> Any:
    """Compact JSON text of a value (no NaN), with the C encoder built once: ``json.dumps``
    builds one per call, which costs more than encoding a small record."""
    try:
        from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - interpreters without the C accelerator
        c_make_encoder = None
    fallback = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    if c_make_encoder is None:
        return fallback.encode

    def default(value: Any) -> Any:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    chunks = c_make_encoder(None, default, encode_basestring, None, ":", ",", False, False, False)

    def encode(value: Any) -> str:
        if isinstance(value, str):
            return encode_basestring(value)
        return "".join(chunks(value, 0))

    return encode


_OUTPUT_JSON = _compact_encoder()
_STATE_JSON = _OUTPUT_JSON
_LOAD_JSON = json.JSONDecoder().decode
_SCAN_JSON = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[attr-defined]


def _load(text: str) -> Any:
    """``json.loads`` without its wrapper's checks when the text starts with a value."""
    try:
        value, end = _SCAN_JSON(text, 0)
    except StopIteration:
        return _LOAD_JSON(text)  # leading space, or not JSON: the full decoder says why
    if end != len(text) and text[end:].strip():
        return _LOAD_JSON(text)  # extra data: the full decoder says where
    return value


class Output:
    """An output with a record key (which chooses its partition): ``return Output(key, value)``."""

    __slots__ = ("key", "value")

    def __init__(self, key: Optional[str], value: Any) -> None:
        self.key = key
        self.value = value

    def __repr__(self) -> str:
        return f"Output({self.key!r}, {self.value!r})"


class Context:
    """What the runtime tells ``process``: the step's wall-clock time, the record's timestamp
    (milliseconds) and input topic (None in ``on_timeout``), and the key's timeout."""

    __slots__ = ("now", "timestamp", "topic", "_timeout")

    def __init__(self, now: int, timestamp: int, topic: Optional[str] = None) -> None:
        self.now = now
        self.timestamp = timestamp
        self.topic = topic
        self._timeout: Optional[int] = None

    def set_timeout(self, milliseconds: int) -> None:
        """Call ``on_timeout`` for this key after ``milliseconds`` of wall-clock time unless a
        new record for it arrives first. Each call replaces the previous timeout; a record
        processed without setting one clears it."""
        if not isinstance(milliseconds, int) or isinstance(milliseconds, bool):
            raise TypeError(f"set_timeout takes whole milliseconds, not {type(milliseconds).__name__}")
        self._timeout = max(0, milliseconds)

    def clear_timeout(self) -> None:
        self._timeout = None


class State:
    """One key's state: ``get()`` it (None when the key has none), ``set()`` a new value, or
    ``clear()`` it. A value is anything ``json`` can write, or an instance of the app's
    ``state_type`` dataclass. Changing the object ``get()`` returned also changes the state."""

    __slots__ = ("_value", "_type")

    def __init__(self, value: Any, state_type: Optional[type] = None) -> None:
        self._value = value
        self._type = state_type

    def get(self) -> Any:
        return self._value

    def set(self, value: Any) -> None:
        if self._type is not None and value is not None and not isinstance(value, self._type):
            raise TypeError(f"state must be a {self._type.__name__}, not {type(value).__name__}")
        self._value = value

    def clear(self) -> None:
        self._value = None


class App:
    """Subclass and set ``inputs`` and ``output``; define ``key`` and ``process``.

    ``process(record, state, ctx)`` returns the outputs of one record: None, one value, or a list
    (an :class:`Output` carries a record key). Raising sends the record to the dead-letter topic
    with the traceback, and its state change is dropped. ``on_timeout(key, state, ctx)`` runs
    when a timeout set with ``ctx.set_timeout`` expires with no new record for the key.
    """

    #: Topics to read (with more than one, they must have the same number of partitions).
    inputs: ClassVar[Sequence[str]] = ()
    #: The topic outputs are written to.
    output: ClassVar[str] = ""
    #: A dataclass the state is kept as (default: any JSON value).
    state_type: ClassVar[Optional[type]] = None

    def decode(self, value: bytes) -> Any:
        """A record's value as the app sees it (default: JSON, UTF-8)."""
        return _load(value.decode())

    def encode(self, output: Any) -> bytes:
        """An output's bytes (default: compact JSON; bytes and str as they are)."""
        if isinstance(output, bytes):
            return output
        if isinstance(output, str):
            return output.encode()
        return _OUTPUT_JSON(output).encode()

    def key(self, record: Any) -> Optional[str]:
        """The state key of a record; None for records that need no state."""
        return None

    def output_key(self, output: Any) -> Optional[str]:
        """The record key written with an output (default: none)."""
        return None

    def process(self, record: Any, state: State, ctx: Context) -> Union[None, Any, List[Any]]:
        raise NotImplementedError(f"{type(self).__name__} must define process(self, record, state, ctx)")

    def on_timeout(self, key: str, state: State, ctx: Context) -> Union[None, Any, List[Any]]:
        return None

    # State as stored: JSON text, through the dataclass when there is one.
    def _load_state(self, text: str) -> Any:
        value = _LOAD_JSON(text)
        if self.state_type is not None and dataclasses.is_dataclass(self.state_type) and isinstance(value, dict):
            return self.state_type(**value)
        return value

    def _dump_state(self, value: Any) -> str:
        if self.state_type is not None and dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = dataclasses.asdict(value)
        return _STATE_JSON(value)


class Map(App):
    """A stateless app: ``map(record)`` returns one output per record (None for none)."""

    def map(self, record: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define map(self, record)")

    def process(self, record: Any, state: State, ctx: Context) -> Any:
        return self.map(record)


class Filter(App):
    """A stateless app: records for which ``keep(record)`` is true are written unchanged."""

    def keep(self, record: Any) -> bool:
        raise NotImplementedError(f"{type(self).__name__} must define keep(self, record)")

    def process(self, record: Any, state: State, ctx: Context) -> Any:
        return record if self.keep(record) else None


class FlatMap(App):
    """A stateless app: ``flat_map(record)`` returns any number of outputs."""

    def flat_map(self, record: Any) -> Iterable[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define flat_map(self, record)")

    def process(self, record: Any, state: State, ctx: Context) -> List[Any]:
        return list(self.flat_map(record))
