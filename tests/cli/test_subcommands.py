"""backends, config, history --reindex, usage, view: through the real CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .helpers import cli, one_line


def make_images(*prompts: str) -> list[Path]:
    paths = []
    for prompt in prompts:
        res = cli("--once", prompt, "--size", "64x64")
        assert res.returncode == 0, res.stderr
        paths.append(Path(res.stdout.strip()))
    return paths


def index_file() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "imagen-tui" / "index.sqlite3"


def test_reindex_rebuilds_from_files_after_the_index_is_lost() -> None:
    make_images("a red fox", "a grey wolf")
    index_file().unlink()
    res = cli("history", "--reindex", "--json")
    assert res.returncode == 0, res.stderr
    assert "2 images" in res.stderr
    assert sorted(json.loads(x)["prompt"] for x in res.stdout.splitlines()) == [
        "a grey wolf",
        "a red fox",
    ]


def test_corrupt_index_is_rebuilt_automatically() -> None:
    make_images("corrupted fox")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index_file()}{suffix}").unlink(missing_ok=True)
    index_file().write_bytes(b"this is not sqlite" * 100)
    res = cli("history", "--search", "fox")
    assert res.returncode == 0, res.stderr
    assert "corrupted fox" in res.stdout


def test_config_init_output_validates_and_path_follows_env(tmp_path: Path) -> None:
    sample = cli("config", "init")
    assert sample.returncode == 0 and "[backends.mock]" in sample.stdout
    path = tmp_path / "mine.toml"
    path.write_text(sample.stdout)
    ok = cli("config", "validate", str(path))
    assert ok.returncode == 0 and "ok" in ok.stdout
    assert cli("config", "path", env={"IMAGEN_TUI_CONFIG": str(path)}).stdout.strip() == str(path)
    assert cli("config", "path", "--config", "/x/y.toml").stdout.strip() == "/x/y.toml"


def test_backends_lists_types_instances_and_options() -> None:
    res = cli("backends")
    assert res.returncode == 0, res.stderr
    assert "mock" in res.stdout and "ready" in res.stdout and "txt2img" in res.stdout
    opts = cli("backends", "mock")
    assert opts.returncode == 0, opts.stderr
    for key in ("latency_s", "steps", "fail_with", "max_concurrent", "timeout_s"):
        assert key in opts.stdout
    assert "rate_limited" in opts.stdout  # allowed values of fail_with
    assert "Total simulated time" in opts.stdout  # the attribute docstring
    bad = cli("backends", "nope")
    assert bad.returncode == 2 and "nope" in one_line(bad.stderr)


def test_usage_counts_images_per_backend() -> None:
    make_images("one", "two")
    res = cli("usage", "--json")
    assert res.returncode == 0, res.stderr
    (row,) = json.loads(res.stdout)
    assert (row["backend"], row["images"]) == ("mock", 2)


def test_view_missing_image_is_one_line_exit_2(tmp_path: Path) -> None:
    res = cli("view", str(tmp_path / "nope.png"))
    assert res.returncode == 2 and "no such image" in one_line(res.stderr)


def test_workbench_without_a_terminal_says_so() -> None:
    res = cli()  # stdin/stdout are pipes here; the workbench itself is tested in tests/tui, e2e
    assert res.returncode == 2 and "needs a terminal" in one_line(res.stderr)
    assert "--once" in res.stderr


def test_validate_without_any_config_file_means_defaults(tmp_path: Path) -> None:
    res = cli("config", "validate")
    assert res.returncode == 0 and "defaults" in res.stdout
    missing = cli("config", "validate", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "does not exist" in one_line(missing.stderr)


def test_config_init_and_path_refuse_a_stray_file_argument(tmp_path: Path) -> None:
    """Seen as a new user: `config path extra` printed `extra` and exited 0."""
    for action in ("init", "path"):
        res = cli("config", action, str(tmp_path / "mine.toml"))
        assert res.returncode == 2 and res.stdout == ""
        line = one_line(res.stderr)
        assert f"config {action} takes no file" in line and "--config" in line


def test_restore_takes_the_path_given_to_trash() -> None:
    """Seen as a new user: `trash X` worked, then `restore X` said X is not in the trash."""
    (image,) = make_images("a fox to trash")
    assert cli("trash", str(image)).returncode == 0
    assert not image.exists()
    res = cli("restore", str(image))
    assert res.returncode == 0, res.stderr
    assert image.exists() and res.stdout.strip() == str(image)
    listed = cli("history", "--json").stdout
    assert json.loads(listed.splitlines()[0])["path"] == str(image)


def test_a_mistyped_command_or_a_bare_prompt_says_what_to_type() -> None:
    """Seen as a new user: `imagen-tui histroy` and `imagen-tui "a red fox"` only said
    'unrecognized arguments'."""
    typo = cli("histroy", "--json")
    assert typo.returncode == 2
    assert "unknown command 'histroy' (did you mean history?)" in one_line(typo.stderr)
    bare = cli("a red fox")
    assert bare.returncode == 2
    assert """to make an image: imagen-tui --once 'a red fox'""" in one_line(bare.stderr)


def test_history_stops_listing_an_image_deleted_outside_imagen_tui() -> None:
    kept, deleted = make_images("a kept fox", "a deleted wolf")
    deleted.unlink()
    res = cli("history", "--json")
    assert res.returncode == 0, res.stderr
    assert [json.loads(x)["path"] for x in res.stdout.splitlines()] == [str(kept)]


def test_a_library_add_whose_indexing_fails_leaves_the_library_as_it_was(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "comfy"
    folder.mkdir()
    (Path(os.environ["XDG_STATE_HOME"]) / "imagen-tui" / "index.sqlite3").mkdir(parents=True)
    done = cli("library", "add", str(folder))
    assert done.returncode == 1
    assert "cannot open the index" in one_line(done.stderr)
    listed = cli("library", "list", "--json")
    assert listed.returncode == 0
    assert str(folder) not in [json.loads(line)["path"] for line in listed.stdout.splitlines()]


def test_config_path_shows_control_characters_on_a_terminal_and_stays_exact_in_a_pipe() -> None:
    import pty
    import subprocess
    import sys

    from .helpers import TIMEOUT_S

    hostile = "/tmp/x\x1b[2Jy.toml"
    env = {**os.environ, "IMAGEN_TUI_CONFIG": hostile}
    assert cli("config", "path", env=env).stdout == hostile + "\n"
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "imagen_tui.tui.cli", "config", "path"],
            stdout=follower, stderr=subprocess.PIPE, env=env, timeout=TIMEOUT_S,
        )  # fmt: skip
        shown = os.read(leader, 4096)
    finally:
        os.close(leader)
        os.close(follower)
    assert done.returncode == 0 and b"\x1b" not in shown
    assert "/tmp/x\u241b[2Jy.toml" in shown.decode()
