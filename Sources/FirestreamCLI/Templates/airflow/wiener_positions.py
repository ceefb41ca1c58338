"""React to the demo's `wiener` topic: one DAG run for each batch of new Wiener points.

Run it beside Firestream with `firestream up --with airflow` (docs/airflow.md). The triggerer
asks Firestream every 30 seconds whether `wiener` holds new records; each batch that arrived
starts one run, which reads exactly that batch back by its offsets and reports each device's
latest position.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Asset, AssetWatcher, dag, task

from airflow_provider_firestream.hooks.firestream import FirestreamHook
from airflow_provider_firestream.triggers.records import FirestreamNewRecordsTrigger

WIENER = Asset(
    name="firestream_wiener",
    uri="firestream://topics/wiener",
    watchers=[
        AssetWatcher(
            name="wiener_watcher",
            # max_records=0: the event carries offsets only; the task reads the records.
            trigger=FirestreamNewRecordsTrigger(topic="wiener", poll_interval=30.0, max_records=0),
        )
    ],
)


@dag(schedule=[WIENER], start_date=datetime(2026, 1, 1), catchup=False, max_active_runs=1, tags=["firestream"])
def wiener_positions():
    @task
    def latest_positions(triggering_asset_events=None) -> dict:
        hook = FirestreamHook()
        latest = {}
        for event in triggering_asset_events[WIENER]:
            batch = event.extra.get("payload", event.extra)
            for record in hook.read(batch["topic"], batch["from"], batch["next"]):
                value = record["value"]
                if isinstance(value, dict) and "device_id" in value:
                    latest[value["device_id"]] = value["measurement"]
        print(f"latest positions of {len(latest)} device(s): {latest}")
        return latest

    latest_positions()


wiener_positions()
