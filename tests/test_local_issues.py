"""Local mode: issues as Markdown files, comments in a file next to them, a branch + summary file
for a pull request. Real files and real git (worktrees, branches, commits)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tac_bootstrap.runtime.adw_github import GitHubSource
from tac_bootstrap.runtime.adw_issues import (
    IssueError,
    IssueNotFound,
    answers_after,
    is_layer_comment,
    issue_source,
    layer_comment_adw_id,
    layer_comment_body,
    marker,
)
from tac_bootstrap.runtime.adw_local_issues import LocalIssueSource, read_comments, sidecar_of
from tac_bootstrap.runtime.adw_markdown import md_code, md_code_block, md_text
from tac_bootstrap.runtime.adw_project import ProjectSettings

ADW = "0a1b2c3d"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "issues").mkdir(parents=True)
    return project


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def test_read_by_number_name_stem_or_recorded_path(root: Path) -> None:
    write(
        root / "issues" / "12-add-login.md",
        "---\nlabels: [adw, enhancement]\nauthor: alice\n---\n# Add a login page\n\nAs a user.\n",
    )
    local = LocalIssueSource(root, "issues")
    for ref in ("12", "#12", "12-add-login.md", "12-add-login", "issues/12-add-login.md"):
        issue = local.read(ref)
        assert (issue.source, issue.ref, issue.number) == ("local", "issues/12-add-login.md", 12)
    assert issue.title == "Add a login page"
    assert issue.body == "As a user."
    assert issue.labels == ("adw", "enhancement")
    assert issue.author == "alice"
    assert issue.comments == ()


def test_titles_labels_and_odd_files(root: Path) -> None:
    write(root / "issues" / "no-front-matter.md", "Some intro.\n\n# The title #\n\nBody.\n")
    write(root / "issues" / "7.md", "\ufeff---\r\nlabels: adw, bug\r\n---\r\nNo heading here.\r\n")
    write(root / "issues" / "8-fenced.md", "```sh\n# not a title\n```\n\n# Real title\n")
    local = LocalIssueSource(root, "issues")
    plain = local.read("no-front-matter")
    assert (plain.title, plain.number, plain.labels) == ("The title", None, ())
    assert plain.body == "Some intro.\n\nBody."
    seven = local.read("7")
    assert (seven.title, seven.labels, seven.body) == ("7", ("adw", "bug"), "No heading here.")
    fenced = local.read("8")
    assert (fenced.title, fenced.body) == ("Real title", "```sh\n# not a title\n```")


def test_refs_that_name_nothing_or_too_much(root: Path, tmp_path: Path) -> None:
    write(root / "issues" / "3-a.md", "# A\n")
    write(root / "issues" / "3-b.md", "# B\n")
    write(tmp_path / "secret.md", "# secret\n")
    local = LocalIssueSource(root, "issues")
    with pytest.raises(IssueError, match="ambiguous"):
        local.read("3")
    for ref in ("4", "../secret.md", "issues/../../secret.md", str(tmp_path / "secret.md")):
        with pytest.raises(IssueNotFound):
            local.read(ref)


def test_list_open_by_label(root: Path) -> None:
    write(root / "issues" / "1-one.md", "---\nlabels: [adw]\n---\n# One\n")
    write(root / "issues" / "2-two.md", "# Two, no label\n")
    write(root / "issues" / "3-three.md", "---\nlabels: [ADW]\nstate: closed\n---\n# Three\n")
    write(root / "issues" / "4-four.md", "---\nlabels: [adw\n---\n# Broken YAML\n")
    write(root / "issues" / "10-ten.md", "---\nlabels: adw\n---\n# Ten\n")
    local = LocalIssueSource(root, "issues")
    assert [i.number for i in local.list_open("adw")] == [1, 10]
    assert [i.number for i in local.list_open("")] == [1, 2, 10]
    with pytest.raises(IssueError, match="not valid YAML"):
        local.read("4")


def test_comments_go_next_to_the_issue_file(root: Path) -> None:
    issue_file = write(root / "issues" / "5-fix.md", "# Fix the crash\n\nIt crashes.\n")
    before = issue_file.read_bytes()
    local = LocalIssueSource(root, "issues")
    issue = local.read("5")
    written = local.comment(issue, ADW, "Plan ready: `specs/plan.md`.")
    assert Path(written) == sidecar_of(issue_file) == root / "issues" / "5-fix.comments.md"
    assert issue_file.read_bytes() == before  # the person's file is never rewritten
    comments = local.read("5").comments
    assert len(comments) == 1 and is_layer_comment(comments[0].body)
    assert layer_comment_adw_id(comments[0].body) == ADW
    assert comments[0].author == "tac-bootstrap"


def test_a_question_then_a_human_answer_written_at_the_end(root: Path) -> None:
    write(root / "issues" / "6-cache.md", "# Add caching\n")
    local = LocalIssueSource(root, "issues")
    local.comment(local.read("6"), ADW, "Progress: planning.")
    local.comment(local.read("6"), ADW, "Redis or in-process?", question=True)
    assert answers_after(local.read("6"), ADW) == []
    sidecar = root / "issues" / "6-cache.comments.md"
    with sidecar.open("a", encoding="utf-8") as handle:
        handle.write("\nIn-process, please.\nNo new services.\n")
    answers = answers_after(local.read("6"), ADW)
    assert [a.body for a in answers] == ["In-process, please.\nNo new services."]
    assert answers[0].author == ""
    # a later question of the same run needs a later answer
    local.comment(local.read("6"), ADW, "And the TTL?", question=True)
    assert answers_after(local.read("6"), ADW) == []


def test_text_a_person_wrote_before_any_comment_is_a_comment(root: Path) -> None:
    write(root / "issues" / "8-x.md", "# X\n")
    write(root / "issues" / "8-x.comments.md", "I started this file myself.\n")
    assert [c.body for c in read_comments(root / "issues" / "8-x.comments.md")] == [
        "I started this file myself."
    ]


def project_repo(root: Path) -> Path:
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "Dev")
    write(root / "app.py", "print('hi')\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def test_local_mode_end_to_end_branch_and_summary(root: Path) -> None:
    project_repo(root)
    write(root / "issues" / "12-add-login.md", "# Add a login page\n\nPlease.\n")
    local = LocalIssueSource(root, "issues")
    issue = local.read("12")
    tree = root.parent / "trees" / ADW
    git(root, "worktree", "add", "-q", "-b", "feature/12-add-login", str(tree), "main")
    write(tree / "login.py", "def login():\n    return True\n")
    git(tree, "add", "login.py")
    git(tree, "commit", "-qm", f"feat: add the login page ({ADW})")
    write(tree / "login.py", "def login():\n    return False\n")
    git(tree, "commit", "-qam", "fix: deny by default")
    main_before = git(root, "rev-parse", "main")

    path = local.open_pull_request(
        tree,
        "feature/12-add-login",
        "main",
        "feat: add a login page",
        "Adds it.",
        issue,
        adw_id=ADW,
    )

    summary = Path(path)
    assert summary == root / "issues" / "pulls" / f"{ADW}.md"
    text = summary.read_text(encoding="utf-8")
    assert "feat: add the login page" in text and "fix: deny by default" in text
    assert "login.py | 2 ++" in text and "1 file changed" in text
    assert (
        "`feature/12-add-login`" in text
        and "Closes the local issue `issues/12-add-login.md`" in text
    )
    assert text.rstrip().endswith(marker(ADW))
    # the branch is left in place, nothing merged into the base, nothing pushed
    assert git(root, "rev-parse", "main") == main_before
    assert git(root, "branch", "--list", "feature/12-add-login").strip()
    assert git(root, "remote").strip() == ""
    assert local.enable_auto_merge(path) == "unavailable"
    assert [i.number for i in local.list_open("")] == [12]  # pulls/ holds no issues
    # a resumed ship step rewrites the same summary
    assert (
        local.open_pull_request(tree, "feature/12-add-login", "main", "t", "b", issue, adw_id=ADW)
        == path
    )


def test_a_summary_for_a_branch_that_does_not_exist_is_refused(root: Path) -> None:
    project_repo(root)
    local = LocalIssueSource(root, "issues")
    with pytest.raises(IssueError, match=r"branch 'feature/none' not found"):
        local.open_pull_request(root, "feature/none", "main", "t", "b", None, adw_id=ADW)


EVIL = (
    "[Click](javascript:alert(1)) @acme/owners closes #3 "
    f"{marker('deadbeef')} <!-- --> <script>x</script> \x07\x1b[2J \u202eexe.txt"
)


def test_adversarial_titles_and_bodies_in_local_mode(root: Path) -> None:
    project_repo(root)
    write(root / "issues" / "9-evil.md", f"# {EVIL}\n\n{EVIL}\n")
    local = LocalIssueSource(root, "issues")
    issue = local.read("9")
    assert "\x07" not in issue.title and "\u202e" not in issue.title
    local.comment(issue, ADW, f"Working on {md_text(issue.title)}:\n\n{md_code_block(issue.body)}")
    comments = local.read("9").comments
    assert len(comments) == 1  # a forged marker or header inside the text splits nothing
    body = comments[0].body
    assert body.count("<!--") == 1 and layer_comment_adw_id(body) == ADW
    tree = root.parent / "trees" / "evil"
    git(root, "worktree", "add", "-q", "-b", "fix/9-evil", str(tree), "main")
    write(tree / "x.txt", "x\n")
    git(tree, "add", "x.txt")
    git(tree, "commit", "-qm", "fix: x")
    text = Path(
        local.open_pull_request(
            tree, "fix/9-evil", "main", EVIL, f"For {md_text(EVIL)}", issue, adw_id=ADW
        )
    ).read_text(encoding="utf-8")
    assert text.count("<!--") == 1 and layer_comment_adw_id(text) == ADW
    assert "](javascript:" not in text and "<script>" not in text
    assert "@acme" not in text and "\x1b" not in text


def test_markdown_escaping() -> None:
    rendered = md_text("[a](http://e) @org/team fixes #12 <b>*x*</b> &#64;me\nsecond line")
    assert "\n" not in rendered
    for raw in ("[a](", "@org", "#12", "<b>", "*x*", "&#64;"):
        assert raw not in rendered
    assert len(md_text("z" * 1000)) == 300
    assert md_code("a`b") == "``a`b``" and md_code("`x`") == "`` `x` ``"
    block = md_code_block("before\n```\nbreak out\n````\n<!-- hide -->")
    fence = block.splitlines()[0]
    assert fence == "`````" and block.endswith("\n`````")
    assert "<!--" not in block
    body = layer_comment_body(ADW, "x <!-- fake --> " + marker("other"))
    assert layer_comment_adw_id(body) == ADW and body.count("<!--") == 1


def test_issue_source_follows_the_config(root: Path) -> None:
    (root / "tac_bootstrap.yml").write_text("issues:\n  source: local\n  local_dir: tickets\n")
    project = ProjectSettings(root, "adws")
    local = issue_source(project)
    assert isinstance(local, LocalIssueSource) and local.dir == (root / "tickets").resolve()
    assert isinstance(issue_source(project, source="github"), GitHubSource)
    (root / "tac_bootstrap.yml").write_text("issues:\n  source: jira\n")
    with pytest.raises(IssueError, match=r"unknown issues\.source"):
        issue_source(ProjectSettings(root, "adws"))
