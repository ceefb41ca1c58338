"""FirestreamProduceOperator: appends records to a topic and returns once they are stored."""

from __future__ import annotations

import json
from typing import Any, Sequence

from airflow.sdk import BaseOperator

from airflow_provider_firestream.hooks.firestream import FirestreamHook


class FirestreamProduceOperator(BaseOperator):
    """Produces ``records`` into ``topic``; Firestream answers after an fsync, so a task that
    succeeded has its records stored. Returns (as XCom) each record's partition and offset.

    :param topic: the topic (templated).
    :param records: a list of records (dicts, lists, numbers, or JSON text), or one JSON array as
        text (templated: ``'[{"run": "{{ run_id }}"}]'`` renders, then parses).
    :param key: a key for every record (templated); records with the same key go to one partition.
    :param firestream_conn_id: the connection; default ``firestream_default``.
    """

    template_fields: Sequence[str] = ("topic", "records", "key")
    template_fields_renderers = {"records": "json"}
    ui_color = "#ffb38a"

    def __init__(
        self, *, topic: str, records: Any, key: str | None = None, firestream_conn_id: str = FirestreamHook.default_conn_name, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.topic = topic
        self.records = records
        self.key = key
        self.firestream_conn_id = firestream_conn_id

    def _records(self) -> list[Any]:
        records = self.records
        if isinstance(records, str):
            try:
                records = json.loads(records)
            except ValueError as error:
                raise ValueError(f"records: a text must be a JSON array of records after templating ({error}): {records[:200]!r}") from error
            if not isinstance(records, list):
                records = [records]
        if isinstance(records, dict):
            records = [records]
        if not isinstance(records, (list, tuple)):
            raise TypeError(f"records must be a list of records or a JSON array as text, not {type(records).__name__}")
        if not records:
            raise ValueError("records is empty: nothing to produce")
        return list(records)

    def execute(self, context: Any) -> list[dict[str, int]]:
        records = self._records()
        placed = FirestreamHook(self.firestream_conn_id).produce(self.topic, records, key=self.key)
        self.log.info("Produced %d record(s) to %s: offsets %s", len(placed), self.topic, placed[:5])
        return placed
