#!/usr/bin/env python3
# /// script
# requires-python = ">=3.10"
# dependencies = ["pydantic>=2.6", "pyyaml>=6.0"]
# ///
"""ADW plan. Plan an issue: runs /feature, /bug or /chore and records the plan file.

Usage:
    python adws/adw_plan.py --type bug "Login fails with an empty password"
    python adws/adw_plan.py --issue 12
    uv run adws/adw_plan.py --help
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adw_modules.adw_workflow_cli import main

if __name__ == "__main__":
    raise SystemExit(main("plan"))
