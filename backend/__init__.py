"""The admin API: Flask app factory, one blueprint per resource, SQLAlchemy models, JWT auth."""
from backend.app import create_app

__all__ = ["create_app"]
