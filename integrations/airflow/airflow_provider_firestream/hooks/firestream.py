"""FirestreamHook: a connection of type ``firestream`` (URL and token) made into a REST client."""

from __future__ import annotations

import os
from typing import Any, Iterable, Mapping

from airflow.sdk import BaseHook

from airflow_provider_firestream.client import AsyncFirestreamClient, FirestreamClient


def _settings(connection: Any) -> dict[str, Any]:
    """Base URL, token and client settings from an Airflow connection.

    ``host`` may be a whole URL (``http://127.0.0.1:8000``) or a host name with ``port`` beside it
    (then ``extra.scheme`` says http or https, default http); the token is the password, or
    ``extra.token``, or the environment variable ``extra.token_env`` names (as Firestream's
    Kubernetes bundle wires it); ``extra.timeout`` and ``extra.retries`` tune the client.
    """
    extra = connection.extra_dejson or {}
    host = (connection.host or "").strip()
    if not host:
        raise ValueError(f"connection {connection.conn_id!r} has no host: set it to Firestream's URL, e.g. http://127.0.0.1:8000")
    if host.startswith(("http://", "https://")):
        base = host.rstrip("/")
        if connection.port and base.count(":") == 1:
            base = f"{base}:{connection.port}"
    else:
        scheme = extra.get("scheme", "http")
        base = f"{scheme}://{host}" + (f":{connection.port}" if connection.port else "")
    return {
        "base_url": base,
        "token": connection.password or extra.get("token") or (os.environ.get(extra["token_env"]) if extra.get("token_env") else None) or None,
        "timeout": float(extra.get("timeout", 30)),
        "retries": int(extra.get("retries", 3)),
    }


class FirestreamHook(BaseHook):
    """Talks to Firestream's REST API: topics, producing, reading, group cursors and SQL.

    :param firestream_conn_id: the connection (type ``firestream``); default ``firestream_default``.
    """

    conn_name_attr = "firestream_conn_id"
    default_conn_name = "firestream_default"
    conn_type = "firestream"
    hook_name = "Firestream"

    def __init__(self, firestream_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.firestream_conn_id = firestream_conn_id
        self._client: FirestreamClient | None = None

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden-fields": ["schema", "login"],
            "relabeling": {"host": "URL", "password": "Token"},
            "placeholders": {"host": "http://127.0.0.1:8000", "extra": '{"timeout": 30, "retries": 3}'},
        }

    def get_conn(self) -> FirestreamClient:
        if self._client is None:
            self._client = FirestreamClient(**_settings(self.get_connection(self.firestream_conn_id)))
        return self._client

    async def aget_client(self) -> AsyncFirestreamClient:
        """A client for async code (triggers); the caller closes it."""
        return AsyncFirestreamClient(**_settings(await self.aget_connection(self.firestream_conn_id)))

    def test_connection(self) -> tuple[bool, str]:
        """For the UI's Test button: lists topics with the token."""
        try:
            topics = self.get_conn().topics()
        except Exception as error:  # the UI shows the reason
            return False, str(error)
        return True, f"Firestream answered: {len(topics)} topic(s) readable"

    def topics(self) -> list[dict[str, Any]]:
        return self.get_conn().topics()

    def topic(self, topic: str) -> dict[str, Any]:
        return self.get_conn().topic(topic)

    def produce(self, topic: str, records: Iterable[Any], key: str | None = None) -> list[dict[str, int]]:
        return self.get_conn().produce(topic, records, key=key)

    def records(self, topic: str, partition: int = 0, start: int | str = "earliest", limit: int = 100) -> dict[str, Any]:
        return self.get_conn().records(topic, partition, start, limit)

    def read(self, topic: str, start: Mapping[str, int], until: Mapping[str, int] | None = None, limit: int = 10_000) -> list[dict[str, Any]]:
        return self.get_conn().read(topic, start, until, limit)

    def fetch(self, group: str, topic: str, limit: int = 100, reset: str = "earliest") -> dict[str, Any]:
        return self.get_conn().fetch(group, topic, limit, reset)

    def commit(self, group: str, topic: str, offsets: Mapping[str, int]) -> dict[str, Any]:
        return self.get_conn().commit(group, topic, offsets)

    def sql(self, query: str, max_rows: int | None = None, timeout_ms: int | None = None) -> dict[str, Any]:
        return self.get_conn().sql(query, max_rows=max_rows, timeout_ms=timeout_ms)
