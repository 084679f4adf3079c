"""The admin API: Flask app factory, one blueprint per resource, JWT auth (the data models are in db/)."""
from backend.app import create_app

__all__ = ["create_app"]
