"""Secrets at rest (stream keys, audience sources' credentials): Fernet (AES-128-CBC + HMAC) with a
key derived from the data_key setting, which the API (encrypting what an operator enters) and the
workers (decrypting to push and to read the platforms' chat) share."""
from __future__ import annotations

import base64
import hashlib
import json

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


def encrypt_fields(fields: dict[str, str], data_key: str) -> str:
    """Several secrets (name -> value) as one Fernet token of their JSON; empty values are left
    out, and "" when none is left."""
    kept = {k: v for k, v in fields.items() if v}
    return fernet_for(data_key).encrypt(json.dumps(kept).encode()).decode() if kept else ""


def decrypt_fields(token: str, data_key: str) -> dict[str, str]:
    """The secrets encrypt_fields() stored (for the worker that uses them, never for a response or
    a log line); ValueError if they cannot be decrypted."""
    if not token:
        return {}
    try:
        data = json.loads(fernet_for(data_key).decrypt(token.encode()))
    except (InvalidToken, ValueError):
        raise ValueError("the stored credentials cannot be decrypted: was LIVEHOST_DATA_KEY changed?") from None
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
