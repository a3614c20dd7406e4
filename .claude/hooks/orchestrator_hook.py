#!/bin/sh
# Claude Code hook for tac-bootstrap: records every hook event in the orchestrator database.
#
# One file in two languages. .claude/settings.json runs it with `sh` for every
# event: the shell half spools the event (stdin, with TAC_AGENT_ID) to
# logs/hooks-spool/<CLI pid>/ and returns at once: the agent waits for sh,
# date and cat, never for Python or the database (Stop and SessionEnd also wait, at most 2 s,
# until the agent's events are written, so they are recorded when the CLI exits). It starts
# the Python half in the background (`python3 -S orchestrator_hook.py --drain DIR`, standard
# library only): the recorder, which writes the spooled events to the database and deletes
# them. Run with Python and no arguments, the file records the event on stdin synchronously.
#
# It never blocks or breaks the agent: it prints nothing and always exits 0. What cannot be
# written now (PostgreSQL, a locked or missing database) waits in
# logs/hooks-fallback.jsonl and is replayed by the recorder's next successful
# write and by the runtime; see adws/adw_modules/hook_recorder.py.
# The quotes on the next line make this file valid sh (`:`) and Python (a string).
# fmt: off
''':'
trap '' HUP INT TERM  # the CLI stops StopFailure hooks at exit: finish the spool first
umask 077
case $0 in */*) h=${0%/*} ;; *) h=. ;; esac
f=${TAC_HOOK_FALLBACK_LOG:-"$h/../../logs/hooks-fallback.jsonl"}
case $f in */*) d=${f%/*} ;; *) d=. ;; esac
d=$d/hooks-spool/$PPID
t=$(date +%s%N 2>/dev/null)
case $t in '' | *[!0-9]*) t=0 ;; esac
set -C
n=0
until { printf '%s\n' "${TAC_AGENT_ID-}" && cat; } 2>/dev/null >"$d/$t-$$-$n.json"; do
    n=$((n + 1))
    [ "$n" -gt 3 ] && exit 0
    mkdir -p "$d" 2>/dev/null
done
if read -r p 2>/dev/null <"$d/.recorder" && kill -0 "$p" 2>/dev/null; then :; else
    # Background work at low priority, the agent's own processes first; but Stop and
    # SessionEnd wait for it (below), so then it runs at the hook's own priority.
    [ "${1-}" = --wait ] && prio=0 || prio=10
    nice -n "$prio" "${TAC_PYTHON:-python3}" -S "$0" --drain "$d" </dev/null >/dev/null 2>&1 &
fi
# Stop and SessionEnd (--wait): the turn or session is over; return once the recorder has
# written this agent's events, so they are in the database when the CLI exits (at most 2 s,
# and only while a recorder is at work).
if [ "${1-}" = --wait ]; then
    i=0
    while [ "$i" -lt 400 ]; do
        set -- "$d"/*.json*
        [ -e "$1" ] || break
        if [ "$i" -gt 40 ] && ! { read -r p 2>/dev/null <"$d/.recorder" && kill -0 "$p"; }; then
            break
        fi
        sleep 0.005 2>/dev/null || break
        i=$((i + 1))
    done
fi
exit 0
'''
# fmt: on

import json
import os
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ADWS_DIR = "adws"
LOGS_DIR = "logs"
CONFIGURED_DATABASE = ""  # TAC_ORCHESTRATOR_DB wins
sys.path.insert(0, str(PROJECT_ROOT / ADWS_DIR))

try:
    from adw_modules.hook_recorder import main
except Exception as exc:  # the layer is missing or broken: note it, never fail the agent
    try:
        fallback = Path(
            os.environ.get("TAC_HOOK_FALLBACK_LOG")
            or PROJECT_ROOT / LOGS_DIR / "hooks-fallback.jsonl"
        )
        fallback.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        raw = sys.stdin.read() if sys.argv[1:2] != ["--drain"] else ""
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "error": f"cannot load hook_recorder: {exc!r}",
            "input": raw[:20_000],
        }
        # owner-only (0600, whatever the umask): it holds raw hook input
        fd = os.open(fallback, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with open(fd, "a", encoding="utf-8") as handle:
            os.fchmod(fd, 0o600)
            handle.write(json.dumps(entry) + "\n")
    except Exception:
        pass
    sys.exit(0)

sys.exit(
    main(
        project_root=PROJECT_ROOT,
        adws_dir=ADWS_DIR,
        logs_dir=LOGS_DIR,
        configured_database=CONFIGURED_DATABASE,
    )
)
