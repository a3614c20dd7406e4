"""Everything the CLI shows: rich trees and tables for people, one JSON document for scripts.

With --json, stdout carries exactly one JSON document and all human output goes to stderr.
Rich already honours NO_COLOR and drops colour when the stream is not a terminal.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from tac_bootstrap.domain.errors import TacError
from tac_bootstrap.domain.plan import ApplyReport, Status

STATUS_STYLE = {
    Status.CREATE: "green",
    Status.IDENTICAL: "dim",
    Status.CONFLICT: "bold red",
    Status.OVERWRITE: "yellow",
    Status.SKIP: "cyan",
}


class Output:
    def __init__(self, json_mode: bool = False) -> None:
        self.json_mode = json_mode
        self.console = Console(stderr=json_mode, highlight=False, soft_wrap=True)
        self.stderr_console = Console(stderr=True, highlight=False)

    # -- plain lines --------------------------------------------------------------------

    def info(self, message: str) -> None:
        self.console.print(message, markup=False)

    def warn(self, message: str) -> None:
        sys.stderr.write(f"warning: {message}\n")

    def error(self, error: TacError) -> None:
        # One plain line: no rich wrapping, no markup interpretation of user data.
        sys.stderr.write(f"error: {error}\n")

    def emit_json(self, document: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=False) + "\n")

    @contextmanager
    def handling_errors(self) -> Iterator[None]:
        """Turn TacError into one stderr line (and a JSON error document) plus its exit code."""
        try:
            yield
        except TacError as exc:
            self.error(exc)
            if self.json_mode:
                self.emit_json({"ok": False, "error": str(exc), "exit_code": exc.exit_code})
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            sys.stderr.write("error: interrupted\n")
            raise typer.Exit(130) from None

    # -- reports ------------------------------------------------------------------------

    def tree(self, report: ApplyReport) -> None:
        """The planned files as a directory tree, each marked with its status."""
        root = Tree(f"[bold]{report.target}[/]")
        branches: dict[str, Tree] = {"": root}
        for result in sorted(report.results, key=lambda r: r.path):
            parts = result.path.split("/")
            parent = ""
            for part in parts[:-1]:
                key = f"{parent}/{part}" if parent else part
                if key not in branches:
                    branches[key] = branches[parent].add(f"[blue]{part}/[/]")
                parent = key
            style = STATUS_STYLE[result.status]
            label = f"{parts[-1]}  [{style}]{result.status.value}[/]"
            if result.detail and result.status is not Status.CREATE:
                label += f" [dim]({result.detail})[/]"
            branches[parent].add(label)
        self.console.print(root)

    def summary_line(self, report: ApplyReport) -> str:
        counts = report.summary()
        parts = [f"{n} {status}" for status, n in counts.items() if n]
        verb = "would" if report.dry_run else "did"
        return f"{len(report.results)} files ({verb}): " + ", ".join(parts)

    def summary_table(self, report: ApplyReport) -> None:
        table = Table(title="Summary" if not report.dry_run else "Summary (dry run)")
        table.add_column("result")
        table.add_column("files", justify="right")
        labels = {
            Status.CREATE: "created" if not report.dry_run else "to create",
            Status.IDENTICAL: "identical",
            Status.CONFLICT: "conflicts",
            Status.OVERWRITE: "overwritten (backup kept)",
            Status.SKIP: "skipped",
        }
        for status, label in labels.items():
            count = report.count(status)
            if count or status is not Status.OVERWRITE:
                table.add_row(f"[{STATUS_STYLE[status]}]{label}[/]", str(count))
        self.console.print(table)
        for result in report.backups:
            self.info(f"backup of {result.path}: {result.backup}")
        for result in report.conflicts:
            self.info(f"conflict: {result.path} ({result.detail})")
