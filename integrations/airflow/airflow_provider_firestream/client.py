"""Firestream's REST API over HTTP, with retries and errors that say what was asked and why it failed.

No Airflow import here: the hook, the sensor and the triggers build a client from a connection,
and the unit tests drive it against a local HTTP server.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Iterable, Mapping
from urllib.parse import quote

import httpx

# Statuses worth asking again: the server was busy, restarting, or its storage was unavailable.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


class FirestreamError(Exception):
    """A request Firestream refused or could not answer.

    ``status`` is the HTTP status (None when no answer came), ``reason`` Firestream's own words.
    """

    def __init__(self, method: str, url: str, status: int | None, reason: str) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.reason = reason
        answered = f"answered {status}" if status is not None else "did not answer"
        super().__init__(f"Firestream {method} {url} {answered}: {reason}")


def _reason(response: httpx.Response) -> str:
    """The ``error`` of Firestream's JSON answer, or the start of whatever else came."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    return json.dumps(body)[:500]


def _encode_records(records: Iterable[Any]) -> bytes:
    """Records as NDJSON, one compact JSON value per line: a dict, list, number or bool as itself;
    a str as the JSON it holds when it parses (pretty-printed text is compacted), else as a string."""
    lines = []
    for record in records:
        if isinstance(record, (bytes, bytearray)):
            record = record.decode("utf-8")
        if isinstance(record, str):
            try:
                record = json.loads(record)
            except ValueError:
                pass
        lines.append(json.dumps(record, separators=(",", ":"), ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _path(*parts: str) -> str:
    return "/" + "/".join(quote(part, safe="") for part in parts)


class _Requests:
    """What both clients share: URLs, headers, the retry rule and error handling."""

    def __init__(
        self, base_url: str, token: str | None = None, timeout: float = 30.0, retries: int = 3, backoff: float = 0.5
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"the Firestream URL must start with http:// or https://, not {base_url!r}")
        if retries < 0:
            raise ValueError("retries must be 0 or more")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        headers.update(extra or {})
        return headers

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds before asking again: the server's Retry-After, else exponential back-off."""
        if response is not None:
            after = response.headers.get("Retry-After", "")
            if after.isdigit():
                return min(float(after), 60.0)
        return min(self.backoff * (2**attempt), 30.0)

    def outcome(self, method: str, url: str, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise FirestreamError(method, url, response.status_code, _reason(response))
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text


class FirestreamClient(_Requests):
    """Blocking client, for operators, sensors in poke mode and ``@task`` code."""

    def __init__(self, *args: Any, transport: httpx.BaseTransport | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._http = httpx.Client(timeout=self.timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> FirestreamClient:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: bytes | None = None, content_type: str | None = None
    ) -> Any:
        url = self.base_url + path
        extra = {"Content-Type": content_type} if content_type else None
        for attempt in range(self.retries + 1):
            response = None
            try:
                response = self._http.request(method, url, params=params, content=body, headers=self.headers(extra))
            except httpx.TransportError as error:
                if attempt == self.retries:
                    raise FirestreamError(method, url, None, f"{type(error).__name__}: {error}") from error
            else:
                if response.status_code not in RETRYABLE_STATUSES or attempt == self.retries:
                    return self.outcome(method, url, response)
            time.sleep(self.delay(attempt, response))
        raise AssertionError("unreachable")

    def topics(self) -> list[dict[str, Any]]:
        """Every topic the token may read: name, partitions, records."""
        return self.request("GET", "/topics")["topics"]

    def topic(self, topic: str) -> dict[str, Any]:
        """One topic: each partition's ``start`` and ``end`` offsets and ``lastTimestamp``."""
        return self.request("GET", _path("topics", topic))

    def end_offsets(self, topic: str) -> dict[str, int]:
        """Partition (as a string, as JSON keys are) → the offset the next record will get."""
        return {str(p["partition"]): p["end"] for p in self.topic(topic)["partitions"]}

    def produce(self, topic: str, records: Iterable[Any], key: str | None = None) -> list[dict[str, int]]:
        """Appends ``records`` and returns once Firestream stored them durably: each one's partition
        and offset. A POST that timed out may still have been stored: retrying it may repeat records."""
        body = _encode_records(records)
        params = {"key": key} if key is not None else None
        answer = self.request("POST", _path("topics", topic), params=params, body=body, content_type="application/x-ndjson")
        return answer["records"]

    def records(self, topic: str, partition: int = 0, start: int | str = "earliest", limit: int = 100) -> dict[str, Any]:
        """Up to ``limit`` records of one partition from ``start`` (an offset, ``earliest`` or
        ``latest``): ``{records, next, end}``; continue from ``next``."""
        params = {"partition": partition, "from": start, "limit": limit}
        return self.request("GET", _path("topics", topic, "records"), params=params)

    def read(self, topic: str, start: Mapping[str, int], until: Mapping[str, int] | None = None, limit: int = 10_000) -> list[dict[str, Any]]:
        """Every record from ``start`` (partition → offset) up to ``until`` (default: the end now),
        at most ``limit``, partition by partition."""
        until = dict(until) if until is not None else self.end_offsets(topic)
        found: list[dict[str, Any]] = []
        for partition, end in sorted(until.items(), key=lambda item: int(item[0])):
            position = int(start.get(partition, 0))
            while position < end and len(found) < limit:
                page = self.records(topic, int(partition), position, min(10_000, limit - len(found)))
                if not page["records"]:
                    break
                found.extend(r for r in page["records"] if r["offset"] < end)
                position = page["next"]
        return found[:limit]

    def fetch(self, group: str, topic: str, limit: int = 100, reset: str = "earliest") -> dict[str, Any]:
        """Records after ``group``'s committed offsets: ``{records, next, end}``; commit ``next``."""
        params = {"limit": limit, "reset": reset}
        return self.request("POST", _path("groups", group, "topics", topic, "fetch"), params=params)

    def group_position(self, group: str, topic: str) -> dict[str, Any]:
        """Each partition's committed offset (None: none yet), end and lag."""
        return self.request("GET", _path("groups", group, "topics", topic))

    def commit(self, group: str, topic: str, offsets: Mapping[str, int]) -> dict[str, Any]:
        """Moves ``group``'s cursor to ``offsets`` (partition → next offset)."""
        body = json.dumps({str(k): int(v) for k, v in offsets.items()}).encode()
        return self.request("POST", _path("groups", group, "topics", topic, "commit"), body=body, content_type="application/json")

    def sql(self, query: str, max_rows: int | None = None, timeout_ms: int | None = None) -> dict[str, Any]:
        """A read-only query over topics and tables: ``{columns, rows, ...}``."""
        request: dict[str, Any] = {"sql": query, "format": "json"}
        if max_rows is not None:
            request["maxRows"] = max_rows
        if timeout_ms is not None:
            request["timeoutMs"] = timeout_ms
        return self.request("POST", "/sql", body=json.dumps(request).encode(), content_type="application/json")


class AsyncFirestreamClient(_Requests):
    """The same requests without blocking, for triggers (they share the triggerer's event loop)."""

    def __init__(self, *args: Any, transport: httpx.AsyncBaseTransport | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._http = httpx.AsyncClient(timeout=self.timeout, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncFirestreamClient:
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.aclose()

    async def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: bytes | None = None, content_type: str | None = None
    ) -> Any:
        url = self.base_url + path
        extra = {"Content-Type": content_type} if content_type else None
        for attempt in range(self.retries + 1):
            response = None
            try:
                response = await self._http.request(method, url, params=params, content=body, headers=self.headers(extra))
            except httpx.TransportError as error:
                if attempt == self.retries:
                    raise FirestreamError(method, url, None, f"{type(error).__name__}: {error}") from error
            else:
                if response.status_code not in RETRYABLE_STATUSES or attempt == self.retries:
                    return self.outcome(method, url, response)
            await asyncio.sleep(self.delay(attempt, response))
        raise AssertionError("unreachable")

    async def topic(self, topic: str) -> dict[str, Any]:
        return await self.request("GET", _path("topics", topic))

    async def end_offsets(self, topic: str) -> dict[str, int]:
        return {str(p["partition"]): p["end"] for p in (await self.topic(topic))["partitions"]}

    async def records(self, topic: str, partition: int = 0, start: int | str = "earliest", limit: int = 100) -> dict[str, Any]:
        params = {"partition": partition, "from": start, "limit": limit}
        return await self.request("GET", _path("topics", topic, "records"), params=params)

    async def read(self, topic: str, start: Mapping[str, int], until: Mapping[str, int], limit: int = 10_000) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for partition, end in sorted(until.items(), key=lambda item: int(item[0])):
            position = int(start.get(partition, 0))
            while position < end and len(found) < limit:
                page = await self.records(topic, int(partition), position, min(10_000, limit - len(found)))
                if not page["records"]:
                    break
                found.extend(r for r in page["records"] if r["offset"] < end)
                position = page["next"]
        return found[:limit]

    async def fetch(self, group: str, topic: str, limit: int = 100, reset: str = "earliest") -> dict[str, Any]:
        params = {"limit": limit, "reset": reset}
        return await self.request("POST", _path("groups", group, "topics", topic, "fetch"), params=params)

    async def group_position(self, group: str, topic: str) -> dict[str, Any]:
        return await self.request("GET", _path("groups", group, "topics", topic))

    async def commit(self, group: str, topic: str, offsets: Mapping[str, int]) -> dict[str, Any]:
        body = json.dumps({str(k): int(v) for k, v in offsets.items()}).encode()
        return await self.request("POST", _path("groups", group, "topics", topic, "commit"), body=body, content_type="application/json")
