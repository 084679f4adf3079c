"""voices (being written)."""
from flask import Blueprint

bp = Blueprint("voices", __name__, url_prefix="/api/voices")
