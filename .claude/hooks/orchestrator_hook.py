#!/usr/bin/env python3
"""Claude Code hook for tac-bootstrap: records every hook event in the orchestrator database.

Wired in .claude/settings.json for each event. Reads the event JSON on stdin and
hands it to adws/adw_modules/hook_recorder.py. It never blocks or breaks the
agent: it prints nothing, always exits 0, and writes what it could not record to
logs/hooks-fallback.jsonl.
"""

import json
import os
import sys
import time
from pathlib import Path

# A hook runs on every tool call: skip pydantic's plugin discovery (~20 ms of start-up).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_ROOT / "adws"))

try:
    from adw_modules.hook_recorder import main
except Exception as exc:  # the layer is missing or broken: note it, never fail the agent
    try:
        fallback = PROJECT_ROOT / "logs" / "hooks-fallback.jsonl"
        fallback.parent.mkdir(parents=True, exist_ok=True)
        with fallback.open("a", encoding="utf-8") as handle:
            entry = {
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "error": f"cannot load hook_recorder: {exc!r}",
                "input": sys.stdin.read()[:2000],
            }
            handle.write(json.dumps(entry) + "\n")
    except Exception:
        pass
    sys.exit(0)

sys.exit(main())
