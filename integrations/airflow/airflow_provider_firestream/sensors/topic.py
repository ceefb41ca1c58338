"""FirestreamTopicSensor: waits until a topic holds N new records, or N records matching a condition."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Mapping, Sequence

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_firestream.client import FirestreamClient, FirestreamError
from airflow_provider_firestream.hooks.firestream import FirestreamHook
from airflow_provider_firestream.matching import Progress, check_condition
from airflow_provider_firestream.triggers.topic import FATAL_STATUSES, FirestreamTopicTrigger


class FirestreamTopicSensor(BaseSensorOperator):
    """Waits until ``topic`` holds ``min_records`` new records — or, with ``match``, that many
    records satisfying the condition (see ``matching``: ``{"/device_id": "device-1",
    "/measurement": {"gt": 2.5}}``). Returns (as XCom) the count, the first records found and the
    ``start`` and ``next`` offsets, so a later task can read exactly those records.

    :param topic: the topic (templated).
    :param min_records: how many new (matching) records to wait for.
    :param match: a condition on each record's value, or None for every record.
    :param start: where "new" begins: ``"end"`` (the topic's end when the sensor starts; the
        default), ``"earliest"`` (everything stored), or a dict of partition → offset (templated).
    :param deferrable: wait in the triggerer instead of a worker slot.
    :param poll_interval: seconds between looks in deferrable mode (``poke_interval`` otherwise).
    """

    template_fields: Sequence[str] = ("topic", "start", "match")
    ui_color = "#ffd59e"

    def __init__(
        self,
        *,
        topic: str,
        min_records: int = 1,
        match: Mapping[str, Any] | None = None,
        start: str | Mapping[str, int] = "end",
        firestream_conn_id: str = FirestreamHook.default_conn_name,
        deferrable: bool = False,
        poll_interval: float = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if min_records < 1:
            raise ValueError("min_records must be 1 or more")
        if isinstance(match, Mapping):
            check_condition(match)
        if start == "end" and self.mode == "reschedule":
            raise ValueError(
                "mode='reschedule' forgets where the sensor started between pokes; pass start= (a dict of "
                "partition → offset, e.g. from an earlier task's XCom, or 'earliest'), or use deferrable=True"
            )
        self.topic = topic
        self.min_records = min_records
        self.match = match
        self.start = start
        self.firestream_conn_id = firestream_conn_id
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self._progress: Progress | None = None
        self._hook: FirestreamHook | None = None

    def _client(self) -> FirestreamClient:
        """One client for every poke of this sensor (a hook per poke opened a new connection pool each time)."""
        if self._hook is None:
            self._hook = FirestreamHook(self.firestream_conn_id)
        return self._hook.get_conn()

    def _start_offsets(self, client: FirestreamClient) -> dict[str, int]:
        if isinstance(self.start, Mapping):
            return {str(k): int(v) for k, v in self.start.items()}
        if self.start == "earliest":
            return {str(p["partition"]): p["start"] for p in client.topic(self.topic)["partitions"]}
        if self.start == "end":
            return client.end_offsets(self.topic)
        raise ValueError(f"start must be 'end', 'earliest' or a dict of partition → offset, not {self.start!r}")

    def poke(self, context: Any) -> PokeReturnValue:
        client = self._client()
        try:
            if self._progress is None:
                self._progress = Progress(self._start_offsets(client), self.min_records, self.match)
                self.log.info("Waiting for %d new record(s) in %s after offsets %s", self.min_records, self.topic, self._progress.start)
            progress = self._progress
            ends = client.end_offsets(self.topic)
            if progress.condition is None:
                progress.count_without_reading(ends)
            else:
                progress.absorb(client.read(self.topic, progress.scanned, ends))
        except FirestreamError as error:
            if error.status in FATAL_STATUSES:
                raise
            self.log.warning("%s; looking again at the next poke", error)
            return PokeReturnValue(is_done=False)
        self.log.info("%s: %d of %d record(s)", self.topic, progress.count, self.min_records)
        if not progress.done:
            return PokeReturnValue(is_done=False)
        result = progress.result()
        if not result["first"]:
            result["first"] = client.read(self.topic, progress.start, progress.scanned, limit=progress.keep)
        return PokeReturnValue(is_done=True, xcom_value=result)

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        start = self._start_offsets(self._client())
        self.log.info("Deferring: waiting for %d new record(s) in %s after offsets %s", self.min_records, self.topic, start)
        self.defer(
            trigger=FirestreamTopicTrigger(
                topic=self.topic,
                start=start,
                min_records=self.min_records,
                match=self.match,
                firestream_conn_id=self.firestream_conn_id,
                poll_interval=self.poll_interval,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) if self.timeout else None,
        )

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        if not event or event.get("status") != "success":
            raise RuntimeError((event or {}).get("message", "the Firestream trigger ended without an event"))
        self.log.info("%s: %d record(s) arrived", self.topic, event["result"]["records"])
        return event["result"]
