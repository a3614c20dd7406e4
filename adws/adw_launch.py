#!/usr/bin/env python3
# /// script
# requires-python = ">=3.10"
# dependencies = ["pydantic>=2.6", "pyyaml>=6.0"]
# ///
"""ADW launcher: run several issues at once, each in its own worktree, and wait for them.

Usage:
    python adws/adw_launch.py 12 13 14 15 --max-concurrent 4
    python adws/adw_launch.py --local issues/add-login.md issues/fix-typo.md --workflow sdlc
    uv run adws/adw_launch.py --help
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adw_modules.adw_launcher import main

if __name__ == "__main__":
    raise SystemExit(main())
