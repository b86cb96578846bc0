"""Local secrets: generated once into `.env`; a secret added later is appended, never regenerated."""

from __future__ import annotations

from pathlib import Path

import pytest
from dotenv import dotenv_values

from payments_tools.localenv import LATER_SECRETS, SECRET_NAMES, load_or_create


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*SECRET_NAMES, *LATER_SECRETS):
        monkeypatch.delenv(name, raising=False)


def test_a_new_env_file_holds_every_secret(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    values, created = load_or_create(path)
    assert created
    for name in (*SECRET_NAMES, *LATER_SECRETS):
        assert values[name], name
    assert dotenv_values(path) == {k: values[k] for k in dotenv_values(path)}
    assert path.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("later", LATER_SECRETS)
def test_an_older_env_file_gets_a_later_token_appended_and_keeps_its_secrets(tmp_path: Path, later: str) -> None:
    path = tmp_path / ".env"
    load_or_create(path)
    original = dotenv_values(path)
    path.write_text("".join(f"{k}={v}\n" for k, v in original.items() if k != later))

    values, created = load_or_create(path)
    assert not created
    assert values[later] and values[later] != original[later]
    for name in (*SECRET_NAMES, *LATER_SECRETS):
        if name != later:
            assert values[name] == original[name]
    # written down, so the next start uses the same token
    again, _ = load_or_create(path)
    assert again[later] == values[later]


def test_the_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / ".env"
    load_or_create(path)
    monkeypatch.setenv("ADMIN_TOKEN", "from-the-environment")
    values, _ = load_or_create(path)
    assert values["ADMIN_TOKEN"] == "from-the-environment"
