"""Choose the preview renderer from what is known about the terminal (pure: no I/O).

`TerminalFacts` is what `probe.gather_facts()` found out; `decide()` turns it into a `Decision`
(the renderer to use, what was detected, and how to get a sharper picture). Facts used:

* textual-image 0.12 and tmux 3.3a behaviour: /work/shared/reference/textual-and-tmux.md §1.3
  (verified 2026-11-22): tmux 3.3a answers DA1 itself with ``ESC[?1;2c`` (no sixel) and drops
  APCs unless they are wrapped for passthrough; ``allow-passthrough`` is off by default.
* DA1 (``ESC [ c``) replies list attribute 4 when the terminal draws sixel (VT340, and xterm
  ``-ti vt340``, seen here). tmux 3.4 added sixel when built with ``--enable-sixel``
  (tmux commit dfbc6b1, CHANGES for 3.4; https://github.com/void-linux/void-packages/pull/48746,
  read 2026-11-29); such a tmux draws the sixel itself and is the one answering DA1.
* Unicode placeholders need kitty >= 0.28.0 (reference §1.3: kitty 0.26.5 rejected ``U=1``).
  Ghostty is reported to implement them; that was not verified on this machine. Terminals that
  answer the kitty query without placeholders (WezTerm, Konsole) are not trusted with them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

RENDERERS = ("auto", "kitty", "sixel", "halfcell", "unicode", "off")
ALIASES = {"tgp": "kitty"}  # textual-image's name for the kitty protocol
PASSTHROUGH_LINE = "set -g allow-passthrough on"
KITTY_MIN = (0, 28, 0)
_KITTY_TERMS = ("xterm-kitty", "kitty")
GENERIC_ADVICE = (
    "For real pixels, use a terminal with kitty graphics (kitty 0.28+, Ghostty) or sixel",
    "(foot, WezTerm, mlterm, xterm -ti vt340).",
)
TMUX_ADVICE = (
    "For real pixels inside tmux: with kitty 0.28+ or Ghostty outside, add to ~/.tmux.conf",
    f"    {PASSTHROUGH_LINE}",
    "with a sixel terminal outside, use tmux 3.4+ built with sixel support.",
)
TMUX_ADVICE_PASSTHROUGH_ON = (
    "For real pixels inside tmux: run it in kitty 0.28+ or Ghostty (allow-passthrough is",
    "already on), or with a sixel terminal use tmux 3.4+ built with sixel support.",
)
_GHOSTTY_TERMS = ("xterm-ghostty", "ghostty")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` with every control character (C0, DEL, C1) shown as `?`: safe for a terminal."""
    return _CONTROL.sub("?", text)


def parse_renderer(name: str) -> str:
    """Normalise a renderer setting (case, the `tgp` alias); raises ValueError if unknown."""
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in RENDERERS:
        raise ValueError(f"unknown renderer {name!r}; choose from {', '.join(RENDERERS)}")
    return key


def resolve_setting(flag: str | None, env: dict[str, str], config: str | None) -> str:
    """The renderer setting by precedence: --renderer, then IMAGEN_RENDERER, then config, auto.

    Raises ValueError naming the bad value.
    """
    for value in (flag, env.get("IMAGEN_RENDERER"), config):
        if value:
            return parse_renderer(value)
    return "auto"


@dataclass(frozen=True)
class TerminalFacts:
    """What is known about the terminal. `None` means "not asked" or "no answer"."""

    is_tty: bool = False
    env: dict[str, str] = field(default_factory=dict)  # TERM, TERM_PROGRAM, KITTY_WINDOW_ID, TMUX…
    da1: tuple[int, ...] | None = None  # attributes of the DA1 reply (of tmux, inside tmux)
    kitty_reply: str | None = None  # "OK" or the error text of the kitty query
    xtversion: str | None = None  # XTVERSION reply text, e.g. "kitty(0.35.2)", "XTerm(379)"
    cell_px: tuple[int, int] | None = None  # (w, h) of one cell in pixels
    tmux_passthrough: bool | None = None  # `show -Apv allow-passthrough` said on/off
    tmux_termname: str | None = None  # #{client_termname}: the outer terminal's TERM
    tmux_termfeatures: str | None = None  # #{client_termfeatures}, comma-separated
    tmux_version: str | None = None  # #{version}, e.g. "3.3a"

    @property
    def in_tmux(self) -> bool:
        """True when running inside a tmux pane ($TMUX set)."""
        return bool(self.env.get("TMUX"))


@dataclass(frozen=True)
class Decision:
    """The renderer to use and why; `advice` lines say how to get a sharper picture."""

    renderer: str  # one of kitty, sixel, halfcell, unicode, off
    passthrough: bool = False  # wrap kitty commands for tmux
    detected: tuple[str, ...] = ()
    advice: tuple[str, ...] = ()


def _version(text: str | None) -> tuple[int, ...] | None:
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    return tuple(int(g or 0) for g in match.groups()) if match else None


def outer_term(facts: TerminalFacts) -> str:
    """The TERM of the terminal the user looks at (tmux's client, or ours outside tmux)."""
    if facts.in_tmux:
        return facts.tmux_termname or ""
    return facts.env.get("TERM", "")


def placeholder_terminal(facts: TerminalFacts) -> tuple[bool, str]:
    """(True, why) when the outer terminal draws kitty Unicode placeholders, else (False, why)."""
    term, env = outer_term(facts), facts.env
    xtv = facts.xtversion or ""
    if term in _GHOSTTY_TERMS or env.get("TERM_PROGRAM", "").lower() == "ghostty":
        return True, "Ghostty"
    is_kitty = term in _KITTY_TERMS or bool(env.get("KITTY_WINDOW_ID")) or "kitty" in xtv
    if not is_kitty:
        if facts.kitty_reply == "OK":  # e.g. WezTerm, Konsole: kitty images, no placeholders
            return False, "kitty graphics without known Unicode placeholder support"
        return False, "no kitty graphics protocol"
    version = _version(xtv) if "kitty" in xtv else None
    if version is not None and version < KITTY_MIN:
        return False, f"kitty {'.'.join(map(str, version))} (placeholders need kitty 0.28+)"
    return True, "kitty" + (f" {'.'.join(map(str, version))}" if version else "")


def _sixel_here(facts: TerminalFacts) -> bool:
    return bool(facts.da1) and 4 in facts.da1  # type: ignore[operator]


def _outer_sixel_hint(facts: TerminalFacts) -> bool:
    features = (facts.tmux_termfeatures or "").split(",")
    return "sixel" in features or outer_term(facts).startswith(("foot", "mlterm", "contour"))


def decide(facts: TerminalFacts, requested: str = "auto") -> Decision:
    """Pick the renderer for `requested` (a RENDERERS name) given `facts`.

    Forced renderers are honoured; the decision still says when they cannot show.
    """
    requested = parse_renderer(requested)
    if requested != "auto":
        return _forced(facts, requested)
    if not facts.is_tty:
        return Decision("halfcell", detected=("not a terminal: half-cell blocks",))
    return _auto_tmux(facts) if facts.in_tmux else _auto_plain(facts)


def _auto_plain(facts: TerminalFacts) -> Decision:
    ok, who = placeholder_terminal(facts)
    if ok:
        return Decision("kitty", detected=(f"{who}: kitty graphics with Unicode placeholders",))
    if _sixel_here(facts):
        return Decision("sixel", detected=("the terminal draws sixel (DA1 reports 4)",))
    advice = GENERIC_ADVICE
    if "kitty 0." in who:
        advice = ("Upgrade kitty to 0.28 or newer for real pixels.",)
    detected = (f"{who}, no sixel in the DA1 reply: half-cell blocks",)
    return Decision("halfcell", detected=detected, advice=advice)


def _auto_tmux(facts: TerminalFacts) -> Decision:
    version = facts.tmux_version or "?"
    ok, who = placeholder_terminal(facts)
    head = f"tmux {version}, outer terminal {outer_term(facts) or 'unknown'}"
    if ok and facts.tmux_passthrough:
        return Decision(
            "kitty", passthrough=True,
            detected=(head, f"{who} behind tmux with allow-passthrough on: kitty placeholders"),
        )  # fmt: skip
    if ok:
        why = f"{who} behind tmux, but allow-passthrough is off: half-cell blocks"
        advice = (
            "For real pixels, add to ~/.tmux.conf:",
            f"    {PASSTHROUGH_LINE}",
            "then run: tmux source-file ~/.tmux.conf",
        )
        return Decision("halfcell", detected=(head, why), advice=advice)
    if _sixel_here(facts):
        return Decision("sixel", detected=(head, "tmux draws sixel itself (DA1 reports 4)"))
    if _outer_sixel_hint(facts):
        why = "the outer terminal draws sixel but this tmux does not: half-cell blocks"
        advice = ("For real pixels, use tmux 3.4 or newer built with sixel support.",)
        return Decision("halfcell", detected=(head, why), advice=advice)
    why = "no kitty-placeholder or sixel terminal known behind tmux: half-cell blocks"
    advice = TMUX_ADVICE_PASSTHROUGH_ON if facts.tmux_passthrough else TMUX_ADVICE
    return Decision("halfcell", detected=(head, why), advice=advice)


def _forced(facts: TerminalFacts, renderer: str) -> Decision:
    detected = [f"renderer forced to {renderer}"]
    advice: list[str] = []
    passthrough = renderer == "kitty" and facts.in_tmux
    if passthrough and facts.tmux_passthrough is False:
        detected.append("tmux allow-passthrough is off: kitty images cannot reach the terminal")
        advice += ["For kitty images inside tmux, add to ~/.tmux.conf:", f"    {PASSTHROUGH_LINE}"]
    if renderer == "sixel" and facts.in_tmux and facts.da1 is not None and not _sixel_here(facts):
        detected.append("this tmux does not draw sixel: expect a blank box")
    return Decision(renderer, passthrough, tuple(detected), tuple(advice))
