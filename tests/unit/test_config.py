import pytest

from muli.app import create_app
from muli.config import ConfigError, ProductionConfig
from muli.extensions import db


def test_production_refuses_to_start_without_keys(monkeypatch, tmp_path):
    for name in ("MULI_DATA_KEYS", "MULI_BLIND_INDEX_KEY", "MULI_SECRET_KEY", "MULI_JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MULI_INSTANCE_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="MULI_DATA_KEYS"):
        create_app(ProductionConfig())


def test_production_refuses_to_start_without_audit_keys(monkeypatch, tmp_path):
    monkeypatch.setenv("MULI_INSTANCE_DIR", str(tmp_path))
    for name in ("MULI_DATA_KEYS", "MULI_BLIND_INDEX_KEY", "MULI_SECRET_KEY", "MULI_JWT_SECRET"):
        monkeypatch.setenv(name, "set")
    for name in ("MULI_AUDIT_KEYS", "MULI_AUDIT_KEYS_FILE", "MULI_AUDIT_SIGNING_KEYS"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="MULI_AUDIT_KEYS, MULI_AUDIT_SIGNING_KEYS"):
        ProductionConfig().check()


def test_audit_keys_can_come_from_files(monkeypatch, tmp_path):
    from muli.trust.audit import new_signing_key

    (tmp_path / "audit.keys").write_text("a1:" + "A" * 43 + "\n")
    (tmp_path / "signing.keys").write_text(f"s1:{new_signing_key()}\n")
    for name in ("MULI_AUDIT_KEYS", "MULI_AUDIT_SIGNING_KEYS"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv(
            f"{name}_FILE", str(tmp_path / ("audit.keys" if name == "MULI_AUDIT_KEYS" else "signing.keys"))
        )
    config = ProductionConfig()
    assert config.MULI_AUDIT_KEYS == "a1:" + "A" * 43
    assert config.MULI_AUDIT_SIGNING_KEYS.startswith("s1:")


def test_production_refuses_sqlite_by_default(monkeypatch, tmp_path):
    monkeypatch.setenv("MULI_INSTANCE_DIR", str(tmp_path))
    for name in (
        "MULI_DATA_KEYS",
        "MULI_BLIND_INDEX_KEY",
        "MULI_SECRET_KEY",
        "MULI_JWT_SECRET",
        "MULI_AUDIT_KEYS",
        "MULI_AUDIT_SIGNING_KEYS",
    ):
        monkeypatch.setenv(name, "set")
    monkeypatch.delenv("MULI_DATABASE_URL", raising=False)
    with pytest.raises(ConfigError, match="PostgreSQL"):
        ProductionConfig().check()


def test_development_generates_keys_into_the_instance_folder(monkeypatch, tmp_path):
    from muli.config import DevelopmentConfig

    for name in ("MULI_DATA_KEYS", "MULI_BLIND_INDEX_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MULI_INSTANCE_DIR", str(tmp_path))
    for name in ("MULI_AUDIT_KEYS", "MULI_AUDIT_SIGNING_KEYS"):
        monkeypatch.delenv(name, raising=False)
    app = create_app(DevelopmentConfig())
    assert (tmp_path / "dev-keys.json").stat().st_mode & 0o077 == 0
    assert app.extensions["muli.keys"].current_kid == "dev1"
    # The audit chain's keys too, so `make run` starts on a fresh machine.
    assert (tmp_path / "dev-audit-keys.json").stat().st_mode & 0o077 == 0
    assert app.extensions["muli.audit_keys"].current_kid == "dev1"
    with app.app_context():
        db.engine.dispose()


def test_the_login_throttle_is_set_from_the_environment(monkeypatch, tmp_path):
    from muli.config import TestingConfig

    monkeypatch.setenv("MULI_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("MULI_LOGIN_ACCOUNT_CEILING", "50")
    monkeypatch.setenv("MULI_LOGIN_DELAY_CAP_SECONDS", "120")
    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    settings = create_app(config).extensions["muli.settings"]
    assert (settings.login_account_ceiling, settings.login_delay_cap_seconds) == (50, 120)
    assert (settings.login_free_failures, settings.known_device_days) == (5, 180)


def test_the_pool_pings_postgresql_but_not_a_sqlite_file(app):
    # A local SQLite file has no server to lose: the pool's `SELECT 1` on every checkout was a
    # statement per request for nothing. PostgreSQL keeps it (a restarted server is found).
    from muli.config import Config

    with app.app_context():
        engine = db.engine
        assert engine.pool._pre_ping is (engine.dialect.name != "sqlite")
        assert engine.hide_parameters  # the other options still apply
    # The app's options are its own copy: the class attribute every app starts from is unchanged.
    assert Config.SQLALCHEMY_ENGINE_OPTIONS == {"pool_pre_ping": True, "hide_parameters": True}
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"] is not Config.SQLALCHEMY_ENGINE_OPTIONS
