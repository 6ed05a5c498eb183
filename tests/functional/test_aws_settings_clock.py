"""Settings read once from the environment, and the clock: the system one, unless the host that runs
the tasks in process (the local runtime) provides its own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rollgate.aws import settings as settings_module
from rollgate.aws.clock import SystemClock, current_clock, set_clock_provider
from rollgate.aws.settings import ConfigurationError, Settings, load_settings
from rollgate.domain.shared.errors import RollgateError

REQUIRED = {"LEDGER_TABLE_NAME": "ledger", "EVENT_BUS_NAME": "bus"}


def test_settings_read_every_variable():
    settings = Settings.from_environ({**REQUIRED, "ARTIFACT_BUCKET_NAME": "artifacts", "ROLLGATE_LEASE_SECONDS": "900"})

    assert settings.ledger_table_name == "ledger"
    assert settings.event_bus_name == "bus"
    assert settings.artifact_bucket_name == "artifacts"
    assert settings.lease_seconds == 900


def test_settings_defaults():
    settings = Settings.from_environ(REQUIRED)

    assert settings.artifact_bucket_name is None
    assert settings.lease_seconds == 3600
    assert settings.managed_function_tag == "rollgate:managed"


def test_the_managed_tag_key_is_the_one_the_stack_passes():
    settings = Settings.from_environ({**REQUIRED, "ROLLGATE_MANAGED_FUNCTION_TAG": "team:deployable"})

    assert settings.managed_function_tag == "team:deployable"


@pytest.mark.parametrize("missing", ["LEDGER_TABLE_NAME", "EVENT_BUS_NAME"])
def test_missing_required_variable_is_named(missing):
    environ = {name: value for name, value in REQUIRED.items() if name != missing}

    with pytest.raises(ConfigurationError, match=f"environment variable {missing} is required"):
        Settings.from_environ(environ)


def test_empty_variable_counts_as_missing():
    with pytest.raises(ConfigurationError, match="LEDGER_TABLE_NAME"):
        Settings.from_environ({**REQUIRED, "LEDGER_TABLE_NAME": "  "})


def test_malformed_variable_is_named_with_its_value():
    with pytest.raises(ConfigurationError, match=r"ROLLGATE_LEASE_SECONDS.*'soon'"):
        Settings.from_environ({**REQUIRED, "ROLLGATE_LEASE_SECONDS": "soon"})


def test_configuration_error_is_a_rollgate_error():
    assert issubclass(ConfigurationError, RollgateError)


def test_load_settings_reads_os_environ_once(monkeypatch):
    monkeypatch.setenv("LEDGER_TABLE_NAME", "first")
    monkeypatch.setenv("EVENT_BUS_NAME", "bus")
    load_settings.cache_clear()
    try:
        first = load_settings()
        monkeypatch.setenv("LEDGER_TABLE_NAME", "second")

        assert load_settings() is first
        assert first.ledger_table_name == "first"
    finally:
        load_settings.cache_clear()


def test_the_lambda_package_reads_no_clock_variables():
    # the local runtime's clock is installed in process; nothing in the Lambda environment selects it
    assert not [v for v in settings_module.ENVIRONMENT_VARIABLES.values() if "CLOCK" in v]
    assert Settings.from_environ({**REQUIRED, "ROLLGATE_CLOCK_SPEED": "60"}) == Settings.from_environ(REQUIRED)


def test_system_clock_is_aware_utc():
    before = datetime.now(UTC)
    now = SystemClock().now()

    assert now.tzinfo is UTC
    assert before <= now <= datetime.now(UTC)


def test_current_clock_is_the_system_clock_unless_a_host_provides_one():
    class Fixed:
        def now(self) -> datetime:
            return datetime(2030, 1, 1, tzinfo=UTC)

    assert isinstance(current_clock(), SystemClock)
    fixed = Fixed()
    set_clock_provider(lambda: fixed)
    try:
        assert current_clock() is fixed
    finally:
        set_clock_provider(None)
    assert isinstance(current_clock(), SystemClock)
