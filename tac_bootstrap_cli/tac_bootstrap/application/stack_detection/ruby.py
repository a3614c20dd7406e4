"""Ruby: Gemfile (plus any root ``*.gemspec``), read as text: both are Ruby programs."""

from __future__ import annotations

import re

from tac_bootstrap.domain.config import Language, PackageManager

from .model import Candidate
from .reading import Reader

_GEM = re.compile(r"""^\s*gem\s*\(?\s*["']([^"']+)["']""", re.MULTILINE)
_GEMSPEC_DEP = re.compile(r"""add_(?:runtime_|development_)?dependency\s*\(?\s*["']([^"']+)["']""")


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
    framework = next((fw for gem, fw in Language.RUBY.stack.framework_markers if gem in gems), None)
    if framework is not None:
        c.set_framework(framework, "Gemfile", f"depends on {framework}")
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
    if "rubocop" in gems or files.is_file(".rubocop.yml"):
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


def _binstub(files: Reader, name: str, fallback: str) -> str:
    """``bin/<name>`` when the repository has that binstub (what its developers run)."""
    return f"bin/{name}" if files.is_file(f"bin/{name}") else fallback
