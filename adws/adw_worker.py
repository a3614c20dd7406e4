#!/usr/bin/env python3
# /// script
# requires-python = ">=3.10"
# dependencies = ["pydantic>=2.6", "pyyaml>=6.0"]
# ///
"""ADW worker: claim queued runs from the orchestrator database and run them, K at a time.

Usage:
    python adws/adw_worker.py                          # run until SIGTERM
    python adws/adw_worker.py --until-empty --max-concurrent 4
    uv run adws/adw_worker.py --help
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adw_modules.run_worker import main

if __name__ == "__main__":
    raise SystemExit(main())
