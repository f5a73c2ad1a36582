-- Differential test of the scoring engine: random event streams go through
-- the triggers, and every lead's incremental state (mql_score.lead_state:
-- engagement, events, last_event_at) is compared with an independent
-- recomputation in plain SQL from the activity rows (window functions for
-- the caps, power() for the decay) — never with the engine's own
-- recomputation.  explain() and score_of() of a sample of leads, and
-- mql_score.skipped, are checked against it too.
--
-- Why a pg_regress test (and not a driver under test/differential/): the
-- whole stream runs inside the server, driven by a PL/pgSQL procedure that
-- COMMITs and ROLLBACKs real transactions (CALL at top level) and rolls
-- back savepoints, and EXECUTEs single-row INSERTs (into the partitioned
-- table and straight into its partitions), INSERT … SELECT, COPY FROM a
-- server-side file written by COPY TO, INSERT … ON CONFLICT DO UPDATE,
-- MERGE, UPDATEs, DELETEs, DELETE … RETURNING into INSERT and TRUNCATEs.
-- psql only sets the scale and calls the phases, so the suite gets it with
-- one word in REGRESS, and bench/differential.sh runs the same file at a
-- larger scale (psql variables diff_events, diff_seed) on a throwaway
-- cluster.
--
-- Determinism: setseed() fixes the random stream, and nothing random
-- depends on physical row order (rows to change are chosen by id, new
-- values are matched to them by id), so the counts printed below are
-- stable.  On a failure the check functions print the first mismatching
-- leads with both values.
\if :{?diff_events}
\else
\set diff_events 200000
\endif
\if :{?diff_seed}
\else
\set diff_seed 0.20260117
\endif
-- diff_skip_multi_trigger=1 leaves out the statements that fire several
-- scoring triggers at once (INSERT ... ON CONFLICT DO UPDATE, MERGE,
-- DELETE ... RETURNING into INSERT), to hunt other bugs while those fail
\if :{?diff_skip_multi_trigger}
\else
\set diff_skip_multi_trigger 0
\endif
SET diff.skip_multi_trigger = :'diff_skip_multi_trigger';
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS mql_score;
-- a session time zone with a half-hour offset: UTC days and `timestamp`
-- columns read as UTC must not depend on it
SET timezone = 'Asia/Kolkata';
-- rows make round trips through text (COPY, single-row INSERTs): ISO
-- output carries numeric offsets (pg_regress's Postgres style would write
-- IST, which reads back as Israel time)
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
SELECT setseed(:diff_seed);

CREATE SCHEMA diff;
CREATE SEQUENCE diff.ids;

--------------------------------------------------------------------------
-- Activity tables of three models
--   diff_decay (half-life 7 days): web (partitioned, bigint lead),
--     emails (integer lead, `timestamp` column), forms (bigint lead,
--     constant event type form_fill)
--   diff_month (half-life 1 month = 30 days): web and emails again
--   diff_flat (no decay, text leads): app_events (text), tickets (varchar)
--------------------------------------------------------------------------
CREATE TABLE diff.web (
	id bigint NOT NULL DEFAULT nextval('diff.ids'),
	contact_id bigint,
	at timestamptz,
	kind text,
	props jsonb,
	duration_s int,
	note text
) PARTITION BY RANGE (at);
CREATE TABLE diff.web_2024q1 PARTITION OF diff.web FOR VALUES FROM ('2024-01-01 00:00+00') TO ('2024-04-01 00:00+00');
CREATE TABLE diff.web_other PARTITION OF diff.web DEFAULT;
CREATE INDEX ON diff.web (id);
CREATE INDEX ON diff.web (contact_id, at);
CREATE INDEX ON diff.web (id) WHERE contact_id IS NULL;

CREATE TABLE diff.emails (
	id bigint PRIMARY KEY DEFAULT nextval('diff.ids'),
	contact_id integer,
	sent timestamp,
	kind text,
	campaign text,
	note text
);
CREATE INDEX ON diff.emails (contact_id, sent);
CREATE INDEX ON diff.emails (id) WHERE contact_id IS NULL;

CREATE TABLE diff.forms (
	id bigint PRIMARY KEY DEFAULT nextval('diff.ids'),
	contact_id bigint,
	submitted_at timestamptz,
	form text,
	note text
);
CREATE INDEX ON diff.forms (contact_id, submitted_at);
CREATE INDEX ON diff.forms (id) WHERE contact_id IS NULL;

CREATE TABLE diff.app_events (
	id bigint PRIMARY KEY DEFAULT nextval('diff.ids'),
	user_ref text,
	at timestamptz,
	kind text,
	props jsonb,
	duration_s int,
	note text
);
CREATE INDEX ON diff.app_events (user_ref, at);
CREATE INDEX ON diff.app_events (id) WHERE user_ref IS NULL;

CREATE TABLE diff.tickets (
	id bigint PRIMARY KEY DEFAULT nextval('diff.ids'),
	user_ref varchar(40),
	opened timestamptz,
	kind text,
	note text
);
CREATE INDEX ON diff.tickets (user_ref, opened);
CREATE INDEX ON diff.tickets (id) WHERE user_ref IS NULL;

--------------------------------------------------------------------------
-- Random values (all drawn in a deterministic order)
--------------------------------------------------------------------------
CREATE FUNCTION diff.pick(a text[]) RETURNS text LANGUAGE sql VOLATILE
AS $$ SELECT a[1 + floor(random() * cardinality(a))::int] $$;

-- skewed integer leads: a few hundred leads get most events; 5% anonymous
CREATE FUNCTION diff.int_lead() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	IF random() < 0.05 THEN
		RETURN NULL;
	END IF;
	RETURN 1 + floor(3000 * power(random(), 2.5))::bigint;
END $$;

-- web leads also include ids beyond the integer range (absent from emails)
CREATE FUNCTION diff.web_lead() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	IF random() < 0.03 THEN
		RETURN 9000000000 + floor(40 * random())::bigint;
	END IF;
	RETURN diff.int_lead();
END $$;

CREATE FUNCTION diff.text_lead() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	IF random() < 0.05 THEN
		RETURN NULL;
	END IF;
	RETURN diff.pick('{u,u,u,u,U,ü-}') || (1 + floor(1200 * power(random(), 2.5))::int);
END $$;

-- event times: out of order over nine months of 2024, some on whole hours
-- (exact duplicates), some a second or two around UTC midnight, a few
-- years away, and a few NULL or infinite (never scored)
CREATE FUNCTION diff.rand_time() RETURNS timestamptz LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	r float8 := random();
	t timestamptz;
BEGIN
	IF r < 0.003 THEN
		RETURN 'infinity';
	ELSIF r < 0.005 THEN
		RETURN '-infinity';
	ELSIF r < 0.008 THEN
		RETURN NULL;
	ELSIF r < 0.013 THEN
		RETURN timestamptz '2019-06-01 00:00+00' + random() * interval '2500 days';
	END IF;
	t := timestamptz '2024-01-01 00:00+00' + random() * interval '273 days';
	r := random();
	IF r < 0.10 THEN
		t := date_bin('1 hour', t, timestamptz '2024-01-01 00:00+00');
	ELSIF r < 0.16 THEN
		t := date_bin('1 day', t, timestamptz '2024-01-01 00:00+00') + (floor(random() * 5) - 2) * interval '1 second';
	END IF;
	RETURN t;
END $$;

-- x, or NULL with probability 2% (PL/pgSQL: never inlined, x is drawn first)
CREATE FUNCTION diff.or_null(x text) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	RETURN CASE WHEN random() < 0.02 THEN NULL ELSE x END;
END $$;

CREATE FUNCTION diff.rand_duration() RETURNS int LANGUAGE sql VOLATILE
AS $$ SELECT CASE WHEN random() < 0.2 THEN NULL ELSE floor(random() * 120)::int END $$;

CREATE FUNCTION diff.note() RETURNS text LANGUAGE sql VOLATILE
AS $$ SELECT 'n' || floor(random() * 100000)::int $$;

CREATE FUNCTION diff.web_props() RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	IF random() < 0.1 THEN
		RETURN NULL;
	END IF;
	RETURN jsonb_build_object(
		'path', diff.pick('{/,/pricing,/pricing/enterprise,/blog/scoring,/docs,/Pricing}'),
		'seconds', CASE WHEN random() < 0.7 THEN floor(random() * 200)::int END);
END $$;

CREATE FUNCTION diff.app_props() RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	IF random() < 0.1 THEN
		RETURN NULL;
	END IF;
	RETURN jsonb_build_object('format', diff.pick('{csv,csv,xlsx,pdf}'));
END $$;

-- Which partition of diff.web a row belongs in (for direct inserts).
CREATE FUNCTION diff.web_partition(at timestamptz) RETURNS regclass LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE
		WHEN at >= '2024-01-01 00:00+00' AND at < '2024-04-01 00:00+00' THEN 'diff.web_2024q1'
		WHEN at >= '2024-04-01 00:00+00' AND at < '2024-07-01 00:00+00' THEN 'diff.web_2024q2'
		WHEN at >= '2024-07-01 00:00+00' AND at < '2024-10-01 00:00+00' THEN 'diff.web_2024q3'
		ELSE 'diff.web_other' END::regclass
$$;

-- How the driver writes each table: `gen` makes $1 fresh rows (all
-- columns, in order); the *_set lists update columns from such a row `s`.
CREATE TABLE diff.tables (
	tbl regclass PRIMARY KEY,
	stage regclass NOT NULL,		-- an untracked table of the same shape
	upto float8 NOT NULL,			-- cumulative choice weight
	lead_col name NOT NULL,
	time_col name NOT NULL,
	gen text NOT NULL,
	type_set text NOT NULL,
	cond_set text NOT NULL,
	unrelated_set text NOT NULL
);
CREATE UNLOGGED TABLE diff.web_stage (LIKE diff.web);
CREATE UNLOGGED TABLE diff.emails_stage (LIKE diff.emails);
CREATE UNLOGGED TABLE diff.forms_stage (LIKE diff.forms);
CREATE UNLOGGED TABLE diff.app_events_stage (LIKE diff.app_events);
CREATE UNLOGGED TABLE diff.tickets_stage (LIKE diff.tickets);
INSERT INTO diff.tables VALUES
('diff.web', 'diff.web_stage', 0.38, 'contact_id', 'at',
 $$SELECT nextval('diff.ids'), diff.web_lead(), diff.rand_time(),
          diff.or_null(diff.pick('{page_view,page_view,page_view,page_view,page_view,page_view,download,video,signup,webinar,scroll}')),
          diff.web_props(), diff.rand_duration(), diff.note()
   FROM generate_series(1, $1)$$,
 'kind = s.kind', 'duration_s = s.duration_s, props = s.props', 'note = s.note'),
('diff.emails', 'diff.emails_stage', 0.63, 'contact_id', 'sent',
 $$SELECT nextval('diff.ids'), diff.int_lead()::int, diff.rand_time() AT TIME ZONE 'UTC',
          diff.or_null(diff.pick('{email_open,email_open,email_open,email_open,email_click,email_click,download,unsubscribe,bounce}')),
          diff.pick('{spring,summer,launch}'), diff.note()
   FROM generate_series(1, $1)$$,
 'kind = s.kind', 'campaign = s.campaign', 'note = s.note'),
('diff.forms', 'diff.forms_stage', 0.70, 'contact_id', 'submitted_at',
 $$SELECT nextval('diff.ids'), diff.int_lead(), diff.rand_time(),
          diff.pick('{demo,contact,newsletter,NULL}'), diff.note()
   FROM generate_series(1, $1)$$,
 'form = s.form', 'form = s.form', 'note = s.note'),
('diff.app_events', 'diff.app_events_stage', 0.91, 'user_ref', 'at',
 $$SELECT nextval('diff.ids'), diff.text_lead(), diff.rand_time(),
          diff.or_null(diff.pick('{login,login,login,feature_use,feature_use,feature_use,export,signup,churn_signal,invite,noise}')),
          diff.app_props(), diff.rand_duration(), diff.note()
   FROM generate_series(1, $1)$$,
 'kind = s.kind', 'duration_s = s.duration_s, props = s.props', 'note = s.note'),
('diff.tickets', 'diff.tickets_stage', 1.0, 'user_ref', 'opened',
 $$SELECT nextval('diff.ids'), diff.text_lead(), diff.rand_time(),
          diff.or_null(diff.pick('{bug,question,question,praise}')), diff.note()
   FROM generate_series(1, $1)$$,
 'kind = s.kind', 'kind = s.kind', 'note = s.note');

-- Rows present before track(): scored by track() itself (times in the
-- first quarter, so partitions created later find the default one free of
-- their range).  Unscorable ones among them are not in mql_score.skipped.
INSERT INTO diff.web
SELECT nextval('diff.ids'), diff.int_lead(),
       CASE WHEN random() < 0.02 THEN 'infinity' ELSE timestamptz '2024-01-01 00:00+00' + random() * interval '90 days' END,
       diff.pick('{page_view,page_view,download,video,NULL}'), diff.web_props(), diff.rand_duration(), diff.note()
FROM generate_series(1, 2000);
DO $$ BEGIN
	EXECUTE 'INSERT INTO diff.app_events ' || (SELECT gen FROM diff.tables WHERE tbl = 'diff.app_events'::regclass) USING 1500;
END $$;
CREATE TABLE diff.pretrack AS SELECT max(id) AS max_id FROM diff.app_events;

--------------------------------------------------------------------------
-- Models, stages and rules (fixed until the last phase: rule edits apply
-- to new events only, so the reference differs until rescore())
--------------------------------------------------------------------------
INSERT INTO mql_score.models (name, half_life, demote, notify, description) VALUES
	('diff_decay', '7 days', false, true, 'differential test: 7-day half-life'),
	('diff_month', '1 mon', false, false, 'differential test: 30-day half-life'),
	('diff_flat', NULL, true, false, 'differential test: no decay, text leads');
INSERT INTO mql_score.stages (model, name, position, min_score) VALUES
	('diff_decay', 'subscriber', 10, 0), ('diff_decay', 'engaged', 20, 20),
	('diff_decay', 'mql', 30, 60), ('diff_decay', 'sql', 40, NULL),
	('diff_flat', 'active', 10, 5), ('diff_flat', 'power', 20, 100);
INSERT INTO mql_score.rules (model, source, event_type, points, condition, max_per_day, once, promote_to, enabled, description) VALUES
	('diff_decay', NULL, 'page_view', 1, NULL, 3, false, NULL, true, 'cap 3'),
	('diff_decay', 'diff.web', 'page_view', 2, 'duration_s >= 30', NULL, false, NULL, true, 'second rule on page_view; NULL duration: no match'),
	('diff_decay', 'diff.web', 'page_view', 5, $$props->>'path' LIKE '/pricing%'$$, 1, false, NULL, true, 'cap 1'),
	('diff_decay', 'diff.web', 'video', 4, $$(props->>'seconds')::int > 60$$, 2, false, NULL, true, 'cap 2, NULL when seconds unknown'),
	('diff_decay', 'diff.web', 'download', 15, NULL, NULL, false, NULL, true, 'download on the site'),
	('diff_decay', 'diff.emails', 'download', 8, NULL, 2, false, NULL, true, 'download from an email: other source, cap 2'),
	('diff_decay', NULL, 'email_open', 1, NULL, 2, false, NULL, true, 'cap 2'),
	('diff_decay', NULL, 'email_click', 3, NULL, NULL, false, NULL, true, NULL),
	('diff_decay', NULL, 'unsubscribe', -20, NULL, NULL, false, NULL, true, 'negative'),
	('diff_decay', NULL, 'form_fill', 25, NULL, NULL, true, 'sql', true, 'once, promotes'),
	('diff_decay', 'diff.forms', 'form_fill', 10, $$form = 'demo'$$, 1, false, NULL, true, 'constant event type with a condition, cap 1'),
	('diff_decay', NULL, 'signup', 30, NULL, NULL, true, NULL, true, 'once'),
	('diff_decay', NULL, 'webinar', 100, NULL, NULL, false, NULL, false, 'disabled'),
	('diff_month', NULL, 'page_view', 1, NULL, NULL, false, NULL, true, NULL),
	('diff_month', 'diff.web', 'page_view', 20, $$props->>'path' LIKE '/pricing%'$$, NULL, true, NULL, true, 'once with a condition'),
	('diff_month', NULL, 'email_click', 4, NULL, 2, false, NULL, true, 'cap 2'),
	('diff_month', NULL, 'unsubscribe', -10, NULL, NULL, false, NULL, true, NULL),
	('diff_month', NULL, 'download', 6, NULL, 3, false, NULL, true, 'cap 3, both tables'),
	('diff_flat', NULL, 'login', 1, NULL, 1, false, NULL, true, 'cap 1'),
	('diff_flat', NULL, 'feature_use', 2, NULL, 3, false, NULL, true, 'cap 3'),
	('diff_flat', 'diff.app_events', 'feature_use', -1, 'duration_s < 5', NULL, false, NULL, true, 'negative, same type'),
	('diff_flat', 'diff.app_events', 'export', 10, $$props->>'format' = 'csv'$$, 2, false, NULL, true, 'cap 2'),
	('diff_flat', NULL, 'signup', 50, NULL, NULL, true, NULL, true, 'once'),
	('diff_flat', NULL, 'churn_signal', -30, NULL, NULL, false, NULL, true, 'negative'),
	('diff_flat', NULL, 'invite', 7, NULL, NULL, true, NULL, true, 'once'),
	('diff_flat', 'diff.tickets', 'bug', 3, NULL, NULL, false, NULL, true, NULL),
	('diff_flat', NULL, 'question', 1, NULL, 2, false, NULL, true, 'cap 2'),
	('diff_flat', 'diff.tickets', 'praise', -0.5, NULL, NULL, false, NULL, true, 'fractional negative'),
	('diff_flat', NULL, 'feature_use', 100, NULL, NULL, false, NULL, false, 'disabled');

-- track(): returns how many leads the existing rows scored
SELECT mql_score.track('diff.web', 'contact_id', 'at', 'kind', model => 'diff_decay') AS web_decay,
       mql_score.track('diff.emails', 'contact_id', 'sent', 'kind', model => 'diff_decay') AS emails_decay,
       mql_score.track('diff.forms', 'contact_id', 'submitted_at', event_type => 'form_fill', model => 'diff_decay') AS forms_decay,
       mql_score.track('diff.web', 'contact_id', 'at', 'kind', model => 'diff_month') AS web_month,
       mql_score.track('diff.emails', 'contact_id', 'sent', 'kind', model => 'diff_month') AS emails_month,
       mql_score.track('diff.app_events', 'user_ref', 'at', 'kind', model => 'diff_flat') AS app_flat,
       mql_score.track('diff.tickets', 'user_ref', 'opened', 'kind', model => 'diff_flat') AS tickets_flat;

-- partitions created after track(): rows will be inserted into them
-- through the parent and directly
CREATE TABLE diff.web_2024q2 PARTITION OF diff.web FOR VALUES FROM ('2024-04-01 00:00+00') TO ('2024-07-01 00:00+00');
CREATE TABLE diff.web_2024q3 PARTITION OF diff.web FOR VALUES FROM ('2024-07-01 00:00+00') TO ('2024-10-01 00:00+00');

--------------------------------------------------------------------------
-- The driver
--------------------------------------------------------------------------
CREATE TABLE diff.kinds (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO diff.kinds VALUES
	(1, 'INSERT one row (VALUES)'),
	(2, 'INSERT one row into a partition'),
	(3, 'INSERT ... SELECT'),
	(4, 'COPY FROM file'),
	(5, 'INSERT ... ON CONFLICT DO UPDATE'),
	(6, 'MERGE (insert, update, delete)'),
	(7, 'UPDATE lead'),
	(8, 'UPDATE lead of anonymous rows'),
	(9, 'UPDATE type'),
	(10, 'UPDATE time (new time)'),
	(11, 'UPDATE time (shift)'),
	(12, 'UPDATE lead and time'),
	(13, 'UPDATE condition columns'),
	(14, 'UPDATE unrelated column'),
	(15, 'UPDATE or DELETE on a partition'),
	(16, 'DELETE random rows'),
	(17, 'DELETE latest row of leads'),
	(18, 'DELETE ... RETURNING into INSERT'),
	(19, 'TRUNCATE'),
	(20, 'transactions committed'),
	(21, 'transactions rolled back'),
	(22, 'savepoints rolled back'),
	(23, 'rows inserted and kept'),
	(24, 'state changed by a rollback (must be 0)');
-- seconds: time spent (not printed by the suite: bench/differential.sh shows it)
CREATE TABLE diff.stats (kind int PRIMARY KEY REFERENCES diff.kinds, statements bigint NOT NULL,
                         nrows bigint NOT NULL, seconds float8 NOT NULL);

-- Everything a rollback must leave as it was.
CREATE FUNCTION diff.state_digest() RETURNS text LANGUAGE sql AS $$
	SELECT md5(coalesce(string_agg(format('%s|%s|%s|%s|%s|%s|%s', model, lead, engagement, events,
	                                      last_event_at, stage, encode(caps, 'hex')), ',' ORDER BY model, lead), ''))
	       || (SELECT count(*) FROM mql_score.skipped) || '/' || (SELECT count(*) FROM mql_score.stage_history)
	FROM mql_score.lead_state
$$;

-- Fill a table's stage with n fresh rows.
CREATE FUNCTION diff.fill_stage(t diff.tables, n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('DELETE FROM %s', t.stage);
	EXECUTE format('INSERT INTO %s %s', t.stage, t.gen) USING n;
END $$;

-- The columns of a table, each prefixed (for column lists).
CREATE FUNCTION diff.columns(t regclass, prefix text) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT string_agg(prefix || quote_ident(attname), ', ' ORDER BY attnum)
	FROM pg_attribute WHERE attrelid = t AND attnum > 0 AND NOT attisdropped
$$;

-- One random statement on one random table: its kind, rows affected, and
-- rows inserted.
CREATE FUNCTION diff.random_step(OUT kind int, OUT nrows bigint, OUT inserted bigint)
LANGUAGE plpgsql AS $$
DECLARE
	t diff.tables;
	r float8 := random();
	k int;
	row_text text;
	target regclass;
	ids bigint[];
	max_id bigint;
	existing bigint;
	set_list text;
	nstep bigint;
	copy_file text := current_setting('data_directory') || '/mql_score_differential.copy';
	-- the rows of the stage, numbered in id order, each with a target id: the
	-- new values for the target rows (ids in $1), matched by position
	staged text;
BEGIN
	SELECT * INTO t FROM diff.tables WHERE upto > r ORDER BY upto LIMIT 1;
	staged := format('(SELECT g.target_id, s.* FROM (SELECT row_number() OVER (ORDER BY id) AS rn, * FROM %s) s
	                  JOIN unnest($1::bigint[]) WITH ORDINALITY AS g(target_id, rn) USING (rn))', t.stage);
	r := random();
	inserted := 0;
	IF r < 0.20 THEN
		kind := 1;
		EXECUTE format('SELECT g::text FROM (%s) g', t.gen) INTO row_text USING 1;
		target := t.tbl;
		IF t.tbl = 'diff.web'::regclass AND random() < 0.3 THEN
			kind := 2;
			target := diff.web_partition((row_text::diff.web).at);
		END IF;
		EXECUTE format('INSERT INTO %s VALUES ((%L::%s).*)', target, row_text, t.tbl);
		GET DIAGNOSTICS nrows = ROW_COUNT;
		inserted := nrows;
		RETURN;
	ELSIF r < 0.33 THEN
		kind := 3;
		EXECUTE format('INSERT INTO %s %s', t.tbl, t.gen) USING 2 + floor(150 * power(random(), 2))::int;
		GET DIAGNOSTICS nrows = ROW_COUNT;
		inserted := nrows;
		RETURN;
	ELSIF r < 0.38 THEN
		kind := 4;
		PERFORM diff.fill_stage(t, 1 + floor(500 * power(random(), 2))::int);
		EXECUTE format('COPY %s TO %L', t.stage, copy_file);
		EXECUTE format('COPY %s FROM %L', t.tbl, copy_file);
		GET DIAGNOSTICS nrows = ROW_COUNT;
		inserted := nrows;
		RETURN;
	ELSIF r < 0.9996 THEN
		kind := CASE WHEN r < 0.41 THEN 5 WHEN r < 0.44 THEN 6 WHEN r < 0.50 THEN 7 WHEN r < 0.53 THEN 8
		             WHEN r < 0.58 THEN 9 WHEN r < 0.62 THEN 10 WHEN r < 0.67 THEN 11 WHEN r < 0.70 THEN 12
		             WHEN r < 0.74 THEN 13 WHEN r < 0.78 THEN 14 WHEN r < 0.86 THEN 16 WHEN r < 0.96 THEN 17
		             ELSE 18 END;
		IF kind IN (5, 6, 18) AND current_setting('diff.skip_multi_trigger') = '1' THEN
			kind := 16;
		END IF;
	ELSE
		kind := 19;
		target := diff.pick('{diff.forms,diff.tickets,diff.web_2024q1,diff.emails}')::regclass;
		EXECUTE format('SELECT count(*) FROM %s', target) INTO nrows;
		EXECUTE format('TRUNCATE %s', target);
		RETURN;
	END IF;

	-- the rest changes existing rows, chosen by id
	k := 1 + floor(40 * power(random(), 2))::int;
	SELECT last_value INTO max_id FROM diff.ids;
	IF kind = 8 THEN
		EXECUTE format('SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM %s WHERE %I IS NULL AND id >= $1 ORDER BY id LIMIT $2) s',
		               t.tbl, t.lead_col)
			INTO ids USING floor(random() * max_id)::bigint, k;
	ELSE
		SELECT array_agg(DISTINCT 1 + floor(random() * max_id)::bigint) INTO ids FROM generate_series(1, k);
	END IF;
	ids := coalesce(ids, '{}');
	target := t.tbl;
	-- statements straight on a partition of diff.web (never moving rows out of it)
	IF t.tbl = 'diff.web'::regclass AND kind IN (7, 8, 9, 13, 14, 16) AND random() < 0.25 THEN
		kind := 15;
		target := diff.pick('{diff.web_2024q1,diff.web_2024q2,diff.web_2024q3,diff.web_other}')::regclass;
		r := random();
		IF r < 0.3 THEN
			EXECUTE format('DELETE FROM %s WHERE id = ANY ($1)', target) USING ids;
			GET DIAGNOSTICS nrows = ROW_COUNT;
			RETURN;
		END IF;
		set_list := CASE WHEN r < 0.55 THEN format('%I = s.%I', t.lead_col, t.lead_col)
		                 WHEN r < 0.7 THEN t.type_set WHEN r < 0.85 THEN t.cond_set ELSE t.unrelated_set END;
	END IF;

	IF kind IN (5, 6) THEN
		EXECUTE format('SELECT count(*) FROM %s WHERE id = ANY ($1)', t.tbl) INTO existing USING ids;
	END IF;
	IF kind = 5 AND t.tbl = 'diff.web'::regclass THEN
		kind := 3;		-- no unique key to conflict on: a plain INSERT ... SELECT
		PERFORM diff.fill_stage(t, 2 * cardinality(ids));
		EXECUTE format('INSERT INTO %s SELECT * FROM %s ORDER BY id', t.tbl, t.stage);
		GET DIAGNOSTICS nrows = ROW_COUNT;
		inserted := nrows;
	ELSIF kind = 5 THEN
		-- fresh rows, the first ones with the ids of the target rows
		PERFORM diff.fill_stage(t, 2 * cardinality(ids));
		EXECUTE format('UPDATE %s s SET id = src.target_id FROM %s AS src WHERE s.id = src.id', t.stage, staged) USING ids;
		EXECUTE format('INSERT INTO %s SELECT * FROM %s ORDER BY id ON CONFLICT (id) DO UPDATE SET %I = EXCLUDED.%I, %I = EXCLUDED.%I, %s',
		               t.tbl, t.stage, t.lead_col, t.lead_col, t.time_col, t.time_col, replace(t.type_set, 's.', 'EXCLUDED.'));
		GET DIAGNOSTICS nrows = ROW_COUNT;
		inserted := 2 * cardinality(ids) - existing;
	ELSIF kind = 6 AND t.tbl = 'diff.web'::regclass AND current_setting('server_version_num')::int >= 180000 THEN
		-- The same as the MERGE below, in three statements.  PostgreSQL 18
		-- (18.6 at least) fills a MERGE's UPDATE transition table wrongly on
		-- a partitioned target: after a NOT MATCHED row is routed to a
		-- partition, every later MATCHED update is captured as that inserted
		-- row (15 captures the updated rows), so no statement trigger can
		-- score it.  The data, and so every count below, are the same.
		PERFORM diff.fill_stage(t, cardinality(ids));
		EXECUTE format('INSERT INTO %s SELECT %s FROM %s AS src
		                WHERE NOT EXISTS (SELECT FROM %s t WHERE t.id = src.target_id)',
		               t.tbl, diff.columns(t.tbl, 'src.'), staged, t.tbl) USING ids;
		GET DIAGNOSTICS nrows = ROW_COUNT;
		EXECUTE format('DELETE FROM %s t USING %s AS src
		                WHERE t.id = src.target_id AND right(src.note, 1) IN (''0'', ''1'', ''2'')',
		               t.tbl, staged) USING ids;
		GET DIAGNOSTICS nstep = ROW_COUNT;
		nrows := nrows + nstep;
		EXECUTE format('UPDATE %s t SET %I = src.%I, %I = src.%I, %s FROM %s AS src
		                WHERE t.id = src.target_id AND (right(src.note, 1) IN (''0'', ''1'', ''2'')) IS NOT TRUE',
		               t.tbl, t.lead_col, t.lead_col, t.time_col, t.time_col,
		               replace(t.type_set, 's.', 'src.'), staged) USING ids;
		GET DIAGNOSTICS nstep = ROW_COUNT;
		nrows := nrows + nstep;
		inserted := cardinality(ids) - existing;
	ELSIF kind = 6 THEN
		-- target rows that exist are deleted or updated, the others inserted afresh
		PERFORM diff.fill_stage(t, cardinality(ids));
		EXECUTE format('MERGE INTO %s t USING %s AS src ON t.id = src.target_id
		                WHEN MATCHED AND right(src.note, 1) IN (''0'', ''1'', ''2'') THEN DELETE
		                WHEN MATCHED THEN UPDATE SET %I = src.%I, %I = src.%I, %s
		                WHEN NOT MATCHED THEN INSERT VALUES (%s)',
		               t.tbl, staged, t.lead_col, t.lead_col, t.time_col, t.time_col,
		               replace(t.type_set, 's.', 'src.'), diff.columns(t.tbl, 'src.')) USING ids;
		GET DIAGNOSTICS nrows = ROW_COUNT;
		inserted := cardinality(ids) - existing;
	ELSIF kind = 16 THEN
		EXECUTE format('DELETE FROM %s WHERE id = ANY ($1)', target) USING ids;
		GET DIAGNOSTICS nrows = ROW_COUNT;
	ELSIF kind = 17 THEN
		-- the latest (finite) row in this table of k random leads
		PERFORM diff.fill_stage(t, k);
		EXECUTE format('DELETE FROM %1$s WHERE id IN (SELECT DISTINCT ON (%2$I) id FROM %1$s
		                WHERE %2$I = ANY (ARRAY(SELECT %2$I FROM %3$s)) AND isfinite(%4$I)
		                ORDER BY %2$I, %4$I DESC, id)', t.tbl, t.lead_col, t.stage, t.time_col);
		GET DIAGNOSTICS nrows = ROW_COUNT;
	ELSIF kind = 18 THEN
		-- rows deleted and inserted again in one statement, with new leads and times
		PERFORM diff.fill_stage(t, cardinality(ids));
		EXECUTE format('WITH moved AS (DELETE FROM %1$s WHERE id = ANY ($1) RETURNING *)
		                INSERT INTO %1$s SELECT %2$s FROM moved m JOIN %3$s AS s ON s.target_id = m.id',
		               t.tbl,
		               replace(replace(diff.columns(t.tbl, 'm.'), 'm.' || quote_ident(t.lead_col), 's.' || quote_ident(t.lead_col)),
		                       'm.' || quote_ident(t.time_col), 's.' || quote_ident(t.time_col)),
		               staged) USING ids;
		GET DIAGNOSTICS nrows = ROW_COUNT;
	ELSIF kind = 11 THEN
		EXECUTE format('UPDATE %s SET %I = %I + $2 WHERE id = ANY ($1)', t.tbl, t.time_col, t.time_col)
			USING ids, make_interval(secs => (random() - 0.5) * 90 * 86400);
		GET DIAGNOSTICS nrows = ROW_COUNT;
	ELSE
		set_list := coalesce(set_list, CASE kind
			WHEN 7 THEN format('%I = s.%I', t.lead_col, t.lead_col)
			WHEN 8 THEN format('%I = s.%I', t.lead_col, t.lead_col)
			WHEN 9 THEN t.type_set
			WHEN 10 THEN format('%I = s.%I', t.time_col, t.time_col)
			WHEN 12 THEN format('%I = s.%I, %I = s.%I', t.lead_col, t.lead_col, t.time_col, t.time_col)
			WHEN 13 THEN t.cond_set
			ELSE t.unrelated_set END);
		PERFORM diff.fill_stage(t, cardinality(ids));
		EXECUTE format('UPDATE %s t SET %s FROM %s AS s WHERE t.id = s.target_id', target, set_list, staged) USING ids;
		GET DIAGNOSTICS nrows = ROW_COUNT;
	END IF;
END $$;

-- Apply random statements until `target` rows were inserted (and kept):
-- mostly committed in small random groups, sometimes rolled back (the
-- whole transaction, or a savepoint) — which must leave no trace.
CREATE PROCEDURE diff.run(target bigint) LANGUAGE plpgsql AS $$
DECLARE
	stmts bigint[] := array_fill(0::bigint, ARRAY[24]);
	nrows bigint[] := array_fill(0::bigint, ARRAY[24]);
	seconds float8[] := array_fill(0::float8, ARRAY[24]);
	started timestamptz;
	step record;
	before text;
	kept bigint := 0;
	r float8;
BEGIN
	WHILE kept < target LOOP
		r := random();
		IF r < 0.007 THEN
			COMMIT;
			before := diff.state_digest();
			FOR i IN 1 .. 1 + floor(random() * 4)::int LOOP
				started := clock_timestamp();
				step := diff.random_step();
				stmts[step.kind] := stmts[step.kind] + 1;
				nrows[step.kind] := nrows[step.kind] + step.nrows;
				seconds[step.kind] := seconds[step.kind] + extract(epoch FROM clock_timestamp() - started);
			END LOOP;
			ROLLBACK;
			stmts[21] := stmts[21] + 1;
			IF diff.state_digest() <> before THEN
				stmts[24] := stmts[24] + 1;
			END IF;
		ELSIF r < 0.012 THEN
			before := diff.state_digest();
			BEGIN
				FOR i IN 1 .. 1 + floor(random() * 4)::int LOOP
					started := clock_timestamp();
					step := diff.random_step();
					stmts[step.kind] := stmts[step.kind] + 1;
					nrows[step.kind] := nrows[step.kind] + step.nrows;
					seconds[step.kind] := seconds[step.kind] + extract(epoch FROM clock_timestamp() - started);
				END LOOP;
				RAISE EXCEPTION 'roll back to the savepoint' USING ERRCODE = 'DF001';
			EXCEPTION WHEN SQLSTATE 'DF001' THEN
				stmts[22] := stmts[22] + 1;
			END;
			IF diff.state_digest() <> before THEN
				stmts[24] := stmts[24] + 1;
			END IF;
		ELSE
			started := clock_timestamp();
			step := diff.random_step();
			stmts[step.kind] := stmts[step.kind] + 1;
			nrows[step.kind] := nrows[step.kind] + step.nrows;
			seconds[step.kind] := seconds[step.kind] + extract(epoch FROM clock_timestamp() - started);
			kept := kept + step.inserted;
			IF random() < 0.3 THEN
				COMMIT;
				stmts[20] := stmts[20] + 1;
			END IF;
		END IF;
	END LOOP;
	nrows[23] := kept;
	INSERT INTO diff.stats
	SELECT k, stmts[k], nrows[k], seconds[k] FROM generate_series(1, 24) k
	ON CONFLICT (kind) DO UPDATE SET statements = stats.statements + EXCLUDED.statements,
	                                 nrows = stats.nrows + EXCLUDED.nrows,
	                                 seconds = stats.seconds + EXCLUDED.seconds;
	COMMIT;
END $$;

--------------------------------------------------------------------------
-- The reference: plain SQL over the activity rows, from the rules table
-- and this description of what each model tracks
--------------------------------------------------------------------------
CREATE TABLE diff.sources (model text, tbl regclass, lead_expr text, time_expr text, type_expr text);
INSERT INTO diff.sources VALUES
	('diff_decay', 'diff.web', 'contact_id', 'at', 'kind'),
	('diff_decay', 'diff.emails', 'contact_id', $$sent AT TIME ZONE 'UTC'$$, 'kind'),
	('diff_decay', 'diff.forms', 'contact_id', 'submitted_at', $$'form_fill'::text$$),
	('diff_month', 'diff.web', 'contact_id', 'at', 'kind'),
	('diff_month', 'diff.emails', 'contact_id', $$sent AT TIME ZONE 'UTC'$$, 'kind'),
	('diff_flat', 'diff.app_events', 'user_ref', 'at', 'kind'),
	('diff_flat', 'diff.tickets', 'user_ref', 'opened', 'kind');

-- 0.5^x, 0 where power() would underflow
CREATE FUNCTION diff.halves(x numeric) RETURNS float8 LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN x > 1000 THEN 0 ELSE power(0.5::float8, x::float8) END $$;

-- Fill the temporary tables ref_rows (scored rows), ref_counted (rule
-- hits that count after the caps) and ref_state (per model and lead).
CREATE FUNCTION diff.compute_reference() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	s diff.sources;
	ru mql_score.rules;
	scored text;
BEGIN
	DROP TABLE IF EXISTS ref_rows, ref_hits, ref_counted, ref_state;
	CREATE TEMP TABLE ref_rows (model text, lead text, t timestamptz);
	CREATE TEMP TABLE ref_hits (model text, rule_id bigint, lead text, t timestamptz);
	FOR s IN SELECT * FROM diff.sources LOOP
		scored := format('(%s) IS NOT NULL AND (%s) IS NOT NULL AND isfinite(%s)', s.lead_expr, s.type_expr, s.time_expr);
		EXECUTE format('INSERT INTO ref_rows SELECT %L, (%s)::text, %s FROM %s WHERE %s',
		               s.model, s.lead_expr, s.time_expr, s.tbl, scored);
		FOR ru IN SELECT * FROM mql_score.rules
		          WHERE model = s.model AND enabled AND (source IS NULL OR source = s.tbl) LOOP
			EXECUTE format('INSERT INTO ref_hits SELECT %L, %s, (%s)::text, %s FROM %s WHERE %s AND (%s) = %L AND coalesce((%s), false)',
			               s.model, ru.id, s.lead_expr, s.time_expr, s.tbl, scored, s.type_expr, ru.event_type,
			               coalesce(ru.condition, 'true'));
		END LOOP;
	END LOOP;
	-- uncapped hits all count; `once`: the earliest; max_per_day N: the N earliest of each UTC day
	CREATE TEMP TABLE ref_counted AS
	SELECT h.model, h.rule_id, h.lead, h.t, h.points
	FROM (SELECT h.*, r.points, r.once, r.max_per_day,
	             row_number() OVER (PARTITION BY h.model, h.rule_id, h.lead,
	                                CASE WHEN r.once THEN NULL ELSE (h.t AT TIME ZONE 'UTC')::date END
	                                ORDER BY h.t) AS n
	      FROM ref_hits h JOIN mql_score.rules r ON r.id = h.rule_id) h
	WHERE CASE WHEN h.once THEN h.n = 1 WHEN h.max_per_day IS NOT NULL THEN h.n <= h.max_per_day ELSE true END;
	-- engagement as of the lead's last scored event, summed exactly (numeric)
	CREATE TEMP TABLE ref_state AS
	WITH leads AS (SELECT model, lead, count(*) AS events, max(t) AS last_event_at FROM ref_rows GROUP BY 1, 2),
	     engagement AS (
		SELECT c.model, c.lead,
		       sum((c.points * CASE WHEN m.half_life IS NULL THEN 1
		            ELSE diff.halves((extract(epoch FROM l.last_event_at) - extract(epoch FROM c.t))
		                             / extract(epoch FROM m.half_life)) END)::numeric)::float8 AS engagement
		FROM ref_counted c JOIN leads l USING (model, lead) JOIN mql_score.models m ON m.name = c.model
		GROUP BY 1, 2)
	SELECT l.model, l.lead, l.events, l.last_event_at, coalesce(e.engagement, 0) AS engagement
	FROM leads l LEFT JOIN engagement e USING (model, lead);
	CREATE INDEX ON ref_counted (model, lead);
	ANALYZE ref_rows, ref_counted, ref_state;
END $$;

CREATE FUNCTION diff.close(a float8, b float8) RETURNS boolean LANGUAGE sql IMMUTABLE
AS $$ SELECT abs(a - b) <= 1e-9 * greatest(1, abs(a), abs(b)) $$;

-- Compare every (model, lead) of the state or the reference.
CREATE FUNCTION diff.check(label text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	bad record;
	nbad bigint;
BEGIN
	PERFORM diff.compute_reference();
	CREATE TEMP TABLE mismatches ON COMMIT DROP AS
	SELECT coalesce(s.model, r.model) AS model, coalesce(s.lead, r.lead) AS lead,
	       s.engagement AS state_engagement, r.engagement AS ref_engagement,
	       s.events AS state_events, r.events AS ref_events,
	       s.last_event_at AS state_last, r.last_event_at AS ref_last, s.lead IS NOT NULL AS has_state
	FROM (SELECT * FROM mql_score.lead_state WHERE model LIKE 'diff\_%') s
	FULL JOIN ref_state r ON r.model = s.model AND r.lead = s.lead
	WHERE NOT (coalesce(s.events, 0) = coalesce(r.events, 0)
	           AND s.last_event_at IS NOT DISTINCT FROM r.last_event_at
	           AND diff.close(coalesce(s.engagement, 0), coalesce(r.engagement, 0)));
	SELECT count(*) INTO nbad FROM mismatches;
	RETURN NEXT format('%s: %s leads with scored rows (%s rows, %s counted rule hits), mismatches: %s',
	                   label, (SELECT count(*) FROM ref_state), (SELECT count(*) FROM ref_rows),
	                   (SELECT count(*) FROM ref_counted), nbad);
	FOR bad IN SELECT * FROM mismatches ORDER BY model, lead LIMIT 10 LOOP
		RETURN NEXT format('  MISMATCH %s lead %s: state %s vs reference engagement %s, events %s, last_event_at %s',
		                   bad.model, bad.lead,
		                   CASE WHEN bad.has_state THEN format('engagement %s, events %s, last_event_at %s',
		                        bad.state_engagement, bad.state_events, bad.state_last) ELSE '(no row)' END,
		                   bad.ref_engagement, bad.ref_events, bad.ref_last);
	END LOOP;
	DROP TABLE mismatches;
END $$;

-- explain() of a sample of leads, at a time after their last event and at
-- one before most of them: its rows must equal the reference's counted
-- events and contributions per rule, and sum to score_of().  Uses the
-- reference of the last check().
CREATE FUNCTION diff.check_explain() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	bad record;
	nbad bigint;
BEGIN
	CREATE TEMP TABLE sample ON COMMIT DROP AS
	SELECT s.model, s.lead, v.at, greatest(v.at, s.last_event_at) AS ref_at
	FROM (SELECT *, row_number() OVER (PARTITION BY model ORDER BY lead COLLATE "C") AS n FROM ref_state) s,
	     LATERAL (VALUES (s.last_event_at + interval '3 days 7 hours'), (timestamptz '2024-03-01 12:00+00')) v(at)
	WHERE s.n % 13 = 0
	UNION ALL   -- leads the models never saw
	SELECT m, l, '2024-05-01 00:00+00', '2024-05-01 00:00+00'
	FROM (VALUES ('diff_decay', '424242'), ('diff_month', '8999999999'), ('diff_flat', 'nobody')) n(m, l);

	CREATE TEMP TABLE explained ON COMMIT DROP AS
	SELECT s.model, s.lead, s.at, e.rule_id, e.events, e.contribution
	FROM sample s, LATERAL mql_score.explain(s.lead::bigint, s.model, s.at) e
	WHERE s.model <> 'diff_flat' AND e.kind = 'rule'
	UNION ALL
	SELECT s.model, s.lead, s.at, e.rule_id, e.events, e.contribution
	FROM sample s, LATERAL mql_score.explain(s.lead, s.model, s.at) e
	WHERE s.model = 'diff_flat' AND e.kind = 'rule';

	CREATE TEMP TABLE scores ON COMMIT DROP AS
	SELECT s.model, s.lead, s.at,
	       CASE WHEN s.model = 'diff_flat' THEN mql_score.score_of(s.lead, s.model, s.at)
	            ELSE mql_score.score_of(s.lead::bigint, s.model, s.at) END AS score
	FROM sample s;

	CREATE TEMP TABLE explain_mismatches ON COMMIT DROP AS
	-- per rule: explain() against the reference
	SELECT coalesce(e.model, r.model) AS model, coalesce(e.lead, r.lead) AS lead, coalesce(e.at, r.at) AS at,
	       format('rule %s: explain events %s, contribution %s; reference events %s, contribution %s',
	              coalesce(e.rule_id, r.rule_id), e.events, e.contribution, r.events, r.contribution) AS what
	FROM explained e
	FULL JOIN (SELECT s.model, s.lead, s.at, c.rule_id, count(*) AS events,
	                  sum((c.points * CASE WHEN m.half_life IS NULL THEN 1
	                       ELSE diff.halves((extract(epoch FROM s.ref_at) - extract(epoch FROM c.t))
	                                        / extract(epoch FROM m.half_life)) END)::numeric)::float8 AS contribution
	           FROM sample s JOIN ref_counted c ON c.model = s.model AND c.lead = s.lead
	           JOIN mql_score.models m ON m.name = s.model
	           GROUP BY 1, 2, 3, 4) r
	     ON r.model = e.model AND r.lead = e.lead AND r.at = e.at AND r.rule_id = e.rule_id
	WHERE NOT (e.events IS NOT DISTINCT FROM r.events AND diff.close(e.contribution, r.contribution))
	   OR e.rule_id IS NULL OR r.rule_id IS NULL
	UNION ALL
	-- the sum of the contributions against score_of()
	SELECT s.model, s.lead, s.at, format('score_of %s, sum of explain %s', s.score, coalesce(x.total, 0))
	FROM scores s
	LEFT JOIN (SELECT model, lead, at, sum(contribution) AS total FROM explained GROUP BY 1, 2, 3) x
	     ON x.model = s.model AND x.lead = s.lead AND x.at = s.at
	WHERE NOT diff.close(s.score, coalesce(x.total, 0));

	SELECT count(*) INTO nbad FROM explain_mismatches;
	RETURN NEXT format('explain: %s (lead, time) samples, %s rule rows, mismatches: %s',
	                   (SELECT count(*) FROM sample), (SELECT count(*) FROM explained), nbad);
	FOR bad IN SELECT * FROM explain_mismatches ORDER BY model, lead, at LIMIT 10 LOOP
		RETURN NEXT format('  MISMATCH %s lead %s at %s: %s', bad.model, bad.lead, bad.at, bad.what);
	END LOOP;
	DROP TABLE sample, explained, scores, explain_mismatches;
END $$;

-- Every unscorable row with a lead (NULL type, NULL or infinite time) is
-- in mql_score.skipped for each model tracking its table (rows that
-- predate track() excepted).
CREATE FUNCTION diff.check_skipped() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	s diff.sources;
	bad record;
	nbad bigint;
BEGIN
	CREATE TEMP TABLE unscorable (model text, tbl regclass, id bigint, what text) ON COMMIT DROP;
	FOR s IN SELECT * FROM diff.sources LOOP
		EXECUTE format('INSERT INTO unscorable SELECT %L, %L, id, format(''lead %%s, type %%L, time %%L'', %s, %s, %s)
		                FROM %s WHERE (%s) IS NOT NULL AND ((%s) IS NULL OR NOT coalesce(isfinite(%s), false))
		                AND id > (SELECT max_id FROM diff.pretrack)',
		               s.model, s.tbl, s.lead_expr, s.type_expr, s.time_expr, s.tbl,
		               s.lead_expr, s.type_expr, s.time_expr);
	END LOOP;
	CREATE TEMP TABLE skipped_rows ON COMMIT DROP AS
	SELECT DISTINCT k.model, r.tbl, (k.row_identity->>'id')::bigint AS id
	FROM mql_score.skipped k
	JOIN (SELECT tbl, tbl AS relid FROM diff.sources
	      UNION SELECT d.tbl, p.relid FROM diff.sources d, pg_partition_tree(d.tbl) p) r ON r.relid = k.source;
	CREATE TEMP TABLE not_skipped ON COMMIT DROP AS
	SELECT * FROM unscorable u
	WHERE NOT EXISTS (SELECT 1 FROM skipped_rows k WHERE k.model = u.model AND k.tbl = u.tbl AND k.id = u.id);
	SELECT count(*) INTO nbad FROM not_skipped;
	RETURN NEXT format('skipped: %s unscorable rows with a lead (%s NULL type, %s NULL time, %s infinite time), missing from mql_score.skipped: %s',
	                   (SELECT count(*) FROM unscorable), (SELECT count(*) FROM unscorable WHERE what LIKE '%type NULL%'),
	                   (SELECT count(*) FROM unscorable WHERE what LIKE '%time NULL'),
	                   (SELECT count(*) FROM unscorable WHERE what LIKE '%infinity%'), nbad);
	FOR bad IN SELECT * FROM not_skipped ORDER BY model, id LIMIT 10 LOOP
		RETURN NEXT format('  NOT SKIPPED %s row %s of %s: %s', bad.model, bad.id, bad.tbl, bad.what);
	END LOOP;
	DROP TABLE unscorable, skipped_rows, not_skipped;
END $$;

-- n random edits of the models' rules and half-lives, as a DBA makes
-- them between quarters: points (negative and fractional too), caps,
-- once, enabled, conditions (swapped among those valid for the rule's
-- source), new rules and deleted ones.  Returns the edits made, by kind.
CREATE FUNCTION diff.edit_rules(n int) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	kinds text[] := ARRAY['points', 'cap', 'once', 'enabled', 'condition', 'new rule', 'deleted rule', 'half-life'];
	made int[] := array_fill(0, ARRAY[8]);
	k int;
	r mql_score.rules;
BEGIN
	FOR i IN 1 .. n LOOP
		k := 1 + floor(random() * 8)::int;
		SELECT * INTO r FROM mql_score.rules WHERE model LIKE 'diff\_%' ORDER BY id
		OFFSET floor(random() * (SELECT count(*) FROM mql_score.rules WHERE model LIKE 'diff\_%')) LIMIT 1;
		CASE k
		WHEN 1 THEN
			UPDATE mql_score.rules SET points = round((random() * 70 - 20)::numeric, 1) WHERE id = r.id;
		WHEN 2 THEN
			UPDATE mql_score.rules SET once = false,
				max_per_day = CASE WHEN random() < 0.3 THEN NULL ELSE 1 + floor(random() * 4)::int END
			WHERE id = r.id;
		WHEN 3 THEN
			UPDATE mql_score.rules SET once = NOT once WHERE id = r.id;
		WHEN 4 THEN
			UPDATE mql_score.rules SET enabled = NOT enabled WHERE id = r.id;
		WHEN 5 THEN
			UPDATE mql_score.rules SET condition = CASE WHEN random() < 0.3 THEN NULL ELSE
				(SELECT c.condition FROM mql_score.rules c
				 WHERE c.source = r.source AND c.condition IS NOT NULL ORDER BY c.id
				 OFFSET floor(random() * (SELECT count(*) FROM mql_score.rules c2
				                          WHERE c2.source = r.source AND c2.condition IS NOT NULL)) LIMIT 1) END
			WHERE id = r.id;
		WHEN 6 THEN
			INSERT INTO mql_score.rules (model, source, event_type, points, max_per_day, once, description)
			SELECT r.model, r.source, e.event_type, round((random() * 40 - 5)::numeric, 1),
			       CASE WHEN random() < 0.5 THEN 1 + floor(random() * 3)::int END, random() < 0.2,
			       'added by diff.edit_rules'
			FROM (SELECT DISTINCT event_type FROM mql_score.rules WHERE model = r.model ORDER BY 1) e
			ORDER BY e.event_type OFFSET floor(random() * 3) LIMIT 1;
		WHEN 7 THEN
			DELETE FROM mql_score.rules WHERE id = r.id;
		WHEN 8 THEN
			UPDATE mql_score.models SET half_life = (ARRAY['7 days', '3 days', '1 mon', '36 hours'])[1 + floor(random() * 4)::int]::interval
			WHERE name = r.model AND half_life IS NOT NULL;
		END CASE;
		made[k] := made[k] + 1;
	END LOOP;
	RETURN QUERY SELECT format('%s: %s', kinds[i], made[i]) FROM generate_series(1, 8) i;
END $$;

--------------------------------------------------------------------------
-- The run: four phases, checked after each
--------------------------------------------------------------------------
SELECT :diff_events / 4 AS phase_events \gset
SELECT * FROM diff.check('after track()');

CALL diff.run(:phase_events);
SELECT * FROM diff.check('after phase 1');

-- an explicit transaction rolled back, TRUNCATE of the partitioned table included
SELECT diff.state_digest() AS digest \gset
BEGIN;
INSERT INTO diff.web SELECT * FROM diff.web WHERE contact_id < 100;
UPDATE diff.emails SET contact_id = contact_id + 1 WHERE contact_id < 50;
DELETE FROM diff.app_events WHERE user_ref LIKE 'u1%';
TRUNCATE diff.web;
ROLLBACK;
SELECT diff.state_digest() = :'digest' AS rollback_left_state_unchanged;

CALL diff.run(:phase_events);
SELECT * FROM diff.check('after phase 2');

-- bulk statements: one lead's rows moved to another, a month of emails
-- deleted, a table truncated
UPDATE diff.app_events SET user_ref = 'u1' WHERE user_ref = 'u2';
UPDATE diff.web SET contact_id = 7 WHERE contact_id = 3;
DELETE FROM diff.emails WHERE sent >= '2024-02-01' AND sent < '2024-03-01';
TRUNCATE diff.tickets;
SELECT * FROM diff.check('after bulk statements');

CALL diff.run(:phase_events);
SELECT * FROM diff.check('after phase 3');

CALL diff.run(:phase_events);
SELECT * FROM diff.check('after phase 4');
SELECT * FROM diff.check_explain();
SELECT * FROM diff.check_skipped();

-- random rule and half-life edits, then rescore(): every lead equals the
-- reference under the edited rules, and explain() follows them
SELECT * FROM diff.edit_rules(40);
SELECT count(*) AS rules_after_edits FROM mql_score.rules WHERE model LIKE 'diff\_%';
CALL mql_score.rescore('diff_decay', batch_size => 500);
CALL mql_score.rescore('diff_month', batch_size => 500);
CALL mql_score.rescore('diff_flat', batch_size => 500);
SELECT * FROM diff.check('after random rule edits and rescore()');
SELECT * FROM diff.check_explain();

-- what was applied
\if :{?diff_timing}
SELECT k.name AS statement, s.statements, s.nrows AS rows, round(s.seconds::numeric, 1) AS seconds
FROM diff.stats s JOIN diff.kinds k ON k.id = s.kind ORDER BY k.id;
\else
SELECT k.name AS statement, s.statements, s.nrows AS rows
FROM diff.stats s JOIN diff.kinds k ON k.id = s.kind ORDER BY k.id;
\endif

-- untrack() removes every table's contribution: all leads back to nothing
SELECT count(mql_score.untrack(tbl, model)) AS untracked FROM diff.sources;
DELETE FROM diff.sources;
SELECT * FROM diff.check('after untrack()');

DROP SCHEMA diff CASCADE;
DELETE FROM mql_score.models WHERE name LIKE 'diff\_%';
