-- track() and untrack(): what can be tracked, and tracking bound to the
-- objects (renames keep scoring; drops and type changes are refused).
SET search_path = mql_score, public;
\set VERBOSITY default
-- tracking ids appear in PostgreSQL's own messages below: start them at 1
SELECT setval('mql_score.tracked_id_seq', 1, false) IS NOT NULL AS ids_reset;
INSERT INTO models (name, half_life) VALUES ('m', NULL), ('uuid_model', NULL);
INSERT INTO rules (model, event_type, points) VALUES ('m', 'visit', 1), ('m', 'form_fill', 10),
	('uuid_model', 'visit', 1);

CREATE SCHEMA "CRM Data";
CREATE TABLE "CRM Data"."Web Events" ("Contact Id" bigint, "Occurred At" timestamptz, "Kind" text, note text);
CREATE INDEX ON "CRM Data"."Web Events" ("Contact Id");

-- errors: what is not a trackable table, column or type
CREATE VIEW public.v AS SELECT * FROM "CRM Data"."Web Events";
SELECT track('public.v', 'Contact Id', 'Occurred At', 'Kind', model => 'm');
CREATE MATERIALIZED VIEW public.mv AS SELECT * FROM "CRM Data"."Web Events";
SELECT track('public.mv', 'Contact Id', 'Occurred At', 'Kind', model => 'm');
CREATE TEMP TABLE tmp_events (contact_id bigint, at timestamptz, kind text);
SELECT track('tmp_events', 'contact_id', 'at', 'kind', model => 'm');
SELECT track('"CRM Data"."Web Events"', 'contact', 'Occurred At', 'Kind', model => 'm');
SELECT track('"CRM Data"."Web Events"', 'Contact Id', 'Occurred At', 'Kind', model => 'nope');
SELECT track('"CRM Data"."Web Events"', 'Contact Id', 'Occurred At', model => 'm');
SELECT track('"CRM Data"."Web Events"', 'Contact Id', 'Occurred At', 'Kind', 'visit', model => 'm');
SELECT track('"CRM Data"."Web Events"', 'Contact Id', 'Occurred At', event_type => '', model => 'm');
SELECT track('"CRM Data"."Web Events"', 'Contact Id', 'note', 'Kind', model => 'm');
SELECT track('"CRM Data"."Web Events"', 'Occurred At', 'Occurred At', 'Kind', model => 'm');
SELECT track('"CRM Data"."Web Events"', 'Contact Id', 'Occurred At', 'Contact Id', model => 'm');
SELECT track('"CRM Data"."Web Events"', 'Contact Id', 'Occurred At', 'ctid', model => 'm');
SELECT track('no_such_table', 'a', 'b', 'c', model => 'm');
\set VERBOSITY sqlstate
SELECT track('public.v', 'Contact Id', 'Occurred At', 'Kind', model => 'm');
SELECT track('tmp_events', 'contact_id', 'at', 'kind', model => 'm');
SELECT track('"CRM Data"."Web Events"', 'contact', 'Occurred At', 'Kind', model => 'm');
SELECT track('"CRM Data"."Web Events"', 'Contact Id', 'note', 'Kind', model => 'm');
SELECT track('"CRM Data"."Web Events"', 'Contact Id', 'Occurred At', 'Kind', model => 'nope');
\set VERBOSITY default
DROP VIEW public.v;
DROP MATERIALIZED VIEW public.mv;

-- quoted, mixed-case names work; existing rows are scored by track()
INSERT INTO "CRM Data"."Web Events" VALUES (1, '2026-01-01', 'visit', NULL), (1, '2026-01-02', 'visit', NULL);
SELECT track('"CRM Data"."Web Events"', 'Contact Id', 'Occurred At', 'Kind', model => 'm') AS leads_scored;
SELECT model, activity, lead_column, time_column, type_column, event_type FROM tracked_tables;
-- the same table twice for one model: 42710
SELECT track('"CRM Data"."Web Events"', 'Contact Id', 'Occurred At', 'Kind', model => 'm');
\set VERBOSITY sqlstate
SELECT track('"CRM Data"."Web Events"', 'Contact Id', 'Occurred At', 'Kind', model => 'm');
\set VERBOSITY default
-- a model's tables must identify leads the same way: a uuid lead column in an integer model
CREATE TABLE public.uuid_events (lead uuid, at timestamptz, kind text);
SELECT track('public.uuid_events', 'lead', 'at', 'kind', model => 'm');
-- smallint and integer lead columns join a bigint model; a table without index gets a notice
CREATE TABLE public.forms (contact smallint, submitted timestamp, form text);
SELECT track('public.forms', 'contact', 'submitted', event_type => 'form_fill', model => 'm');
-- timestamp (without time zone) columns are read as UTC, whatever the session's TimeZone
SET timezone = 'America/New_York';
INSERT INTO public.forms VALUES (1, '2026-01-03 10:00', 'demo');
RESET timezone;
SELECT lead, events, engagement, last_event_at AT TIME ZONE 'UTC' AS last_event_utc FROM lead_state WHERE model = 'm';
-- a table can be tracked by several models; uuid leads are keyed by their canonical text
SELECT track('public.uuid_events', 'lead', 'at', 'kind', model => 'uuid_model');
INSERT INTO public.uuid_events VALUES ('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '2026-01-01', 'visit');
SELECT model, lead, events FROM lead_state WHERE model = 'uuid_model';
SELECT score_of('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, 'uuid_model') AS by_uuid,
       score_of('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::text, 'uuid_model') AS by_text;

-- renaming the table or its columns keeps scoring
ALTER TABLE "CRM Data"."Web Events" RENAME TO activity;
ALTER TABLE "CRM Data".activity RENAME COLUMN "Contact Id" TO contact_id;
ALTER TABLE "CRM Data".activity RENAME COLUMN "Kind" TO kind;
ALTER SCHEMA "CRM Data" RENAME TO crm;
INSERT INTO crm.activity (contact_id, "Occurred At", kind) VALUES (1, '2026-01-04', 'visit');
SELECT lead, events, engagement FROM lead_state WHERE model = 'm';
SELECT activity, lead_column, time_column, type_column FROM tracked_tables WHERE model = 'm' ORDER BY tracking;
-- adding, dropping and retyping other columns is fine
ALTER TABLE crm.activity ADD COLUMN extra int;
ALTER TABLE crm.activity DROP COLUMN note;
ALTER TABLE crm.activity ALTER COLUMN extra TYPE bigint;
INSERT INTO crm.activity (contact_id, "Occurred At", kind) VALUES (1, '2026-01-05', 'visit');
SELECT lead, events, engagement FROM lead_state WHERE model = 'm';
-- dropping or retyping a tracked column, or dropping the table, is refused
ALTER TABLE crm.activity DROP COLUMN contact_id;
ALTER TABLE crm.activity ALTER COLUMN kind TYPE varchar(20);
ALTER TABLE crm.activity ALTER COLUMN "Occurred At" TYPE timestamp;
DROP TABLE crm.activity;
\set VERBOSITY sqlstate
ALTER TABLE crm.activity DROP COLUMN contact_id;
ALTER TABLE crm.activity ALTER COLUMN kind TYPE varchar(20);
DROP TABLE crm.activity;
\set VERBOSITY default
-- ... unless CASCADE, which untracks (and removes the table's contribution)
ALTER TABLE crm.activity DROP COLUMN kind CASCADE;
SELECT activity FROM tracked_tables WHERE model = 'm';
SELECT lead, events, engagement FROM lead_state WHERE model = 'm';
SELECT tgname FROM pg_trigger WHERE tgrelid = 'crm.activity'::regclass;

-- partitioned tables: partitions present at track() and created or attached later
CREATE TABLE public.pevents (contact bigint, at timestamptz NOT NULL, kind text) PARTITION BY RANGE (at);
CREATE TABLE public.pevents_2025 PARTITION OF public.pevents FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE INDEX ON public.pevents (contact);
INSERT INTO public.pevents VALUES (20, '2025-06-01', 'visit');
SELECT track('public.pevents', 'contact', 'at', 'kind', model => 'm') AS leads_scored;
CREATE TABLE public.pevents_2026 PARTITION OF public.pevents FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE public.pevents_2027 (LIKE public.pevents);
INSERT INTO public.pevents_2027 VALUES (20, '2027-03-01', 'visit');
ALTER TABLE public.pevents ATTACH PARTITION public.pevents_2027 FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
-- through the parent, and straight into a partition
INSERT INTO public.pevents VALUES (20, '2026-02-01', 'visit'), (21, '2025-02-01', 'visit');
INSERT INTO public.pevents_2026 VALUES (20, '2026-03-01', 'visit');
COPY public.pevents FROM STDIN;
21	2026-04-01 00:00:00+00	visit
\.
-- moving a row between partitions
UPDATE public.pevents SET at = '2026-06-01' WHERE contact = 21 AND at = '2025-02-01';
SELECT lead, events, engagement FROM lead_state WHERE model = 'm' AND lead IN ('20', '21') ORDER BY lead;
SELECT c.relname, count(*) AS triggers FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE c.relname LIKE 'pevents%' AND t.tgname LIKE 'mql_score%' GROUP BY 1 ORDER BY 1;
SELECT lead, events, engagement FROM lead_state WHERE model = 'm' AND lead = '20';
-- detaching a partition takes its rows out of the model
ALTER TABLE public.pevents DETACH PARTITION public.pevents_2027;
SELECT lead, events, engagement FROM lead_state WHERE model = 'm' AND lead = '20';
-- dropping a partition removes its rows' contribution
DROP TABLE public.pevents_2025;
SELECT lead, events, engagement FROM lead_state WHERE model = 'm' AND lead = '20';

-- untrack removes the table's triggers, column view and contribution
SELECT untrack('public.pevents', 'm') AS leads_rescored;
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgname LIKE 'mql_score%' AND tgrelid IN
	(SELECT relid FROM pg_partition_tree('public.pevents'));
SELECT lead, events, engagement FROM lead_state WHERE model = 'm' AND lead IN ('20', '21') ORDER BY lead;
SELECT untrack('public.pevents', 'm');
\set VERBOSITY sqlstate
SELECT untrack('public.pevents', 'm');
\set VERBOSITY default
-- a partition of a tracked table cannot be tracked on its own for the same model
SELECT track('public.pevents', 'contact', 'at', 'kind', model => 'm') AS leads_scored;
SELECT track('public.pevents_2026', 'contact', 'at', 'kind', model => 'm');

-- dropping a tracked table with CASCADE untracks it
DROP TABLE public.uuid_events CASCADE;
SELECT model, activity FROM tracked_tables ORDER BY tracking;

SELECT untrack('public.pevents', 'm'), untrack('public.forms', 'm');
DROP TABLE public.pevents, public.pevents_2027, public.forms;
DROP SCHEMA crm CASCADE;
DELETE FROM models WHERE name IN ('m', 'uuid_model');

-- Never silently unscored: a trigger whose tracking this database does not
-- know (copied with its table, as Citus copies triggers onto shards on its
-- workers) raises instead of doing nothing ...
INSERT INTO models (name) VALUES ('copies');
CREATE TABLE public.copied (contact bigint, at timestamptz, kind text);
CREATE TRIGGER mql_score_999_ins AFTER INSERT ON public.copied REFERENCING NEW TABLE AS mql_new
	FOR EACH STATEMENT EXECUTE FUNCTION mql_score._on_insert('999');
INSERT INTO public.copied VALUES (1, now(), 'visit');
CREATE TRIGGER mql_score_leads_999_ins AFTER INSERT ON public.copied REFERENCING NEW TABLE AS mql_new
	FOR EACH STATEMENT EXECUTE FUNCTION mql_score._on_leads_change('999');
DROP TRIGGER mql_score_999_ins ON public.copied;
INSERT INTO public.copied VALUES (1, now(), 'visit');
DROP TRIGGER mql_score_leads_999_ins ON public.copied;
-- ... and track() refuses a Citus distributed table (Citus simulated here by
-- its catalog table; the real thing is tested where Citus is built)
SET allow_system_table_mods = on;
CREATE TABLE pg_catalog.pg_dist_partition (logicalrelid regclass);
RESET allow_system_table_mods;
INSERT INTO pg_catalog.pg_dist_partition VALUES ('public.copied');
SELECT track('public.copied', 'contact', 'at', 'kind', model => 'copies');
SELECT track_leads('public.copied', 'contact', model => 'copies');
DELETE FROM pg_catalog.pg_dist_partition;
SELECT track('public.copied', 'contact', 'at', 'kind', model => 'copies') AS local_tables_still_track;
SELECT untrack('public.copied', 'copies');
SET allow_system_table_mods = on;
DROP TABLE pg_catalog.pg_dist_partition;
RESET allow_system_table_mods;
DROP TABLE public.copied;
DELETE FROM models WHERE name = 'copies';
