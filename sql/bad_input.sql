-- Bad input the other tests do not already cover: each case ends in a
-- clear error with a real SQLSTATE, or in a documented handling (see
-- doc/bad-input.md for the whole matrix).  Runs last: it drops and
-- recreates the extension.
SET search_path = public, mql_score;
SET timezone = 'UTC';
\set VERBOSITY default
-- ids appear in messages below: start them at 1
SELECT setval('mql_score.rules_id_seq', 1, false) IS NOT NULL AND setval('mql_score.fit_rules_id_seq', 1, false) IS NOT NULL
       AND setval('mql_score.tracked_id_seq', 1, false) IS NOT NULL AS ids_reset;
INSERT INTO models (name, half_life) VALUES ('bad', '7 days');
INSERT INTO stages (model, name, position, min_score) VALUES ('bad', 'lead', 1, 1);
INSERT INTO rules (model, event_type, points) VALUES ('bad', 'visit', 1);
CREATE TYPE event_kind AS ENUM ('visit', 'download');
CREATE TABLE ev (id serial PRIMARY KEY, who text, at timestamptz, kind event_kind, amount numeric);
CREATE INDEX ON ev (who);
SELECT track('ev', 'who', 'at', 'kind', model => 'bad');

-- points out of range (finite but absurd), for rules and fit rules: 22003
INSERT INTO rules (model, event_type, points) VALUES ('bad', 'visit', 1e300);
INSERT INTO rules (model, event_type, points) VALUES ('bad', 'visit', -1e13);
INSERT INTO fit_rules (model, condition, points) VALUES ('bad', 'true', 1e16);
\set VERBOSITY sqlstate
INSERT INTO rules (model, event_type, points) VALUES ('bad', 'visit', 1e300);
\set VERBOSITY default
-- a condition comparing incompatible types (42883), a NULL-yielding one (no match)
INSERT INTO rules (model, event_type, points, condition) VALUES ('bad', 'visit', 1, 'amount > ''abc''::text');
INSERT INTO rules (model, event_type, points, condition) VALUES ('bad', 'download', 5, 'amount > NULL');
\set VERBOSITY sqlstate
INSERT INTO rules (model, event_type, points, condition) VALUES ('bad', 'visit', 1, 'amount > ''abc''::text');
\set VERBOSITY default

-- an enum type column is read by label; NULL-yielding conditions match nothing
INSERT INTO ev (who, at, kind, amount) VALUES ('ann', '2026-01-01', 'visit', 1), ('ann', '2026-01-02', 'download', 1);
SELECT lead, events, engagement FROM lead_state WHERE model = 'bad' AND lead = 'ann';
-- a lead too long for an index key: the row stays, is not scored, is recorded
INSERT INTO ev (who, at, kind) VALUES (repeat('x', 5000), '2026-01-01', 'visit');
SELECT count(*) AS kept FROM ev WHERE length(who) = 5000;
SELECT reason, lead IS NULL AS lead_not_stored FROM skipped WHERE reason LIKE 'lead is longer%';
-- times at the edges of the timestamp range are scored without overflow
INSERT INTO ev (who, at, kind) VALUES ('old', '4713-01-01 00:00:00+00 BC', 'visit'), ('old', '2026-01-01', 'visit'),
	('late', '294276-12-31 23:59:59+00', 'visit');
SELECT lead, events, engagement, stage FROM lead_state WHERE model = 'bad' AND lead IN ('old', 'late') ORDER BY lead;
SELECT score_of('late'::text, 'bad', now()) AS future_counts_in_full, score_of('old'::text, 'bad', '2026-01-08') AS a_week_later;

-- rows a table already holds when it is tracked and that cannot be scored
-- are recorded in skipped, as the trigger records new ones (source: the
-- tracked table, also for rows in its partitions; anonymous rows are not
-- recorded)
CREATE TABLE old_ev (id int PRIMARY KEY, who text, at timestamptz, kind text, amount numeric) PARTITION BY RANGE (id);
CREATE TABLE old_ev_low PARTITION OF old_ev FOR VALUES FROM (1) TO (4);
CREATE TABLE old_ev_high PARTITION OF old_ev FOR VALUES FROM (4) TO (100);
CREATE INDEX ON old_ev (who);
INSERT INTO old_ev VALUES (1, 'bob', '2026-01-01', 'visit'), (2, 'bob', NULL, 'visit'), (3, NULL, NULL, NULL),
	(4, 'bob', '2026-01-02', NULL), (5, 'cy', 'infinity', 'visit'), (6, 'cy', '2026-01-03', 'visit');
SELECT track('old_ev', 'who', 'at', 'kind', model => 'bad') AS leads_scored;
SELECT source, row_identity, reason, model, lead FROM skipped WHERE source::text LIKE 'old_ev%' ORDER BY id;
SELECT lead, events FROM lead_state WHERE model = 'bad' AND lead IN ('bob', 'cy') ORDER BY lead;
INSERT INTO old_ev VALUES (7, 'cy', NULL, 'visit');
SELECT source, row_identity, reason, lead FROM skipped WHERE source::text LIKE 'old_ev%' ORDER BY id DESC LIMIT 1;
SELECT untrack('old_ev', 'bad') IS NOT NULL AS untracked;
DROP TABLE old_ev;

-- NULL arguments: 22004 for calls that need them, NULL for readers (STRICT)
SELECT track(NULL, 'who', 'at', 'kind', model => 'bad');
SELECT track('ev', 'who', 'at', 'kind', model => NULL);
SELECT set_stage('ann'::text, NULL, 'bad');
SELECT score_of('ann'::text, NULL) IS NULL AS null_model_null_score, stage_of(NULL::text, 'bad') IS NULL AS null_lead_null_stage;
\set VERBOSITY sqlstate
SELECT track('ev', 'who', 'at', 'kind', model => NULL);
\set VERBOSITY default
-- a decayed text value too large for float8
SELECT '(1e400,2026-01-01 00:00:00+00,1 day)'::decayed;

-- a foreign table cannot be tracked (no transition tables): 42809
CREATE EXTENSION file_fdw;
CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;
CREATE FOREIGN TABLE fev (who text, at timestamptz, kind text) SERVER files OPTIONS (filename '/dev/null');
SELECT track('fev', 'who', 'at', 'kind', model => 'bad');
\set VERBOSITY sqlstate
SELECT track('fev', 'who', 'at', 'kind', model => 'bad');
\set VERBOSITY default
DROP EXTENSION file_fdw CASCADE;

-- calling trigger functions directly
SELECT mql_score._config_changed();
-- history is append-only
UPDATE stage_history SET score = 0;
\set VERBOSITY sqlstate
UPDATE stage_history SET score = 0;
\set VERBOSITY default

-- dropping the extension while tables are tracked is refused (their
-- triggers depend on it) ...
DROP EXTENSION mql_score;
-- ... and with CASCADE the triggers go, the CRM's tables and rows stay
DROP EXTENSION mql_score CASCADE;
SELECT count(*) AS rows_kept FROM ev;
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = 'ev'::regclass;
SELECT count(*) AS objects_left_in_schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'mql_score';
INSERT INTO ev (who, at, kind) VALUES ('ann', '2026-02-01', 'visit');
CREATE EXTENSION mql_score;
DROP TABLE ev;
DROP TYPE event_kind;
