-- Migration 003: tokens of every kind in their own columns (cache writes and reads are no
-- longer folded into input_tokens), each model's share of a prompt, the agent CLI's session,
-- failure kind, retries and permission denials of a prompt, tool calls paired with their
-- results by tool_use_id, and the usage read from session transcripts.
-- Applied in one transaction with its schema_migrations record.

ALTER TABLE agents ADD COLUMN cache_creation_tokens INTEGER NOT NULL DEFAULT 0 CHECK (cache_creation_tokens >= 0);
ALTER TABLE agents ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0 CHECK (cache_read_tokens >= 0);
ALTER TABLE prompts ADD COLUMN cache_creation_tokens INTEGER NOT NULL DEFAULT 0 CHECK (cache_creation_tokens >= 0);
ALTER TABLE prompts ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0 CHECK (cache_read_tokens >= 0);
ALTER TABLE prompts ADD COLUMN cli_session_id TEXT;
ALTER TABLE prompts ADD COLUMN failure_kind TEXT CHECK (failure_kind IS NULL OR failure_kind IN ('rate_limit', 'overloaded', 'server_error', 'connection', 'quota', 'auth', 'invalid_request', 'permission_denied', 'max_turns', 'budget', 'timeout', 'crash', 'fatal'));
ALTER TABLE prompts ADD COLUMN cli_retries INTEGER NOT NULL DEFAULT 0 CHECK (cli_retries >= 0);
ALTER TABLE prompts ADD COLUMN permission_denials TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(permission_denials) AND json_type(permission_denials) = 'array');
ALTER TABLE agent_logs ADD COLUMN tool_use_id TEXT;

-- ---------------------------------------------------------------------------
-- prompt_model_usage: each model's share of one prompt (a subagent or a fallback model
-- makes a prompt use several), as the agent CLI's per-model usage reports it
-- ---------------------------------------------------------------------------
CREATE TABLE prompt_model_usage (
    id                    TEXT PRIMARY KEY NOT NULL,
    prompt_id             TEXT NOT NULL REFERENCES prompts (id) ON DELETE CASCADE,
    model                 TEXT NOT NULL CHECK (length(model) > 0),
    input_tokens          INTEGER NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens         INTEGER NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    cache_creation_tokens INTEGER NOT NULL DEFAULT 0 CHECK (cache_creation_tokens >= 0),
    cache_read_tokens     INTEGER NOT NULL DEFAULT 0 CHECK (cache_read_tokens >= 0),
    cost_usd              REAL NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    created_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'),
    UNIQUE (prompt_id, model)
);

-- ---------------------------------------------------------------------------
-- session_usage: one row per assistant message of a Claude Code session transcript
-- (interactive sessions and workflow runs alike), deduplicated by message and request id
-- ---------------------------------------------------------------------------
CREATE TABLE session_usage (
    id                    TEXT PRIMARY KEY NOT NULL,
    session_id            TEXT NOT NULL CHECK (length(session_id) > 0),
    agent_id              TEXT REFERENCES agents (id) ON DELETE SET NULL,
    subagent_id           TEXT,
    message_id            TEXT NOT NULL CHECK (length(message_id) > 0),
    request_id            TEXT NOT NULL DEFAULT '',
    model                 TEXT NOT NULL CHECK (length(model) > 0),
    input_tokens          INTEGER NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens         INTEGER NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    cache_creation_tokens INTEGER NOT NULL DEFAULT 0 CHECK (cache_creation_tokens >= 0),
    cache_read_tokens     INTEGER NOT NULL DEFAULT 0 CHECK (cache_read_tokens >= 0),
    cost_usd              REAL NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    message_at            TEXT NOT NULL CHECK (message_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'),
    created_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'),
    UNIQUE (message_id, request_id)
);

CREATE INDEX idx_prompt_model_usage_prompt ON prompt_model_usage (prompt_id);
CREATE INDEX idx_session_usage_session ON session_usage (session_id, model);
CREATE INDEX idx_session_usage_agent ON session_usage (agent_id);
-- Cost rollups over every token kind read only this index (002's stops at output_tokens).
CREATE INDEX idx_prompts_agent_tokens
    ON prompts (agent_id, model, cost_usd, input_tokens, output_tokens, cache_creation_tokens,
                cache_read_tokens);
CREATE INDEX idx_agent_logs_tool_use ON agent_logs (tool_use_id)
    WHERE tool_use_id IS NOT NULL;
