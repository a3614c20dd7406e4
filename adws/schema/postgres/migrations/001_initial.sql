-- Migration 001 (PostgreSQL): the initial orchestrator schema (5 tables, 1 trigger function
-- and its trigger, 6 indexes). Applied in one transaction with its schema_migrations record;
-- its sha256 is stored: never edit an applied migration, add NNN_description.sql instead.

-- ---------------------------------------------------------------------------
-- orchestrator_agents: agent type definitions (templates), ~10-50 rows
-- ---------------------------------------------------------------------------
CREATE TABLE orchestrator_agents (
    id            UUID PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL UNIQUE CHECK (length(name) > 0),
    agent_type    TEXT NOT NULL
                  CHECK (agent_type IN ('planner', 'builder', 'tester', 'reviewer',
                                        'documenter', 'orchestrator', 'custom')),
    description   TEXT NOT NULL DEFAULT '',
    system_prompt TEXT,
    default_model TEXT,
    capabilities  JSONB NOT NULL DEFAULT '[]'
                  CHECK (jsonb_typeof(capabilities) = 'array'),
    config        JSONB NOT NULL DEFAULT '{}'
                  CHECK (jsonb_typeof(config) = 'object'),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT date_trunc('milliseconds', statement_timestamp()) CHECK (created_at = date_trunc('milliseconds', created_at)),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT date_trunc('milliseconds', statement_timestamp()) CHECK (updated_at = date_trunc('milliseconds', updated_at))
);

-- ---------------------------------------------------------------------------
-- agents: runtime agent instances, one per workflow phase run
-- ---------------------------------------------------------------------------
CREATE TABLE agents (
    id                    UUID PRIMARY KEY NOT NULL,
    orchestrator_agent_id UUID NOT NULL
                          REFERENCES orchestrator_agents (id) ON DELETE CASCADE,
    session_id            TEXT NOT NULL,
    adw_id                TEXT,
    name                  TEXT NOT NULL DEFAULT '',
    status                TEXT NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'running', 'completed', 'failed',
                                            'cancelled')),
    model                 TEXT,
    working_dir           TEXT,
    context               JSONB NOT NULL DEFAULT '{}'
                          CHECK (jsonb_typeof(context) = 'object'),
    input_tokens          BIGINT NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens         BIGINT NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    total_cost_usd        NUMERIC NOT NULL DEFAULT 0 CHECK (total_cost_usd >= 0 AND total_cost_usd < 'Infinity'),
    error_message         TEXT,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT date_trunc('milliseconds', statement_timestamp()) CHECK (created_at = date_trunc('milliseconds', created_at)),
    started_at            TIMESTAMPTZ CHECK (started_at = date_trunc('milliseconds', started_at)),
    completed_at          TIMESTAMPTZ CHECK (completed_at = date_trunc('milliseconds', completed_at))
);

-- ---------------------------------------------------------------------------
-- prompts: one row per LLM prompt an agent sends
-- ---------------------------------------------------------------------------
CREATE TABLE prompts (
    id            UUID PRIMARY KEY NOT NULL,
    agent_id      UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    prompt_text   TEXT NOT NULL,
    response_text TEXT,
    model         TEXT,
    status        TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    input_tokens  BIGINT NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens BIGINT NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    cost_usd      NUMERIC NOT NULL DEFAULT 0 CHECK (cost_usd >= 0 AND cost_usd < 'Infinity'),
    latency_ms    INTEGER CHECK (latency_ms IS NULL OR latency_ms >= 0),
    error_message TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT date_trunc('milliseconds', statement_timestamp()) CHECK (created_at = date_trunc('milliseconds', created_at)),
    completed_at  TIMESTAMPTZ CHECK (completed_at = date_trunc('milliseconds', completed_at))
);

-- ---------------------------------------------------------------------------
-- agent_logs: lifecycle and tool events of one agent (seq: insertion order)
-- ---------------------------------------------------------------------------
CREATE TABLE agent_logs (
    id         UUID PRIMARY KEY NOT NULL,
    agent_id   UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    log_type   TEXT NOT NULL
               CHECK (log_type IN ('lifecycle', 'state_change', 'prompt', 'response',
                                   'tool_call', 'tool_result', 'hook', 'error')),
    log_level  TEXT NOT NULL DEFAULT 'INFO'
               CHECK (log_level IN ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')),
    message    TEXT NOT NULL,
    details    JSONB NOT NULL DEFAULT '{}'
               CHECK (jsonb_typeof(details) = 'object'),
    created_at TIMESTAMPTZ NOT NULL DEFAULT date_trunc('milliseconds', statement_timestamp()) CHECK (created_at = date_trunc('milliseconds', created_at)),
    seq        BIGINT GENERATED ALWAYS AS IDENTITY
);

-- ---------------------------------------------------------------------------
-- system_logs: events not tied to one agent (CLI, hooks, migrations; seq: insertion order)
-- ---------------------------------------------------------------------------
CREATE TABLE system_logs (
    id         UUID PRIMARY KEY NOT NULL,
    log_level  TEXT NOT NULL DEFAULT 'INFO'
               CHECK (log_level IN ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')),
    component  TEXT NOT NULL DEFAULT 'system',
    message    TEXT NOT NULL,
    details    JSONB NOT NULL DEFAULT '{}'
               CHECK (jsonb_typeof(details) = 'object'),
    created_at TIMESTAMPTZ NOT NULL DEFAULT date_trunc('milliseconds', statement_timestamp()) CHECK (created_at = date_trunc('milliseconds', created_at)),
    seq        BIGINT GENERATED ALWAYS AS IDENTITY
);

-- ---------------------------------------------------------------------------
-- Trigger: keep orchestrator_agents.updated_at current.
-- BEFORE UPDATE, it only assigns NEW (no UPDATE of its own, so it cannot recurse), and only
-- when the UPDATE left updated_at unchanged: an explicit new value is kept.
-- ---------------------------------------------------------------------------
CREATE FUNCTION orchestrator_agents_touch_updated_at()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := date_trunc('milliseconds', statement_timestamp());
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER update_orchestrator_agents_updated_at
BEFORE UPDATE ON orchestrator_agents
FOR EACH ROW
EXECUTE FUNCTION orchestrator_agents_touch_updated_at();

-- ---------------------------------------------------------------------------
-- Indexes for the common queries
-- ---------------------------------------------------------------------------
CREATE INDEX idx_agents_session ON agents (session_id);
CREATE INDEX idx_agents_orch ON agents (orchestrator_agent_id);
CREATE INDEX idx_prompts_agent ON prompts (agent_id);
CREATE INDEX idx_prompts_status ON prompts (status);
CREATE INDEX idx_agent_logs_agent ON agent_logs (agent_id);
CREATE INDEX idx_system_logs_level ON system_logs (log_level);
