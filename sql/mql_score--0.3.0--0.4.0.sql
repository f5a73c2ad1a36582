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
