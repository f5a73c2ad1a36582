-- Conditions never run with more rights than the role that wrote them, and
-- configuration can be delegated to marketing operations by GRANTs alone.
SET search_path = public, mql_score;
\set VERBOSITY default
-- rule ids appear in messages below
SELECT setval('mql_score.rules_id_seq', 1000) IS NOT NULL AND setval('mql_score.fit_rules_id_seq', 2000) IS NOT NULL AS ids_set;

-- A small CRM: events tracked by model 'sec'; a secret column nobody but
-- the owner reads.
CREATE SCHEMA crm_sec;
CREATE TABLE crm_sec.events (id bigserial PRIMARY KEY, contact bigint, at timestamptz DEFAULT now(),
                             kind text, page text, secret text DEFAULT 'hidden');
CREATE INDEX ON crm_sec.events (contact);
INSERT INTO models (name, half_life) VALUES ('sec', '30 days');
INSERT INTO stages (model, name, position, min_score) VALUES ('sec', 'lead', 1, 0), ('sec', 'mql', 2, 50);
SELECT track('crm_sec.events', 'contact', 'at', 'kind', model => 'sec');

-- The roles.  The delegation recipe of the manual, chapter "Privileges",
-- verbatim: marketing operations edit configuration and run the jobs; the
-- application writes events; reporting reads.
CREATE ROLE regress_mql_ops;
CREATE ROLE regress_mql_app;
CREATE ROLE regress_mql_report;
GRANT SELECT, INSERT, UPDATE, DELETE ON mql_score.models, mql_score.rules, mql_score.stages,
	mql_score.fit_rules TO regress_mql_ops;
GRANT EXECUTE ON PROCEDURE mql_score.rescore(text, int), mql_score.refresh_stages(text, int),
	mql_score.run_maintenance() TO regress_mql_ops;
GRANT SELECT ON mql_score.leads, mql_score.stage_history TO regress_mql_ops, regress_mql_report;
-- conditions read the activity rows with their author's rights
GRANT USAGE ON SCHEMA crm_sec TO regress_mql_ops, regress_mql_app;
GRANT SELECT (id, contact, at, kind, page) ON crm_sec.events TO regress_mql_ops;
GRANT INSERT, UPDATE, DELETE ON crm_sec.events TO regress_mql_app;
GRANT USAGE ON SEQUENCE crm_sec.events_id_seq TO regress_mql_app;
-- marketing operations keep their own helper functions in a schema of theirs
CREATE SCHEMA mk AUTHORIZATION regress_mql_ops;

-- Outcome of an attempt, without its message (messages differ across
-- PostgreSQL versions); and whether anything secret reached the message.
CREATE FUNCTION pg_temp.attempt(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	state text;
	message text;
BEGIN
	EXECUTE sql;
	RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
	RETURN 'refused ' || state ||
		CASE WHEN message ~ '(SCRAM|md5[0-9a-f]{32}|root:|hidden)' THEN ' LEAKED: ' || message ELSE '' END;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.attempt(text) TO PUBLIC;

--------------------------------------------------------------------------
-- The reproduction: a rule writer's function that reads pg_authid
--------------------------------------------------------------------------
SET ROLE regress_mql_ops;
CREATE FUNCTION mk.f() RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS
$$ BEGIN RAISE NOTICE '% %', current_user, (SELECT rolpassword FROM pg_authid WHERE rolsuper LIMIT 1); RETURN true; END $$;
-- validation folds mk.f() as a constant: as the writer, so no notice, no leak
INSERT INTO mql_score.rules (model, event_type, points, condition) VALUES ('sec', 'x', 1, 'mk.f()');
SELECT count(*) AS rules_written FROM mql_score.rules WHERE model = 'sec';
RESET ROLE;

--------------------------------------------------------------------------
-- Every other attempt, each in an IMMUTABLE function the writer owns,
-- both folded at validation (constant arguments) and evaluated per row.
--------------------------------------------------------------------------
SET ROLE regress_mql_ops;
CREATE FUNCTION mk.read_authid(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS
$$ BEGIN RETURN (SELECT count(*) FROM pg_authid) > 0 OR t IS NULL; END $$;
CREATE FUNCTION mk.read_file(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS
$$ BEGIN RETURN length(pg_read_file('/etc/passwd')) > 0 OR t IS NULL; END $$;
CREATE FUNCTION mk.lo_in(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS
$$ BEGIN RETURN lo_import('/etc/passwd') > 0 OR t IS NULL; END $$;
CREATE FUNCTION mk.lo_out(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS
$$ BEGIN RETURN lo_export(1, '/tmp/mql_score_security_test') > 0 OR t IS NULL; END $$;
CREATE FUNCTION mk.set_superuser_setting(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS
$$ BEGIN RETURN set_config('log_statement', 'all', false) IS NOT NULL OR t IS NULL; END $$;
CREATE FUNCTION mk.terminate(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS
$$ BEGIN RETURN pg_terminate_backend(pg_backend_pid()) OR t IS NULL; END $$;
CREATE FUNCTION mk.alter_role(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS
$$ BEGIN EXECUTE 'ALTER ROLE regress_mql_ops SUPERUSER'; RETURN true; END $$;
CREATE FUNCTION mk.alter_role_volatile(t text) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN EXECUTE 'ALTER ROLE regress_mql_ops SUPERUSER'; RETURN true; END $$;
SELECT f AS attempt,
       pg_temp.attempt(format('INSERT INTO mql_score.rules (model, event_type, points, condition) VALUES (%L, %L, 1, %L)',
                              'sec', 'folded', 'mk.' || f || '(''x'')')) AS folded_at_validation
FROM unnest(ARRAY['read_authid', 'read_file', 'lo_in', 'lo_out', 'set_superuser_setting',
                  'terminate', 'alter_role', 'alter_role_volatile']) f;
-- per-row conditions compile (nothing to fold) and are then run per event
INSERT INTO mql_score.rules (model, event_type, points, condition, description)
SELECT 'sec', 'probe_' || f, 1, 'mk.' || f || '(page)', f
FROM unnest(ARRAY['read_authid', 'read_file', 'lo_in', 'lo_out', 'set_superuser_setting',
                  'terminate', 'alter_role']) f;
RESET ROLE;
-- the application's events meet those conditions: each evaluation runs as
-- the writer, so each is refused and the event is not scored
SET ROLE regress_mql_app;
SELECT f AS attempt,
       pg_temp.attempt(format('INSERT INTO crm_sec.events (contact, kind, page) VALUES (1, %L, %L)',
                              'probe_' || f, '/x')) AS evaluated_per_row
FROM unnest(ARRAY['read_authid', 'read_file', 'lo_in', 'lo_out', 'set_superuser_setting',
                  'terminate', 'alter_role']) f;
RESET ROLE;
-- nothing happened: no role attribute, no setting, no large object, no session killed
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_mql_ops';
SELECT current_setting('log_statement') <> 'all' AS log_statement_untouched;
SELECT count(*) AS large_objects FROM pg_largeobject_metadata;
SELECT count(*) AS events_kept FROM crm_sec.events;

--------------------------------------------------------------------------
-- A function replaced after its rule was accepted still runs as the writer
--------------------------------------------------------------------------
DELETE FROM mql_score.rules WHERE model = 'sec' AND event_type LIKE 'probe_%';
SET ROLE regress_mql_ops;
CREATE FUNCTION mk.benign(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS
$$ BEGIN RETURN t LIKE '/pricing%'; END $$;
INSERT INTO mql_score.rules (model, event_type, points, condition, description)
VALUES ('sec', 'visit', 60, 'mk.benign(page)', 'pricing visits');
RESET ROLE;
SET ROLE regress_mql_app;
INSERT INTO crm_sec.events (contact, kind, page) VALUES (10, 'visit', '/pricing');
RESET ROLE;
SELECT lead, events, round(score::numeric, 1) AS score, stage FROM leads WHERE model = 'sec' ORDER BY lead;
SET ROLE regress_mql_ops;
CREATE OR REPLACE FUNCTION mk.benign(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS
$$ BEGIN RETURN (SELECT count(*) FROM pg_authid) > 0; END $$;
RESET ROLE;
SET ROLE regress_mql_app;
\set VERBOSITY terse
INSERT INTO crm_sec.events (contact, kind, page) VALUES (11, 'visit', '/pricing');
\set VERBOSITY default
RESET ROLE;
-- with on_error = 'skip' the row is kept and recorded instead
UPDATE mql_score.models SET on_error = 'skip' WHERE name = 'sec';
SET ROLE regress_mql_app;
INSERT INTO crm_sec.events (contact, kind, page) VALUES (11, 'visit', '/pricing');
RESET ROLE;
SELECT s.reason ~ 'permission denied' AS refused, s.reason !~ '(SCRAM|md5)' AS nothing_leaked
FROM mql_score.skipped s WHERE s.model = 'sec';
UPDATE mql_score.models SET on_error = 'raise' WHERE name = 'sec';
SET ROLE regress_mql_ops;
CREATE OR REPLACE FUNCTION mk.benign(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS
$$ BEGIN RETURN t LIKE '/pricing%'; END $$;
RESET ROLE;

--------------------------------------------------------------------------
-- written_by: whose rights a condition runs with
--------------------------------------------------------------------------
-- set to the writer; naming a role one lacks the rights of is refused
SELECT written_by FROM mql_score.rules WHERE description = 'pricing visits';
SET ROLE regress_mql_ops;
INSERT INTO mql_score.rules (model, event_type, points, written_by) VALUES ('sec', 'y', 1, 'regress_mql_app');
UPDATE mql_score.rules SET written_by = 'regress_mql_app' WHERE description = 'pricing visits';
RESET ROLE;
-- a superuser editing points keeps the writer; a superuser may name any role
UPDATE mql_score.rules SET points = 65 WHERE description = 'pricing visits';
SELECT written_by FROM mql_score.rules WHERE description = 'pricing visits';
INSERT INTO mql_score.rules (model, event_type, points, condition, description, written_by)
VALUES ('sec', 'visit', 1, 'page IS NOT NULL', 'any visit', 'regress_mql_ops');
SELECT written_by FROM mql_score.rules WHERE description = 'any visit';
-- a rule a superuser wrote becomes the writer's when another role rewrites it
UPDATE mql_score.rules SET written_by = DEFAULT WHERE description = 'any visit';
SELECT written_by = current_user::regrole AS superusers FROM mql_score.rules WHERE description = 'any visit';
SET ROLE regress_mql_ops;
UPDATE mql_score.rules SET points = 2 WHERE description = 'any visit';
RESET ROLE;
SELECT written_by FROM mql_score.rules WHERE description = 'any visit';
-- a rule whose writer was dropped cannot run until someone takes it over
CREATE ROLE regress_mql_gone;
GRANT INSERT ON mql_score.rules TO regress_mql_gone;
GRANT SELECT (page) ON crm_sec.events TO regress_mql_gone;
SET ROLE regress_mql_gone;
INSERT INTO mql_score.rules (model, event_type, points, condition, description)
VALUES ('sec', 'gone', 1, 'page IS NOT NULL', 'orphan');
RESET ROLE;
REVOKE ALL ON mql_score.rules FROM regress_mql_gone;
REVOKE ALL ON crm_sec.events FROM regress_mql_gone;
DROP ROLE regress_mql_gone;
\set VERBOSITY terse
INSERT INTO crm_sec.events (contact, kind, page) VALUES (12, 'gone', '/x');
\set VERBOSITY default
UPDATE mql_score.rules SET points = 1 WHERE description = 'orphan';
SELECT written_by = current_user::regrole AS taken_over FROM mql_score.rules WHERE description = 'orphan';
INSERT INTO crm_sec.events (contact, kind, page) VALUES (12, 'gone', '/x');
DELETE FROM crm_sec.events WHERE contact = 12;
DELETE FROM mql_score.rules WHERE description = 'orphan';
-- the writer must be able to read the columns the condition reads
SET ROLE regress_mql_ops;
INSERT INTO mql_score.rules (model, event_type, points, condition) VALUES ('sec', 'z', 1, 'secret = ''x''');
-- ... and execute the functions it calls
RESET ROLE;
CREATE FUNCTION public.owner_only(t text) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT t IS NOT NULL';
REVOKE EXECUTE ON FUNCTION public.owner_only(text) FROM PUBLIC;
SET ROLE regress_mql_ops;
INSERT INTO mql_score.rules (model, event_type, points, condition) VALUES ('sec', 'z', 1, 'public.owner_only(page)');
RESET ROLE;
-- a superuser's condition may call it; the ops role rewriting that rule may not
INSERT INTO mql_score.rules (model, event_type, points, condition, description)
VALUES ('sec', 'z', 1, 'public.owner_only(page)', 'owner only');
SET ROLE regress_mql_ops;
UPDATE mql_score.rules SET points = 3 WHERE description = 'owner only';
RESET ROLE;
DELETE FROM mql_score.rules WHERE description = 'owner only';
DROP FUNCTION public.owner_only(text);

--------------------------------------------------------------------------
-- Fit rules: the same, on the model's lead table
--------------------------------------------------------------------------
CREATE TABLE crm_sec.contacts (id bigint PRIMARY KEY, title text, salary int);
GRANT SELECT (id, title) ON crm_sec.contacts TO regress_mql_ops;
GRANT INSERT, UPDATE ON crm_sec.contacts TO regress_mql_app;
SELECT track_leads('crm_sec.contacts', 'id', model => 'sec');
SET ROLE regress_mql_ops;
INSERT INTO mql_score.fit_rules (model, condition, points) VALUES ('sec', 'mk.read_authid(''x'')', 5);
INSERT INTO mql_score.fit_rules (model, condition, points) VALUES ('sec', 'salary > 100000', 5);
INSERT INTO mql_score.fit_rules (model, condition, points, written_by) VALUES ('sec', 'title IS NOT NULL', 5, 'regress_mql_app');
INSERT INTO mql_score.fit_rules (model, condition, points, description) VALUES ('sec', 'mk.read_authid(title)', 5, 'probe');
INSERT INTO mql_score.fit_rules (model, condition, points, description) VALUES ('sec', 'title ~* ''vp''', 20, 'senior');
SELECT description, written_by FROM mql_score.fit_rules WHERE model = 'sec' ORDER BY id;
RESET ROLE;
SET ROLE regress_mql_app;
SELECT pg_temp.attempt('INSERT INTO crm_sec.contacts VALUES (10, ''VP Sales'', 200000)') AS lead_row_with_probe;
RESET ROLE;
DELETE FROM mql_score.fit_rules WHERE description = 'probe';
SET ROLE regress_mql_app;
INSERT INTO crm_sec.contacts VALUES (10, 'VP Sales', 200000);
RESET ROLE;
SELECT lead, fit FROM mql_score.leads WHERE model = 'sec' ORDER BY lead;

--------------------------------------------------------------------------
-- Delegation end to end
--------------------------------------------------------------------------
SET ROLE regress_mql_ops;
-- models, stages, rules, fit rules: all editable
INSERT INTO mql_score.models (name, half_life, description) VALUES ('sec_draft', '14 days', 'ops sandbox');
UPDATE mql_score.models SET description = 'ops sandbox, renamed' WHERE name = 'sec_draft';
UPDATE mql_score.models SET name = 'sec_draft2' WHERE name = 'sec_draft';
INSERT INTO mql_score.stages (model, name, position, min_score) VALUES ('sec_draft2', 'lead', 1, 0);
UPDATE mql_score.stages SET min_score = 1 WHERE model = 'sec_draft2';
DELETE FROM mql_score.stages WHERE model = 'sec_draft2';
DELETE FROM mql_score.models WHERE name = 'sec_draft2';
UPDATE mql_score.stages SET min_score = 60 WHERE model = 'sec' AND name = 'mql';
UPDATE mql_score.rules SET points = 40 WHERE description = 'pricing visits';
-- the jobs
CALL mql_score.rescore('sec');
CALL mql_score.refresh_stages('sec');
CALL mql_score.run_maintenance();
SELECT lead, events, round(score::numeric, 1) AS score, stage FROM mql_score.leads WHERE model = 'sec' ORDER BY lead;
-- ... and nothing else
\set VERBOSITY terse
SELECT mql_score.track('crm_sec.events', 'contact', 'at', 'kind', model => 'sec_other');
SELECT mql_score.untrack('crm_sec.events', 'sec');
SELECT count(*) FROM mql_score.lead_state;
UPDATE mql_score.stage_history SET cause = 'forged';
SELECT mql_score._rescore_batch('sec', ARRAY['10'], true);
SELECT mql_score._recompute_leads('sec', ARRAY['10'], 'x');
SELECT secret FROM crm_sec.events;
RESET ROLE;
-- the application writes events but runs no job, not even through the helpers
SET ROLE regress_mql_app;
CALL mql_score.rescore('sec');
SELECT mql_score._rescore_begin('sec');
SELECT * FROM mql_score._models_to_rescore();
SELECT * FROM mql_score._refresh_step('sec', now(), 10, '-infinity', '');
INSERT INTO mql_score.rules (model, event_type, points) VALUES ('sec', 'x', 1);
RESET ROLE;
-- reporting reads, writes nothing
SET ROLE regress_mql_report;
SELECT lead, stage FROM mql_score.leads WHERE model = 'sec' ORDER BY lead;
CALL mql_score.refresh_stages('sec');
DELETE FROM mql_score.rules;
RESET ROLE;
\set VERBOSITY default

--------------------------------------------------------------------------
-- Clean up
--------------------------------------------------------------------------
SELECT untrack('crm_sec.events', 'sec');
SELECT untrack_leads('sec');
DELETE FROM mql_score.models WHERE name = 'sec';
DROP TABLE crm_sec.events, crm_sec.contacts;
DROP SCHEMA crm_sec;
DROP SCHEMA mk CASCADE;
REVOKE ALL ON mql_score.models, mql_score.rules, mql_score.stages, mql_score.fit_rules,
	mql_score.leads, mql_score.stage_history FROM regress_mql_ops, regress_mql_report;
REVOKE ALL ON PROCEDURE mql_score.rescore(text, int), mql_score.refresh_stages(text, int),
	mql_score.run_maintenance() FROM regress_mql_ops;
DROP ROLE regress_mql_ops, regress_mql_app, regress_mql_report;
