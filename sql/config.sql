-- Configuration tables: validation when written, the example model,
-- renames and deletions carrying over to derived state.
SET search_path = mql_score, public;
\set VERBOSITY default
-- rule ids appear in the messages below: start them at 1
SELECT setval('mql_score.rules_id_seq', 1, false) IS NOT NULL AND setval('mql_score.tracked_id_seq', 1, false) IS NOT NULL AS ids_reset;

-- a model named default exists after CREATE EXTENSION, without rules or stages
SELECT name, half_life, demote, notify, on_error FROM models;
SELECT count(*) AS rules, (SELECT count(*) FROM stages) AS stages FROM rules;

-- models: half_life must be positive (or NULL = no decay), on_error raise|skip
INSERT INTO models (name, half_life) VALUES ('zero', '0');
INSERT INTO models (name, half_life) VALUES ('negative', '-1 day');
INSERT INTO models (name, half_life) VALUES ('months', '1 mon -30 days');
INSERT INTO models (name, on_error) VALUES ('bad_on_error', 'ignore');
INSERT INTO models (name) VALUES ('');
\set VERBOSITY sqlstate
INSERT INTO models (name, half_life) VALUES ('zero', '0');
\set VERBOSITY default
INSERT INTO models (name, half_life, demote) VALUES ('b2b', '30 days', true);

-- the example model installs realistic stages and rules on request
SELECT install_example_model('b2b');
SELECT name, position, min_score FROM stages WHERE model = 'b2b' ORDER BY position;
SELECT event_type, points, max_per_day, once, promote_to FROM rules WHERE model = 'b2b' ORDER BY id;

-- stages: positions are unique within a model
INSERT INTO stages (model, name, position) VALUES ('b2b', 'duplicate', 30);
-- rules: finite points, positive caps, a non-empty type, an existing promote_to stage
INSERT INTO rules (model, event_type, points) VALUES ('b2b', 'x', 'NaN');
INSERT INTO rules (model, event_type, points) VALUES ('b2b', 'x', 'Infinity');
INSERT INTO rules (model, event_type, points, max_per_day) VALUES ('b2b', 'x', 1, 0);
INSERT INTO rules (model, event_type, points) VALUES ('b2b', '', 1);
INSERT INTO rules (model, event_type, points, promote_to) VALUES ('b2b', 'x', 1, 'nowhere');
INSERT INTO rules (model, event_type, points, condition) VALUES ('b2b', 'x', 1, '');
INSERT INTO rules (model, event_type, points) VALUES ('no_such_model', 'x', 1);
\set VERBOSITY sqlstate
INSERT INTO rules (model, event_type, points) VALUES ('b2b', 'x', 'NaN');
INSERT INTO rules (model, event_type, points, max_per_day) VALUES ('b2b', 'x', 1, -1);
INSERT INTO rules (model, event_type, points, promote_to) VALUES ('b2b', 'x', 1, 'nowhere');
\set VERBOSITY default
-- a stage that a rule promotes to cannot be deleted from under it
DELETE FROM stages WHERE model = 'b2b' AND name = 'sql';

-- conditions are checked against the tables the rule applies to
CREATE TABLE public.events (id bigserial PRIMARY KEY, contact_id bigint, at timestamptz, kind text,
                            duration_s int, props jsonb);
CREATE INDEX ON public.events (contact_id);
SELECT track('public.events', 'contact_id', 'at', 'kind', model => 'b2b');
INSERT INTO rules (model, event_type, points, condition) VALUES ('b2b', 'page_view', 2, 'duration_s >= 30');
INSERT INTO rules (model, event_type, points, condition) VALUES ('b2b', 'page_view', 2, 'props->>''path'' LIKE ''/pricing%''');
-- unknown column (42703), not boolean (42804), mutable function (42P17),
-- subquery (0A000), syntax (42601), several expressions, aggregates
INSERT INTO rules (model, event_type, points, condition) VALUES ('b2b', 'page_view', 2, 'duration >= 30');
INSERT INTO rules (model, event_type, points, condition) VALUES ('b2b', 'page_view', 2, 'duration_s + 1');
INSERT INTO rules (model, event_type, points, condition) VALUES ('b2b', 'page_view', 2, 'at > now() - interval ''1 day''');
INSERT INTO rules (model, event_type, points, condition) VALUES ('b2b', 'page_view', 2, 'at::date = ''2026-01-01''');
INSERT INTO rules (model, event_type, points, condition) VALUES ('b2b', 'page_view', 2, 'random() < 0.5');
INSERT INTO rules (model, event_type, points, condition) VALUES ('b2b', 'page_view', 2, 'contact_id IN (SELECT 1)');
INSERT INTO rules (model, event_type, points, condition) VALUES ('b2b', 'page_view', 2, 'duration_s >= ');
INSERT INTO rules (model, event_type, points, condition) VALUES ('b2b', 'page_view', 2, 'true, false');
INSERT INTO rules (model, event_type, points, condition) VALUES ('b2b', 'page_view', 2, 'true FROM pg_class');
INSERT INTO rules (model, event_type, points, condition) VALUES ('b2b', 'page_view', 2, 'count(*) > 1');
\set VERBOSITY sqlstate
INSERT INTO rules (model, event_type, points, condition) VALUES ('b2b', 'page_view', 2, 'duration >= 30');
INSERT INTO rules (model, event_type, points, condition) VALUES ('b2b', 'page_view', 2, 'duration_s + 1');
INSERT INTO rules (model, event_type, points, condition) VALUES ('b2b', 'page_view', 2, 'random() < 0.5');
INSERT INTO rules (model, event_type, points, condition) VALUES ('b2b', 'page_view', 2, 'contact_id IN (SELECT 1)');
INSERT INTO rules (model, event_type, points, condition) VALUES ('b2b', 'page_view', 2, 'duration_s >= ');
\set VERBOSITY default
-- a table whose rows are all one event type is only checked against rules of that type
CREATE TABLE public.forms (contact_id bigint, submitted_at timestamptz, form text);
CREATE INDEX ON public.forms (contact_id);
SELECT track('public.forms', 'contact_id', 'submitted_at', event_type => 'form_fill', model => 'b2b');
INSERT INTO rules (model, event_type, points, condition) VALUES ('b2b', 'page_view', 2, 'duration_s < 5') RETURNING event_type, condition;
-- a condition over a column a table lacks is refused when tracking that table
CREATE TABLE public.web (contact_id bigint, at timestamptz, kind text);
CREATE INDEX ON public.web (contact_id);
SELECT track('public.web', 'contact_id', 'at', 'kind', model => 'b2b');
-- ... unless the rule's source is another table
UPDATE rules SET source = 'public.events' WHERE model = 'b2b' AND condition IS NOT NULL;
SELECT track('public.web', 'contact_id', 'at', 'kind', model => 'b2b');
-- and a rule whose source lacks the column is refused
INSERT INTO rules (model, source, event_type, points, condition) VALUES ('b2b', 'public.forms', 'form_fill', 5, 'duration_s > 1');
INSERT INTO rules (model, source, event_type, points, condition) VALUES ('b2b', 'public.forms', 'form_fill', 5, 'form = ''demo''') RETURNING source, condition;
-- a source that is not a table
CREATE VIEW public.events_view AS SELECT * FROM public.events;
INSERT INTO rules (model, source, event_type, points) VALUES ('b2b', 'public.events_view', 'x', 1);

-- renaming a model carries its rules, stages, tracking and state along
INSERT INTO public.events (contact_id, at, kind) VALUES (7, '2026-01-01', 'page_view');
UPDATE models SET name = 'b2b_renamed' WHERE name = 'b2b';
SELECT model, lead, events FROM lead_state ORDER BY 1, 2;
SELECT DISTINCT model FROM rules UNION ALL SELECT DISTINCT model FROM stages UNION ALL SELECT DISTINCT model FROM tracked;
INSERT INTO public.events (contact_id, at, kind) VALUES (7, '2026-01-02', 'page_view');
SELECT model, lead, events FROM lead_state ORDER BY 1, 2;

-- a model with tracked tables cannot be deleted
DELETE FROM models WHERE name = 'b2b_renamed';
SELECT untrack('public.events', 'b2b_renamed');
SELECT untrack('public.forms', 'b2b_renamed');
SELECT untrack('public.web', 'b2b_renamed');
DELETE FROM models WHERE name = 'b2b_renamed';
SELECT count(*) AS state_left FROM lead_state WHERE model = 'b2b_renamed';
SELECT count(*) AS rules_left FROM rules WHERE model = 'b2b_renamed';

-- configuration tables are kept by pg_dump
SELECT c.relname FROM pg_extension e, unnest(e.extconfig) AS cfg(oid) JOIN pg_class c ON c.oid = cfg.oid
WHERE e.extname = 'mql_score' ORDER BY 1;

DROP VIEW public.events_view;
DROP TABLE public.events, public.forms, public.web;

-- every object of the extension is documented (COMMENT ON), for \d+ and \df+;
-- implicit types (a table's row type, an array type), which PostgreSQL 17+
-- records as extension members too, are documented by their table or element
SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS undocumented
FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'mql_score'
WHERE d.deptype = 'e'
  AND NOT EXISTS (SELECT 1 FROM pg_description x
                  WHERE x.classoid = d.classid AND x.objoid = d.objid AND x.objsubid = 0)
  AND NOT EXISTS (SELECT 1 FROM pg_type t
                  WHERE d.classid = 'pg_type'::regclass AND t.oid = d.objid
                    AND (t.typrelid <> 0 OR t.typcategory = 'A'))
ORDER BY 1;
