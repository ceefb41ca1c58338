"""The triggers against a simulated Firestream topic (httpx's mock transport)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from airflow_provider_firestream.client import AsyncFirestreamClient
from airflow_provider_firestream.hooks.firestream import FirestreamHook
from airflow_provider_firestream.triggers.records import FirestreamNewRecordsTrigger
from airflow_provider_firestream.triggers.topic import FirestreamTopicTrigger


class Topic:
    """One partition; serves GET /topics/t and GET /topics/t/records as Firestream does."""

    def __init__(self, values=()):
        self.values = list(values)
        self.requests = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if request.url.path == "/topics/t":
            return httpx.Response(200, json={"name": "t", "records": len(self.values), "partitions": [{"partition": 0, "start": 0, "end": len(self.values), "lastTimestamp": None}]})
        if request.url.path == "/topics/t/records":
            start = int(request.url.params["from"])
            limit = int(request.url.params["limit"])
            chosen = list(enumerate(self.values))[start : start + limit]
            records = [{"topic": "t", "partition": 0, "offset": o, "key": None, "timestamp": 0, "value": v} for o, v in chosen]
            return httpx.Response(200, json={"records": records, "next": start + len(records), "end": len(self.values)})
        return httpx.Response(404, json={"error": f"no route {request.url.path}"})


class StateStore:
    """Stands in for Airflow's asset state store accessor."""

    def __init__(self):
        self.values = {}
        self.writes = []

    async def aget(self, key, default=None):
        return self.values.get(key, default)

    async def aset(self, key, value):
        self.values[key] = value
        self.writes.append(value)


@pytest.fixture
def topic(monkeypatch):
    served = Topic()

    async def aget_client(self):
        return AsyncFirestreamClient("http://firestream.test", backoff=0, transport=httpx.MockTransport(served.handler))

    monkeypatch.setattr(FirestreamHook, "aget_client", aget_client)
    return served


async def first_event(trigger, within=2.0):
    async def take():
        async for event in trigger.run():
            return event.payload

    return await asyncio.wait_for(take(), within)


def test_new_records_fire_once_per_batch_and_the_cursor_moves_first(topic):
    state = StateStore()

    def watcher():
        trigger = FirestreamNewRecordsTrigger(topic="t", poll_interval=0.01, max_records=2)
        trigger.asset_state_store = state
        return trigger

    async def scenario():
        topic.values = [{"n": 0}]  # stored before the watcher: not new
        waiting = asyncio.ensure_future(first_event(watcher()))
        await asyncio.sleep(0.1)
        assert not waiting.done() and state.values["firestream_cursor"] == {"0": 1}
        topic.values += [{"n": 1}, {"n": 2}, {"n": 3}]
        first = await waiting
        assert (first["count"], first["from"], first["next"]) == (3, {"0": 1}, {"0": 4})
        assert [r["value"]["n"] for r in first["records"]] == [1, 2]  # max_records
        assert state.values["firestream_cursor"] == {"0": 4}
        # The triggerer starts the trigger anew after each event: the same records do not fire again.
        with pytest.raises(asyncio.TimeoutError):
            await first_event(watcher(), within=0.3)
        topic.values.append({"n": 4})
        second = await first_event(watcher())
        assert (second["count"], second["from"], second["next"]) == (1, {"0": 4}, {"0": 5})

    asyncio.run(scenario())


def test_start_earliest_fires_for_what_is_stored(topic):
    topic.values = [{"n": 0}, {"n": 1}]
    trigger = FirestreamNewRecordsTrigger(topic="t", start="earliest", poll_interval=0.01)
    trigger.asset_state_store = StateStore()
    event = asyncio.run(first_event(trigger))
    assert (event["count"], event["from"], event["next"]) == (2, {"0": 0}, {"0": 2})


def test_the_sensor_trigger_waits_for_matching_records(topic):
    trigger = FirestreamTopicTrigger(topic="t", start={"0": 0}, min_records=2, match={"kind": "late"}, poll_interval=0.01)

    async def scenario():
        topic.values = [{"kind": "early"}, {"kind": "late"}]
        waiting = asyncio.ensure_future(first_event(trigger))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        topic.values += [{"kind": "early"}, {"kind": "late"}]
        event = await waiting
        assert event["status"] == "success"
        assert event["result"]["records"] == 2
        assert [r["offset"] for r in event["result"]["first"]] == [1, 3]

    asyncio.run(scenario())


def test_the_sensor_trigger_ends_with_an_error_for_an_unknown_topic(monkeypatch):
    async def aget_client(self):
        return AsyncFirestreamClient(
            "http://firestream.test", backoff=0, transport=httpx.MockTransport(lambda r: httpx.Response(404, json={"error": 'unknown topic "nope"'}))
        )

    monkeypatch.setattr(FirestreamHook, "aget_client", aget_client)
    event = asyncio.run(first_event(FirestreamTopicTrigger(topic="nope", start={"0": 0}, poll_interval=0.01)))
    assert event["status"] == "error" and 'unknown topic "nope"' in event["message"]


def test_triggers_serialize_to_what_rebuilds_them():
    trigger = FirestreamNewRecordsTrigger(topic="wiener", start="earliest", group="watchers")
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_firestream.triggers.records.FirestreamNewRecordsTrigger"
    assert FirestreamNewRecordsTrigger(**kwargs).serialize() == (path, kwargs)
    with pytest.raises(ValueError, match="start must be 'end' or 'earliest'"):
        FirestreamNewRecordsTrigger(topic="t", start="latest")
