#!/usr/bin/env python3
# /// script
# requires-python = ">=3.10"
# dependencies = ["pydantic>=2.6", "pyyaml>=6.0"]
# ///
"""ADW trigger: a GitHub webhook receiver that enqueues runs for the workers.

Verifies X-Hub-Signature-256, refuses unsigned, wrongly signed, replayed and oversized
deliveries, and binds 127.0.0.1 unless told otherwise (see adws/README.md, "Triggers and the
webhook", before exposing it).

Usage:
    TAC_WEBHOOK_SECRET=... python adws/adw_trigger_webhook.py            # 127.0.0.1:8787
    TAC_WEBHOOK_SECRET=... python adws/adw_trigger_webhook.py --port 0   # a free port
    uv run adws/adw_trigger_webhook.py --help
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adw_modules.adw_webhook import main

if __name__ == "__main__":
    raise SystemExit(main())
