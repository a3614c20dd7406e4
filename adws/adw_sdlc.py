#!/usr/bin/env python3
# /// script
# requires-python = ">=3.10"
# dependencies = ["pydantic>=2.6", "pyyaml>=6.0"]
# ///
"""ADW sdlc. The whole loop: plan -> build -> test -> review -> document; resume with --adw-id.

Usage:
    python adws/adw_sdlc.py "Add a login page"        # new run
    python adws/adw_sdlc.py --issue 12                 # a GitHub (or local) issue
    python adws/adw_sdlc.py --adw-id a1b2c3d4          # resume a failed or paused run
    uv run adws/adw_sdlc.py --help
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adw_modules.adw_workflow_cli import main

if __name__ == "__main__":
    raise SystemExit(main("sdlc"))
