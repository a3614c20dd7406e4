#!/usr/bin/env python3
# /// script
# requires-python = ">=3.10"
# dependencies = ["pydantic>=2.6", "pyyaml>=6.0"]
# ///
"""ADW test. The project's own test, lint and typecheck commands, with a bounded fix loop.

Usage:
    python adws/adw_test.py --adw-id a1b2c3d4
    uv run adws/adw_test.py --help
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adw_modules.adw_workflow_cli import main

if __name__ == "__main__":
    raise SystemExit(main("test"))
