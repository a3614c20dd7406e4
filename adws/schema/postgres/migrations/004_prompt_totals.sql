-- Migration 004 (PostgreSQL): prompt_totals, the prompts' count, tokens and cost by agent,
-- UTC day and model, kept current by a trigger on prompts, so whole-database rollups
-- (`db stats --by day`) read a few rows instead of scanning every prompt; filled here from the
-- existing prompts, with prompt writes held off until it commits (none is counted twice or
-- missed). Applied in one transaction with its schema_migrations record.

LOCK TABLE prompts IN SHARE ROW EXCLUSIVE MODE;

-- ---------------------------------------------------------------------------
-- prompt_totals: the prompts' count, tokens and cost by agent, by UTC day and by model (the
-- prompt's main model), kept current by the trigger below in the transaction that writes a
-- prompt, so `db stats` over the whole database reads a few rows instead of every prompt.
-- Derived data: not exported or copied (a copy's trigger rebuilds it).
-- ---------------------------------------------------------------------------
CREATE TABLE prompt_totals (
    dimension             TEXT NOT NULL CHECK (dimension IN ('agent', 'day', 'model')),
    key                   TEXT NOT NULL,
    prompts               BIGINT NOT NULL DEFAULT 0,
    input_tokens          BIGINT NOT NULL DEFAULT 0,
    output_tokens         BIGINT NOT NULL DEFAULT 0,
    cache_creation_tokens BIGINT NOT NULL DEFAULT 0,
    cache_read_tokens     BIGINT NOT NULL DEFAULT 0,
    cost_usd              NUMERIC NOT NULL DEFAULT 0,
    PRIMARY KEY (dimension, key)
);

-- One statement per change where it can: a prompt's usage recorded under the same keys (the
-- usual update: finishing it) adds the difference to its three rows.
CREATE FUNCTION prompt_totals_track()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.agent_id = NEW.agent_id
            AND OLD.model IS NOT DISTINCT FROM NEW.model
            AND to_char(OLD.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')
                = to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') THEN
        INSERT INTO prompt_totals AS t (dimension, key, prompts, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd)
        VALUES ('agent', NEW.agent_id::text, 0, NEW.input_tokens - OLD.input_tokens, NEW.output_tokens - OLD.output_tokens, NEW.cache_creation_tokens - OLD.cache_creation_tokens, NEW.cache_read_tokens - OLD.cache_read_tokens, NEW.cost_usd - OLD.cost_usd),
               ('day', to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 0, NEW.input_tokens - OLD.input_tokens, NEW.output_tokens - OLD.output_tokens, NEW.cache_creation_tokens - OLD.cache_creation_tokens, NEW.cache_read_tokens - OLD.cache_read_tokens, NEW.cost_usd - OLD.cost_usd),
               ('model', coalesce(NEW.model, 'unknown'), 0, NEW.input_tokens - OLD.input_tokens, NEW.output_tokens - OLD.output_tokens, NEW.cache_creation_tokens - OLD.cache_creation_tokens, NEW.cache_read_tokens - OLD.cache_read_tokens, NEW.cost_usd - OLD.cost_usd)
        ON CONFLICT (dimension, key) DO UPDATE SET prompts = t.prompts + excluded.prompts,
            input_tokens = t.input_tokens + excluded.input_tokens,
            output_tokens = t.output_tokens + excluded.output_tokens,
            cache_creation_tokens = t.cache_creation_tokens + excluded.cache_creation_tokens,
            cache_read_tokens = t.cache_read_tokens + excluded.cache_read_tokens,
            cost_usd = t.cost_usd + excluded.cost_usd;
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO prompt_totals AS t (dimension, key, prompts, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd)
        VALUES ('agent', OLD.agent_id::text, -1, -OLD.input_tokens, -OLD.output_tokens, -OLD.cache_creation_tokens, -OLD.cache_read_tokens, -OLD.cost_usd),
               ('day', to_char(OLD.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), -1, -OLD.input_tokens, -OLD.output_tokens, -OLD.cache_creation_tokens, -OLD.cache_read_tokens, -OLD.cost_usd),
               ('model', coalesce(OLD.model, 'unknown'), -1, -OLD.input_tokens, -OLD.output_tokens, -OLD.cache_creation_tokens, -OLD.cache_read_tokens, -OLD.cost_usd)
        ON CONFLICT (dimension, key) DO UPDATE SET prompts = t.prompts + excluded.prompts,
            input_tokens = t.input_tokens + excluded.input_tokens,
            output_tokens = t.output_tokens + excluded.output_tokens,
            cache_creation_tokens = t.cache_creation_tokens + excluded.cache_creation_tokens,
            cache_read_tokens = t.cache_read_tokens + excluded.cache_read_tokens,
            cost_usd = t.cost_usd + excluded.cost_usd;
    END IF;
    IF TG_OP = 'DELETE' THEN
        -- A key whose last prompt is deleted (prune) leaves no row behind.
        DELETE FROM prompt_totals WHERE prompts = 0 AND ((dimension = 'agent' AND key = OLD.agent_id::text)
            OR (dimension = 'day' AND key = to_char(OLD.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'))
            OR (dimension = 'model' AND key = coalesce(OLD.model, 'unknown')));
        RETURN NULL;
    END IF;
        INSERT INTO prompt_totals AS t (dimension, key, prompts, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd)
        VALUES ('agent', NEW.agent_id::text, 1, NEW.input_tokens, NEW.output_tokens, NEW.cache_creation_tokens, NEW.cache_read_tokens, NEW.cost_usd),
               ('day', to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 1, NEW.input_tokens, NEW.output_tokens, NEW.cache_creation_tokens, NEW.cache_read_tokens, NEW.cost_usd),
               ('model', coalesce(NEW.model, 'unknown'), 1, NEW.input_tokens, NEW.output_tokens, NEW.cache_creation_tokens, NEW.cache_read_tokens, NEW.cost_usd)
        ON CONFLICT (dimension, key) DO UPDATE SET prompts = t.prompts + excluded.prompts,
            input_tokens = t.input_tokens + excluded.input_tokens,
            output_tokens = t.output_tokens + excluded.output_tokens,
            cache_creation_tokens = t.cache_creation_tokens + excluded.cache_creation_tokens,
            cache_read_tokens = t.cache_read_tokens + excluded.cache_read_tokens,
            cost_usd = t.cost_usd + excluded.cost_usd;
    RETURN NULL;
END;
$$;

CREATE TRIGGER prompt_totals_track
AFTER INSERT OR DELETE OR UPDATE OF agent_id, model, created_at, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd ON prompts
FOR EACH ROW
EXECUTE FUNCTION prompt_totals_track();

INSERT INTO prompt_totals (dimension, key, prompts, input_tokens, output_tokens,
                           cache_creation_tokens, cache_read_tokens, cost_usd)
SELECT 'agent', agent_id::text, count(*), sum(input_tokens), sum(output_tokens), sum(cache_creation_tokens), sum(cache_read_tokens), sum(cost_usd) FROM prompts GROUP BY agent_id
UNION ALL
SELECT 'day', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), count(*), sum(input_tokens), sum(output_tokens), sum(cache_creation_tokens), sum(cache_read_tokens), sum(cost_usd) FROM prompts
GROUP BY 2
UNION ALL
SELECT 'model', coalesce(model, 'unknown'), count(*), sum(input_tokens), sum(output_tokens), sum(cache_creation_tokens), sum(cache_read_tokens), sum(cost_usd) FROM prompts GROUP BY 2;
