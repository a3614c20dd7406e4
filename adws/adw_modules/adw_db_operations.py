"""Every orchestrator database operation in one namespace, for the sync and async drivers.

adw_database.py runs `ops.<name>` for each operation; the operations live in modules by job:
adw_db_ops_shared (step types, tables, ids, validation), adw_db_ops_agents,
adw_db_ops_prompts, adw_db_ops_logs and adw_db_ops_rollups (rollups, prune, counts). This
module only re-exports them, so callers need one import and the split can change freely.
"""

from __future__ import annotations

from .adw_db_ops_agents import (
    add_agent_usage,
    get_agent,
    get_orchestrator_agent,
    list_agents,
    list_orchestrator_agents,
    register_orchestrator_agent,
    set_agent_model,
    set_agent_status,
    start_agent,
)
from .adw_db_ops_logs import (
    LEVEL_ORDER,
    log_agent,
    log_agent_batch,
    log_system,
    log_system_batch,
    recent_logs,
)
from .adw_db_ops_prompts import (
    complete_prompt,
    fail_prompt,
    finish_prompt,
    get_prompt,
    list_prompts,
    prompt_model_usage,
    start_prompt,
)
from .adw_db_ops_rollups import (
    ROLLUP_KEYS,
    USAGE_ROLLUP_KEYS,
    RollupBy,
    prune,
    rollup,
    run_budgets,
    table_counts,
)
from .adw_db_ops_shared import (
    COLUMNS,
    JSON_COLUMNS,
    TABLES,
    TOKEN_KINDS,
    Mode,
    Op,
    Step,
    new_id,
    uuid_key,
)

__all__ = [
    "COLUMNS",
    "JSON_COLUMNS",
    "LEVEL_ORDER",
    "ROLLUP_KEYS",
    "TABLES",
    "TOKEN_KINDS",
    "USAGE_ROLLUP_KEYS",
    "Mode",
    "Op",
    "RollupBy",
    "Step",
    "add_agent_usage",
    "complete_prompt",
    "fail_prompt",
    "finish_prompt",
    "get_agent",
    "get_orchestrator_agent",
    "get_prompt",
    "list_agents",
    "list_orchestrator_agents",
    "list_prompts",
    "log_agent",
    "log_agent_batch",
    "log_system",
    "log_system_batch",
    "new_id",
    "prompt_model_usage",
    "prune",
    "recent_logs",
    "register_orchestrator_agent",
    "rollup",
    "run_budgets",
    "set_agent_model",
    "set_agent_status",
    "start_agent",
    "start_prompt",
    "table_counts",
    "uuid_key",
]
