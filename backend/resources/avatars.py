"""avatars (being written)."""
from flask import Blueprint

bp = Blueprint("avatars", __name__, url_prefix="/api/avatars")
