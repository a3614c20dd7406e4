#!/usr/bin/env python3
# /// script
# requires-python = ">=3.10"
# dependencies = ["pydantic>=2.6", "pyyaml>=6.0"]
# ///
"""ADW patch. A small change with no full plan: one builder prompt, then the checks loop.

Usage:
    python adws/adw_patch.py "Rename the --verbose flag to --debug"
    python adws/adw_patch.py --issue 12
    uv run adws/adw_patch.py --help
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adw_modules.adw_workflow_cli import main

if __name__ == "__main__":
    raise SystemExit(main("patch"))
