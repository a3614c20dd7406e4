"""Ruby: Gemfile (plus any root ``*.gemspec``), read as text: both are Ruby programs."""

from __future__ import annotations

import re

from tac_bootstrap.domain.config import Language, PackageManager

from .model import Candidate
from .reading import Reader

_GEM = re.compile(r"""^\s*gem\s*\(?\s*["']([^"']+)["']""", re.MULTILINE)
_GEMSPEC_DEP = re.compile(r"""add_(?:runtime_|development_)?dependency\s*\(?\s*["']([^"']+)["']""")
# Gems that exist only around a framework (each depends on it): sinatra-contrib,
# sinatra-activerecord... say the application is a Sinatra one.
_COMPANION_PREFIXES = (("sinatra-", "sinatra"),)
# RuboCop's configuration files (the project's own, or the XDG place since RuboCop 1.45).
_RUBOCOP_CONFIGS = (".rubocop.yml", ".config/.rubocop.yml", ".config/rubocop/config.yml")
# A Rakefile that runs RuboCop: its rake task, a task named for it, or a shell call of it.
_RAKE_RUBOCOP = re.compile(
    r"RuboCop::RakeTask|\btask\s*\(?\s*[:'\"]rubocop\b|^\s*(sh|system)\b[^\n]*\brubocop\b",
    re.MULTILINE,
)


def detect_ruby(files: Reader) -> Candidate | None:
    if not files.matching(Language.RUBY.stack.markers):
        return None
    c = Candidate("ruby", Language.RUBY, PackageManager.BUNDLER, markers=["Gemfile"])
    gems = set(_GEM.findall(files.text("Gemfile", c.evidence) or ""))
    gemspecs = files.glob("*.gemspec")
    for spec in gemspecs:
        gems.update(_GEMSPEC_DEP.findall(files.text(spec, c.evidence) or ""))
    c.note("Gemfile", f"Ruby project, {len(gems)} gem(s) -> package manager bundler")
    if files.is_file("Gemfile.lock"):
        c.note("Gemfile.lock", "bundler lock file")
    _framework(c, gems)
    rspec = bool(gems & {"rspec", "rspec-rails", "rspec-core"}) or files.is_file(".rspec")
    cmd = c.commands
    cmd["install"] = "bundle install"
    rails = _binstub(files, "rails", "bundle exec rails")
    if rspec or files.is_dir("spec"):
        cmd["test"] = _binstub(files, "rspec", "bundle exec rspec")
    elif c.framework == "rails":
        cmd["test"] = f"{rails} test"
    elif files.is_file("Rakefile"):
        rakefile = files.text("Rakefile", c.evidence) or ""
        # A test task the Rakefile defines (or minitest's convention); else its default task.
        has_test = "minitest" in gems or re.search(r"TestTask|task\s*\(?\s*[:'\"]test\b", rakefile)
        cmd["test"] = "bundle exec rake test" if has_test else "bundle exec rake"
    if _uses_rubocop(files, c, gems):
        rubocop = _binstub(files, "rubocop", "bundle exec rubocop")
        cmd["lint"], cmd["format"] = rubocop, f"{rubocop} -a"
    elif "standard" in gems:
        cmd["lint"], cmd["format"] = "bundle exec standardrb", "bundle exec standardrb --fix"
    if gems & {"sorbet", "sorbet-static"} or files.is_dir("sorbet"):
        cmd["typecheck"] = "bundle exec srb tc"
    elif files.is_file("Steepfile"):
        cmd["typecheck"] = "bundle exec steep check"
    if c.framework == "rails":
        # bin/dev (Rails 7+) starts the server with its asset watchers (Procfile.dev).
        cmd["start"] = "bin/dev" if files.is_file("bin/dev") else f"{rails} server"
    elif files.is_file("config.ru"):
        cmd["start"] = "bundle exec rackup"
    if gemspecs:
        cmd["build"] = f"gem build {gemspecs[0]}"
    found = [f"{name} -> {cmd[name]}" for name in ("test", "lint", "typecheck") if name in cmd]
    if found:
        c.note("Gemfile", "; ".join(found))
    return c


def _framework(c: Candidate, gems: set[str]) -> None:
    for gem, framework in Language.RUBY.stack.framework_markers:
        if gem in gems:
            c.set_framework(framework, "Gemfile", f"depends on {gem}")
            return
    for prefix, framework in _COMPANION_PREFIXES:
        companion = sorted(g for g in gems if g.startswith(prefix))
        if companion:
            c.set_framework(framework, "Gemfile", f"depends on {companion[0]} (needs {framework})")
            return


def _uses_rubocop(files: Reader, c: Candidate, gems: set[str]) -> bool:
    """RuboCop declared: its gem or a plugin of it (``rubocop-rails``), its configuration
    (which may inherit a config gem's: ``inherit_gem:``), or a Rakefile that runs it."""
    if "rubocop" in gems or any(g.startswith("rubocop-") for g in gems):
        return True
    config = next((name for name in _RUBOCOP_CONFIGS if files.is_file(name)), None)
    if config is not None:
        c.note(config, "RuboCop configuration -> rubocop")
        return True
    rakefile = files.text("Rakefile", []) if files.is_file("Rakefile") else None
    if rakefile is not None and _RAKE_RUBOCOP.search(rakefile):
        c.note("Rakefile", "a rake task runs RuboCop -> rubocop")
        return True
    return False


def _binstub(files: Reader, name: str, fallback: str) -> str:
    """``bin/<name>`` when the repository has that binstub (what its developers run)."""
    return f"bin/{name}" if files.is_file(f"bin/{name}") else fallback
