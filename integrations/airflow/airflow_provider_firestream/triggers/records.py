"""FirestreamNewRecordsTrigger: event-driven scheduling on a topic, one DAG run per batch of new records."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_provider_firestream.client import AsyncFirestreamClient, FirestreamError
from airflow_provider_firestream.hooks.firestream import FirestreamHook


class FirestreamNewRecordsTrigger(BaseEventTrigger):
    """For ``AssetWatcher``: fires once for each batch of records that arrived in ``topic`` since
    the last event, so each batch starts exactly one DAG run.

    The cursor (partition → next offset) is kept in the watched asset's state store (Airflow 3.3,
    AIP-103) and moved *before* the event is handed over: the triggerer restarts an event trigger
    after each event, and a trigger without a stored cursor would fire again for the same records.
    A triggerer that dies between the two loses that one event (at most once); a new watcher starts
    at the topic's end (``start="end"``) or at its beginning (``start="earliest"``).

    With ``group``, the cursor is a Firestream group's committed offsets instead, shared by every
    watcher that names the group (``firestream groups`` lists it).

    The event carries ``topic``, ``count``, ``from`` and ``next`` offsets and the first
    ``max_records`` records; a DAG reads the rest with ``FirestreamHook.read(topic, from, next)``.
    """

    CURSOR_KEY = "firestream_cursor"

    def __init__(
        self,
        topic: str,
        firestream_conn_id: str = FirestreamHook.default_conn_name,
        start: str = "end",
        poll_interval: float = 5.0,
        max_records: int = 100,
        group: str | None = None,
    ) -> None:
        super().__init__()
        if start not in ("end", "earliest"):
            raise ValueError(f"start must be 'end' or 'earliest', not {start!r}")
        if max_records < 0 or max_records > 10_000:
            raise ValueError("max_records must be between 0 and 10000")
        self.topic = topic
        self.firestream_conn_id = firestream_conn_id
        self.start = start
        self.poll_interval = poll_interval
        self.max_records = max_records
        self.group = group
        self._memory: dict[str, int] | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "airflow_provider_firestream.triggers.records.FirestreamNewRecordsTrigger",
            {
                "topic": self.topic,
                "firestream_conn_id": self.firestream_conn_id,
                "start": self.start,
                "poll_interval": self.poll_interval,
                "max_records": self.max_records,
                "group": self.group,
            },
        )

    # The cursor: in the asset's state store when the triggerer gives one, else in memory.

    def _state(self) -> Any:
        """The watched asset's state store (its ``aget``/``aset`` act on the one watched asset)."""
        return getattr(self, "asset_state_store", None)

    async def _load(self) -> dict[str, int] | None:
        state = self._state()
        if state is None:
            return self._memory
        stored = await state.aget(self.CURSOR_KEY)
        return {str(k): int(v) for k, v in stored.items()} if isinstance(stored, dict) else None

    async def _save(self, cursor: dict[str, int]) -> None:
        state = self._state()
        if state is None:
            self._memory = dict(cursor)
        else:
            await state.aset(self.CURSOR_KEY, cursor)

    async def _batch_from_cursor(self, client: AsyncFirestreamClient) -> dict[str, Any] | None:
        ends = await client.end_offsets(self.topic)
        cursor = await self._load()
        if cursor is None:
            if self._state() is None:
                self.log.warning("no asset state store (Airflow older than 3.3?): the cursor lives in memory only")
            if self.start == "earliest":
                described = await client.topic(self.topic)
                cursor = {str(p["partition"]): p["start"] for p in described["partitions"]}
            else:
                cursor = dict(ends)
            await self._save(cursor)
            self.log.info("%s: watching from %s", self.topic, cursor)
        count = sum(max(0, end - cursor.get(p, 0)) for p, end in ends.items())
        if count == 0:
            return None
        records = await client.read(self.topic, cursor, ends, limit=self.max_records) if self.max_records else []
        # Moved before the event is handed over (see the class's notes).
        await self._save(dict(ends))
        return {"topic": self.topic, "count": count, "from": cursor, "next": ends, "records": records}

    async def _batch_from_group(self, client: AsyncFirestreamClient) -> dict[str, Any] | None:
        assert self.group is not None
        position = await client.group_position(self.group, self.topic)
        ends = {str(p["partition"]): p["end"] for p in position["partitions"]}
        committed = {str(p["partition"]): p["committed"] for p in position["partitions"]}
        if all(offset is None for offset in committed.values()) and self.start == "end":
            # A new group starts at the end now: nothing before it counts.
            await client.commit(self.group, self.topic, ends)
            self.log.info("%s: group %s watching from %s", self.topic, self.group, ends)
            return None
        starts = {str(p["partition"]): p["start"] for p in (await client.topic(self.topic))["partitions"]}
        cursor = {p: max(committed[p] if committed[p] is not None else 0, starts.get(p, 0)) for p in ends}
        count = sum(max(0, end - cursor[p]) for p, end in ends.items())
        if count == 0:
            return None
        records = await client.read(self.topic, cursor, ends, limit=self.max_records) if self.max_records else []
        # Moved before the event is handed over (see the class's notes).
        await client.commit(self.group, self.topic, ends)
        return {"topic": self.topic, "count": count, "from": cursor, "next": ends, "records": records, "group": self.group}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        client = await FirestreamHook(self.firestream_conn_id).aget_client()
        try:
            while True:
                try:
                    batch = await (self._batch_from_group(client) if self.group else self._batch_from_cursor(client))
                except FirestreamError as error:
                    self.log.warning("%s; asking again in %ss", error, self.poll_interval)
                    batch = None
                if batch is not None:
                    self.log.info("%s: %d new record(s), offsets %s → %s", self.topic, batch["count"], batch["from"], batch["next"])
                    yield TriggerEvent(batch)
                    return
                await asyncio.sleep(self.poll_interval)
        finally:
            await client.aclose()
