"""Settings, as an operator meets them: the layers (file < environment < flags), the variable names
the README gives, and one line naming the setting and its variable for every bad value."""
from __future__ import annotations

import subprocess

import pytest

from backend.settings import ApiSettings
from scheduler.dispatch import DispatchError, DispatchSettings
from streamer.settings import Settings, SettingsError
from tests.helpers.process import livehost_cmd


def test_a_file_then_the_environment_then_flags_each_win_over_the_one_before(tmp_path):
    config = tmp_path / "livehost.yaml"
    config.write_text("streamer:\n  width: 1080\n  height: 1920\n  voice: espeak:cmn\n")
    env = {"LIVEHOST_HEIGHT": "1080", "LIVEHOST_VOICE": "edge"}
    s = Settings.load(config, env=env, voice="espeak:en", width=None)
    assert (s.width, s.height, s.voice) == (1080, 1080, "espeak:en")
    assert Settings.load(env={}).width == 720  # nothing given: the defaults, whatever the process has


def test_redis_url_has_the_name_every_process_uses_and_the_livehost_one_wins():
    assert Settings.load(env={"REDIS_URL": "redis://a:6379/0"}).redis_url == "redis://a:6379/0"
    both = {"REDIS_URL": "redis://a:6379/0", "LIVEHOST_REDIS_URL": "redis://b:6379/0"}
    assert Settings.load(env=both).redis_url == "redis://b:6379/0"


@pytest.mark.parametrize("env, words", [
    ({"LIVEHOST_MUSETALK_BATCH": "0"}, ["musetalk_batch", "LIVEHOST_MUSETALK_BATCH", "1..64"]),
    ({"LIVEHOST_WIDTH": "wide"}, ["width", "LIVEHOST_WIDTH", "integer", "'wide'"]),
    ({"LIVEHOST_WIDTH": "721"}, ["width must be an even number of pixels in 64..4096, not 721"]),
    ({"LIVEHOST_LIPSYNC_FALLBACK": "maybe"}, ["lipsync_fallback", "'parametric'", "'refuse'", "'maybe'"]),
])
def test_a_bad_value_is_one_line_naming_the_setting_and_its_variable(env, words):
    with pytest.raises(SettingsError) as e:
        Settings.load(env=env)
    message = str(e.value)
    assert "\n" not in message and all(w in message for w in words), message


def test_an_unknown_setting_in_the_file_is_named(tmp_path):
    config = tmp_path / "livehost.yaml"
    config.write_text("widht: 1080\n")
    with pytest.raises(SettingsError, match=r"^unknown setting\(s\): widht$"):
        Settings.load(config, env={})


def test_the_api_and_the_scheduler_read_the_same_database_redis_and_data_key(tmp_path):
    env = {"DATABASE_URL": "mysql+pymysql://u:p@db/livehost", "REDIS_URL": "redis://r:6379/0",
           "LIVEHOST_DATA_KEY": "k" * 44, "LIVEHOST_JWT_SECRET": "j" * 48, "LIVEHOST_PROXY_HOPS": "1",
           "LIVEHOST_CLAIM_TTL": "7"}
    api, dispatch = ApiSettings.from_env(env, var_dir=tmp_path), DispatchSettings.from_env(env, var_dir=tmp_path)
    assert (api.database_url, api.redis_url, api.data_key) == (dispatch.database_url, dispatch.redis_url,
                                                               dispatch.data_key)
    assert api.proxy_hops == 1 and dispatch.claim_ttl_s == 7.0
    assert not list(tmp_path.iterdir()), "no secret is kept under var/ when the environment gives them"
    assert "k" * 44 not in repr(api) and "u:p@" not in repr(dispatch), "secrets are not in the repr"


def test_a_bad_scheduler_setting_is_one_line():
    with pytest.raises(DispatchError, match="LIVEHOST_CLAIM_TTL") as e:
        DispatchSettings.from_env({"REDIS_URL": "redis://r:6379/0", "LIVEHOST_CLAIM_TTL": "0",
                                   "LIVEHOST_DATA_KEY": "k"})
    assert "\n" not in str(e.value)


def test_the_command_line_says_what_is_wrong_and_exits_2(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "LIVEHOST_MUSETALK_BATCH": "100", "HOME": str(tmp_path)}
    run = subprocess.run(livehost_cmd("demo", "--duration", "1"), env=env, cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1].startswith("livehost: error: setting musetalk_batch "
                                                          "(LIVEHOST_MUSETALK_BATCH) must be in 1..64")
