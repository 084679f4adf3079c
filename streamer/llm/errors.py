"""What went wrong talking to an LLM server, in words an operator can act on."""
from __future__ import annotations

from urllib.parse import urlsplit


def describe_error(exc: Exception, base_url: str, api_key: str = "") -> str:
    """One line for a failed request to the server at `base_url`, never holding the API key."""
    import openai  # ~1 s: only once something failed

    where = host(base_url)
    if isinstance(exc, openai.APIStatusError):
        text = f"HTTP {exc.status_code} from {where}: {exc.message}"
    elif isinstance(exc, openai.APITimeoutError):
        text = f"timed out talking to {where}"
    elif isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        text = f"cannot reach {where}" + (f" ({type(cause).__name__}: {cause})" if cause else "")
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())[:300]
    return text.replace(api_key, "***") if api_key else text


def host(base_url: str) -> str:
    """host:port of a URL, without any user:password part."""
    parts = urlsplit(base_url)
    return parts.netloc.rpartition("@")[2] or base_url
