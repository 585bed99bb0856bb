"""detect.decide(): the renderer and advice for each kind of terminal, in and out of tmux."""

from __future__ import annotations

import pytest

from imagen_tui.tui.graphics.detect import (
    PASSTHROUGH_LINE,
    TerminalFacts,
    decide,
    parse_renderer,
    printable,
    resolve_setting,
)

TMUX = {"TMUX": "/tmp/s,1,0", "TERM": "tmux-256color", "TERM_PROGRAM": "tmux"}


def facts(**kw: object) -> TerminalFacts:
    return TerminalFacts(is_tty=True, **kw)  # type: ignore[arg-type]


def tmux(termname: str, **kw: object) -> TerminalFacts:
    kw.setdefault("da1", (1, 2))
    return facts(env=TMUX, tmux_termname=termname, **kw)


KITTY = {"TERM": "xterm-kitty"}


@pytest.mark.parametrize(
    ("f", "renderer", "passthrough"),
    [
        (facts(env=KITTY, kitty_reply="OK", xtversion="kitty(0.35.2)"), "kitty", False),
        (facts(env={"TERM": "xterm-ghostty"}, kitty_reply="OK"), "kitty", False),
        (facts(env={"TERM": "xterm"}, da1=(63, 1, 2, 4, 6)), "sixel", False),
        (facts(env={"TERM": "xterm-256color"}, da1=(1, 2)), "halfcell", False),
        (facts(env=KITTY, kitty_reply="OK", xtversion="kitty(0.26.5)"), "halfcell", False),
        (tmux("xterm-kitty", tmux_passthrough=True), "kitty", True),
        (tmux("xterm-kitty", tmux_passthrough=False), "halfcell", False),
        (tmux("xterm", tmux_version="3.4", da1=(1, 2, 4)), "sixel", False),
        (tmux("xterm", tmux_version="3.3a"), "halfcell", False),
        (TerminalFacts(is_tty=False, env=KITTY), "halfcell", False),
    ],
    ids=["kitty", "ghostty", "xterm-vt340", "plain", "old-kitty", "tmux-kitty-pt-on",
         "tmux-kitty-pt-off", "tmux-3.4-sixel", "tmux-3.3a", "not-a-tty"],
)  # fmt: skip
def test_auto_picks_the_sharpest_renderer_that_works(
    f: TerminalFacts, renderer: str, passthrough: bool
) -> None:
    decision = decide(f)
    assert (decision.renderer, decision.passthrough) == (renderer, passthrough)
    assert decision.detected, "the decision must say what it saw"


def test_kitty_behind_tmux_without_passthrough_gives_the_exact_tmux_line() -> None:
    f = facts(env=TMUX, tmux_termname="xterm-kitty", tmux_passthrough=False, tmux_version="3.3a")
    advice = "\n".join(decide(f).advice)
    assert PASSTHROUGH_LINE == "set -g allow-passthrough on"
    assert PASSTHROUGH_LINE in advice


def test_kitty_window_id_inherited_by_tmux_counts_as_kitty() -> None:
    f = facts(env={**TMUX, "KITTY_WINDOW_ID": "3"}, tmux_termname="xterm-256color",
              tmux_passthrough=True)  # fmt: skip
    assert decide(f).renderer == "kitty"


def test_outer_sixel_behind_old_tmux_says_to_upgrade() -> None:
    f = facts(env=TMUX, tmux_termname="foot", tmux_termfeatures="256,RGB", da1=(1, 2))
    decision = decide(f)
    assert decision.renderer == "halfcell"
    assert any("3.4" in line for line in decision.advice)


def test_forced_renderers_are_honoured_and_explained() -> None:
    f = facts(env=TMUX, tmux_termname="xterm", tmux_passthrough=False, da1=(1, 2))
    kitty = decide(f, "kitty")
    assert kitty.renderer == "kitty" and kitty.passthrough
    assert any(PASSTHROUGH_LINE in line for line in kitty.advice)
    sixel = decide(f, "SIXEL")
    assert sixel.renderer == "sixel" and any("blank" in line for line in sixel.detected)
    assert decide(f, "off").renderer == "off"
    assert decide(f, "tgp").renderer == "kitty"


def test_settings_precedence_and_errors() -> None:
    assert resolve_setting(None, {}, None) == "auto"
    assert resolve_setting(None, {}, "sixel") == "sixel"
    assert resolve_setting(None, {"IMAGEN_RENDERER": "unicode"}, "sixel") == "unicode"
    assert resolve_setting("Off", {"IMAGEN_RENDERER": "unicode"}, "sixel") == "off"
    with pytest.raises(ValueError, match="choose from"):
        parse_renderer("iterm")


def test_printable_neutralises_control_characters() -> None:
    assert printable("kitty\x1b]2;pwned\x07\x9b") == "kitty?]2;pwned??"


def test_tmux_advice_does_not_ask_for_passthrough_already_on() -> None:
    off = decide(tmux("xterm", tmux_passthrough=False))
    on = decide(tmux("xterm", tmux_passthrough=True))
    assert on.renderer == off.renderer == "halfcell"
    assert any(PASSTHROUGH_LINE in line for line in off.advice)
    assert not any(PASSTHROUGH_LINE in line for line in on.advice) and on.advice


def test_kitty_query_alone_is_not_enough_for_placeholders() -> None:
    wezterm = facts(env={"TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"}, kitty_reply="OK",
                    da1=(65, 1, 4), xtversion="WezTerm 20240203")  # fmt: skip
    assert decide(wezterm).renderer == "sixel"
    konsole = facts(env={"TERM": "xterm-256color"}, kitty_reply="OK", da1=(62, 1))
    assert decide(konsole).renderer == "halfcell"
