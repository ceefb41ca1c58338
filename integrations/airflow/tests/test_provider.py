"""The provider as Airflow sees it: the entry point, the connection type, the hook's settings."""

from __future__ import annotations

import os
from importlib.metadata import entry_points
from types import SimpleNamespace

import pytest

from airflow_provider_firestream.hooks.firestream import _settings


def connection(host, port=None, password=None, extra=None):
    return SimpleNamespace(conn_id="firestream_default", host=host, port=port, password=password, extra_dejson=extra or {})


def test_the_entry_point_names_the_connection_type():
    found = [e for e in entry_points(group="apache_airflow_provider") if e.value.startswith("airflow_provider_firestream")]
    assert len(found) == 1, "pip install integrations/airflow registers the provider"
    info = found[0].load()()
    assert info["package-name"] == "airflow-provider-firestream"
    assert info["connection-types"][0]["connection-type"] == "firestream"
    assert info["connection-types"][0]["hook-class-name"] == "airflow_provider_firestream.hooks.firestream.FirestreamHook"


def test_the_airflow_providers_manager_lists_it():
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    assert "airflow-provider-firestream" in ProvidersManager().providers
    hook = ProvidersManagerTaskRuntime().hooks["firestream"]
    assert hook is not None and hook.hook_class_name == "airflow_provider_firestream.hooks.firestream.FirestreamHook"


def test_settings_from_a_url_or_a_host_and_port():
    assert _settings(connection("http://127.0.0.1:8000/", password="fs_x"))["base_url"] == "http://127.0.0.1:8000"
    assert _settings(connection("http://127.0.0.1", port=8001))["base_url"] == "http://127.0.0.1:8001"
    settings = _settings(connection("firestream.internal", port=443, extra={"scheme": "https", "token": "fs_y", "retries": 5}))
    assert settings == {"base_url": "https://firestream.internal:443", "token": "fs_y", "timeout": 30.0, "retries": 5}
    os.environ["TEST_FIRESTREAM_TOKEN"] = "fst_from_env"
    assert _settings(connection("http://gw:8000", extra={"token_env": "TEST_FIRESTREAM_TOKEN"}))["token"] == "fst_from_env"
    assert _settings(connection("http://gw:8000", extra={"token_env": "UNSET_FIRESTREAM_TOKEN"}))["token"] is None
    with pytest.raises(ValueError, match="has no host"):
        _settings(connection(""))
