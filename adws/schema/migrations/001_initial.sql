-- Migration 001: the initial orchestrator schema (5 tables, 1 trigger, 6 indexes).
-- The runner applies it inside one transaction together with its schema_migrations record
-- and stores its sha256: never edit an applied migration, add NNN_description.sql instead.

-- ---------------------------------------------------------------------------
-- orchestrator_agents: agent type definitions (templates), ~10-50 rows
-- ---------------------------------------------------------------------------
CREATE TABLE orchestrator_agents (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL UNIQUE CHECK (length(name) > 0),
    agent_type    TEXT NOT NULL
                  CHECK (agent_type IN ('planner', 'builder', 'tester', 'reviewer',
                                        'documenter', 'orchestrator', 'custom')),
    description   TEXT NOT NULL DEFAULT '',
    system_prompt TEXT,
    default_model TEXT,
    capabilities  TEXT NOT NULL DEFAULT '[]'
                  CHECK (json_valid(capabilities) AND json_type(capabilities) = 'array'),
    config        TEXT NOT NULL DEFAULT '{}'
                  CHECK (json_valid(config) AND json_type(config) = 'object'),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z')
);

-- ---------------------------------------------------------------------------
-- agents: runtime agent instances, one per workflow phase run
-- ---------------------------------------------------------------------------
CREATE TABLE agents (
    id                    TEXT PRIMARY KEY NOT NULL,
    orchestrator_agent_id TEXT NOT NULL
                          REFERENCES orchestrator_agents (id) ON DELETE CASCADE,
    session_id            TEXT NOT NULL,
    adw_id                TEXT,
    name                  TEXT NOT NULL DEFAULT '',
    status                TEXT NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'running', 'completed', 'failed',
                                            'cancelled')),
    model                 TEXT,
    working_dir           TEXT,
    context               TEXT NOT NULL DEFAULT '{}'
                          CHECK (json_valid(context) AND json_type(context) = 'object'),
    input_tokens          INTEGER NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens         INTEGER NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    total_cost_usd        REAL NOT NULL DEFAULT 0 CHECK (total_cost_usd >= 0),
    error_message         TEXT,
    created_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'),
    started_at            TEXT CHECK (started_at IS NULL OR started_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'),
    completed_at          TEXT CHECK (completed_at IS NULL OR completed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z')
);

-- ---------------------------------------------------------------------------
-- prompts: one row per LLM prompt an agent sends
-- ---------------------------------------------------------------------------
CREATE TABLE prompts (
    id            TEXT PRIMARY KEY NOT NULL,
    agent_id      TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    prompt_text   TEXT NOT NULL,
    response_text TEXT,
    model         TEXT,
    status        TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    input_tokens  INTEGER NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens INTEGER NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    cost_usd      REAL NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    latency_ms    INTEGER CHECK (latency_ms IS NULL OR latency_ms >= 0),
    error_message TEXT,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'),
    completed_at  TEXT CHECK (completed_at IS NULL OR completed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z')
);

-- ---------------------------------------------------------------------------
-- agent_logs: lifecycle and tool events of one agent
-- ---------------------------------------------------------------------------
CREATE TABLE agent_logs (
    id         TEXT PRIMARY KEY NOT NULL,
    agent_id   TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    log_type   TEXT NOT NULL
               CHECK (log_type IN ('lifecycle', 'state_change', 'prompt', 'response',
                                   'tool_call', 'tool_result', 'hook', 'error')),
    log_level  TEXT NOT NULL DEFAULT 'INFO'
               CHECK (log_level IN ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')),
    message    TEXT NOT NULL,
    details    TEXT NOT NULL DEFAULT '{}'
               CHECK (json_valid(details) AND json_type(details) = 'object'),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z')
);

-- ---------------------------------------------------------------------------
-- system_logs: events not tied to one agent (CLI, hooks, migrations)
-- ---------------------------------------------------------------------------
CREATE TABLE system_logs (
    id         TEXT PRIMARY KEY NOT NULL,
    log_level  TEXT NOT NULL DEFAULT 'INFO'
               CHECK (log_level IN ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')),
    component  TEXT NOT NULL DEFAULT 'system',
    message    TEXT NOT NULL,
    details    TEXT NOT NULL DEFAULT '{}'
               CHECK (json_valid(details) AND json_type(details) = 'object'),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z')
);

-- ---------------------------------------------------------------------------
-- Trigger: keep orchestrator_agents.updated_at current.
-- It fires only when the UPDATE left updated_at unchanged (so an explicit value is kept)
-- and the value is not already "now" (so, with recursive_triggers on, its own UPDATE
-- cannot fire it again).
-- ---------------------------------------------------------------------------
CREATE TRIGGER update_orchestrator_agents_updated_at
AFTER UPDATE ON orchestrator_agents
FOR EACH ROW
WHEN NEW.updated_at IS OLD.updated_at
 AND NEW.updated_at IS NOT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
BEGIN
    UPDATE orchestrator_agents
       SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
     WHERE id = NEW.id;
END;

-- ---------------------------------------------------------------------------
-- Indexes for the common queries
-- ---------------------------------------------------------------------------
CREATE INDEX idx_agents_session ON agents (session_id);
CREATE INDEX idx_agents_orch ON agents (orchestrator_agent_id);
CREATE INDEX idx_prompts_agent ON prompts (agent_id);
CREATE INDEX idx_prompts_status ON prompts (status);
CREATE INDEX idx_agent_logs_agent ON agent_logs (agent_id);
CREATE INDEX idx_system_logs_level ON system_logs (log_level);
