-- Migration 005 (PostgreSQL): runs (one row per workflow run, its issue, branch, worktree,
-- port slot, pull request, and the queue's worker, lease and heartbeat), run_checks (every
-- project command a run's phase ran, decided by its exit code), and webhook_deliveries (the
-- replay guard of the webhook receiver). Applied in one transaction with its
-- schema_migrations record.

-- ---------------------------------------------------------------------------
-- runs: one row per workflow run (adw_id), whoever started it: a person, a trigger, or a
-- worker that claimed it from the queue (status 'queued'), with its lease and heartbeat
-- ---------------------------------------------------------------------------
CREATE TABLE runs (
    adw_id           TEXT PRIMARY KEY NOT NULL CHECK (length(adw_id) > 0),
    workflow         TEXT NOT NULL CHECK (length(workflow) > 0),
    status           TEXT NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'paused', 'completed', 'failed',
                                       'cancelled')),
    issue_source     TEXT NOT NULL DEFAULT 'text'
                     CHECK (issue_source IN ('text', 'github', 'local')),
    issue_ref        TEXT,
    issue_title      TEXT NOT NULL DEFAULT '',
    issue_type       TEXT CHECK (issue_type IS NULL OR issue_type IN ('feature', 'bug', 'chore')),
    base_branch      TEXT,
    branch           TEXT,
    worktree         TEXT,
    port_base        INTEGER CHECK (port_base IS NULL OR port_base > 0),
    worker_id        TEXT,
    lease_expires_at TIMESTAMPTZ CHECK (lease_expires_at = date_trunc('milliseconds', lease_expires_at)),
    heartbeat_at     TIMESTAMPTZ CHECK (heartbeat_at = date_trunc('milliseconds', heartbeat_at)),
    claims           INTEGER NOT NULL DEFAULT 0 CHECK (claims >= 0),
    pr_url           TEXT,
    error            TEXT,
    details          JSONB NOT NULL DEFAULT '{}'
                     CHECK (jsonb_typeof(details) = 'object'),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT date_trunc('milliseconds', statement_timestamp()) CHECK (created_at = date_trunc('milliseconds', created_at)),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT date_trunc('milliseconds', statement_timestamp()) CHECK (updated_at = date_trunc('milliseconds', updated_at)),
    started_at       TIMESTAMPTZ CHECK (started_at = date_trunc('milliseconds', started_at)),
    completed_at     TIMESTAMPTZ CHECK (completed_at = date_trunc('milliseconds', completed_at))
);

-- ---------------------------------------------------------------------------
-- run_checks: every run of a project command (test, lint, typecheck, ...) by a run's phase;
-- exit_code NULL: it timed out or could not start
-- ---------------------------------------------------------------------------
CREATE TABLE run_checks (
    id          UUID PRIMARY KEY NOT NULL,
    adw_id      TEXT NOT NULL REFERENCES runs (adw_id) ON DELETE CASCADE,
    phase       TEXT NOT NULL CHECK (length(phase) > 0),
    attempt     INTEGER NOT NULL CHECK (attempt >= 1),
    name        TEXT NOT NULL CHECK (length(name) > 0),
    command     TEXT NOT NULL,
    exit_code   INTEGER,
    timed_out   BOOLEAN NOT NULL DEFAULT FALSE,
    duration_ms BIGINT NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    output      TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT date_trunc('milliseconds', statement_timestamp()) CHECK (created_at = date_trunc('milliseconds', created_at))
);

-- ---------------------------------------------------------------------------
-- webhook_deliveries: the delivery ids a webhook receiver accepted (replay guard)
-- ---------------------------------------------------------------------------
CREATE TABLE webhook_deliveries (
    delivery_id TEXT PRIMARY KEY NOT NULL CHECK (length(delivery_id) > 0),
    event       TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT date_trunc('milliseconds', statement_timestamp()) CHECK (received_at = date_trunc('milliseconds', received_at))
);

-- The queue: the oldest queued run first; lists by status.
CREATE INDEX idx_runs_status_created ON runs (status, created_at);
-- One active run per issue, on every machine that shares the database.
CREATE UNIQUE INDEX idx_runs_active_issue ON runs (issue_source, issue_ref)
    WHERE status IN ('queued', 'running', 'paused') AND issue_ref IS NOT NULL;
-- One active run per port slot.
CREATE UNIQUE INDEX idx_runs_active_port ON runs (port_base)
    WHERE status IN ('running', 'paused') AND port_base IS NOT NULL;
CREATE INDEX idx_run_checks_run ON run_checks (adw_id, created_at);
