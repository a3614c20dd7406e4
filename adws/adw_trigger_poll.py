#!/usr/bin/env python3
# /// script
# requires-python = ">=3.10"
# dependencies = ["pydantic>=2.6", "pyyaml>=6.0"]
# ///
"""ADW trigger: poll the open issues with the configured label and run them, K at a time.

Usage:
    python adws/adw_trigger_poll.py                    # poll every poll_interval_seconds
    python adws/adw_trigger_poll.py --once             # one poll, run what it queued, exit
    python adws/adw_trigger_poll.py --enqueue-only     # queue runs; workers elsewhere run them
    uv run adws/adw_trigger_poll.py --help
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adw_modules.adw_poller import main

if __name__ == "__main__":
    raise SystemExit(main())
