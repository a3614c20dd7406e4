"""Everything the CLI shows: rich trees and tables for people, one JSON document for scripts.

With --json, stdout carries exactly one JSON document and all human output goes to stderr.
Rich already honours NO_COLOR and drops colour when the stream is not a terminal. Rich costs
~20 ms of start-up, so it is imported on the first tree, table or line that needs it: a plain
line (`render --check`) is written as rich would print it, without rich, and so are tables
wherever rich's bytes are known (`plain_table`).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from tac_bootstrap.application.os_errors import as_tac_error
from tac_bootstrap.cli.boundary import State, command_of_context, current_context, one_line
from tac_bootstrap.cli.plain_table import Column
from tac_bootstrap.domain.errors import Interrupted, TacError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from tac_bootstrap.domain.plan import ApplyReport

# Text rich's print would change: an emoji code (`:name:`), or a tab or control character.
_RICH_WOULD_CHANGE = re.compile(r":[^\s:]*:")

# By the value of plan.Status (a str enum, so its members look these up): the plan's module
# is loaded only by the commands that print a plan, not by `db status`.
STATUS_STYLE = {
    "create": "green",
    "identical": "dim",
    "conflict": "bold red",
    "overwrite": "yellow",
    "merge": "cyan",
    "deleted": "dim",
}


def rich_table(
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    styles: Sequence[Sequence[str]],
    *,
    title_left: bool = False,
) -> Table:
    """Rich's table of plain text: every cell a ``Text``, so that no value is read as
    markup; `plain_table.render` writes the same bytes where it can."""
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=Text(title, style="table.title"),
        title_justify="left" if title_left else "center",
    )
    for column in columns:
        table.add_column(
            Text(column.header),
            justify="right" if column.right else "left",
            no_wrap=not column.wrap,
            overflow="fold" if column.fold else "ellipsis",
        )
    for row, row_styles in zip(rows, styles, strict=True):
        table.add_row(*(Text(c, style=st) for c, st in zip(row, row_styles, strict=True)))
    return table


def command_name() -> str:
    """The running command without the program name, e.g. "db logs" ("" outside one)."""
    return command_of_context(current_context())


def error_document(error: str, exit_code: int, command: str | None = None) -> dict[str, Any]:
    """The one JSON document a failed command prints with --json."""
    return {
        "ok": False,
        "command": command_name() if command is None else command,
        "error": one_line(error),
        "exit_code": exit_code,
    }


class Output:
    def __init__(self, json_mode: bool = False) -> None:
        self.json_mode = json_mode

    @cached_property
    def console(self) -> Console:
        """Human output: stdout, or stderr with --json (made on first use: see the docstring)."""
        from rich.console import Console

        return Console(stderr=self.json_mode, highlight=False, soft_wrap=True)

    @cached_property
    def stderr_console(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, highlight=False)

    # -- plain lines --------------------------------------------------------------------

    def info(self, message: str) -> None:
        if message.isprintable() and not _RICH_WOULD_CHANGE.search(message):
            # What console.print(message, markup=False) writes: no markup, highlighting or
            # wrapping (soft_wrap), hence the same bytes, flushed like rich flushes each print.
            stream = sys.stderr if self.json_mode else sys.stdout
            stream.write(message + "\n")
            stream.flush()
            return
        self.console.print(message, markup=False)

    def warn(self, message: str) -> None:
        sys.stderr.write(f"warning: {message}\n")

    def error(self, error: TacError) -> None:
        # One plain line: no rich wrapping, no markup interpretation of user data.
        sys.stderr.write(f"error: {one_line(str(error))}\n")

    def emit_json(self, document: dict[str, Any]) -> None:
        State.documents += 1
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=False) + "\n")

    def fail(self, error: TacError) -> NoReturn:
        """Report ``error`` (one line; with --json also the error document) and exit."""
        self.error(error)
        if self.json_mode and not State.documents:
            self.emit_json(error_document(str(error), error.exit_code))
        raise typer.Exit(error.exit_code)

    @contextmanager
    def handling_errors(self, arguments: Mapping[str, Path | None] | None = None) -> Iterator[None]:
        """The error boundary of a command body: TacError, OSError and Ctrl-C become one
        stderr line (and with --json one error document) and their exit code.

        ``arguments`` maps an option's name to the path the user gave: an OSError on that
        path (or directly inside or beside it) is the user's argument, a usage error (exit 2).
        """
        try:
            yield
        except TacError as exc:
            self.fail(exc)
        except BrokenPipeError:
            raise  # the reader went away (`| head`): the last boundary exits 1 silently
        except OSError as exc:
            self.fail(as_tac_error(exc, arguments or {}))
        except KeyboardInterrupt:
            self.fail(Interrupted("interrupted", hint="nothing more was done"))

    # -- reports ------------------------------------------------------------------------

    def tree(self, report: ApplyReport) -> None:
        """The planned files as a directory tree, each marked with its status."""
        from rich.markup import escape
        from rich.tree import Tree

        from tac_bootstrap.domain.plan import Status

        # Paths and details are escaped: a "[b]" in a directory name is text, not markup.
        root = Tree(f"[bold]{escape(str(report.target))}[/]")
        branches: dict[str, Tree] = {"": root}
        for result in sorted(report.results, key=lambda r: r.path):
            parts = result.path.split("/")
            parent = ""
            for part in parts[:-1]:
                key = f"{parent}/{part}" if parent else part
                if key not in branches:
                    branches[key] = branches[parent].add(f"[blue]{escape(part)}/[/]")
                parent = key
            style = STATUS_STYLE[result.status]
            label = f"{escape(parts[-1])}  [{style}]{result.status.value}[/]"
            if result.detail and result.status is not Status.CREATE:
                label += f" [dim]({escape(result.detail)})[/]"
            branches[parent].add(label)
        self.console.print(root)
        for note in report.notes:
            self.info(note)

    def table(
        self,
        title: str,
        columns: Sequence[Column],
        rows: Sequence[Sequence[str]],
        styles: Sequence[Sequence[str]],
        *,
        title_left: bool = False,
    ) -> None:
        """A table of plain text (``styles``: each cell's rich style, "" for none): where
        rich's bytes are known (`plain_table`), those bytes without importing rich; otherwise
        rich's table, every cell a ``Text`` so that no value is read as markup."""
        from tac_bootstrap.cli import plain_table

        stream = sys.stderr if self.json_mode else sys.stdout
        if plain_table.plain_stream(stream):
            text = plain_table.render(title, columns, rows)
            if text is not None:
                stream.write(text)
                stream.flush()
                return
        self.console.print(rich_table(title, columns, rows, styles, title_left=title_left))

    def summary_line(self, report: ApplyReport) -> str:
        counts = report.summary()
        parts = [f"{n} {status}" for status, n in counts.items() if n]
        verb = "would" if report.dry_run else "did"
        return f"{len(report.results)} files ({verb}): " + ", ".join(parts)

    def summary_table(self, report: ApplyReport) -> None:
        from tac_bootstrap.domain.plan import Status

        title = "Summary" if not report.dry_run else "Summary (dry run)"
        labels = {
            Status.CREATE: "created" if not report.dry_run else "to create",
            Status.IDENTICAL: "identical",
            Status.CONFLICT: "conflicts",
            Status.OVERWRITE: "overwritten (backup kept)",
            Status.MERGE: "merged into your file (backup kept)",
            Status.DELETED: "deleted by you (kept deleted)",
        }
        rows = [
            (status, label, str(report.count(status)))
            for status, label in labels.items()
            if report.count(status) or status in (Status.CREATE, Status.IDENTICAL, Status.CONFLICT)
        ]
        self.table(
            title,
            (Column("result"), Column("files", right=True)),
            [(label, count) for _, label, count in rows],
            [(STATUS_STYLE[status], "") for status, _, _ in rows],
        )
        for result in report.backups:
            self.info(f"backup of {result.path}: {result.backup}")
        for result in report.conflicts:
            self.info(f"conflict: {result.path} ({result.detail})")
        for result in report.results:
            if result.status is Status.DELETED:
                self.info(f"deleted by you: {result.path} ({result.detail})")
        for note in report.notes:
            self.info(note)
        for name in report.cleaned:
            self.info(f"removed {name}: its file is merged")
        for name in report.kept_proposals:
            self.info(f"kept {name}: you edited it (its file is merged; delete it when done)")
