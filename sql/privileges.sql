-- Least privilege: an application role that may only write its activity
-- table gets its events scored but cannot touch configuration or state;
-- a reporting role reads the leads view and history and nothing more.
SET search_path = public, mql_score;
\set VERBOSITY default
-- the tracking id appears in a message below: start ids at 1
SELECT setval('mql_score.tracked_id_seq', 1, false) IS NOT NULL AS ids_reset;
INSERT INTO models (name, half_life) VALUES ('p', NULL);
INSERT INTO stages (model, name, position, min_score) VALUES ('p', 'lead', 1, 5);
INSERT INTO rules (model, event_type, points, condition) VALUES ('p', 'visit', 10, 'length(page) > 0');
CREATE SCHEMA app;
CREATE TABLE app.events (id bigserial PRIMARY KEY, contact bigint, at timestamptz DEFAULT now(), kind text, page text);
CREATE INDEX ON app.events (contact);
SELECT track('app.events', 'contact', 'at', 'kind', model => 'p');

CREATE ROLE regress_mql_app;
CREATE ROLE regress_mql_report;
GRANT USAGE ON SCHEMA app TO regress_mql_app;
GRANT INSERT, UPDATE, DELETE ON app.events TO regress_mql_app;
GRANT USAGE ON SEQUENCE app.events_id_seq TO regress_mql_app;
GRANT SELECT ON mql_score.leads, mql_score.stage_history TO regress_mql_report;

-- the application writes events: they are scored and staged
SET ROLE regress_mql_app;
INSERT INTO app.events (contact, kind, page) VALUES (1, 'visit', '/pricing');
COPY app.events (contact, kind, page) FROM STDIN;
2	visit	/home
\.
DELETE FROM app.events;
INSERT INTO app.events (contact, kind, page) VALUES (1, 'visit', '/pricing');
-- ... but may not read or change mql_score's tables, nor call its admin functions
SELECT * FROM mql_score.lead_state;
SELECT * FROM mql_score.leads;
INSERT INTO mql_score.rules (model, event_type, points) VALUES ('p', 'visit', 1000);
UPDATE mql_score.models SET half_life = '1 day';
UPDATE mql_score.lead_state SET engagement = 1e6;
DELETE FROM mql_score.stage_history;
SELECT mql_score.track('app.events', 'contact', 'at', 'kind', model => 'p');
SELECT mql_score.untrack('app.events', 'p');
SELECT mql_score._recompute_leads('p', ARRAY['1'], 'x');
SELECT mql_score.install_example_model('p');
SELECT mql_score.score_of(1, 'p');
-- nor attach mql_score's triggers to a table of its own to inject events
RESET ROLE;
CREATE TABLE public.fake (contact bigint, at timestamptz, kind text, page text);
GRANT ALL ON public.fake TO regress_mql_app;
ALTER TABLE public.fake OWNER TO regress_mql_app;
SET ROLE regress_mql_app;
CREATE TRIGGER inject AFTER INSERT ON public.fake REFERENCING NEW TABLE AS mql_new
	FOR EACH STATEMENT EXECUTE FUNCTION mql_score._on_insert('1');
RESET ROLE;
-- even a superuser cannot feed a tracking from a table it does not track
CREATE TRIGGER inject AFTER INSERT ON public.fake REFERENCING NEW TABLE AS mql_new
	FOR EACH STATEMENT EXECUTE FUNCTION mql_score._on_insert('1');
INSERT INTO public.fake VALUES (1, now(), 'visit', '/x');
DROP TABLE public.fake;

-- what the application did is scored
SELECT lead, events, engagement, stage FROM lead_state WHERE model = 'p' ORDER BY lead;

-- the reporting role reads the view, score_of, explain and history; it writes nothing
SET ROLE regress_mql_report;
SELECT lead, score, stage, events FROM mql_score.leads WHERE model = 'p' ORDER BY lead;
SELECT mql_score.score_of(1, 'p'), mql_score.stage_of(1, 'p');
SELECT rule_id IS NOT NULL AS has_rule, events, contribution FROM mql_score.explain(1, 'p');
SELECT lead, to_stage, cause FROM mql_score.stage_history WHERE model = 'p' ORDER BY id;
SELECT * FROM mql_score.lead_state;
SELECT * FROM mql_score.rules;
INSERT INTO mql_score.stage_history (model, lead, score, cause) VALUES ('p', '1', 0, 'forged');
SELECT * FROM app.events;
RESET ROLE;

-- who may execute what: nothing that changes configuration is PUBLIC (the
-- jobs' helpers are, but each checks the session's role: see security.sql)
SELECT p.proname
FROM pg_proc p
WHERE p.pronamespace = 'mql_score'::regnamespace
  AND has_function_privilege('public', p.oid, 'EXECUTE')
ORDER BY 1;

SELECT untrack('app.events', 'p');
DROP TABLE app.events;
DROP SCHEMA app;
DELETE FROM models WHERE name = 'p';
REVOKE ALL ON mql_score.leads, mql_score.stage_history FROM regress_mql_report;
DROP ROLE regress_mql_app, regress_mql_report;
