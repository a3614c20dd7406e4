-- Migration 002 (PostgreSQL): covering indexes for cost rollups, an adw_id lookup, and
-- created_at indexes for retention and log queries. Applied in one transaction with its
-- schema_migrations record.

-- Cost rollups: one session's cost by model reads only these two indexes.
CREATE INDEX idx_agents_session_cover ON agents (session_id, id);
CREATE INDEX idx_prompts_agent_usage
    ON prompts (agent_id, model, cost_usd, input_tokens, output_tokens);
-- Finding a workflow run's agents (resume by adw_id).
CREATE INDEX idx_agents_adw ON agents (adw_id);
-- Retention and `db logs --since`.
CREATE INDEX idx_agent_logs_created ON agent_logs (created_at);
CREATE INDEX idx_system_logs_created ON system_logs (created_at);
