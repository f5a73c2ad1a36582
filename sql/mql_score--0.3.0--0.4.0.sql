-- mql_score 0.3.0 → 0.4.0 — security and robustness: conditions run with
-- the rights of the role that wrote them; delegation to marketing
-- operations by GRANTs alone.
\echo Use "ALTER EXTENSION mql_score UPDATE TO '0.4.0'" to load this file. \quit

--------------------------------------------------------------------------
-- Conditions run with the rights of the role that wrote them
--------------------------------------------------------------------------

-- Whose rights a rule's or fit rule's condition runs with.  The validation
-- triggers set it to the writing role, unless that role has the rights of
-- the one recorded (a superuser restoring a dump, an owner fixing a typo),
-- so nobody can make a condition run with rights they do not have.
ALTER TABLE @extschema@.rules ADD COLUMN written_by regrole;
ALTER TABLE @extschema@.fit_rules ADD COLUMN written_by regrole;
-- rules written before 0.4.0 were validated and evaluated as the
-- extension's owner: they keep those rights until a role writes them anew
ALTER TABLE @extschema@.rules DISABLE TRIGGER USER;
ALTER TABLE @extschema@.fit_rules DISABLE TRIGGER USER;
UPDATE @extschema@.rules SET written_by =
	(SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'mql_score')::pg_catalog.regrole;
UPDATE @extschema@.fit_rules SET written_by =
	(SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'mql_score')::pg_catalog.regrole;
ALTER TABLE @extschema@.rules ENABLE TRIGGER USER;
ALTER TABLE @extschema@.fit_rules ENABLE TRIGGER USER;
ALTER TABLE @extschema@.rules ALTER COLUMN written_by SET NOT NULL;
ALTER TABLE @extschema@.fit_rules ALTER COLUMN written_by SET NOT NULL;
-- writes that bypass the triggers (session_replication_role = replica) are the writing role's too
ALTER TABLE @extschema@.rules ALTER COLUMN written_by SET DEFAULT CAST(current_user AS text)::pg_catalog.regrole;
ALTER TABLE @extschema@.fit_rules ALTER COLUMN written_by SET DEFAULT CAST(current_user AS text)::pg_catalog.regrole;
COMMENT ON COLUMN @extschema@.rules.written_by IS
'the role whose rights the condition runs with: set to the role that writes the rule (kept when that role has the recorded one''s rights)';
COMMENT ON COLUMN @extschema@.fit_rules.written_by IS
'the role whose rights the condition runs with: set to the role that writes the fit rule (kept when that role has the recorded one''s rights)';

--------------------------------------------------------------------------
-- Delegation: marketing operations edit configuration and run the jobs
-- with GRANTs alone
--------------------------------------------------------------------------

-- Triggers on configuration tables keep mql_score's own bookkeeping (model
-- status, derived state of renamed or deleted models): the role editing
-- configuration needs no rights on those tables.  Trigger functions cannot
-- be called directly, and their search_path is pinned.
ALTER FUNCTION @extschema@._config_touched() SECURITY DEFINER;
ALTER FUNCTION @extschema@._model_deletable() SECURITY DEFINER;
ALTER FUNCTION @extschema@._model_renamed_or_dropped() SECURITY DEFINER;

-- The jobs' helpers run as the owner, for whoever may execute the job:
-- the procedures COMMIT between batches, so they cannot be SECURITY
-- DEFINER themselves, and GRANT EXECUTE ON PROCEDURE rescore is then the
-- whole of the grant.  Each helper checks the session's role (SET ROLE or
-- login role, which a SECURITY DEFINER function does not change).
CREATE FUNCTION @extschema@._require_job(job text) RETURNS void
AS 'MODULE_PATHNAME', 'mql_require_job' LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@._require_job(text) IS
'raises 42501 unless the session''s role may execute the procedure mql_score.<job> (NULL: any of rescore, refresh_stages, run_maintenance)';

CREATE OR REPLACE FUNCTION @extschema@._models_named(model text) RETURNS SETOF text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM @extschema@._require_job(NULL);
	IF model IS NOT NULL AND NOT EXISTS (SELECT 1 FROM @extschema@.models m WHERE m.name = model) THEN
		RAISE EXCEPTION 'model "%" does not exist', model
			USING ERRCODE = '42704', HINT = 'Models are rows of mql_score.models.';
	END IF;
	RETURN QUERY SELECT m.name FROM @extschema@.models m
	             WHERE _models_named.model IS NULL OR m.name = _models_named.model ORDER BY m.name;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._rescore_lock(acquire boolean) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM @extschema@._require_job('rescore');
	RETURN CASE WHEN acquire THEN pg_try_advisory_lock(hashtext('mql_score.rescore'))
	            ELSE pg_advisory_unlock(hashtext('mql_score.rescore')) END;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._rescore_begin(model text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	interrupted bigint;
	run bigint;
	queued bigint;
BEGIN
	PERFORM @extschema@._require_job('rescore');
	-- we hold the rescore lock: a run still marked running was interrupted
	WITH marked AS (
		UPDATE @extschema@.rescore_runs r SET status = 'interrupted'
		WHERE r.model = _rescore_begin.model AND r.status = 'running'
		RETURNING r.id)
	SELECT max(id) INTO interrupted FROM marked;
	IF interrupted IS NOT NULL AND EXISTS (SELECT 1 FROM @extschema@.rescore_queue q WHERE q.model = _rescore_begin.model) THEN
		RAISE NOTICE 'mql_score.rescore: model "%": resuming interrupted run %', model, interrupted;
	ELSE
		DELETE FROM @extschema@.rescore_queue q WHERE q.model = _rescore_begin.model;
		INSERT INTO @extschema@.rescore_queue (model, lead)
		SELECT DISTINCT _rescore_begin.model, c FROM @extschema@._rescore_candidates(model) c;
	END IF;
	SELECT count(*) INTO queued FROM @extschema@.rescore_queue q WHERE q.model = _rescore_begin.model;
	INSERT INTO @extschema@.rescore_runs (model, queued) VALUES (model, queued) RETURNING id INTO run;
	RETURN run;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._rescore_step(model text, run bigint, batch_size int,
	INOUT after text, OUT more boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	batch text[];
	handled text[];
	r @extschema@.rescore_runs;
BEGIN
	PERFORM @extschema@._require_job('rescore');
	IF after IS NULL THEN
		SELECT array_agg(q.lead ORDER BY q.lead) INTO batch
		FROM (SELECT q.lead FROM @extschema@.rescore_queue q WHERE q.model = _rescore_step.model
		      ORDER BY q.lead LIMIT batch_size) q;
	ELSE
		SELECT array_agg(q.lead ORDER BY q.lead) INTO batch
		FROM (SELECT q.lead FROM @extschema@.rescore_queue q
		      WHERE q.model = _rescore_step.model AND q.lead > _rescore_step.after
		      ORDER BY q.lead LIMIT batch_size) q;
	END IF;
	IF batch IS NULL THEN
		-- end of a lap: another one from the start if busy leads were left
		more := after IS NOT NULL;
		after := NULL;
		RETURN;
	END IF;
	more := true;
	after := batch[cardinality(batch)];
	handled := @extschema@._rescore_batch(model, batch, false);
	IF cardinality(handled) = 0 THEN
		handled := @extschema@._rescore_batch(model, batch[1:1], true);
	END IF;
	-- by exact key: a filter over the model's whole queue would be quadratic
	DELETE FROM @extschema@.rescore_queue q USING unnest(handled) h(lead)
	WHERE q.model = _rescore_step.model AND q.lead = h.lead;
	UPDATE @extschema@.rescore_runs u
	SET leads = u.leads + cardinality(handled),
	    events = u.events + (SELECT COALESCE(sum(s.events), 0)
	                         FROM unnest(handled) h(lead)
	                         JOIN @extschema@.lead_state s ON s.model = _rescore_step.model AND s.lead = h.lead)
	WHERE u.id = run RETURNING * INTO r;
	RAISE NOTICE 'mql_score.rescore: model "%": % of % leads', model, r.leads, r.queued;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._rescore_end(model text, run bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	started timestamptz;
BEGIN
	PERFORM @extschema@._require_job('rescore');
	UPDATE @extschema@.rescore_runs r SET finished_at = clock_timestamp(), status = 'finished'
	WHERE r.id = run RETURNING r.started_at INTO started;
	INSERT INTO @extschema@.model_status AS s (model, config_changed_at, rescored_at)
	VALUES (model, started, started)
	ON CONFLICT ON CONSTRAINT model_status_pkey DO UPDATE SET rescored_at = started;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._decaying_models(model text) RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT @extschema@._require_job('refresh_stages');
	SELECT n FROM @extschema@._models_named(model) n
	WHERE (SELECT m.half_life FROM @extschema@.models m WHERE m.name = n) IS NOT NULL
$$;

CREATE OR REPLACE FUNCTION @extschema@._refresh_step(model text, cutoff timestamptz, batch_size int,
	INOUT last_due timestamptz, INOUT last_lead text, OUT more boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	batch text[];
BEGIN
	PERFORM @extschema@._require_job('refresh_stages');
	SELECT array_agg(d.lead ORDER BY d.due_at, d.lead), max(d.due_at) INTO batch, last_due
	FROM (SELECT s.lead, s.due_at FROM @extschema@.lead_state s
	      WHERE s.model = _refresh_step.model AND s.due_at <= cutoff
	        AND (s.due_at, s.lead) > (_refresh_step.last_due, _refresh_step.last_lead)
	      ORDER BY s.due_at, s.lead LIMIT batch_size) d;
	more := batch IS NOT NULL;
	IF more THEN
		last_lead := batch[cardinality(batch)];
		PERFORM @extschema@._refresh_leads(model, batch);
	END IF;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._models_to_rescore() RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT @extschema@._require_job('run_maintenance');
	SELECT s.model FROM @extschema@.model_status s
	WHERE s.rescored_at IS NULL OR s.config_changed_at > s.rescored_at ORDER BY s.model
$$;

-- guarded above; _check_batch_size checks its argument and nothing else
GRANT EXECUTE ON FUNCTION @extschema@._require_job(text), @extschema@._check_batch_size(int),
	@extschema@._models_named(text), @extschema@._rescore_lock(boolean), @extschema@._rescore_begin(text),
	@extschema@._rescore_step(text, bigint, int, text), @extschema@._rescore_end(text, bigint),
	@extschema@._decaying_models(text), @extschema@._refresh_step(text, timestamptz, int, timestamptz, text),
	@extschema@._models_to_rescore()
	TO PUBLIC;

--------------------------------------------------------------------------
-- Robustness: every configuration column is checked where it is stored
-- (issue 12, items 1-2).  The validation triggers give the precise
-- messages; these constraints hold even when triggers do not fire
-- (session_replication_role = replica, ALTER TABLE ... DISABLE TRIGGER),
-- so the engine never reads a value it cannot use.  NOT VALID: rows an
-- older version accepted stay readable and the upgrade cannot fail on
-- them; new and updated rows are checked.
--------------------------------------------------------------------------

ALTER TABLE @extschema@.models ADD CONSTRAINT models_half_life_range
	CHECK (half_life IS NULL OR (half_life > interval '0' AND half_life <= interval '290000 years')) NOT VALID;
ALTER TABLE @extschema@.stages ADD CONSTRAINT stages_min_score_finite
	CHECK (min_score IS NULL OR (min_score > '-Infinity' AND min_score < 'Infinity')) NOT VALID;
ALTER TABLE @extschema@.rules ADD CONSTRAINT rules_points_range
	CHECK (points BETWEEN -1e12 AND 1e12) NOT VALID;
ALTER TABLE @extschema@.rules ADD CONSTRAINT rules_max_per_day_positive
	CHECK (max_per_day > 0) NOT VALID;
ALTER TABLE @extschema@.rules ADD CONSTRAINT rules_event_type_not_empty
	CHECK (event_type <> '') NOT VALID;
ALTER TABLE @extschema@.rules ADD CONSTRAINT rules_condition_not_empty
	CHECK (condition <> '') NOT VALID;
ALTER TABLE @extschema@.rules ADD CONSTRAINT rules_source_not_zero
	CHECK (source::oid <> 0) NOT VALID;
ALTER TABLE @extschema@.fit_rules ADD CONSTRAINT fit_rules_points_range
	CHECK (points BETWEEN -1e12 AND 1e12) NOT VALID;
ALTER TABLE @extschema@.fit_rules ADD CONSTRAINT fit_rules_condition_not_empty
	CHECK (condition <> '') NOT VALID;

-- Rows of tracked and tracked_leads are written by track() / track_leads()
-- (and removed by untrack(), the drop event trigger and DROP EXTENSION):
-- a row written by hand must still name a permanent table and, once set,
-- the column view those functions create for it, and keep its id and table.
CREATE FUNCTION @extschema@._validate_tracking() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	what text := CASE TG_TABLE_NAME WHEN 'tracked' THEN 'tracking' ELSE 'lead table' END;
	table_column text := CASE TG_TABLE_NAME WHEN 'tracked' THEN 'activity' ELSE 'leads' END;
	view_name text := CASE TG_TABLE_NAME WHEN 'tracked' THEN 'tracking_' ELSE 'leads_' END || NEW.id;
	relid oid;
	old_relid oid;
	c pg_class;
BEGIN
	IF TG_TABLE_NAME = 'tracked' THEN
		relid := NEW.activity;
		old_relid := CASE WHEN TG_OP = 'UPDATE' THEN OLD.activity END;
	ELSE
		relid := NEW.leads;
		old_relid := CASE WHEN TG_OP = 'UPDATE' THEN OLD.leads END;
	END IF;
	IF NEW.id IS NULL OR relid IS NULL THEN
		RETURN NEW;  -- the NOT NULL constraints report it
	END IF;
	IF TG_OP = 'UPDATE' AND (NEW.id <> OLD.id OR relid <> old_relid) THEN
		RAISE EXCEPTION 'the id and % of mql_score.% rows cannot change', table_column, TG_TABLE_NAME
			USING ERRCODE = '0A000',
			      HINT = 'Untrack the table and track the other one instead.';
	END IF;
	SELECT * INTO c FROM pg_class WHERE oid = relid;
	IF NOT FOUND THEN
		RAISE EXCEPTION '% of % % is not an existing relation (OID %)', table_column, what, NEW.id, relid
			USING ERRCODE = '42P01';
	END IF;
	IF c.relkind NOT IN ('r', 'p') OR c.relpersistence = 't' THEN
		RAISE EXCEPTION '% of % % must be a permanent ordinary or partitioned table; % is not', table_column, what, NEW.id, relid::regclass
			USING ERRCODE = '42809';
	END IF;
	IF NEW.columns IS NOT NULL AND NOT EXISTS (
		SELECT 1 FROM pg_class v
		WHERE v.oid = NEW.columns AND v.relkind = 'v' AND v.relname = view_name
		  AND v.relnamespace = '@extschema@'::regnamespace) THEN
		RAISE EXCEPTION 'columns of % % must be the view @extschema@.%, not %', what, NEW.id, view_name, NEW.columns::regclass
			USING ERRCODE = '42809',
			      HINT = 'Rows of this table are written by mql_score.track() and mql_score.track_leads().';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER tracked_validate BEFORE INSERT OR UPDATE ON @extschema@.tracked
	FOR EACH ROW EXECUTE FUNCTION @extschema@._validate_tracking();
CREATE TRIGGER tracked_leads_validate BEFORE INSERT OR UPDATE ON @extschema@.tracked_leads
	FOR EACH ROW EXECUTE FUNCTION @extschema@._validate_tracking();
COMMENT ON FUNCTION @extschema@._validate_tracking() IS 'trigger: checks a row of tracked or tracked_leads (a permanent table, its column view, no change of id or table)';
REVOKE EXECUTE ON FUNCTION @extschema@._validate_tracking() FROM PUBLIC;

-- Configuration written with session_replication_role = replica (a logical
-- replication subscriber applying the publisher's edits, or a DBA loading
-- rows past the validation triggers) must still reach every session's
-- cache: the invalidation triggers fire in every mode.
ALTER TABLE @extschema@.models ENABLE ALWAYS TRIGGER models_changed;
ALTER TABLE @extschema@.stages ENABLE ALWAYS TRIGGER stages_changed;
ALTER TABLE @extschema@.rules ENABLE ALWAYS TRIGGER rules_changed;
ALTER TABLE @extschema@.fit_rules ENABLE ALWAYS TRIGGER fit_rules_changed;
ALTER TABLE @extschema@.tracked ENABLE ALWAYS TRIGGER tracked_changed;
ALTER TABLE @extschema@.tracked_leads ENABLE ALWAYS TRIGGER tracked_leads_changed;
-- v2 review: the funnel (stage_episodes, funnel, conversion, stage_flow, stage_times, lead_velocity)
--------------------------------------------------------------------------
-- Everything here reads mql_score.stage_history alone (so history imported
-- from a previous tool counts too), with the caller's rights: a role that
-- may SELECT stage_history gets the answers, one that may not gets 42501.
-- A lead's rows are ordered by (at, id); what a row's to_stage says is where
-- the lead is after it (from_stage is not consulted, so a hand-imported
-- history only needs to_stage right).  A row whose to_stage is the stage the
-- lead is already in continues the stay; a row with to_stage NULL (what
-- merge_leads writes for the merged-away lead; imported history may have
-- them too) ends it and starts none.  Stages no
-- longer in mql_score.stages (a previous tool's names) appear in
-- stage_episodes with position NULL; the functions, which rank stages by
-- position, see only the model's current stages: an entry into an unknown
-- stage ends the stay before it and is itself neither an entry nor a reach.

-- One lead's moves are read in (at, id) order by every function below; the
-- old (model, lead, at) index serves the same lookups, so it is replaced.
DROP INDEX @extschema@.stage_history_lead_idx;
CREATE INDEX stage_history_lead_idx ON @extschema@.stage_history (model, lead, at, id);
-- First entries into one stage (conversion, lead_velocity).
CREATE INDEX stage_history_entry_idx ON @extschema@.stage_history (model, to_stage, lead, at, id);

-- The stages of one model (NULL: of every model) with their positions, for
-- whoever may read stage_history: it runs as the owner (readers are not
-- granted the configuration tables), so it checks the session's role (SET
-- ROLE or login role) itself.
CREATE FUNCTION @extschema@._stage_positions(of_model text DEFAULT NULL)
RETURNS TABLE(model text, stage text, "position" int)
LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER ROWS 10 SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
	who text := coalesce(nullif(current_setting('role'), 'none'), session_user::text);
BEGIN
	IF NOT has_table_privilege(who, '@extschema@.stage_history', 'SELECT') THEN
		RAISE EXCEPTION 'permission denied for table stage_history'
			USING ERRCODE = '42501',
			      HINT = 'The funnel functions read mql_score.stage_history with your rights: GRANT SELECT ON mql_score.stage_history to the reporting role.';
	END IF;
	IF _stage_positions.of_model IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM @extschema@.models m WHERE m.name = _stage_positions.of_model) THEN
		RAISE EXCEPTION 'model "%" does not exist', _stage_positions.of_model
			USING ERRCODE = '42704', HINT = 'Models are rows of mql_score.models.';
	END IF;
	RETURN QUERY SELECT s.model, s.name, s.position FROM @extschema@.stages s
	             WHERE _stage_positions.of_model IS NULL OR s.model = _stage_positions.of_model
	             ORDER BY s.model, s.position;
END $$;
COMMENT ON FUNCTION @extschema@._stage_positions(text) IS
'the stages of a model (NULL: every model) and their positions, for roles that may read stage_history (42501 otherwise)';

-- Checks the arguments every funnel function shares.
CREATE FUNCTION @extschema@._funnel_check(model text, since timestamptz, until timestamptz)
RETURNS void LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF model IS NULL OR since IS NULL OR until IS NULL THEN
		RAISE EXCEPTION 'model, since and until must not be NULL'
			USING ERRCODE = '22004';
	END IF;
	IF since > until THEN
		RAISE EXCEPTION 'since (%) is later than until (%)', since, until
			USING ERRCODE = '22023', HINT = 'The period is [since, until): since must not be later than until.';
	END IF;
END $$;
COMMENT ON FUNCTION @extschema@._funnel_check(text, timestamptz, timestamptz) IS
'raises 22004 on a NULL argument, 22023 if since > until';

-- A stage's position in its model; 22023 naming the model's stages if unknown.
CREATE FUNCTION @extschema@._stage_position(model text, stage text) RETURNS int
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	found int;
	known text;
BEGIN
	IF stage IS NULL THEN
		RAISE EXCEPTION 'stage must not be NULL' USING ERRCODE = '22004';
	END IF;
	SELECT max(p.position) FILTER (WHERE p.stage = _stage_position.stage),
	       string_agg(p.stage, ', ' ORDER BY p.position)
	INTO found, known
	FROM @extschema@._stage_positions(model) p;
	IF found IS NULL THEN
		RAISE EXCEPTION 'stage "%" does not exist in model "%"', stage, model
			USING ERRCODE = '22023',
			      HINT = CASE WHEN known IS NULL THEN format('Model "%s" has no stages.', model)
			                  ELSE format('The stages of model "%s" are: %s.', model, known) END;
	END IF;
	RETURN found;
END $$;
COMMENT ON FUNCTION @extschema@._stage_position(text, text) IS
'the position of a stage of a model; 22023 with the model''s stages in the hint if it has no such stage';

-- The length of one period of a grain; 22023 for anything else.
CREATE FUNCTION @extschema@._grain_step(grain text) RETURNS interval
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF grain IS NULL THEN
		RAISE EXCEPTION 'grain must not be NULL' USING ERRCODE = '22004';
	END IF;
	CASE grain
		WHEN 'day' THEN RETURN interval '1 day';
		WHEN 'week' THEN RETURN interval '1 week';
		WHEN 'month' THEN RETURN interval '1 month';
		WHEN 'quarter' THEN RETURN interval '3 months';
		WHEN 'year' THEN RETURN interval '1 year';
		ELSE
			RAISE EXCEPTION 'unknown grain "%"', grain
				USING ERRCODE = '22023', HINT = 'grain is one of day, week, month, quarter, year.';
	END CASE;
END $$;
COMMENT ON FUNCTION @extschema@._grain_step(text) IS
'the interval of one period of a grain (day, week, month, quarter, year); 22023 otherwise';

-- One row per continuous stay of a lead in a stage.  security_invoker: it
-- reads stage_history with the caller's rights, so PUBLIC may select it.
CREATE VIEW @extschema@.stage_episodes WITH (security_invoker = true) AS
WITH moves AS (
	SELECT h.model, h.lead, h.to_stage, h.cause, h.at, h.id,
	       lag(h.to_stage) OVER (PARTITION BY h.model, h.lead ORDER BY h.at, h.id) AS before
	FROM @extschema@.stage_history h
), changes AS (
	SELECT m.model, m.lead, m.to_stage, m.cause, m.at, m.id,
	       lead(m.at) OVER w AS left_at, lead(m.to_stage) OVER w AS next_stage,
	       lead(m.cause) OVER w AS cause_out
	FROM moves m
	WHERE m.to_stage IS DISTINCT FROM m.before
	WINDOW w AS (PARTITION BY m.model, m.lead ORDER BY m.at, m.id)
), numbered AS (
	-- numbered while still in lead order (an incremental sort), then joined
	SELECT c.*, row_number() OVER (PARTITION BY c.model, c.lead, c.to_stage ORDER BY c.at, c.id) AS episode
	FROM changes c
	WHERE c.to_stage IS NOT NULL
)
SELECT c.model, c.lead, c.to_stage AS stage, p.position, c.episode,
       c.at AS entered_at, c.left_at, c.next_stage, c.cause AS cause_in, c.cause_out,
       c.left_at - c.at AS duration
FROM numbered c
LEFT JOIN @extschema@._stage_positions() p ON p.model = c.model AND p.stage = c.to_stage;
COMMENT ON VIEW @extschema@.stage_episodes IS
'one row per continuous stay of a lead in a stage, from stage_history (rows of a lead in (at, id) order): episode 1 is the first stay in that stage; left_at, next_stage, cause_out and duration are NULL while the lead is there; next_stage is NULL too when the lead left every stage (to_stage NULL); position is NULL for a stage no longer in stages';

-- funnel: the leads that first entered a stage of the model in [since, until),
-- and how many of them reached each stage by now.
CREATE FUNCTION @extschema@.funnel(model text, since timestamptz, until timestamptz DEFAULT now())
RETURNS TABLE(stage text, "position" int, reached bigint, of_first float8, of_previous float8)
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
	names text[];
	positions int[];
BEGIN
	PERFORM @extschema@._funnel_check(funnel.model, funnel.since, funnel.until);
	SELECT array_agg(p.stage ORDER BY p.position), array_agg(p.position ORDER BY p.position)
	INTO names, positions FROM @extschema@._stage_positions(funnel.model) p;
	RETURN QUERY
	WITH s AS (
		SELECT u.stage, u.position FROM unnest(names, positions) u(stage, position)
	), per_lead AS (
		-- when the lead first entered a known stage, and the highest it reached
		SELECT min(h.at) AS first_at, max(s.position) AS top
		FROM @extschema@.stage_history h JOIN s ON s.stage = h.to_stage
		WHERE h.model = funnel.model
		GROUP BY h.lead
	), tops AS (
		SELECT l.top, count(*) AS leads FROM per_lead l
		WHERE l.first_at >= funnel.since AND l.first_at < funnel.until
		GROUP BY l.top
	), counts AS (
		SELECT s.stage, s.position, coalesce(sum(t.leads), 0)::bigint AS reached
		FROM s LEFT JOIN tops t ON t.top >= s.position
		GROUP BY s.stage, s.position
	)
	SELECT c.stage, c.position, c.reached,
	       c.reached::float8 / nullif(first_value(c.reached) OVER w, 0),
	       c.reached::float8 / nullif(lag(c.reached) OVER w, 0)
	FROM counts c
	WINDOW w AS (ORDER BY c.position)
	ORDER BY c.position;
END $$;
COMMENT ON FUNCTION @extschema@.funnel(text, timestamptz, timestamptz) IS
'the leads whose first stage entry in the model falls in [since, until): per stage in position order, how many reached it (entered it or a higher stage) by now, as a share of the first stage (of_first) and of the previous stage (of_previous; NULL for the first stage and on 0)';

-- conversion: cohorts by first entry into from_stage, converted when they
-- reach to_stage after it (within `within`, if given).
CREATE FUNCTION @extschema@.conversion(model text, from_stage text, to_stage text, since timestamptz,
	until timestamptz DEFAULT now(), within interval DEFAULT NULL, grain text DEFAULT 'month')
RETURNS TABLE(cohort timestamptz, entered bigint, converted bigint, pending bigint, rate float8,
	median_time interval, p90_time interval)
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
	target int;
	reaching text[];
BEGIN
	PERFORM @extschema@._funnel_check(conversion.model, conversion.since, conversion.until);
	PERFORM @extschema@._stage_position(conversion.model, conversion.from_stage);
	target := @extschema@._stage_position(conversion.model, conversion.to_stage);
	PERFORM @extschema@._grain_step(conversion.grain);
	SELECT array_agg(p.stage) INTO reaching
	FROM @extschema@._stage_positions(conversion.model) p WHERE p.position >= target;
	IF conversion.within < interval '0' THEN
		RAISE EXCEPTION 'within must not be negative'
			USING ERRCODE = '22023', HINT = 'within is how long after entering from_stage a lead has to reach to_stage; NULL for no limit.';
	END IF;
	RETURN QUERY
	WITH entries AS (
		SELECT DISTINCT ON (h.lead) h.lead, h.at, h.id
		FROM @extschema@.stage_history h
		WHERE h.model = conversion.model AND h.to_stage = conversion.from_stage
		ORDER BY h.lead, h.at, h.id
	), cohort AS (
		SELECT e.lead, e.at, e.id FROM entries e
		WHERE e.at >= conversion.since AND e.at < conversion.until
	), reach AS (
		-- the first move after the entry into to_stage or a higher stage
		SELECT c.lead, min(h.at) AS at
		FROM cohort c
		JOIN @extschema@.stage_history h
		  ON h.model = conversion.model AND h.lead = c.lead AND (h.at, h.id) > (c.at, c.id)
		WHERE h.to_stage = ANY (reaching)
		GROUP BY c.lead
	), judged AS (
		SELECT date_trunc(conversion.grain, c.at) AS cohort, r.at - c.at AS took,
		       coalesce(r.at <= c.at + conversion.within, r.at IS NOT NULL) AS won,
		       c.at + conversion.within > now() AS young
		FROM cohort c LEFT JOIN reach r ON r.lead = c.lead
	)
	SELECT j.cohort, count(*), count(*) FILTER (WHERE j.won),
	       count(*) FILTER (WHERE NOT j.won AND j.young),
	       (count(*) FILTER (WHERE j.won))::float8
	         / nullif(count(*) - count(*) FILTER (WHERE NOT j.won AND j.young), 0),
	       percentile_cont(0.5) WITHIN GROUP (ORDER BY j.took) FILTER (WHERE j.won),
	       percentile_cont(0.9) WITHIN GROUP (ORDER BY j.took) FILTER (WHERE j.won)
	FROM judged j
	GROUP BY ROLLUP (j.cohort)
	ORDER BY j.cohort NULLS LAST;
END $$;
COMMENT ON FUNCTION @extschema@.conversion(text, text, text, timestamptz, timestamptz, interval, text) IS
'cohorts (by grain) of the leads whose first entry into from_stage falls in [since, until): entered, converted (reached to_stage after that entry, within `within` if given), pending (not converted and entry + within > now()), rate = converted / (entered - pending), median and p90 time from the entry to the first reaching move; a last row with cohort NULL totals them';

-- stage_flow: per grain period and stage, the stays open at its start, the
-- stays entered and left during it, and those open at its end.
CREATE FUNCTION @extschema@.stage_flow(model text, since timestamptz, until timestamptz DEFAULT now(),
	grain text DEFAULT 'month')
RETURNS TABLE(period timestamptz, stage text, "position" int, at_start bigint, entered bigint,
	"left" bigint, at_end bigint)
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
	step interval;
	first_start timestamptz;
	last_end timestamptz;
	names text[];
	positions int[];
BEGIN
	PERFORM @extschema@._funnel_check(stage_flow.model, stage_flow.since, stage_flow.until);
	SELECT array_agg(p.stage ORDER BY p.position), array_agg(p.position ORDER BY p.position)
	INTO names, positions FROM @extschema@._stage_positions(stage_flow.model) p;
	step := @extschema@._grain_step(stage_flow.grain);
	IF stage_flow.since = stage_flow.until THEN
		RETURN;		-- an empty range intersects no period
	END IF;
	first_start := date_trunc(stage_flow.grain, stage_flow.since);
	last_end := date_trunc(stage_flow.grain, stage_flow.until);
	IF last_end < stage_flow.until THEN
		last_end := last_end + step;
	END IF;
	RETURN QUERY
	WITH s AS (
		SELECT u.stage, u.position FROM unnest(names, positions) u(stage, position)
	), moves AS (
		SELECT h.lead, h.to_stage, h.at, h.id,
		       lag(h.to_stage) OVER (PARTITION BY h.lead ORDER BY h.at, h.id) AS before
		FROM @extschema@.stage_history h
		WHERE h.model = stage_flow.model
	), episodes AS (
		SELECT m.to_stage AS stage, m.at AS entered_at,
		       lead(m.at) OVER (PARTITION BY m.lead ORDER BY m.at, m.id) AS left_at
		FROM moves m
		WHERE m.to_stage IS DISTINCT FROM m.before
	), relevant AS (
		-- the stays of known stages open at some time in [first_start, last_end)
		SELECT e.stage, e.entered_at, e.left_at
		FROM episodes e JOIN s ON s.stage = e.stage
		WHERE e.entered_at < last_end AND (e.left_at IS NULL OR e.left_at >= first_start)
	), base AS (
		SELECT r.stage, count(*) AS n FROM relevant r WHERE r.entered_at < first_start GROUP BY r.stage
	), ins AS (
		SELECT r.stage, date_trunc(stage_flow.grain, r.entered_at) AS period, count(*) AS n
		FROM relevant r WHERE r.entered_at >= first_start GROUP BY 1, 2
	), outs AS (
		SELECT r.stage, date_trunc(stage_flow.grain, r.left_at) AS period, count(*) AS n
		FROM relevant r WHERE r.left_at < last_end GROUP BY 1, 2
	), grid AS (
		SELECT p AS period, s.stage, s.position,
		       coalesce(i.n, 0)::bigint AS entered, coalesce(o.n, 0)::bigint AS left_
		FROM generate_series(first_start, last_end, step) p
		CROSS JOIN s
		LEFT JOIN ins i ON i.stage = s.stage AND i.period = p
		LEFT JOIN outs o ON o.stage = s.stage AND o.period = p
		WHERE p < last_end
	), flowed AS (
		SELECT g.period, g.stage, g.position, g.entered, g.left_,
		       (coalesce(b.n, 0) + coalesce(sum(g.entered - g.left_) OVER (PARTITION BY g.stage ORDER BY g.period
		                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))::bigint AS at_start
		FROM grid g LEFT JOIN base b ON b.stage = g.stage
	)
	SELECT f.period, f.stage, f.position, f.at_start, f.entered, f.left_, f.at_start + f.entered - f.left_
	FROM flowed f
	ORDER BY f.period, f.position;
END $$;
COMMENT ON FUNCTION @extschema@.stage_flow(text, timestamptz, timestamptz, text) IS
'per grain period intersecting [since, until) (each counted whole; none if since = until) and stage: stays open at the period''s start (entered before it, not left before it), entered and left during it, and at_end = at_start + entered - left; zeros included';

-- stage_times: how long stays lasted (those that ended in [since, until)),
-- how old the open ones are at until, and which way they left.
CREATE FUNCTION @extschema@.stage_times(model text, since timestamptz, until timestamptz DEFAULT now())
RETURNS TABLE(stage text, "position" int, stays bigint, avg_time interval, median_time interval,
	p90_time interval, open bigint, open_median_age interval, left_forward bigint, left_back bigint)
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
	names text[];
	positions int[];
BEGIN
	PERFORM @extschema@._funnel_check(stage_times.model, stage_times.since, stage_times.until);
	SELECT array_agg(p.stage ORDER BY p.position), array_agg(p.position ORDER BY p.position)
	INTO names, positions FROM @extschema@._stage_positions(stage_times.model) p;
	RETURN QUERY
	WITH s AS (
		SELECT u.stage, u.position FROM unnest(names, positions) u(stage, position)
	), moves AS (
		SELECT h.lead, h.to_stage, h.at, h.id,
		       lag(h.to_stage) OVER (PARTITION BY h.lead ORDER BY h.at, h.id) AS before
		FROM @extschema@.stage_history h
		WHERE h.model = stage_times.model
	), episodes AS (
		SELECT m.to_stage AS stage, m.at AS entered_at,
		       lead(m.at) OVER w AS left_at, lead(m.to_stage) OVER w AS next_stage
		FROM moves m
		WHERE m.to_stage IS DISTINCT FROM m.before
		WINDOW w AS (PARTITION BY m.lead ORDER BY m.at, m.id)
	), judged AS (
		SELECT e.stage, e.left_at - e.entered_at AS took, stage_times.until - e.entered_at AS age,
		       e.left_at >= stage_times.since AND e.left_at < stage_times.until AS stay,
		       e.entered_at < stage_times.until
		         AND (e.left_at IS NULL OR e.left_at >= stage_times.until) AS open,
		       n.position AS next_position
		FROM episodes e
		LEFT JOIN s n ON n.stage = e.next_stage
		WHERE e.entered_at < stage_times.until
		  AND (e.left_at IS NULL OR e.left_at >= stage_times.since)
	)
	SELECT s.stage, s.position,
	       count(*) FILTER (WHERE j.stay),
	       avg(j.took) FILTER (WHERE j.stay),
	       percentile_cont(0.5) WITHIN GROUP (ORDER BY j.took) FILTER (WHERE j.stay),
	       percentile_cont(0.9) WITHIN GROUP (ORDER BY j.took) FILTER (WHERE j.stay),
	       count(*) FILTER (WHERE j.open),
	       percentile_cont(0.5) WITHIN GROUP (ORDER BY j.age) FILTER (WHERE j.open),
	       count(*) FILTER (WHERE j.stay AND j.next_position > s.position),
	       count(*) FILTER (WHERE j.stay AND j.next_position < s.position)
	FROM s LEFT JOIN judged j ON j.stage = s.stage
	GROUP BY s.stage, s.position
	ORDER BY s.position;
END $$;
COMMENT ON FUNCTION @extschema@.stage_times(text, timestamptz, timestamptz) IS
'per stage: stays = episodes that left it in [since, until), their average, median and p90 durations; open = episodes open at until (entered before, not left before) and their median age at until; left_forward / left_back = stays whose next stage has a higher / lower position (a stay that left every stage, or to a stage no longer in stages, is neither)';

-- lead_velocity: first entries into a stage per calendar month, against the
-- month before.
CREATE FUNCTION @extschema@.lead_velocity(model text, stage text, months int DEFAULT 12)
RETURNS TABLE(month date, entered bigint, previous bigint, lvr float8)
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
	this_month timestamptz := date_trunc('month', now());
	first_month timestamptz;
BEGIN
	IF lead_velocity.months IS NULL THEN
		RAISE EXCEPTION 'months must not be NULL' USING ERRCODE = '22004';
	END IF;
	IF lead_velocity.months < 1 THEN
		RAISE EXCEPTION 'months must be at least 1, not %', lead_velocity.months
			USING ERRCODE = '22023', HINT = 'months is how many calendar months to show, the current one included.';
	END IF;
	PERFORM @extschema@._funnel_check(lead_velocity.model, now(), now());
	PERFORM @extschema@._stage_position(lead_velocity.model, lead_velocity.stage);
	first_month := this_month - (lead_velocity.months - 1) * interval '1 month';
	RETURN QUERY
	WITH firsts AS (
		SELECT min(h.at) AS at
		FROM @extschema@.stage_history h
		WHERE h.model = lead_velocity.model AND h.to_stage = lead_velocity.stage
		GROUP BY h.lead
	), per_month AS (
		SELECT date_trunc('month', f.at) AS month, count(*) AS n
		FROM firsts f
		WHERE f.at >= first_month - interval '1 month' AND f.at < this_month + interval '1 month'
		GROUP BY 1
	), series AS (
		SELECT m AS month, coalesce(c.n, 0)::bigint AS entered,
		       coalesce(p.n, 0)::bigint AS previous
		FROM generate_series(first_month, this_month, interval '1 month') m
		LEFT JOIN per_month c ON c.month = m
		LEFT JOIN per_month p ON p.month = m - interval '1 month'
	)
	SELECT s.month::date, s.entered, s.previous,
	       100 * (s.entered - s.previous)::float8 / nullif(s.previous, 0)
	FROM series s
	ORDER BY s.month;
END $$;
COMMENT ON FUNCTION @extschema@.lead_velocity(text, text, int) IS
'the last `months` calendar months (session time zone), the current one included: entered = leads whose first entry into the stage falls in the month, previous = the same for the month before, lvr = 100 * (entered - previous) / previous (NULL if previous = 0)';

-- Reading functions: executable by PUBLIC, they read stage_history with the
-- caller's rights (42501 without SELECT on it); the view is security_invoker.
GRANT SELECT ON @extschema@.stage_episodes TO PUBLIC;
