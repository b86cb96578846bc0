"""The sealed key secret: never the secret itself, opened only by a configured sealing key and only under
the key id it was sealed for, any key of a rotation opening what an older one sealed; KEY_SEALING_KEY's
format refused at start-up."""

from __future__ import annotations

import base64

import pytest

from order_svc.merchants.sealing import Sealer, UnsealError, new_sealing_key, parse_sealing_keys
from order_svc.settings import Settings
from payments_common.config import ConfigError

SECRET = "s3cr3t-of-a-merchant-key-0123456789abcdefgh"


def key(byte: int) -> bytes:
    return bytes([byte]) * 32


def test_sealed_value_hides_the_secret_and_differs_each_time() -> None:
    sealer = Sealer([key(1)])
    first, second = sealer.seal("rzp_test_a", SECRET), sealer.seal("rzp_test_a", SECRET)
    assert SECRET.encode() not in first
    assert first != second  # a fresh nonce each time
    assert sealer.unseal("rzp_test_a", first) == SECRET
    assert sealer.unseal("rzp_test_a", second) == SECRET


def test_only_the_right_sealing_key_opens() -> None:
    sealed = Sealer([key(1)]).seal("rzp_test_a", SECRET)
    with pytest.raises(UnsealError) as raised:
        Sealer([key(2)]).unseal("rzp_test_a", sealed)
    assert SECRET not in str(raised.value)


def test_a_sealed_secret_opens_only_under_its_own_key_id() -> None:
    sealer = Sealer([key(1)])
    sealed = sealer.seal("rzp_test_a", SECRET)
    with pytest.raises(UnsealError):
        sealer.unseal("rzp_test_b", sealed)


def test_a_tampered_value_does_not_open() -> None:
    sealer = Sealer([key(1)])
    sealed = bytearray(sealer.seal("rzp_test_a", SECRET))
    sealed[-1] ^= 1
    with pytest.raises(UnsealError):
        sealer.unseal("rzp_test_a", bytes(sealed))
    with pytest.raises(UnsealError):
        sealer.unseal("rzp_test_a", b"\x02" + bytes(sealed[1:]))


def test_rotation_new_key_seals_old_key_still_opens() -> None:
    old_sealed = Sealer([key(1)]).seal("rzp_test_a", SECRET)
    rotated = Sealer([key(2), key(1)])
    assert rotated.unseal("rzp_test_a", old_sealed) == SECRET
    new_sealed = rotated.seal("rzp_test_a", SECRET)
    with pytest.raises(UnsealError):
        Sealer([key(1)]).unseal("rzp_test_a", new_sealed)
    assert Sealer([key(2)]).unseal("rzp_test_a", new_sealed) == SECRET


def test_parse_accepts_standard_and_urlsafe_base64() -> None:
    raw = bytes(range(250, 256)) * 5 + b"\xfb\xff"
    assert parse_sealing_keys(base64.b64encode(raw).decode()) == [raw]
    assert parse_sealing_keys(base64.urlsafe_b64encode(raw).decode().rstrip("=")) == [raw]
    assert len(parse_sealing_keys(new_sealing_key())[0]) == 32


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (base64.b64encode(b"short").decode(), "entry 1 is not 32 bytes"),
        (new_sealing_key() + ",", "entry 2 is empty"),
        ("!!!!", "entry 1 is not"),
    ],
)
def test_parse_refuses_malformed_keys_without_echoing_them(raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        parse_sealing_keys(raw)
    assert raw.split(",")[0] not in str(raised.value)


def test_settings_refuse_a_bad_sealing_key_and_mask_a_good_one() -> None:
    common = {
        "API_KEYS": "rzp_test_a:secret-a",
        "PAYMENT_SIGNING_SECRET": "ab" * 32,
        "INTERNAL_API_TOKEN": "internal-token-0123456789",
    }
    with pytest.raises(ValueError, match="KEY_SEALING_KEY"):
        Settings(**common, KEY_SEALING_KEY="bm90LTMyLWJ5dGVz")  # type: ignore[arg-type]
    value = new_sealing_key()
    settings = Settings(**common, KEY_SEALING_KEY=value)  # type: ignore[arg-type]
    assert value in settings.secrets()
    sealer = settings.sealer()
    assert sealer is not None and sealer.unseal("k", sealer.seal("k", SECRET)) == SECRET
    assert Settings(**common).sealer() is None  # type: ignore[arg-type]
