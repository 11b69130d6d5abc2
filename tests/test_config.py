"""Typed configuration: environment over kcbx.toml; a bad token is one clear line, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kcbx.bot.runtime.config import Config, ConfigError, load_config

pytestmark = pytest.mark.single_backend  # opens no database


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    toml = tmp_path / "kcbx.toml"
    toml.write_text('db_path = "file.db"\ntimezone = "Asia/Shanghai"\n', encoding="utf-8")
    config = load_config(toml, env={"KCBX_DB": "env.db", "KCBX_TELEGRAM_TOKEN": "1:abc"})
    assert config.db_path == "env.db"
    assert config.require_token() == "1:abc"
    assert config.file_url == "https://api.telegram.org/file/bot"


def test_self_hosted_api_url_gives_the_file_url() -> None:
    config = load_config(env={"KCBX_TELEGRAM_API_URL": "http://127.0.0.1:8081/bot"})
    assert config.file_url == "http://127.0.0.1:8081/file/bot"


@pytest.mark.parametrize(
    ("text", "problem"),
    [("bogus = 1\n", "unknown setting"), ('timezone = "Mars/Base"\n', "time zone"), ("[", "TOML")],
)
def test_bad_files_name_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    toml = tmp_path / "kcbx.toml"
    toml.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=problem):
        load_config(toml, env={})


@pytest.mark.parametrize("token", [None, "not-a-token", "12345:", "abc:def"])
def test_run_without_a_good_token_is_one_line_and_exit_2(tmp_path: Path, token: str | None) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    if token is not None:
        env["KCBX_TELEGRAM_TOKEN"] = token
    result = subprocess.run(
        [sys.executable, "-m", "kcbx.bot.cli.main", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "KCBX_TELEGRAM_TOKEN" in result.stderr


def test_organs_give_the_issuing_bodies_full_names(tmp_path: Path) -> None:
    path = tmp_path / "kcbx.toml"
    path.write_text(
        '[organs]\nprefix = "中卫市"\n'
        '[organs.townships]\n"宣和镇" = "中卫市沙坡头区宣和镇人民政府"\n',
        encoding="utf-8",
    )
    organs = load_config(path, env={}).organs
    assert organs.bureau_name("沙坡头区") == "中卫市沙坡头区教育局"
    assert organs.township_name("宣和镇", "沙坡头区") == "中卫市沙坡头区宣和镇人民政府"
    assert organs.township_name("滨河镇", "沙坡头区") == "中卫市沙坡头区滨河镇人民政府"
    assert Config().organs.bureau_name("沙坡头区") == "沙坡头区教育局"  # no [organs]
    path.write_text('[organs]\nseal = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"organs\.seal"):
        load_config(path, env={})
    path.write_text('grade_style = "初中"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="grade_style"):
        load_config(path, env={})
