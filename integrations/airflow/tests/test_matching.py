"""Conditions on records and the progress of a wait."""

from __future__ import annotations

import pytest

from airflow_provider_firestream.matching import Progress, check_condition, matches


def record(value, partition=0, offset=0):
    return {"topic": "t", "partition": partition, "offset": offset, "key": None, "timestamp": 0, "value": value}


def test_equality_by_name_or_pointer():
    value = {"device_id": "device-1", "reading": {"celsius": 21.5}, "tags": ["a", "b"]}
    assert matches(record(value), {"device_id": "device-1"})
    assert matches(record(value), {"/reading/celsius": 21.5, "/tags/1": "b"})
    assert not matches(record(value), {"device_id": "device-2"})
    assert not matches(record(value), {"/missing": None})


def test_operators():
    value = {"measurement": 3.5, "kind": "late"}
    assert matches(record(value), {"/measurement": {"gt": 3, "lte": 3.5}})
    assert not matches(record(value), {"/measurement": {"lt": 3}})
    assert matches(record(value), {"kind": {"in": ["late", "early"]}, "/x": {"exists": False}})
    assert not matches(record(value), {"kind": {"gt": 1}})  # another type: no match, no error
    assert not matches(record("not an object"), {"kind": "late"})


def test_bad_conditions_are_named():
    with pytest.raises(ValueError, match="unknown operator"):
        check_condition({"/a": {"gt": 1, "bigger": 2}})
    with pytest.raises(ValueError, match="'in' needs a list"):
        check_condition({"/a": {"in": 3}})
    with pytest.raises(ValueError, match="non-empty dict"):
        check_condition({})


def test_progress_counts_from_offsets_without_a_condition():
    progress = Progress({"0": 10, "1": 4}, min_records=5, condition=None)
    progress.count_without_reading({"0": 12, "1": 6})
    assert (progress.count, progress.done) == (4, False)
    progress.count_without_reading({"0": 13, "1": 6})
    assert progress.done
    assert progress.result()["next"] == {"0": 13, "1": 6}


def test_progress_counts_matching_records_once():
    progress = Progress({"0": 0}, min_records=2, condition={"kind": "late"})
    progress.absorb([record({"kind": "late"}, offset=0), record({"kind": "early"}, offset=1)])
    progress.absorb([record({"kind": "late"}, offset=0)])  # seen before: not counted again
    assert (progress.count, progress.done) == (1, False)
    progress.absorb([record({"kind": "late"}, offset=2)])
    assert progress.done
    assert [r["offset"] for r in progress.result()["first"]] == [0, 2]
