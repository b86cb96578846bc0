"""Local secrets: generated once into `.env`; a secret added later is appended, never regenerated; the
contract's secrets from the environment are used as they are, and only the internal tokens generated."""

from __future__ import annotations

from pathlib import Path

import pytest
from dotenv import dotenv_values

from payments_tools.localenv import CONTRACT_SECRETS, INTERNAL_SECRETS, load_or_create, secrets_origin

# the contract's secrets as a developer's environment might hold them
OWN = {
    "API_KEYS": "rzp_test_own:own-secret-0123456789",
    "PAYMENT_SIGNING_SECRET": "ab" * 32,
    "WEBHOOK_SECRETS": "whsec_" + "QUJD" * 11,
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*CONTRACT_SECRETS, *INTERNAL_SECRETS):
        monkeypatch.delenv(name, raising=False)


def test_a_new_env_file_holds_every_secret(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    values, created = load_or_create(path)
    assert created
    for name in (*CONTRACT_SECRETS, *INTERNAL_SECRETS):
        assert values[name], name
    assert dotenv_values(path) == {k: values[k] for k in dotenv_values(path)}
    assert path.stat().st_mode & 0o077 == 0
    assert secrets_origin(path, created) == f"{path} (generated now)"


@pytest.mark.parametrize("later", INTERNAL_SECRETS)
def test_an_older_env_file_gets_a_later_token_appended_and_keeps_its_secrets(tmp_path: Path, later: str) -> None:
    path = tmp_path / ".env"
    load_or_create(path)
    original = dotenv_values(path)
    path.write_text("".join(f"{k}={v}\n" for k, v in original.items() if k != later))

    values, created = load_or_create(path)
    assert not created
    assert values[later] and values[later] != original[later]
    for name in (*CONTRACT_SECRETS, *INTERNAL_SECRETS):
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


def test_the_contracts_secrets_from_the_environment_get_generated_internal_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in OWN.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / ".env"

    values, created = load_or_create(path)
    assert created
    assert {name: values[name] for name in CONTRACT_SECRETS} == OWN
    for name in INTERNAL_SECRETS:
        assert len(values[name]) >= 32, name
    # only the generated tokens are written down: the environment's secrets stay where they are
    assert dotenv_values(path) == {name: values[name] for name in INTERNAL_SECRETS}
    assert path.stat().st_mode & 0o077 == 0
    assert secrets_origin(path, created) == (
        f"API_KEYS, PAYMENT_SIGNING_SECRET, WEBHOOK_SECRETS from the environment; the others in {path} (generated now)"
    )

    again, created_again = load_or_create(path)
    assert not created_again
    assert again == values


def test_some_but_not_all_of_the_contracts_secrets_is_refused_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_KEYS", OWN["API_KEYS"])
    path = tmp_path / ".env"
    with pytest.raises(SystemExit, match="PAYMENT_SIGNING_SECRET, WEBHOOK_SECRETS not set"):
        load_or_create(path)
    assert not path.exists()


def test_every_secret_from_the_environment_writes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = {
        **OWN,
        "ADMIN_TOKEN": "admin-token-0123456789",
        "INTERNAL_API_TOKEN": "internal-token-0123456789",
        "KEY_SEALING_KEY": "c2VhbGluZy1rZXktb2YtdGhpcy1kZXZlbG9wZXIhISE=",
    }
    for name, value in own.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / ".env"
    values, created = load_or_create(path)
    assert not created and not path.exists()
    assert {name: values[name] for name in own} == own
    assert secrets_origin(path, created) == "the environment"
