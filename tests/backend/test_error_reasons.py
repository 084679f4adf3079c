"""Every error the API gives has a reason the dashboard words in each of its languages: the
reasons raised in the code are in backend.errors.REASONS, and each has a sentence in zh-CN and en."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from backend.errors import REASONS

ROOT = Path(__file__).resolve().parents[2]
RAISED = (re.compile(r'because\(\s*\d+,\s*"[a-z_]+",\s*"([a-z_]+)"'),  # ApiError.because(409, "conflict", "x")
          re.compile(r'\breason="([a-z_]+)"'),  # ApiError(..., reason="x"), TestPushOut(reason="x")
          re.compile(r'invalid_value\("([a-z_]+)"'),  # a field check
          re.compile(r'field_error\(\s*"[a-z_.]+",\s*"([a-z_]+)"'),  # a field check outside pydantic
          re.compile(r'SinkError\([^()]*(?:\([^()]*\)[^()]*)*,\s*"([a-z_]+)"'),  # a push's failure
          re.compile(r'warnings\.append\("([a-z_]+)"\)'))


def raised_reasons() -> set[str]:
    found = set()
    for folder in ("backend", "streamer/output"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for pattern in RAISED:
                found.update(pattern.findall(text))
    return found


def test_every_reason_raised_is_in_the_catalogue():
    raised = raised_reasons()
    assert {"in_use", "schedule_overlap", "rtmp_unreachable", "url_no_host", "no_stream_key"} <= raised, raised
    assert raised - set(REASONS) == set()


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_dashboard_words_every_reason_with_its_params(locale):
    text = (ROOT / "frontend" / "src" / "i18n" / f"{locale}.ts").read_text(encoding="utf-8")
    worded = {name: words for name, _, words in
              re.findall(r"""['"]reason\.([a-z_]+)['"]\s*:\s*(['"`])(.*?)\2""", text)}
    missing = set(REASONS) - set(worded)
    assert not missing, f"{locale} has no words for {sorted(missing)}"
    for reason, template in REASONS.items():
        wanted = set(re.findall(r"\{(\w+)\}", template)) - {"users"}  # the names may be said another way
        used = set(re.findall(r"\{(\w+)\}", worded[reason]))
        assert used <= set(re.findall(r"\{(\w+)\}", template)) | {"users", "lives", "schedules"}, (reason, used)
        assert wanted - used <= {"what", "repeat", "at", "status"}, (locale, reason, wanted - used)
