"""The OpenAPI 3.1 document, generated from the registered routes and their pydantic models.

`python -m backend.openapi` prints it without a server (the dashboard's TypeScript types are
generated from it: `cd frontend && npm run gen:api`)."""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from backend.app import create_app
from backend.resources.openapi import build
from backend.settings import ApiSettings


def document() -> str:
    """The document as JSON text with sorted keys (the same for the same code), from an app on a
    throwaway SQLite database."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = ApiSettings.from_env(env={}, database_url=f"sqlite:///{Path(tmp) / 'openapi.db'}",
                                        var_dir=Path(tmp) / "var", avatars_dir=Path(tmp) / "avatars",
                                        jwt_secret="openapi", data_key="openapi")
        app = create_app(settings)
        try:
            return json.dumps(build(app), indent=2, sort_keys=True) + "\n"
        finally:
            app.extensions["livehost.db"].dispose()


def main() -> None:
    sys.stdout.write(document())


if __name__ == "__main__":
    main()
