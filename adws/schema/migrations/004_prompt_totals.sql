-- Migration 004: prompt_totals, the prompts' count, tokens and cost by agent, UTC day and
-- model, kept current by triggers on prompts, so whole-database rollups (`db stats --by day`)
-- read a few rows instead of scanning every prompt; filled here from the existing prompts.
-- Applied in one transaction with its schema_migrations record.

-- ---------------------------------------------------------------------------
-- prompt_totals: the prompts' count, tokens and cost by agent, by UTC day and by model (the
-- prompt's main model), kept current by the triggers below in the transaction that writes a
-- prompt, so `db stats` over the whole database reads a few rows instead of every prompt.
-- Derived data: not exported or copied (a copy's triggers rebuild it).
-- ---------------------------------------------------------------------------
CREATE TABLE prompt_totals (
    dimension             TEXT NOT NULL CHECK (dimension IN ('agent', 'day', 'model')),
    key                   TEXT NOT NULL,
    prompts               INTEGER NOT NULL DEFAULT 0,
    input_tokens          INTEGER NOT NULL DEFAULT 0,
    output_tokens         INTEGER NOT NULL DEFAULT 0,
    cache_creation_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens     INTEGER NOT NULL DEFAULT 0,
    cost_usd              REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (dimension, key)
) WITHOUT ROWID;

-- One statement per trigger where it can: a prompt's usage recorded under the same keys (the
-- usual update: finishing it) adds the difference to its three rows.
CREATE TRIGGER prompt_totals_insert AFTER INSERT ON prompts
BEGIN
    INSERT INTO prompt_totals (dimension, key, prompts, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd)
    VALUES ('agent', NEW.agent_id, 1, NEW.input_tokens, NEW.output_tokens, NEW.cache_creation_tokens, NEW.cache_read_tokens, NEW.cost_usd),
           ('day', substr(NEW.created_at, 1, 10), 1, NEW.input_tokens, NEW.output_tokens, NEW.cache_creation_tokens, NEW.cache_read_tokens, NEW.cost_usd),
           ('model', coalesce(NEW.model, 'unknown'), 1, NEW.input_tokens, NEW.output_tokens, NEW.cache_creation_tokens, NEW.cache_read_tokens, NEW.cost_usd)
    ON CONFLICT (dimension, key) DO UPDATE SET prompts = prompts + excluded.prompts,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cache_creation_tokens = cache_creation_tokens + excluded.cache_creation_tokens,
        cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
        cost_usd = cost_usd + excluded.cost_usd;
END;

CREATE TRIGGER prompt_totals_update AFTER UPDATE OF agent_id, model, created_at, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd ON prompts
WHEN OLD.agent_id = NEW.agent_id AND OLD.model IS NEW.model AND substr(OLD.created_at, 1, 10) = substr(NEW.created_at, 1, 10)
BEGIN
    INSERT INTO prompt_totals (dimension, key, prompts, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd)
    VALUES ('agent', NEW.agent_id, 0, NEW.input_tokens - OLD.input_tokens, NEW.output_tokens - OLD.output_tokens, NEW.cache_creation_tokens - OLD.cache_creation_tokens, NEW.cache_read_tokens - OLD.cache_read_tokens, NEW.cost_usd - OLD.cost_usd),
           ('day', substr(NEW.created_at, 1, 10), 0, NEW.input_tokens - OLD.input_tokens, NEW.output_tokens - OLD.output_tokens, NEW.cache_creation_tokens - OLD.cache_creation_tokens, NEW.cache_read_tokens - OLD.cache_read_tokens, NEW.cost_usd - OLD.cost_usd),
           ('model', coalesce(NEW.model, 'unknown'), 0, NEW.input_tokens - OLD.input_tokens, NEW.output_tokens - OLD.output_tokens, NEW.cache_creation_tokens - OLD.cache_creation_tokens, NEW.cache_read_tokens - OLD.cache_read_tokens, NEW.cost_usd - OLD.cost_usd)
    ON CONFLICT (dimension, key) DO UPDATE SET prompts = prompts + excluded.prompts,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cache_creation_tokens = cache_creation_tokens + excluded.cache_creation_tokens,
        cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
        cost_usd = cost_usd + excluded.cost_usd;
END;

CREATE TRIGGER prompt_totals_move AFTER UPDATE OF agent_id, model, created_at, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd ON prompts
WHEN NOT (OLD.agent_id = NEW.agent_id AND OLD.model IS NEW.model AND substr(OLD.created_at, 1, 10) = substr(NEW.created_at, 1, 10))
BEGIN
    INSERT INTO prompt_totals (dimension, key, prompts, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd)
    VALUES ('agent', OLD.agent_id, -1, -OLD.input_tokens, -OLD.output_tokens, -OLD.cache_creation_tokens, -OLD.cache_read_tokens, -OLD.cost_usd),
           ('day', substr(OLD.created_at, 1, 10), -1, -OLD.input_tokens, -OLD.output_tokens, -OLD.cache_creation_tokens, -OLD.cache_read_tokens, -OLD.cost_usd),
           ('model', coalesce(OLD.model, 'unknown'), -1, -OLD.input_tokens, -OLD.output_tokens, -OLD.cache_creation_tokens, -OLD.cache_read_tokens, -OLD.cost_usd)
    ON CONFLICT (dimension, key) DO UPDATE SET prompts = prompts + excluded.prompts,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cache_creation_tokens = cache_creation_tokens + excluded.cache_creation_tokens,
        cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
        cost_usd = cost_usd + excluded.cost_usd;
    INSERT INTO prompt_totals (dimension, key, prompts, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd)
    VALUES ('agent', NEW.agent_id, 1, NEW.input_tokens, NEW.output_tokens, NEW.cache_creation_tokens, NEW.cache_read_tokens, NEW.cost_usd),
           ('day', substr(NEW.created_at, 1, 10), 1, NEW.input_tokens, NEW.output_tokens, NEW.cache_creation_tokens, NEW.cache_read_tokens, NEW.cost_usd),
           ('model', coalesce(NEW.model, 'unknown'), 1, NEW.input_tokens, NEW.output_tokens, NEW.cache_creation_tokens, NEW.cache_read_tokens, NEW.cost_usd)
    ON CONFLICT (dimension, key) DO UPDATE SET prompts = prompts + excluded.prompts,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cache_creation_tokens = cache_creation_tokens + excluded.cache_creation_tokens,
        cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
        cost_usd = cost_usd + excluded.cost_usd;
END;

-- A key whose last prompt is deleted (prune) leaves no row behind.
CREATE TRIGGER prompt_totals_delete AFTER DELETE ON prompts
BEGIN
    INSERT INTO prompt_totals (dimension, key, prompts, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd)
    VALUES ('agent', OLD.agent_id, -1, -OLD.input_tokens, -OLD.output_tokens, -OLD.cache_creation_tokens, -OLD.cache_read_tokens, -OLD.cost_usd),
           ('day', substr(OLD.created_at, 1, 10), -1, -OLD.input_tokens, -OLD.output_tokens, -OLD.cache_creation_tokens, -OLD.cache_read_tokens, -OLD.cost_usd),
           ('model', coalesce(OLD.model, 'unknown'), -1, -OLD.input_tokens, -OLD.output_tokens, -OLD.cache_creation_tokens, -OLD.cache_read_tokens, -OLD.cost_usd)
    ON CONFLICT (dimension, key) DO UPDATE SET prompts = prompts + excluded.prompts,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cache_creation_tokens = cache_creation_tokens + excluded.cache_creation_tokens,
        cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
        cost_usd = cost_usd + excluded.cost_usd;
    DELETE FROM prompt_totals WHERE prompts = 0 AND ((dimension = 'agent' AND key = OLD.agent_id)
        OR (dimension = 'day' AND key = substr(OLD.created_at, 1, 10))
        OR (dimension = 'model' AND key = coalesce(OLD.model, 'unknown')));
END;

INSERT INTO prompt_totals (dimension, key, prompts, input_tokens, output_tokens,
                           cache_creation_tokens, cache_read_tokens, cost_usd)
SELECT 'agent', agent_id, count(*), sum(input_tokens), sum(output_tokens), sum(cache_creation_tokens), sum(cache_read_tokens), sum(cost_usd) FROM prompts GROUP BY agent_id
UNION ALL
SELECT 'day', substr(created_at, 1, 10), count(*), sum(input_tokens), sum(output_tokens), sum(cache_creation_tokens), sum(cache_read_tokens), sum(cost_usd) FROM prompts GROUP BY 2
UNION ALL
SELECT 'model', coalesce(model, 'unknown'), count(*), sum(input_tokens), sum(output_tokens), sum(cache_creation_tokens), sum(cache_read_tokens), sum(cost_usd) FROM prompts GROUP BY 2;
