-- mql_score 0.3.0 → 0.4.0 — security and robustness: conditions run with
-- the rights of the role that wrote them; delegation to marketing
-- operations by GRANTs alone.
\echo Use "ALTER EXTENSION mql_score UPDATE TO '0.4.0'" to load this file. \quit

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
