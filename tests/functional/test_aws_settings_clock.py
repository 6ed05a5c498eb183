"""Settings read once from the environment, and the clocks (real and the local runtime's fast one)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rollgate.aws.clock import ScaledClock, SystemClock, clock_from_env
from rollgate.aws.settings import ConfigurationError, Settings, load_settings
from rollgate.domain.errors import RollgateError

REQUIRED = {"LEDGER_TABLE_NAME": "ledger", "EVENT_BUS_NAME": "bus"}


def test_settings_read_every_variable():
    settings = Settings.from_environ(
        {**REQUIRED, "ARTIFACT_BUCKET_NAME": "artifacts", "ROLLGATE_LEASE_SECONDS": "900"}
    )

    assert settings.ledger_table_name == "ledger"
    assert settings.event_bus_name == "bus"
    assert settings.artifact_bucket_name == "artifacts"
    assert settings.lease_seconds == 900
    assert settings.clock_speed is None


def test_settings_defaults():
    settings = Settings.from_environ(REQUIRED)

    assert settings.artifact_bucket_name is None
    assert settings.lease_seconds == 3600


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


def test_scaled_clock_arithmetic():
    # given a clock 60x fast, whose virtual origin is 2030-01-01, started at real second 1000
    real_now = [1000.0]
    virtual_origin = datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    clock = ScaledClock(real_origin=1000.0, virtual_origin=virtual_origin, speed=60.0,
                        real_time=lambda: real_now[0])

    # then at the origin it reads the virtual origin, in UTC
    assert clock.now() == datetime(2030, 1, 1, tzinfo=UTC)
    assert clock.now().tzinfo is UTC

    # when 2.5 real seconds pass, 150 virtual seconds have passed
    real_now[0] = 1002.5
    assert clock.now() == datetime(2030, 1, 1, 0, 2, 30, tzinfo=UTC)

    # and a 5 minute bake lasts 5 real seconds
    assert clock.seconds_to_real(300) == pytest.approx(5.0)


def test_scaled_clock_rejects_non_positive_speed():
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(real_origin=0.0, virtual_origin=0.0, speed=0.0)


def test_system_clock_is_aware_utc():
    now = SystemClock().now()

    assert now.tzinfo is UTC
    assert abs((datetime.now(UTC) - now).total_seconds()) < 5


def test_clock_from_env_without_speed_is_the_system_clock():
    assert isinstance(clock_from_env({}), SystemClock)


def test_clock_from_env_builds_the_shared_scaled_clock():
    clock = clock_from_env({
        "ROLLGATE_CLOCK_SPEED": "120",
        "ROLLGATE_CLOCK_REAL_ORIGIN": "1700000000.5",
        "ROLLGATE_CLOCK_VIRTUAL_ORIGIN": "1800000000",
    })

    assert isinstance(clock, ScaledClock)
    assert (clock.speed, clock.real_origin, clock.virtual_origin) == (120.0, 1700000000.5, 1800000000.0)


def test_clock_from_env_names_a_missing_origin():
    with pytest.raises(ConfigurationError, match="ROLLGATE_CLOCK_VIRTUAL_ORIGIN"):
        clock_from_env({"ROLLGATE_CLOCK_SPEED": "10", "ROLLGATE_CLOCK_REAL_ORIGIN": "0"})


def test_clock_from_env_names_a_malformed_speed():
    with pytest.raises(ConfigurationError, match="ROLLGATE_CLOCK_SPEED"):
        clock_from_env({"ROLLGATE_CLOCK_SPEED": "fast", "ROLLGATE_CLOCK_REAL_ORIGIN": "0",
                        "ROLLGATE_CLOCK_VIRTUAL_ORIGIN": "0"})


def test_clock_origins_may_be_iso_timestamps():
    clock = clock_from_env({
        "ROLLGATE_CLOCK_SPEED": "10",
        "ROLLGATE_CLOCK_REAL_ORIGIN": "1700000000",
        "ROLLGATE_CLOCK_VIRTUAL_ORIGIN": "2030-01-01T00:00:00Z",
    })

    assert isinstance(clock, ScaledClock)
    assert clock.virtual_origin == datetime(2030, 1, 1, tzinfo=UTC).timestamp()
