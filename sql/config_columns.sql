-- Every column of every configuration table (models, stages, rules,
-- fit_rules, tracked, tracked_leads) against NULL, empty, extreme,
-- wrong-typed (through casts) and over-long values: each write ends in an
-- error with a real SQLSTATE naming the column, or is accepted and then
-- scored without trouble (doc/bad-input.md, "Configuration columns").
-- Then the same values written past the validation triggers
-- (session_replication_role = replica), the internal helper functions
-- called with garbage, and a hand-made trigger: never a crash or an
-- internal error (XX000).  Runs last: it recreates the extension.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS mql_score CASCADE;
DROP SCHEMA IF EXISTS cc CASCADE;
CREATE EXTENSION mql_score;
RESET client_min_messages;
SET search_path = mql_score, public;
SET timezone = 'UTC';
\set VERBOSITY default

-- Runs one statement; returns 'ok' or its SQLSTATE and message (OIDs
-- that vary from run to run masked).
CREATE FUNCTION pg_temp.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE statement;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '\(OID (?!999999\))[0-9]+\)', '(OID n)');
END $$;
-- Runs the cases of one table in order.
CREATE TEMP TABLE cases (n serial, label text, statement text);
CREATE FUNCTION pg_temp.run_cases() RETURNS TABLE (label text, outcome text) LANGUAGE sql AS $$
	SELECT label, pg_temp.try(statement) FROM (SELECT * FROM cases ORDER BY n) c;
$$;

-- a CRM: an activity table, a lead table, stages and a rule
CREATE SCHEMA cc;
CREATE TABLE cc.ev (id serial PRIMARY KEY, lead int, at timestamptz, kind text, n int);
CREATE INDEX ON cc.ev (lead);
CREATE TABLE cc.people (id int PRIMARY KEY, title text);
CREATE TABLE cc.other (id serial PRIMARY KEY, lead int, at timestamptz, kind text);
CREATE VIEW cc.one_column AS SELECT 1 AS a;
CREATE TEMP TABLE temp_events (lead int, at timestamptz, kind text);
SELECT track('cc.ev', 'lead', 'at', 'kind') AS tracked, track_leads('cc.people', 'id') AS lead_table;
INSERT INTO stages (model, name, position, min_score) VALUES
	('default', 'lead', 10, 0), ('default', 'mql', 20, 100), ('default', 'sql', 30, NULL);
INSERT INTO rules (event_type, points) VALUES ('visit', 1);
-- a text 9,600 characters long that does not compress: too long for an index key
CREATE TEMP TABLE long_text AS SELECT string_agg(md5(i::text), '') AS t FROM generate_series(1, 300) i;

-- models
INSERT INTO cases (label, statement) VALUES
	('name NULL', $$INSERT INTO models (name) VALUES (NULL)$$),
	('name empty', $$INSERT INTO models (name) VALUES ('')$$),
	('name over-long (9,600 random characters)', $$INSERT INTO models (name) SELECT t FROM long_text$$),
	('name 100,000 characters that compress', $$INSERT INTO models (name) VALUES (repeat('m', 100000))$$),
	('half_life NULL (no decay)', $$INSERT INTO models (name, half_life) VALUES ('m_null', NULL)$$),
	('half_life 0', $$INSERT INTO models (name, half_life) VALUES ('m', '0')$$),
	('half_life negative', $$INSERT INTO models (name, half_life) VALUES ('m', '-1 day')$$),
	('half_life -178000000 years', $$INSERT INTO models (name, half_life) VALUES ('m', '-178000000 years')$$),
	('half_life 1 mon -30 days (= 0)', $$INSERT INTO models (name, half_life) VALUES ('m', '1 mon -30 days')$$),
	('half_life 1 microsecond', $$INSERT INTO models (name, half_life) VALUES ('m_tiny', '1 microsecond')$$),
	('half_life 290000 years (the largest)', $$INSERT INTO models (name, half_life) VALUES ('m_long', '290000 years')$$),
	('half_life 290001 years', $$INSERT INTO models (name, half_life) VALUES ('m', '290001 years')$$),
	('half_life 178000000 years', $$INSERT INTO models (name, half_life) VALUES ('m', '178000000 years')$$),
	('half_life int max days and months', $$INSERT INTO models (name, half_life) VALUES ('m', '2147483647 days 2147483647 mons')$$),
	('half_life cast from text ''abc''', $$INSERT INTO models (name, half_life) VALUES ('m', 'abc'::text::interval)$$),
	('half_life cast from int 86400 (seconds)', $$INSERT INTO models (name, half_life) VALUES ('m_cast', (86400)::text::interval)$$),
	('demote NULL', $$INSERT INTO models (name, demote) VALUES ('m', NULL)$$),
	('demote cast from text ''maybe''', $$INSERT INTO models (name, demote) VALUES ('m', 'maybe'::text::boolean)$$),
	('notify NULL', $$INSERT INTO models (name, notify) VALUES ('m', NULL)$$),
	('on_error NULL', $$INSERT INTO models (name, on_error) VALUES ('m', NULL)$$),
	('on_error empty', $$INSERT INTO models (name, on_error) VALUES ('m', '')$$),
	('on_error SKIP (case matters)', $$INSERT INTO models (name, on_error) VALUES ('m', 'SKIP')$$),
	('description 1 MB', $$INSERT INTO models (name, description) VALUES ('m_desc', repeat('d', 1000000))$$),
	('rename a model to NULL', $$UPDATE models SET name = NULL WHERE name = 'm_desc'$$);
SELECT * FROM pg_temp.run_cases();
TRUNCATE cases;
SELECT name, half_life FROM models WHERE name LIKE 'm\_%' ORDER BY name;

-- stages
INSERT INTO cases (label, statement) VALUES
	('model NULL', $$INSERT INTO stages (model, name, position) VALUES (NULL, 's', 1)$$),
	('model unknown', $$INSERT INTO stages (model, name, position) VALUES ('nope', 's', 1)$$),
	('name NULL', $$INSERT INTO stages (model, name, position) VALUES ('default', NULL, 1)$$),
	('name empty', $$INSERT INTO stages (model, name, position) VALUES ('default', '', 1)$$),
	('name over-long (9,600 random characters)', $$INSERT INTO stages (model, name, position) SELECT 'default', t, 1 FROM long_text$$),
	('position NULL', $$INSERT INTO stages (model, name, position) VALUES ('default', 's', NULL)$$),
	('position taken', $$INSERT INTO stages (model, name, position) VALUES ('default', 's', 10)$$),
	('position int max', $$INSERT INTO stages (model, name, position, min_score) VALUES ('default', 'top', 2147483647, NULL)$$),
	('position int min', $$INSERT INTO stages (model, name, position, min_score) VALUES ('default', 'bottom', -2147483648, -1e308)$$),
	('position beyond int', $$INSERT INTO stages (model, name, position) VALUES ('default', 's', 2147483648)$$),
	('position cast from text ''first''', $$INSERT INTO stages (model, name, position) VALUES ('default', 's', 'first'::text::int)$$),
	('min_score NaN', $$INSERT INTO stages (model, name, position, min_score) VALUES ('default', 's', 1, 'NaN')$$),
	('min_score Infinity', $$INSERT INTO stages (model, name, position, min_score) VALUES ('default', 's', 1, 'Infinity')$$),
	('min_score -Infinity', $$INSERT INTO stages (model, name, position, min_score) VALUES ('default', 's', 1, '-Infinity')$$),
	('min_score 1e308', $$INSERT INTO stages (model, name, position, min_score) VALUES ('default', 'unreachable', 40, 1e308)$$),
	('min_score cast from text ''high''', $$INSERT INTO stages (model, name, position, min_score) VALUES ('default', 's', 1, 'high'::text::float8)$$),
	('description 1 MB', $$UPDATE stages SET description = repeat('d', 1000000) WHERE name = 'lead'$$);
SELECT * FROM pg_temp.run_cases();
TRUNCATE cases;

-- rules
CREATE TABLE cc.dropped (x int);
INSERT INTO rules (event_type, points, source) VALUES ('visit', 1, 'cc.dropped');
DROP TABLE cc.dropped;
INSERT INTO cases (label, statement) VALUES
	('id NULL', $$INSERT INTO rules (id, event_type, points) VALUES (NULL, 'visit', 1)$$),
	('id int8 max', $$INSERT INTO rules (id, event_type, points) VALUES (9223372036854775807, 'big', 1)$$),
	('id int8 min', $$INSERT INTO rules (id, event_type, points, max_per_day) VALUES (-9223372036854775808, 'visit', 0.5, 2)$$),
	('model NULL', $$INSERT INTO rules (model, event_type, points) VALUES (NULL, 'visit', 1)$$),
	('model unknown', $$INSERT INTO rules (model, event_type, points) VALUES ('nope', 'visit', 1)$$),
	('source 0', $$INSERT INTO rules (event_type, points, source) VALUES ('visit', 1, 0)$$),
	('source OID of nothing', $$INSERT INTO rules (event_type, points, source) VALUES ('visit', 1, 999999)$$),
	('source a dropped table (update)', $$UPDATE rules SET points = 2 WHERE source IS NOT NULL AND event_type = 'visit'$$),
	('source a view', $$INSERT INTO rules (event_type, points, source) VALUES ('visit', 1, 'cc.one_column')$$),
	('source an index', $$INSERT INTO rules (event_type, points, source) VALUES ('visit', 1, 'cc.ev_pkey')$$),
	('source a sequence', $$INSERT INTO rules (event_type, points, source) VALUES ('visit', 1, 'cc.ev_id_seq')$$),
	('source cast from text ''no_such''', $$INSERT INTO rules (event_type, points, source) VALUES ('visit', 1, 'no_such'::text::regclass)$$),
	('event_type NULL', $$INSERT INTO rules (event_type, points) VALUES (NULL, 1)$$),
	('event_type empty', $$INSERT INTO rules (event_type, points) VALUES ('', 1)$$),
	('event_type a space', $$INSERT INTO rules (event_type, points) VALUES (' ', 1)$$),
	('event_type 1 MB', $$INSERT INTO rules (event_type, points) VALUES (repeat('e', 1000000), 3)$$),
	('points NULL', $$INSERT INTO rules (event_type, points) VALUES ('visit', NULL)$$),
	('points NaN', $$INSERT INTO rules (event_type, points) VALUES ('visit', 'NaN')$$),
	('points Infinity', $$INSERT INTO rules (event_type, points) VALUES ('visit', '-Infinity')$$),
	('points 1e13', $$INSERT INTO rules (event_type, points) VALUES ('visit', 1e13)$$),
	('points -1e308', $$INSERT INTO rules (event_type, points) VALUES ('visit', -1e308)$$),
	('points 1e12 (the largest)', $$INSERT INTO rules (event_type, points) VALUES ('big', 1e12)$$),
	('points 1e-320 (subnormal)', $$INSERT INTO rules (event_type, points) VALUES ('visit', 1e-320)$$),
	('points cast from text ''ten''', $$INSERT INTO rules (event_type, points) VALUES ('visit', 'ten'::text::float8)$$),
	('condition empty', $$INSERT INTO rules (event_type, points, condition) VALUES ('visit', 1, '')$$),
	('condition a space', $$INSERT INTO rules (event_type, points, condition) VALUES ('visit', 1, ' ')$$),
	('condition a comment', $$INSERT INTO rules (event_type, points, condition) VALUES ('visit', 1, '-- n > 1')$$),
	('condition two statements', $$INSERT INTO rules (event_type, points, condition) VALUES ('visit', 1, 'true; SELECT 1')$$),
	('condition 100,000 open parentheses', $$INSERT INTO rules (event_type, points, condition) VALUES ('visit', 1, repeat('(', 100000))$$),
	('condition 20,000 terms', $$INSERT INTO rules (event_type, points, condition) VALUES ('long', 1, repeat('n > 1 AND ', 20000) || 'true')$$),
	('max_per_day 0', $$INSERT INTO rules (event_type, points, max_per_day) VALUES ('visit', 1, 0)$$),
	('max_per_day int min', $$INSERT INTO rules (event_type, points, max_per_day) VALUES ('visit', 1, -2147483648)$$),
	('max_per_day int max', $$INSERT INTO rules (event_type, points, max_per_day) VALUES ('visit', 0.25, 2147483647)$$),
	('max_per_day beyond int', $$INSERT INTO rules (event_type, points, max_per_day) VALUES ('visit', 1, 2147483648)$$),
	('once NULL', $$INSERT INTO rules (event_type, points, once) VALUES ('visit', 1, NULL)$$),
	('enabled NULL', $$INSERT INTO rules (event_type, points, enabled) VALUES ('visit', 1, NULL)$$),
	('promote_to empty', $$INSERT INTO rules (event_type, points, promote_to) VALUES ('visit', 1, '')$$),
	('promote_to unknown', $$INSERT INTO rules (event_type, points, promote_to) VALUES ('visit', 1, 'nope')$$),
	('description 1 MB', $$UPDATE rules SET description = repeat('d', 1000000) WHERE id = 1$$);
SELECT * FROM pg_temp.run_cases();
TRUNCATE cases;
-- a rule whose source is gone blocks its own updates (and a model rename
-- cascading to it) until it is fixed
DELETE FROM rules WHERE id = 2;

-- fit rules
INSERT INTO cases (label, statement) VALUES
	('id NULL', $$INSERT INTO fit_rules (id, condition, points) VALUES (NULL, 'true', 1)$$),
	('model NULL', $$INSERT INTO fit_rules (model, condition, points) VALUES (NULL, 'true', 1)$$),
	('model unknown', $$INSERT INTO fit_rules (model, condition, points) VALUES ('nope', 'true', 1)$$),
	('condition NULL', $$INSERT INTO fit_rules (condition, points) VALUES (NULL, 1)$$),
	('condition empty', $$INSERT INTO fit_rules (condition, points) VALUES ('', 1)$$),
	('condition a space', $$INSERT INTO fit_rules (condition, points) VALUES (' ', 1)$$),
	('condition not boolean', $$INSERT INTO fit_rules (condition, points) VALUES ('title', 1)$$),
	('condition 100,000 open parentheses', $$INSERT INTO fit_rules (condition, points) VALUES (repeat('(', 100000), 1)$$),
	('points NULL', $$INSERT INTO fit_rules (condition, points) VALUES ('true', NULL)$$),
	('points NaN', $$INSERT INTO fit_rules (condition, points) VALUES ('true', 'NaN')$$),
	('points Infinity', $$INSERT INTO fit_rules (condition, points) VALUES ('true', 'Infinity')$$),
	('points -1e13', $$INSERT INTO fit_rules (condition, points) VALUES ('true', -1e13)$$),
	('points 1e12 with a real condition', $$INSERT INTO fit_rules (condition, points) VALUES ('length(title) > 3', 1e12)$$),
	('description 1 MB', $$INSERT INTO fit_rules (condition, points, description) VALUES ('title IS NULL', -1, repeat('d', 1000000))$$);
SELECT * FROM pg_temp.run_cases();
TRUNCATE cases;

-- tracked and tracked_leads: written by track() and track_leads(); a
-- superuser writing rows by hand gets the same checks
INSERT INTO cases (label, statement) VALUES
	('tracked: model NULL', $$INSERT INTO tracked (model, activity) VALUES (NULL, 'cc.other')$$),
	('tracked: activity NULL', $$INSERT INTO tracked (model, activity) VALUES ('default', NULL)$$),
	('tracked: activity OID of nothing', $$INSERT INTO tracked (model, activity) VALUES ('default', 999999)$$),
	('tracked: activity a view', $$INSERT INTO tracked (model, activity) VALUES ('default', 'cc.one_column')$$),
	('tracked: activity a temporary table', $$INSERT INTO tracked (model, activity) VALUES ('default', 'temp_events')$$),
	('tracked: columns another view', $$INSERT INTO tracked (model, activity, columns) VALUES ('m_null', 'cc.other', 'cc.one_column')$$),
	('tracked: columns another tracking''s view', $$INSERT INTO tracked (model, activity, columns) VALUES ('m_null', 'cc.other', 'tracking_1')$$),
	('tracked: columns the leads view', $$UPDATE tracked SET columns = 'leads' WHERE id = 1$$),
	('tracked: id changed', $$UPDATE tracked SET id = 77 WHERE id = 1$$),
	('tracked: activity changed', $$UPDATE tracked SET activity = 'cc.other' WHERE id = 1$$),
	('tracked: model renamed (cascades)', $$UPDATE models SET name = 'renamed' WHERE name = 'default'$$),
	('tracked_leads: leads OID of nothing', $$INSERT INTO tracked_leads (model, leads) VALUES ('m_null', 999999)$$),
	('tracked_leads: leads a view', $$INSERT INTO tracked_leads (model, leads) VALUES ('m_null', 'cc.one_column')$$),
	('tracked_leads: columns a tracking''s view', $$UPDATE tracked_leads SET columns = 'tracking_1' WHERE id = 1$$),
	('tracked_leads: leads changed', $$UPDATE tracked_leads SET leads = 'cc.ev' WHERE id = 1$$),
	('tracked_leads: id changed', $$UPDATE tracked_leads SET id = 5 WHERE id = 1$$);
SELECT * FROM pg_temp.run_cases();
TRUNCATE cases;
UPDATE models SET name = 'default' WHERE name = 'renamed';

-- a model and a stage named with 100,000 characters: stage moves notify
-- with the names clipped (a payload over 8000 bytes failed the insert)
INSERT INTO stages (model, name, position, min_score) VALUES (repeat('m', 100000), repeat('s', 100000), 1, 0);
CREATE INDEX ON cc.other (lead);
SELECT track('cc.other', 'lead', 'at', 'kind', model => repeat('m', 100000)) AS tracked;
INSERT INTO cc.other (lead, at, kind) VALUES (1, '2026-01-05', 'visit');
SELECT length(model) AS model_length, lead, length(to_stage) AS stage_length, cause
FROM stage_history WHERE model = repeat('m', 100000);

-- what was accepted above scores without trouble
INSERT INTO cc.people VALUES (1, 'Director'), (2, NULL);
INSERT INTO cc.ev (lead, at, kind)
SELECT 1, timestamptz '2026-01-01' + i * interval '1 hour', 'visit' FROM generate_series(1, 30) i;
INSERT INTO cc.ev (lead, at, kind) VALUES (2, '2026-01-02', repeat('e', 1000000)), (2, '2026-01-02', 'big'), (2, '2026-01-02', ' ');
SELECT lead, stage, events, round(engagement::numeric, 6) AS engagement, fit FROM lead_state WHERE model = 'default' ORDER BY lead;
SELECT rule_id, event_type = repeat('e', 1000000) AS long_type, events, contribution
FROM explain(2, at => '2026-01-02') ORDER BY rule_id;
CALL rescore('default');
SET client_min_messages = warning;  -- (a notice naming the long model)
CALL rescore();
RESET client_min_messages;
CALL refresh_stages();
SELECT lead, stage, events, round(engagement::numeric, 6) AS engagement, fit FROM lead_state WHERE model = 'default' ORDER BY lead;

-- the same values written past the validation triggers: the constraints
-- still refuse what the engine cannot use
SET session_replication_role = replica;
INSERT INTO cases (label, statement) VALUES
	('models: half_life 178000000 years', $$INSERT INTO models (name, half_life) VALUES ('m', '178000000 years')$$),
	('stages: min_score NaN', $$INSERT INTO stages (model, name, position, min_score) VALUES ('default', 's', 1, 'NaN')$$),
	('rules: points NaN', $$INSERT INTO rules (event_type, points) VALUES ('visit', 'NaN')$$),
	('rules: points 1e13', $$INSERT INTO rules (event_type, points) VALUES ('visit', 1e13)$$),
	('rules: max_per_day 0', $$INSERT INTO rules (event_type, points, max_per_day) VALUES ('visit', 1, 0)$$),
	('rules: event_type empty', $$INSERT INTO rules (event_type, points) VALUES ('', 1)$$),
	('rules: condition empty', $$INSERT INTO rules (event_type, points, condition) VALUES ('visit', 1, '')$$),
	('rules: source 0', $$INSERT INTO rules (event_type, points, source) VALUES ('visit', 1, 0)$$),
	('fit_rules: points Infinity', $$INSERT INTO fit_rules (condition, points) VALUES ('true', 'Infinity')$$),
	('fit_rules: condition empty', $$INSERT INTO fit_rules (condition, points) VALUES ('', 1)$$);
SELECT * FROM pg_temp.run_cases();
TRUNCATE cases;
-- a column view that is not the one track() made: a clear error when the
-- configuration is read (it was a crash, reading past the view's columns);
-- writes in replica mode reach every session's cache all the same
INSERT INTO tracked (id, model, activity, columns) VALUES (101, 'm_null', 'cc.other', 'cc.one_column');
RESET session_replication_role;
INSERT INTO cc.ev (lead, at, kind) VALUES (3, '2026-01-03', 'visit');
SET session_replication_role = replica;
UPDATE tracked SET columns = 'leads' WHERE id = 101;
RESET session_replication_role;
INSERT INTO cc.ev (lead, at, kind) VALUES (3, '2026-01-03', 'visit');
SET session_replication_role = replica;
UPDATE tracked SET columns = 'tracking_1' WHERE id = 101;
RESET session_replication_role;
INSERT INTO cc.ev (lead, at, kind) VALUES (3, '2026-01-03', 'visit');
DELETE FROM tracked WHERE id = 101;
SET session_replication_role = replica;
UPDATE tracked_leads SET columns = 'tracking_1' WHERE id = 1;
RESET session_replication_role;
INSERT INTO cc.ev (lead, at, kind) VALUES (3, '2026-01-03', 'visit');
SET session_replication_role = replica;
UPDATE tracked_leads SET columns = 'cc.one_column' WHERE id = 1;
RESET session_replication_role;
INSERT INTO cc.ev (lead, at, kind) VALUES (3, '2026-01-03', 'visit');
SET session_replication_role = replica;
UPDATE tracked_leads SET columns = 'leads_1' WHERE id = 1;
RESET session_replication_role;
INSERT INTO cc.ev (lead, at, kind) VALUES (3, '2026-01-03', 'visit');
-- a half-life the engine cannot hold, past the constraint too: the error
-- names the model
ALTER TABLE models DROP CONSTRAINT models_half_life_range;
UPDATE models SET half_life = '178000000 years' WHERE name = 'm_long';
INSERT INTO cc.ev (lead, at, kind) VALUES (3, '2026-01-03', 'visit');
UPDATE models SET half_life = '290000 years' WHERE name = 'm_long';
ALTER TABLE models ADD CONSTRAINT models_half_life_range
	CHECK (half_life IS NULL OR (half_life > interval '0' AND half_life <= interval '290000 years')) NOT VALID;
SELECT lead, events FROM lead_state WHERE lead = '3';

-- internal helpers called by a superuser with garbage: errors, no crash
INSERT INTO cases (label, statement) VALUES
	('_leads_of(tracking of nothing)', $$SELECT mql_score._leads_of(12345)$$),
	('_leads_of(1, OID of nothing)', $$SELECT mql_score._leads_of(1, 999999)$$),
	('_leads_of(NULL)', $$SELECT mql_score._leads_of(NULL)$$),
	('_validate_rules_for(tracking of nothing)', $$SELECT mql_score._validate_rules_for(12345)$$),
	('_record_unscorable(tracking of nothing)', $$SELECT mql_score._record_unscorable(-1)$$),
	('_tracking_columns(tracking of nothing)', $$SELECT mql_score._tracking_columns(12345)$$),
	('_check_trackable(OID of nothing)', $$SELECT mql_score._check_trackable(999999, 'default', 'lead', 'at', 'kind', NULL)$$),
	('track(OID of nothing)', $$SELECT mql_score.track(999999, 'lead', 'at', 'kind')$$),
	('track_leads(OID of nothing)', $$SELECT mql_score.track_leads(999999, 'id', 'm_null')$$),
	('_check_lead_table(OID of nothing)', $$SELECT mql_score._check_lead_table(999999, 'id', 'default')$$),
	('_recompute_leads(NULL element)', $$SELECT mql_score._recompute_leads('default', ARRAY[NULL, '1'], 'x')$$),
	('_recompute_leads(unknown model)', $$SELECT mql_score._recompute_leads('nope', ARRAY['1'], 'x')$$),
	('_rescore_batch(NULL element)', $$SELECT mql_score._rescore_batch('default', ARRAY[NULL, '1'], true)$$),
	('_refresh_leads(NULL element)', $$SELECT mql_score._refresh_leads('default', ARRAY[NULL]::text[])$$),
	('_refit(unknown model)', $$SELECT mql_score._refit('nope')$$),
	('_lead_table_keys(unknown model)', $$SELECT mql_score._lead_table_keys('nope')$$),
	('_engagement_at(half-life 178000000 years)', $$SELECT mql_score._engagement_at(1, now(), '178000000 years', now())$$),
	('_engagement_at(NaN, infinity, -infinity)', $$SELECT mql_score._engagement_at('NaN', 'infinity', '1 day', '-infinity')$$),
	('_engagement_at(NULL time)', $$SELECT mql_score._engagement_at(1, NULL, '1 day', now())$$),
	('a statement trigger without transition table', $$CREATE TRIGGER by_hand AFTER INSERT ON cc.ev FOR EACH STATEMENT EXECUTE FUNCTION mql_score._on_insert('1')$$),
	('... firing', $$INSERT INTO cc.ev (lead, at, kind) VALUES (4, '2026-01-04', 'visit')$$),
	('... dropped', $$DROP TRIGGER by_hand ON cc.ev$$),
	('a row trigger', $$CREATE TRIGGER by_hand AFTER INSERT ON cc.ev FOR EACH ROW EXECUTE FUNCTION mql_score._on_insert('1')$$),
	('... firing', $$INSERT INTO cc.ev (lead, at, kind) VALUES (4, '2026-01-04', 'visit')$$),
	('... dropped', $$DROP TRIGGER by_hand ON cc.ev$$),
	('a trigger with a bad argument', $$CREATE TRIGGER by_hand AFTER INSERT ON cc.ev REFERENCING NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION mql_score._on_insert('one')$$),
	('... firing', $$INSERT INTO cc.ev (lead, at, kind) VALUES (4, '2026-01-04', 'visit')$$),
	('... dropped', $$DROP TRIGGER by_hand ON cc.ev$$);
SELECT * FROM pg_temp.run_cases();
TRUNCATE cases;

SET client_min_messages = warning;
DROP SCHEMA cc CASCADE;
DROP EXTENSION mql_score CASCADE;
CREATE EXTENSION mql_score;
