"""Command line: argument parsing, subcommand dispatch and exit codes.

Exit codes: 0 done; 1 generation failed; 2 usage or config error; 130 interrupted.
Textual is imported only to launch the workbench or the viewer, never for `--once`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

# pydantic scans every installed distribution for its own plugins on first use (~20 ms of each
# start-up); imagen-tui uses none. A user who sets the variable keeps their value.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from imagen_tui.backends import ConfigError, ImagenTuiError

from .exit import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, PROG, Parser, UsageError, fail

SUBCOMMANDS = ("backends", "config", "history", "view", "usage", "jobs", "cancel")


def build_parser() -> Parser:
    p = Parser(
        prog=PROG,
        description="Generate images from a terminal. Without --once it opens the workbench.",
        epilog=f"subcommands: {', '.join(SUBCOMMANDS)} (e.g. {PROG} backends --help)",
    )
    p.add_argument("--once", metavar="PROMPT", help="generate headless and exit; - reads stdin")
    p.add_argument("--backend", metavar="NAME", help="backend instance (default: default_backend)")
    p.add_argument(
        "--size", metavar="WxH", help="image size, each side 64-4096 (default 1024x1024)"
    )
    p.add_argument("--seed", type=int, metavar="N", help="seed (default: random, reported)")
    p.add_argument(
        "--steps", type=int, metavar="N", help="sampling steps, where the backend has them"
    )
    p.add_argument(
        "--style", metavar="NAME", help="a [styles.NAME] prompt template from the config"
    )
    p.add_argument("--negative", metavar="TEXT", default="", help="negative prompt")
    p.add_argument("-n", dest="count", type=int, default=1, metavar="COUNT", help="images to make")
    p.add_argument("--ref", action="append", default=[], metavar="FILE", help="reference image")
    p.add_argument(
        "-o", dest="options", action="append", default=[], metavar="KEY=VALUE",
        help="backend option for this run (see: imagen-tui backends NAME)",
    )  # fmt: skip
    p.add_argument("--output", metavar="DIR", help="write into DIR instead of output.dir")
    p.add_argument("--json", action="store_true", help="print one JSON object per image")
    p.add_argument("--no-sidecar", action="store_true", help="do not write the .json sidecar")
    preview = p.add_mutually_exclusive_group()
    preview.add_argument("--preview", dest="preview", action="store_const", const="on",
                         help="open the image in an img:<slug> tmux window")  # fmt: skip
    preview.add_argument("--no-preview", dest="preview", action="store_const", const="off",
                         help="never open a preview window")  # fmt: skip
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line on stderr")
    p.add_argument("--config", metavar="PATH", help="config file (default: imagen-tui config path)")
    p.add_argument("--version", action=VersionAction, nargs=0, help="print the version and exit")
    return p


class VersionAction(argparse.Action):
    """--version, reading package metadata only when asked (it costs ~20 ms of start-up)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # noqa: ANN001
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("imagen-tui")
        except PackageNotFoundError:
            found = "unknown"
        print(f"{parser.prog} {found}")
        parser.exit()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `imagen-tui` script."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in SUBCOMMANDS:
            from . import subcommands

            return subcommands.run(args)
        opts = build_parser().parse_args(args)
        if opts.once is not None:
            from .headless import run_once

            return run_once(opts)
        return _launch_workbench(opts)
    except UsageError as exc:
        fail(f"error: {exc}")
        return EXIT_USAGE
    except ConfigError as exc:
        for problem in exc.problems:
            fail(f"config error: {problem}")
        return EXIT_USAGE
    except ImagenTuiError as exc:  # store and engine failures a user can act on
        fail(f"error: {exc.message}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        fail("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (e.g. `| head`); nothing left to say
        return EXIT_FAILED


def _launch_workbench(opts: argparse.Namespace) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the workbench needs a terminal; in scripts use --once PROMPT")
    from .workbench import run_workbench  # Textual is imported only here

    return run_workbench(opts.config, preview=opts.preview)


if __name__ == "__main__":
    sys.exit(main())
