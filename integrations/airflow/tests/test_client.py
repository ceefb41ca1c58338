"""The REST client against httpx's mock transport: requests, retries and errors."""

from __future__ import annotations

import json

import httpx
import pytest

from airflow_provider_firestream.client import FirestreamClient, FirestreamError, _encode_records


def client(handler, **kwargs):
    return FirestreamClient("http://firestream.test:8000/", token=kwargs.pop("token", None), backoff=0, transport=httpx.MockTransport(handler), **kwargs)


def test_produce_sends_ndjson_with_the_token_and_returns_offsets():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["url"] = str(request.url)
        seen["auth"] = request.headers.get("authorization")
        seen["type"] = request.headers.get("content-type")
        seen["body"] = request.content.decode()
        return httpx.Response(200, json={"records": [{"partition": 0, "offset": 7}, {"partition": 0, "offset": 8}]})

    placed = client(handler, token="fs_secret").produce("my topic", [{"a": 1}, '{"b": 2}'], key="k")
    assert placed == [{"partition": 0, "offset": 7}, {"partition": 0, "offset": 8}]
    assert seen["url"] == "http://firestream.test:8000/topics/my%20topic?key=k"
    assert seen["auth"] == "Bearer fs_secret"
    assert seen["type"] == "application/x-ndjson"
    assert seen["body"] == '{"a":1}\n{"b":2}\n'


def test_text_that_is_not_json_is_sent_as_a_json_string_and_json_text_is_compacted():
    assert _encode_records(["plain words", 3, True]) == b'"plain words"\n3\ntrue\n'
    assert _encode_records(['{\n  "pretty": [1,\n 2]\n}', "caf\u00e9"]) == '{"pretty":[1,2]}\n"caf\u00e9"\n'.encode()


def test_retryable_statuses_are_asked_again_and_then_succeed():
    answers = [httpx.Response(503, json={"error": "storage unavailable"}), httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(200, json={"topics": []})]
    calls = []

    def handler(request):
        calls.append(request)
        return answers[len(calls) - 1]

    assert client(handler).topics() == []
    assert len(calls) == 3


def test_a_refusal_is_not_retried_and_says_firestreams_reason():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(403, json={"status": 403, "error": "token \"reader\" may not write topic \"orders\""})

    with pytest.raises(FirestreamError) as raised:
        client(handler).produce("orders", [{}])
    assert len(calls) == 1
    assert raised.value.status == 403
    assert str(raised.value) == 'Firestream POST http://firestream.test:8000/topics/orders answered 403: token "reader" may not write topic "orders"'


def test_no_answer_after_the_retries_names_the_url_and_the_cause():
    calls = []

    def handler(request):
        calls.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(FirestreamError) as raised:
        client(handler, retries=2).topics()
    assert len(calls) == 3
    assert raised.value.status is None
    assert "GET http://firestream.test:8000/topics did not answer: ConnectError: connection refused" in str(raised.value)


def test_read_pages_through_each_partition_up_to_the_given_ends():
    stored = {0: list(range(0, 25)), 1: list(range(0, 3))}

    def handler(request):
        partition = int(request.url.params["partition"])
        start = int(request.url.params["from"])
        limit = int(request.url.params["limit"])
        offsets = [o for o in stored[partition] if o >= start][: min(limit, 10)]
        records = [{"partition": partition, "offset": o, "value": {"n": o}} for o in offsets]
        return httpx.Response(200, json={"records": records, "next": (offsets[-1] + 1) if offsets else start, "end": len(stored[partition])})

    found = client(handler).read("t", {"0": 5, "1": 0}, {"0": 22, "1": 3})
    assert [(r["partition"], r["offset"]) for r in found] == [(0, o) for o in range(5, 22)] + [(1, 0), (1, 1), (1, 2)]
    assert len(client(handler).read("t", {"0": 0}, {"0": 25}, limit=12)) == 12


def test_commit_sends_partition_offsets_as_json():
    seen = {}

    def handler(request):
        seen["path"] = request.url.path
        seen["body"] = json.loads(request.content)
        return httpx.Response(200, json={"committed": seen["body"]})

    client(handler).commit("watchers", "wiener", {0: 12, "1": 40})
    assert seen == {"path": "/groups/watchers/topics/wiener/commit", "body": {"0": 12, "1": 40}}


def test_a_url_without_a_scheme_is_refused():
    with pytest.raises(ValueError, match="must start with http:// or https://"):
        FirestreamClient("localhost:8000")
