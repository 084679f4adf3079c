"""Stream keys at rest: Fernet (AES-128-CBC + HMAC) with a key derived from the data_key setting."""
from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _fernet() -> Fernet:
    secret = current_app.config["LIVEHOST"].data_key.encode()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"livehost-stream-key:" + secret).digest()))


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str) -> str:
    """The stream key, for the worker that pushes; never for an API response or a log line."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("the stream key cannot be decrypted: was LIVEHOST_DATA_KEY changed?") from None


def hint(plain: str) -> str:
    """What a person may see of a key: its last 4 characters, only for keys long enough to hide."""
    return plain[-4:] if len(plain) >= 12 else ""
