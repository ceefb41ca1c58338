"""Apache Airflow provider for Firestream: a hook, a produce operator, a topic sensor (poke and
deferrable) and an event trigger for AssetWatcher. See docs/airflow.md in the Firestream repository."""

from __future__ import annotations

__version__ = "0.1.0"


def get_provider_info() -> dict:
    """What Airflow's ProvidersManager reads through the ``apache_airflow_provider`` entry point."""
    return {
        "package-name": "airflow-provider-firestream",
        "name": "Firestream",
        "description": "Firestream, the local-first streaming data platform: topics, records, group cursors and SQL over its REST API.",
        "versions": [__version__],
        "integrations": [
            {"integration-name": "Firestream", "external-doc-url": "https://github.com/firestream/firestream", "tags": ["software"]}
        ],
        "hooks": [{"integration-name": "Firestream", "python-modules": ["airflow_provider_firestream.hooks.firestream"]}],
        "operators": [{"integration-name": "Firestream", "python-modules": ["airflow_provider_firestream.operators.produce"]}],
        "sensors": [{"integration-name": "Firestream", "python-modules": ["airflow_provider_firestream.sensors.topic"]}],
        "triggers": [
            {
                "integration-name": "Firestream",
                "python-modules": ["airflow_provider_firestream.triggers.topic", "airflow_provider_firestream.triggers.records"],
            }
        ],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_firestream.hooks.firestream.FirestreamHook",
                "hook-name": "Firestream",
                "connection-type": "firestream",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "login"],
                    "relabeling": {"host": "URL", "password": "Token"},
                    "placeholders": {"host": "http://127.0.0.1:8000", "extra": '{"timeout": 30, "retries": 3}'},
                },
            }
        ],
    }
