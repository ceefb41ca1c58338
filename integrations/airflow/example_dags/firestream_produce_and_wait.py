"""Produce to a Firestream topic, wait for records in both sensor modes, and read them back.

Needs a connection ``firestream_default`` (e.g. AIRFLOW_CONN_FIRESTREAM_DEFAULT='{"conn_type":
"firestream", "host": "http://127.0.0.1:8000"}') and a running ``firestream up``. The deferrable
sensor waits for two records with ``"from": "outside"`` posted to ``airflow-orders`` after it
starts, e.g.:

    curl -H 'Content-Type: application/x-ndjson' --data-binary $'{"from":"outside"}\n{"from":"outside"}' \\
        http://127.0.0.1:8000/topics/airflow-orders
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task

from airflow_provider_firestream.hooks.firestream import FirestreamHook
from airflow_provider_firestream.operators.produce import FirestreamProduceOperator
from airflow_provider_firestream.sensors.topic import FirestreamTopicSensor

TOPIC = "airflow-orders"


@dag(schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["firestream", "example"])
def firestream_produce_and_wait():
    produce = FirestreamProduceOperator(
        task_id="produce",
        topic=TOPIC,
        records='[{"run": "{{ run_id }}", "n": 1}, {"run": "{{ run_id }}", "n": 2}, {"run": "{{ run_id }}", "n": 3}]',
    )
    # Poke mode: this run's three records, wherever they are in the topic.
    ours = FirestreamTopicSensor(
        task_id="wait_for_ours", topic=TOPIC, start="earliest", match={"run": "{{ run_id }}"}, min_records=3, poke_interval=1, timeout=60
    )
    # Deferrable: records someone else posts after this sensor starts.
    outside = FirestreamTopicSensor(
        task_id="wait_for_outside", topic=TOPIC, match={"from": "outside"}, min_records=2, deferrable=True, poll_interval=1, timeout=300
    )

    @task
    def read_back(found: dict, run_id: str | None = None) -> int:
        records = FirestreamHook().read(TOPIC, found["start"], found["next"])
        mine = [r for r in records if isinstance(r["value"], dict) and r["value"].get("run") == run_id]
        if sorted(r["value"]["n"] for r in mine) != [1, 2, 3]:
            raise ValueError(f"expected this run's records 1, 2, 3 between {found['start']} and {found['next']}; read {mine}")
        print(f"read back {len(mine)} record(s) of run {run_id} from {TOPIC}")
        return len(mine)

    produce >> ours >> outside
    read_back(ours.output) << outside


firestream_produce_and_wait()
