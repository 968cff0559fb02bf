import pytest

from domain.config import Settings, load_settings, redact_url, unknown_env_keys
from queries.cache import cache_key, namespace_for
from queries.scope import Scope, ScopeError


def test_scope_prefix_and_like():
    s = Scope("330402")
    assert s.like == "330402%"
    assert s.contains("330402007024001") and not s.contains("330411001")


@pytest.mark.parametrize("bad", ["33%", "330402'; DROP TABLE grid;--", "a b", "_" * 40, 42])
def test_scope_refuses_non_codes(bad):
    with pytest.raises(ScopeError):
        Scope(bad)


def test_scope_cannot_be_widened():
    with pytest.raises(ScopeError):
        Scope("330402").narrow("3304")
    assert Scope("3304").narrow("330402").prefix == "330402"


def test_cache_key_changes_with_version_scope_params_and_namespace():
    base = cache_key("screen", 5, {"a": 1, "b": 2}, Scope("3304"), "ns")
    assert base == cache_key("screen", 5, {"b": 2, "a": 1}, Scope("3304"), "ns")
    assert base != cache_key("screen", 6, {"a": 1, "b": 2}, Scope("3304"), "ns")
    assert base != cache_key("screen", 5, {"a": 1, "b": 3}, Scope("3304"), "ns")
    assert base != cache_key("screen", 5, {"a": 1, "b": 2}, Scope("330402"), "ns")
    assert base != cache_key("screen", 5, {"a": 1, "b": 2}, Scope("3304"), "other")


def test_cache_key_changes_with_the_payload_format(monkeypatch):
    """A release that changes a payload's shape never reads another release's cached bytes."""
    import queries.cache

    before = cache_key("screen", 5, {}, Scope(""), "ns")
    monkeypatch.setattr(queries.cache, "PAYLOAD_FORMAT", queries.cache.PAYLOAD_FORMAT + 1)
    assert cache_key("screen", 5, {}, Scope(""), "ns") != before


def test_namespace_ignores_password_but_not_database():
    a = namespace_for("postgresql://u:one@h:5432/db1")
    assert a == namespace_for("postgresql://u:two@h:5432/db1")
    assert a != namespace_for("postgresql://u:one@h:5432/db2")


def test_settings_defaults():
    s = Settings()
    assert s.database_url == "postgresql://postgres@127.0.0.1:5432/gridscope"
    assert s.redis_url == "redis://127.0.0.1:6379/0"
    assert s.timezone == "Asia/Shanghai" and s.basemap_url == ""
    assert s.refresh_counters_s <= 30


def test_unknown_setting_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("GRIDSCOPE_REFRESH_COUNTER_S", "10")  # typo
    assert unknown_env_keys() == ["GRIDSCOPE_REFRESH_COUNTER_S"]
    with pytest.raises(ValueError, match="GRIDSCOPE_REFRESH_COUNTER_S"):
        load_settings()
    monkeypatch.delenv("GRIDSCOPE_REFRESH_COUNTER_S")
    cfg = tmp_path / "c.toml"
    cfg.write_text('timezone = "Asia/Shanghai"\nbogus_key = 1\n')
    monkeypatch.setenv("GRIDSCOPE_CONFIG", str(cfg))
    with pytest.raises(ValueError, match="bogus_key"):
        load_settings()


def test_config_file_and_env(tmp_path, monkeypatch):
    cfg = tmp_path / "c.toml"
    cfg.write_text('refresh_counters_s = 20\nbasemap_url = "http://tiles.local/{z}/{x}/{y}.png"\n')
    monkeypatch.setenv("GRIDSCOPE_CONFIG", str(cfg))
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@db.local/gs")
    s = load_settings()
    assert s.refresh_counters_s == 20 and s.basemap_url.startswith("http://tiles.local")
    assert s.database_url == "postgresql://x@db.local/gs"


def test_example_config_is_valid_and_documents_every_setting(monkeypatch):
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    monkeypatch.setenv("GRIDSCOPE_CONFIG", str(example))
    load_settings()
    text = example.read_text()
    for name in Settings.model_fields:
        assert f"{name} =" in text, f"config.example.toml does not document {name}"


def test_bad_values_are_refused():
    with pytest.raises(ValueError, match="time zone"):
        Settings(timezone="Mars/Olympus")
    with pytest.raises(ValueError):
        Settings(refresh_counters_s=0)
    with pytest.raises(ValueError):
        Settings(database_url="mysql://x")


def test_redact_url_hides_password():
    assert redact_url("postgresql://u:s3cret@h/db") == "postgresql://u:***@h/db"
    assert redact_url("postgresql://u@h/db") == "postgresql://u@h/db"
