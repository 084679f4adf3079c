"""scripts (being written)."""
from flask import Blueprint

bp = Blueprint("scripts", __name__, url_prefix="/api/scripts")
