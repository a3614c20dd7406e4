#!/usr/bin/env python3
# /// script
# requires-python = ">=3.10"
# dependencies = ["pydantic>=2.6", "pyyaml>=6.0"]
# ///
"""ADW document. /document: update the docs for the diff against the base branch.

Usage:
    python adws/adw_document.py --adw-id a1b2c3d4
    uv run adws/adw_document.py --help
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adw_modules.adw_workflow_cli import main

if __name__ == "__main__":
    raise SystemExit(main("document"))
