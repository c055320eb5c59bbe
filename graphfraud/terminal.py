"""What the command line prints, and how it ends.

Everything graphfraud prints may quote the data (file names, ids, values), and the data
is written by the people under investigation: text from data goes through :func:`safe`,
which makes ANSI escapes and other control characters visible and escapes rich markup,
so ``[/oops]`` in a CSV header is printed, not interpreted.

:func:`run` is the console-script entry point's frame. It turns every way a command can
end into one exit status and at most one line:

=============================  ======  =============================================
ending                         status  printed
=============================  ======  =============================================
success                        0       (the command's own output)
``GraphfraudError``            2       ``error: <message>``
usage error (bad option, ...)  2       ``error: <problem>; see graphfraud <command> --help``
no command at all              2       the help text
Ctrl-C (SIGINT)                130     ``interrupted.``
OS error (disk full, ...)      1       ``error: <file>: <reason>``
anything else                  1       ``error: unexpected ...`` (traceback with ``--debug``)
=============================  ======  =============================================
"""

from __future__ import annotations

import sys
import traceback
import warnings
from collections.abc import Callable
from typing import Any, NoReturn

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from .errors import GraphfraudError, GraphfraudWarning
from .textsafe import excerpt, terminal_text

#: Messages, progress and errors go to stderr; results to stdout.
console = Console(stderr=True)
stdout = Console()

INTERRUPTED = 130
_state = {"debug": False}
_python_show_warning = warnings.showwarning


def set_debug(enabled: bool) -> None:
    """Show full tracebacks of unexpected errors (the ``--debug`` flag)."""
    _state["debug"] = bool(enabled)


def safe(value: Any) -> str:
    """``value`` ready to sit inside a rich markup string: controls visible, markup escaped.

    >>> safe("[/oops] \\x1b[2J")
    '\\\\[/oops] \\\\x1b[2J'
    """
    return escape(terminal_text(value))


def error_line(message: Any) -> None:
    """Print ``error: <message>`` on stderr, never interpreting the message as markup."""
    console.print(Text.assemble(("error:", "bold red"), " ", terminal_text(message)), soft_wrap=True, highlight=False)


def warning_line(message: Any) -> None:
    """Print ``warning: <message>`` on stderr, never interpreting the message as markup."""
    console.print(Text.assemble(("warning:", "bold yellow"), " ", terminal_text(message)), soft_wrap=True,
                  highlight=False)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    # graphfraud's own warnings are messages for the user, not for a developer: one line,
    # no source location. Anything else keeps Python's form.
    if issubclass(category, GraphfraudWarning):
        warning_line(message)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


def usage_line(exc: Exception) -> str:
    """The one line for a click exception: its message and, for a usage error, where to look.

    Click prints a usage block, a hint and the message on three lines; the message alone
    says the problem, and the command's ``--help`` is the fix.
    """
    message = " ".join(str(exc.format_message()).split()).rstrip(".")  # type: ignore[attr-defined]
    if not any(cls.__name__ == "UsageError" for cls in type(exc).__mro__):
        return message
    ctx = getattr(exc, "ctx", None)
    return f"{message}; see {ctx.command_path if ctx is not None else 'graphfraud'} --help"


def _unexpected(exc: BaseException) -> int:
    if _state["debug"]:
        traceback.print_exception(exc)
    else:
        error_line(f"unexpected {type(exc).__name__}: {excerpt(exc) or 'no message'}. This is a bug in graphfraud; "
                   "run the command again with --debug for the traceback and report it.")
    return 1


def exit_status(main: Callable[[], Any]) -> int:
    """Run ``main`` (a typer app in non-standalone mode) and map its ending to an exit status."""
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            code = main()
    except GraphfraudError as exc:
        error_line(exc)
        return 2
    except KeyboardInterrupt:
        code = INTERRUPTED
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except MemoryError:
        error_line("out of memory. Give the process more memory, or split the data (e.g. by time range).")
        return 1
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        error_line(f"{where}{exc.strerror or excerpt(exc)}. Check the path, its permissions and free disk space.")
        return 1
    except Exception as exc:
        # Usage errors and exits of the (possibly vendored) click layer, recognised by shape.
        if hasattr(exc, "exit_code") and hasattr(exc, "format_message"):
            if type(exc).__name__ == "NoArgsIsHelpError":
                exc.show()  # type: ignore[attr-defined]  # its message is the help text
            else:
                error_line(usage_line(exc))
            return int(exc.exit_code)
        if hasattr(exc, "exit_code") and type(exc).__name__ == "Exit":
            return int(exc.exit_code)
        if type(exc).__name__ == "Abort":
            console.print("aborted.")
            return 1
        return _unexpected(exc)
    except BaseException as exc:  # e.g. a panic inside a compiled extension (pyo3's PanicException)
        return _unexpected(exc)
    if code == INTERRUPTED:
        # typer turns KeyboardInterrupt into exit code 130 and returns it in non-standalone mode.
        console.print("interrupted.", highlight=False)
        return INTERRUPTED
    return code if isinstance(code, int) else 0


def run(app: Callable[..., Any]) -> NoReturn:
    """Entry point: run the typer ``app`` and exit with the status of :func:`exit_status`."""
    status = exit_status(lambda: app(standalone_mode=False))
    sys.stdout.flush()
    sys.exit(status)
