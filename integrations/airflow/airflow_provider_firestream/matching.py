"""Conditions on records, and the progress of a wait for new ones (shared by the sensor and its trigger).

A condition is a dict: each key is a JSON pointer into the record's value (``/device_id``; a
plain name means the top-level member), each value either the value expected, or a dict of
operators: ``{"gt": 1.5}``, ``{"in": ["a", "b"]}``, ``{"exists": true}``. Every entry must hold.
"""

from __future__ import annotations

from typing import Any, Mapping

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "exists")
_MISSING = object()


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        return [pointer]
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]


def resolve(value: Any, pointer: str) -> Any:
    """The member of ``value`` at ``pointer``, or ``_MISSING``."""
    for token in _tokens(pointer):
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            return _MISSING
    return value


def check_condition(condition: Mapping[str, Any] | None) -> None:
    """Raises ValueError naming the entry when ``condition`` is not one this module can evaluate."""
    if condition is None:
        return
    if not isinstance(condition, Mapping) or not condition:
        raise ValueError("match must be a non-empty dict of JSON pointer → expected value, e.g. {'/device_id': 'device-1'}")
    for pointer, expected in condition.items():
        if not isinstance(pointer, str):
            raise ValueError(f"match: key {pointer!r} must be a JSON pointer string")
        if isinstance(expected, Mapping) and expected and all(isinstance(k, str) and k in OPERATORS for k in expected):
            if "in" in expected and not isinstance(expected["in"], (list, tuple)):
                raise ValueError(f"match[{pointer!r}]: 'in' needs a list")
        elif isinstance(expected, Mapping) and any(k in OPERATORS for k in expected):
            unknown = sorted(k for k in expected if k not in OPERATORS)
            raise ValueError(f"match[{pointer!r}]: unknown operator(s) {unknown}; use {', '.join(OPERATORS)}")


def _holds(actual: Any, expected: Any) -> bool:
    if isinstance(expected, Mapping) and expected and all(k in OPERATORS for k in expected):
        for operator, operand in expected.items():
            if operator == "exists":
                if (actual is not _MISSING) != bool(operand):
                    return False
                continue
            if actual is _MISSING:
                return False
            try:
                ok = {
                    "eq": lambda: actual == operand,
                    "ne": lambda: actual != operand,
                    "gt": lambda: actual > operand,
                    "gte": lambda: actual >= operand,
                    "lt": lambda: actual < operand,
                    "lte": lambda: actual <= operand,
                    "in": lambda: actual in operand,
                }[operator]()
            except TypeError:  # "a" > 1: a record of another shape does not match
                ok = False
            if not ok:
                return False
        return True
    return actual is not _MISSING and actual == expected


def matches(record: Mapping[str, Any], condition: Mapping[str, Any] | None) -> bool:
    """Whether the record (as Firestream's API returns it) satisfies ``condition``; None matches all."""
    if condition is None:
        return True
    value = record.get("value")
    return all(_holds(resolve(value, pointer), expected) for pointer, expected in condition.items())


class Progress:
    """How far a wait has got: per partition, where it started and how far it has looked, the
    records counted (matching ones, when there is a condition) and the first few of them."""

    def __init__(self, start: Mapping[str, int], min_records: int, condition: Mapping[str, Any] | None, keep: int = 10) -> None:
        if min_records < 1:
            raise ValueError("min_records must be 1 or more")
        check_condition(condition)
        self.start = {str(k): int(v) for k, v in start.items()}
        self.scanned = dict(self.start)
        self.min_records = min_records
        self.condition = condition
        self.keep = keep
        self.count = 0
        self.kept: list[dict[str, Any]] = []

    @property
    def done(self) -> bool:
        return self.count >= self.min_records

    def count_without_reading(self, ends: Mapping[str, int]) -> None:
        """Without a condition every new record counts: the offsets say how many there are."""
        assert self.condition is None
        self.count = sum(max(0, int(end) - self.start.get(p, 0)) for p, end in ends.items())
        self.scanned = {p: max(int(end), self.start.get(p, 0)) for p, end in ends.items()}

    def absorb(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            partition = str(record["partition"])
            if record["offset"] < self.scanned.get(partition, 0):
                continue  # already looked at
            self.scanned[partition] = record["offset"] + 1
            if matches(record, self.condition):
                self.count += 1
                if len(self.kept) < self.keep:
                    self.kept.append(record)

    def result(self) -> dict[str, Any]:
        """What the sensor returns (its XCom): the count, the first records found, and offsets."""
        return {"records": self.count, "first": self.kept, "start": self.start, "next": self.scanned}
