"""FirestreamTopicTrigger: the wait of a deferred FirestreamTopicSensor, run by the triggerer."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Mapping

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_firestream.client import AsyncFirestreamClient, FirestreamError
from airflow_provider_firestream.hooks.firestream import FirestreamHook
from airflow_provider_firestream.matching import Progress

# Failures that end the wait; others (no answer, 5xx) are waited out until the sensor's timeout.
FATAL_STATUSES = frozenset({400, 401, 403, 404, 413, 415})


async def advance(client: AsyncFirestreamClient, topic: str, progress: Progress) -> None:
    """Looks at what is new since ``progress`` last looked."""
    ends = await client.end_offsets(topic)
    if progress.condition is None:
        progress.count_without_reading(ends)
    else:
        progress.absorb(await client.read(topic, progress.scanned, ends))


class FirestreamTopicTrigger(BaseTrigger):
    """Fires once ``topic`` holds ``min_records`` new records after ``start`` (partition → offset),
    counting only those that satisfy ``match`` when it is given."""

    def __init__(
        self,
        topic: str,
        start: Mapping[str, int],
        min_records: int = 1,
        match: Mapping[str, Any] | None = None,
        firestream_conn_id: str = FirestreamHook.default_conn_name,
        poll_interval: float = 5.0,
    ) -> None:
        super().__init__()
        self.topic = topic
        self.start = {str(k): int(v) for k, v in start.items()}
        self.min_records = min_records
        self.match = match
        self.firestream_conn_id = firestream_conn_id
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "airflow_provider_firestream.triggers.topic.FirestreamTopicTrigger",
            {
                "topic": self.topic,
                "start": self.start,
                "min_records": self.min_records,
                "match": self.match,
                "firestream_conn_id": self.firestream_conn_id,
                "poll_interval": self.poll_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        progress = Progress(self.start, self.min_records, self.match)
        client = await FirestreamHook(self.firestream_conn_id).aget_client()
        try:
            while True:
                try:
                    await advance(client, self.topic, progress)
                except FirestreamError as error:
                    if error.status in FATAL_STATUSES:
                        yield TriggerEvent({"status": "error", "message": str(error)})
                        return
                    self.log.warning("Firestream is not answering yet (%s); asking again in %ss", error, self.poll_interval)
                if progress.done:
                    result = progress.result()
                    if not result["first"]:
                        result["first"] = await client.read(self.topic, progress.start, progress.scanned, limit=progress.keep)
                    yield TriggerEvent({"status": "success", "result": result})
                    return
                self.log.info("%s: %d of %d record(s) so far", self.topic, progress.count, self.min_records)
                await asyncio.sleep(self.poll_interval)
        finally:
            await client.aclose()
