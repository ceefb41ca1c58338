"""Event-driven scheduling: one DAG run for each batch of new records in Firestream's ``wiener`` topic.

The asset's watcher is a FirestreamNewRecordsTrigger: the triggerer polls the topic, keeps its
cursor in the asset's state store, and emits one asset event per batch of new records; each
event starts one run of this DAG. The event (count, offsets, first records) is in
``triggering_asset_events``.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Asset, AssetWatcher, dag, task

from airflow_provider_firestream.triggers.records import FirestreamNewRecordsTrigger

WIENER = Asset(
    name="firestream_wiener",
    uri="firestream://topics/wiener",
    watchers=[AssetWatcher(name="wiener_watcher", trigger=FirestreamNewRecordsTrigger(topic="wiener", poll_interval=2.0, max_records=10))],
)


@dag(schedule=[WIENER], start_date=datetime(2026, 1, 1), catchup=False, tags=["firestream", "example"])
def firestream_on_new_records():
    @task
    def summarize(triggering_asset_events=None) -> int:
        total = 0
        for event in triggering_asset_events[WIENER]:
            batch = event.extra.get("payload", event.extra)
            total += batch["count"]
            print(f"batch of {batch['count']} record(s): offsets {batch['from']} → {batch['next']}")
        return total

    summarize()


firestream_on_new_records()
