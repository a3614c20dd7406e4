#!/usr/bin/env python3
# /// script
# requires-python = ">=3.10"
# dependencies = ["pydantic>=2.6", "pyyaml>=6.0"]
# ///
"""ADW plan_build_test_review. plan -> build -> test -> review.

Usage:
    python adws/adw_plan_build_test_review.py "Add a login page"
    python adws/adw_plan_build_test_review.py --issue 12
    uv run adws/adw_plan_build_test_review.py --help
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adw_modules.adw_workflow_cli import main

if __name__ == "__main__":
    raise SystemExit(main("plan_build_test_review"))
