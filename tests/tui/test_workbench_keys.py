"""Every key of DESIGN.md's table does what the help screen says, driven through Pilot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import events
from textual.command import CommandPalette
from textual.pilot import Pilot

from imagen_tui.backends import EventKind, JobState
from imagen_tui.tui.screens.confirm import ConfirmQuit
from imagen_tui.tui.screens.help import HelpScreen
from imagen_tui.tui.screens.main import MainScreen
from imagen_tui.tui.screens.preview import PreviewScreen
from imagen_tui.tui.widgets.history_list import HistoryList
from imagen_tui.tui.widgets.job_list import JobList
from imagen_tui.tui.widgets.prompt_editor import PromptEditor
from tests.tui.fake_engine import FakeEngine
from tests.tui.workbench_helpers import drive, make_app, notes, settle, type_text, wait_for


def hlist(pilot: Pilot[Any]) -> HistoryList:
    return pilot.app.screen.query_one(HistoryList)


def test_prompt_editor_has_focus_and_ctrl_g_submits_from_anywhere(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path, images=3)

    async def steps(pilot: Pilot[Any]) -> None:
        assert app.focused is not None and app.focused.id == "prompt"
        await type_text(pilot, "a red fox")
        await pilot.press("f4")
        assert app.focused is hlist(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert [r.prompt for r in engine.submitted] == ["a red fox"]
        assert len(app.screen.query_one(JobList).order) == 1

    drive(app, steps)


def test_ctrl_g_with_problems_sends_nothing_and_explains(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert engine.submitted == []
        problem = app.screen.query_one("#problem-prompt")
        assert problem.display and "type a prompt" in str(problem.content)
        assert any("Not sent" in n for n in notes(app))

    drive(app, steps)


def test_f1_help_lists_the_live_keymap_and_remapped_keys_work(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    engine = FakeEngine(folder, keys={"generate": "f5", "nonsense": "x"})
    app, _ = make_app(tmp_path, engine=engine)

    async def steps(pilot: Pilot[Any]) -> None:
        assert any("keys.nonsense: no such binding id" in n for n in notes(app))
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-table").content
        cells = zip(table.columns[0]._cells, table.columns[1]._cells, strict=True)
        rows = {(str(keys), str(desc)) for keys, desc in cells}
        assert ("f5", "Generate") in rows and ("x", "Cancel") in rows
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        await type_text(pilot, "fox")
        await pilot.press("f5")
        await settle(pilot)
        assert [r.prompt for r in engine.submitted] == ["fox"]

    drive(app, steps)


def test_f2_f3_f4_focus_panes_and_ctrl_p_opens_the_palette(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, images=2)

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("f3")
        assert app.focused is app.screen.query_one(JobList)
        await pilot.press("f4")
        assert app.focused is hlist(pilot)
        await pilot.press("f2")
        assert app.focused is app.screen.query_one("#prompt")
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        await type_text(pilot, "Theme: imagen-light")
        await pilot.press("enter")
        await settle(pilot)
        assert app.theme == "imagen-light"

    drive(app, steps)


def test_ctrl_q_quits_at_once_without_running_jobs(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("ctrl+q")
        await pilot.pause()

    drive(app, steps)
    assert app.return_code == 0 and engine.closed


def test_ctrl_q_asks_while_this_process_has_running_jobs(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        await type_text(pilot, "fox")
        await pilot.press("ctrl+g")
        await settle(pilot)
        engine.add_foreign("not ours", state=JobState.RUNNING)  # other processes don't count
        await pilot.press("ctrl+q")
        assert isinstance(app.screen, ConfirmQuit)
        await pilot.press("n")
        assert isinstance(app.screen, MainScreen)
        await pilot.press("ctrl+q")
        await pilot.press("y")
        await pilot.pause()

    drive(app, steps)
    assert app.return_code == 0


def test_list_moves_j_k_down_up_g_G(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, images=250)

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("f4")
        lst = hlist(pilot)
        assert (lst.cursor, lst.count) == (0, 250)
        seen = []
        for key in ("j", "j", "down", "k", "up", "G", "k", "g"):
            await pilot.press(key)
            await settle(pilot)
            seen.append(lst.cursor)
        assert seen == [1, 2, 3, 2, 1, 249, 248, 0]
        await pilot.press("G")
        await settle(pilot)
        assert lst.current_row().prompt == "image 0 prompt"  # the oldest, paged in on demand
        meta = str(app.screen.query_one("#metadata").content)
        assert "image 0 prompt" in meta

    drive(app, steps)


def test_slash_searches_and_escape_clears(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, images=30)

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("f4", "slash")
        await type_text(pilot, "image 2")
        await pilot.press("enter")
        await wait_for(pilot, lambda: hlist(pilot).count == 11)  # 2, 20-29
        assert app.focused is hlist(pilot)
        await pilot.press("slash", "escape")
        await wait_for(pilot, lambda: hlist(pilot).count == 30)

    drive(app, steps)


def test_closing_a_search_keeps_the_image_found_selected(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, images=30)

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("f4", "slash")
        await type_text(pilot, "image 7 prompt")
        await pilot.press("enter")
        await wait_for(pilot, lambda: hlist(pilot).count == 1)
        assert hlist(pilot).current_row().prompt == "image 7 prompt"
        await pilot.press("slash", "escape")
        await wait_for(pilot, lambda: hlist(pilot).count == 30)
        await wait_for(pilot, lambda: hlist(pilot).current_row().prompt == "image 7 prompt")
        assert hlist(pilot).cursor == 22  # newest first: 29 … 7

    drive(app, steps)


def test_enter_shows_the_image_full_screen(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, images=2)

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("f4", "enter")
        await settle(pilot)
        assert isinstance(app.screen, PreviewScreen)
        assert app.screen.query_one("#full-preview").image is not None
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)

    drive(app, steps)


def test_o_outside_tmux_explains_itself(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path, images=1)

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("f4", "o")
        await settle(pilot)
        assert any("Not inside tmux" in n for n in notes(app))

    drive(app, steps)


def test_f_favourite_and_F_filter(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path, images=5)

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("f4", "j", "f")
        await wait_for(pilot, lambda: hlist(pilot).current_row().favourite)
        assert [r.favourite for r in engine.history.rows] == [False, False, False, True, False]
        assert hlist(pilot).cursor == 1  # selection kept across the reload
        await pilot.press("F")
        await wait_for(pilot, lambda: hlist(pilot).count == 1)
        await pilot.press("F")
        await wait_for(pilot, lambda: hlist(pilot).count == 5)

    drive(app, steps)


def test_d_trashes_and_u_restores(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path, images=3)

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("f4", "d")
        await wait_for(pilot, lambda: hlist(pilot).count == 2)
        assert engine.history.rows[2].trashed
        await pilot.press("u")
        await wait_for(pilot, lambda: hlist(pilot).count == 3)
        assert not engine.history.rows[2].trashed
        await pilot.press("d", "t")  # trash view, then restore from it
        await wait_for(pilot, lambda: hlist(pilot).count == 1)
        await pilot.press("u")
        await wait_for(pilot, lambda: hlist(pilot).count == 0)
        assert not any(r.trashed for r in engine.history.rows)

    drive(app, steps)


def test_r_reruns_with_the_seed_and_s_with_a_new_one(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path, images=2)

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("f4", "r")
        await wait_for(pilot, lambda: len(engine.submitted) == 1)
        await pilot.press("s")
        await wait_for(pilot, lambda: len(engine.submitted) == 2)

    drive(app, steps)
    rerun, varied = engine.submitted
    assert (rerun.prompt, rerun.seed) == ("image 1 prompt", 2)
    assert (varied.prompt, varied.seed) == ("image 1 prompt", None)


def test_e_loads_the_editor_and_E_adds_the_image_as_reference(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path, images=2)

    async def steps(pilot: Pilot[Any]) -> None:
        editor = app.screen.query_one(PromptEditor)
        await pilot.press("f4", "e")
        await wait_for(pilot, lambda: editor.values().prompt == "image 1 prompt")
        values = editor.values()
        assert (values.seed, values.size, values.references) == ("2", "512x512", "")
        assert app.focused is app.screen.query_one("#prompt")
        await pilot.press("f4", "E")
        await wait_for(pilot, lambda: editor.values().references != "")
        assert editor.values().references == engine.history.rows[1].path

    drive(app, steps)


def test_y_copies_the_prompt(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, images=1)

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("f4", "y")
        await settle(pilot)
        assert app.clipboard == "image 0 prompt"

    drive(app, steps)


def test_job_keys_x_cancels_R_retries_o_opens(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        await type_text(pilot, "fox")
        await pilot.press("ctrl+g")
        await settle(pilot)
        (job,) = engine.local.values()
        await pilot.press("f3", "o")
        await settle(pilot)
        assert any("no image yet" in n for n in notes(app))
        await pilot.press("x")
        await wait_for(pilot, lambda: app.screen.query_one(JobList).state_of(job.id) == "cancelled")
        assert engine.cancelled == [job.id]
        await pilot.press("R")
        await settle(pilot)
        jobs = app.screen.query_one(JobList)
        assert len(jobs.order) == 2 and engine.local[jobs.order[0]].seed == job.seed
        engine.set_state(job.id, EventKind.DONE, output_path=str(tmp_path / "x.png"))
        await pilot.press("j", "o")
        await settle(pilot)
        assert any("Not inside tmux" in n for n in notes(app))

    drive(app, steps)


def test_keys_typed_just_before_ctrl_g_are_all_sent(tmp_path: Path) -> None:
    """ctrl+g (a priority app key) must not overtake keys still queued for the prompt."""
    app, engine = make_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        for char in "quick fox":
            app.post_message(events.Key("space" if char == " " else char, char))
        app.post_message(events.Key("ctrl+g", None))
        await wait_for(pilot, lambda: bool(engine.submitted))

    drive(app, steps)
    assert [r.prompt for r in engine.submitted] == ["quick fox"]
