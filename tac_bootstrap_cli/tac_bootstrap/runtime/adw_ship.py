"""The ship phase: push the run's branch and open the pull request that links the issue.

Never the base branch (adw_git.push_branch refuses it). Merging stays a human decision unless
workflow.auto_merge is true, and then only when this run's last check attempt passed (every
command exited 0). In local mode (issues.source = local) the pull request is the branch plus a
summary file; the branch is pushed only when the remote exists.
"""

from __future__ import annotations

import subprocess

from .adw_agent_run import PhaseFailed
from .adw_run_context import COMMIT_TYPES, RunContext, issue_label, section


def _git(ctx: RunContext, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=ctx.root, capture_output=True, text=True, check=False)


def current_branch(ctx: RunContext) -> str:
    return _git(ctx, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()


def pull_request_title(ctx: RunContext) -> str:
    state = ctx.state
    lines = state.issue.strip().splitlines()
    title = state.issue_title or (lines[0] if lines else "changes")
    kind = COMMIT_TYPES.get(state.issue_type or "", "chore")
    return f"{kind}: {title[:100]}"


def pull_request_body(ctx: RunContext) -> str:
    state = ctx.state
    lines = [f"Automated change by the AI Developer Workflow, run `{state.adw_id}`.", ""]
    if ctx.issue is None:  # the issue source links an issue it knows ("Closes #N")
        lines += [f"Issue: {issue_label(state)}", ""]
    if state.plan_file:
        lines.append(f"- Plan: `{state.plan_file}`")
    done = [name for name, phase in state.phases.items() if phase.status == "completed"]
    lines.append(f"- Phases completed: {', '.join(done) or 'none'}")
    lines += ["", "## Checks (run by the workflow itself)", ""]
    checks = [c for c in ctx.db.list_checks(state.adw_id) if c.phase == "test"]
    last = max((c.attempt for c in checks), default=0)
    for check in (c for c in checks if c.attempt == last):
        verdict = "passed" if check.exit_code == 0 and not check.timed_out else "FAILED"
        lines.append(f"- `{check.command}` ({check.name}): {verdict}, attempt {last}")
    if not checks:
        lines.append("- no checks ran in this run")
    return "\n".join(lines) + "\n"


def _source_name(ctx: RunContext) -> str:
    """A text issue's pull request goes through the configured source."""
    name = ctx.state.issue_source
    return name if name in ("github", "local") else str(section("issues", ctx.project)["source"])


def _remote_exists(ctx: RunContext, remote: str) -> bool:
    return _git(ctx, "remote", "get-url", remote).returncode == 0


def run_ship(ctx: RunContext) -> None:
    from .adw_git import push_branch  # part B1
    from .adw_issues import issue_source  # part C

    if not ctx.is_git:
        raise PhaseFailed("ship phase failed: the project is not a git repository")
    state = ctx.state
    branch = state.branch or current_branch(ctx)
    base = state.base_branch or ""
    if not base or branch == base:
        raise PhaseFailed(f"ship phase failed: refusing to ship the base branch {base!r}")
    remote = str(ctx.workflow.get("remote") or "origin")
    local = _source_name(ctx) == "local"
    if not local or _remote_exists(ctx, remote):
        push_branch(ctx.root, remote, branch, base)
        ctx.log(f"pushed {branch} to {remote}", branch=branch)
    source = ctx.source or issue_source(ctx.project, source=_source_name(ctx))
    url = source.open_pull_request(
        ctx.root,
        branch,
        base,
        pull_request_title(ctx),
        pull_request_body(ctx),
        ctx.issue,
        adw_id=state.adw_id,
    )
    state.pr_url = url
    state.save()
    ctx.update_run(pr_url=url)
    ctx.log(f"pull request {url}", pr_url=url)
    ctx.note(f"pull request: {url}")
    if not ctx.workflow.get("auto_merge"):
        return
    if state.checks_passed:
        merged = source.enable_auto_merge(url)
        ctx.log(f"auto-merge: {merged} (this run's checks passed)", pr_url=url)
        ctx.note(f"auto-merge: {merged}")
    else:
        ctx.log("auto-merge not enabled: this run's checks did not pass", level="WARNING")
        ctx.note("auto-merge not enabled: the checks did not pass in this run")
