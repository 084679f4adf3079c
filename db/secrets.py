"""Stream keys at rest: Fernet (AES-128-CBC + HMAC) with a key derived from the data_key setting,
which the API (encrypting what an operator enters) and the workers (decrypting to push) share."""
from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken


def fernet_for(data_key: str) -> Fernet:
    """The cipher for stream keys under `data_key` (the API's and the workers' setting)."""
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"livehost-stream-key:" + data_key.encode()).digest()))


def encrypt(plain: str, data_key: str) -> str:
    return fernet_for(data_key).encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str, data_key: str) -> str:
    """The stream key, for the worker that pushes; never for an API response or a log line."""
    if not token:
        return ""
    try:
        return fernet_for(data_key).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("the stream key cannot be decrypted: was LIVEHOST_DATA_KEY changed?") from None


def hint(plain: str) -> str:
    """What a person may see of a key: its last 4 characters, only for keys long enough to hide."""
    return plain[-4:] if len(plain) >= 12 else ""
