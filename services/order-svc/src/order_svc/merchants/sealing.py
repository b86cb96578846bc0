"""A key secret sealed for keeping, beside its digest (AES-256-GCM under `KEY_SEALING_KEY`).

The digest is enough to check a presented secret, but Razorpay's payment-link and subscription signatures
are HMACs keyed by the merchant's secret, computed when no request of the merchant's (with its secret) is
in hand: the secret itself must be recoverable, by this service only. Each sealed value is bound to its key
id (the AEAD's associated data), so a sealed secret copied onto another key's row does not open.

`KEY_SEALING_KEY` is comma-separated base64 keys of 32 bytes: the first seals, every one opens (several
only while the sealing key is rotated).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from payments_common.config import ConfigError

KEY_BYTES = 32
NONCE_BYTES = 12
# a version byte first, so that another scheme can be told apart later
_VERSION = b"\x01"


class UnsealError(Exception):
    """No configured sealing key opens this value (the message never holds the value)."""


def parse_sealing_keys(raw: str) -> list[bytes]:
    """The keys of `KEY_SEALING_KEY`; an empty entry is refused, as a half-edited rotation would be."""
    keys: list[bytes] = []
    for n, item in enumerate(part.strip() for part in raw.split(",")):
        if not item:
            raise ConfigError(f"KEY_SEALING_KEY entry {n + 1} is empty")
        try:
            key = base64.urlsafe_b64decode(item + "=" * (-len(item) % 4))
        except (binascii.Error, ValueError):
            raise ConfigError(f"KEY_SEALING_KEY entry {n + 1} is not base64") from None
        if len(key) != KEY_BYTES:
            raise ConfigError(f"KEY_SEALING_KEY entry {n + 1} is not {KEY_BYTES} bytes")
        keys.append(key)
    return keys


def new_sealing_key() -> str:
    """A fresh value for `KEY_SEALING_KEY`."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


class Sealer:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ConfigError("KEY_SEALING_KEY holds no key")
        self._ciphers = [AESGCM(key) for key in keys]

    def seal(self, key_id: str, secret: str) -> bytes:
        # a random 96-bit nonce per seal: keys are sealed a few thousand times in a key's life, far below
        # the 2^32 seals under one key at which random nonces start to risk a repeat
        nonce = os.urandom(NONCE_BYTES)
        return _VERSION + nonce + self._ciphers[0].encrypt(nonce, secret.encode(), key_id.encode())

    def unseal(self, key_id: str, sealed: bytes) -> str:
        if sealed[:1] != _VERSION or len(sealed) < 1 + NONCE_BYTES:
            raise UnsealError(f"the sealed secret of {key_id} is not in a known format")
        nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        for cipher in self._ciphers:
            try:
                return cipher.decrypt(nonce, body, key_id.encode()).decode()
            except InvalidTag:
                continue
        raise UnsealError(f"no KEY_SEALING_KEY opens the sealed secret of {key_id}")
