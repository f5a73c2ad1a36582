-- Lead lifecycle: fit from the CRM's lead table, manual moves and
-- recycling, merges and erasure, rescoring and decay-driven stage refresh.
SET search_path = public, mql_score;
SET timezone = 'UTC';
\set VERBOSITY default
INSERT INTO models (name, half_life) VALUES ('life', NULL);
INSERT INTO stages (model, name, position, min_score) VALUES
	('life', 'subscriber', 1, 0), ('life', 'lead', 2, 10), ('life', 'mql', 3, 100),
	('life', 'sql', 4, NULL), ('life', 'customer', 5, NULL);
INSERT INTO rules (id, model, event_type, points, max_per_day, once, promote_to) VALUES
	(301, 'life', 'visit', 5, 2, false, NULL),
	(302, 'life', 'webinar', 40, NULL, true, NULL),
	(303, 'life', 'demo', 30, NULL, false, 'sql');
CREATE TABLE contacts (id bigint PRIMARY KEY, email text, title text, employees int, country text);
CREATE TABLE activity (id bigserial PRIMARY KEY, contact bigint, at timestamptz, kind text);
CREATE INDEX ON activity (contact);
INSERT INTO contacts VALUES
	(1, 'ann@acme.com', 'VP Marketing', 500, 'US'),
	(2, 'bob@gmail.com', 'Student', NULL, 'DE'),
	(3, 'cid@rival.io', 'Engineer', 50, 'US'),
	(4, 'dee@big.co', 'CFO', 5000, 'FR');
INSERT INTO activity (contact, at, kind) VALUES (1, '2026-03-01', 'visit'), (2, '2026-03-01', 'visit'),
	(3, '2026-03-01', 'webinar');
SELECT track('activity', 'contact', 'at', 'kind', model => 'life') AS leads_scored;

-- fit rules over the lead table's columns, including negative fit
INSERT INTO fit_rules (id, model, condition, points, description) VALUES
	(401, 'life', 'title ~* ''(VP|Chief|CFO|CEO|Director)''', 20, 'senior title'),
	(402, 'life', 'employees >= 200', 15, 'company size'),
	(403, 'life', 'email LIKE ''%@gmail.com'' OR title = ''Student''', -10, 'consumer or student'),
	(404, 'life', 'split_part(email, ''@'', 2) = ''rival.io''', -100, 'competitor');
SELECT track_leads('contacts', 'id', model => 'life') AS leads_fitted;
SELECT lead, fit, engagement, stage FROM lead_state WHERE model = 'life' ORDER BY lead;
SELECT lead, score_of(lead::bigint, 'life') AS score FROM lead_state WHERE model = 'life' ORDER BY lead;
SELECT kind, rule_id, events, contribution FROM explain(1, 'life') ORDER BY kind, rule_id;
SELECT sum(contribution) = score_of(1, 'life') AS explain_adds_up FROM explain(1, 'life');
-- fit follows the lead's row: insert, update, delete
INSERT INTO contacts VALUES (5, 'eve@corp.com', 'Director of IT', 300, 'UK');
UPDATE contacts SET employees = 10 WHERE id = 1;
UPDATE contacts SET title = 'CEO', employees = 1000 WHERE id = 2;
SELECT lead, fit, stage FROM lead_state WHERE model = 'life' ORDER BY lead;
DELETE FROM contacts WHERE id = 5;
SELECT lead, fit FROM lead_state WHERE model = 'life' AND lead = '5';
-- a contact with no fit and no events gets no state; score_of is its fit (0)
INSERT INTO contacts VALUES (6, 'fay@x.org', 'Engineer', 10, 'US');
SELECT count(*) AS rows_for_6, score_of(6, 'life') AS score, stage_of(6, 'life') AS stage FROM lead_state WHERE model = 'life' AND lead = '6';
-- fit rule errors
INSERT INTO fit_rules (model, condition, points) VALUES ('life', 'headcount > 5', 1);
INSERT INTO fit_rules (model, condition, points) VALUES ('life', 'title', 1);
INSERT INTO fit_rules (model, condition, points) VALUES ('life', 'true', 'NaN');
SELECT track_leads('contacts', 'id', model => 'life');
SELECT track_leads('contacts', 'email', model => 'default');
SELECT untrack_leads('default');
SELECT track_leads('contacts', 'nope', model => 'default');

-- set_stage: any stage, cause manual, with the reason; errors name what is wrong
SELECT set_stage(1, 'customer', 'life', 'signed the contract') AS left_stage;
SELECT set_stage(1, 'nowhere', 'life');
SELECT set_stage(NULL::bigint, 'lead', 'life');
SELECT set_stage(1, 'lead', 'nope');
\set VERBOSITY sqlstate
SELECT set_stage(1, 'nowhere', 'life');
SELECT set_stage(NULL::bigint, 'lead', 'life');
\set VERBOSITY default
-- a lead never scored can be staged by hand
SELECT set_stage(77, 'sql', 'life', 'met at a trade show') AS left_stage;
SELECT stage_of(77, 'life'), score_of(77, 'life');
-- recycle: back to the highest automatic stage the score supports, or a named one
SELECT recycle(77, 'life', 'no budget this year') AS now_in;
SELECT recycle(1, 'life', 'churned', to_stage => 'lead') AS now_in;
SELECT recycle(999, 'life');
SELECT lead, from_stage, to_stage, cause, reason FROM stage_history
WHERE model = 'life' AND cause IN ('manual', 'recycle') ORDER BY id;
-- events still move a manually staged lead up, never down
INSERT INTO activity (contact, at, kind) VALUES (77, '2026-03-02', 'demo');
SELECT stage_of(77, 'life');

-- merge_leads: the survivor is rescored over both leads' events, keeps the higher stage
INSERT INTO activity (contact, at, kind) VALUES (3, '2026-03-02', 'visit'), (4, '2026-03-01', 'webinar'),
	(4, '2026-03-02', 'visit'), (4, '2026-03-02', 'visit');
SELECT set_stage(3, 'sql', 'life');
SELECT lead, engagement, events, stage FROM lead_state WHERE model = 'life' AND lead IN ('3', '4') ORDER BY lead;
SELECT merge_leads(3, 4, 'life', 'duplicate contact') AS rows_moved;
SELECT lead, engagement, events, stage FROM lead_state WHERE model = 'life' AND lead IN ('3', '4') ORDER BY lead;
SELECT count(*) AS rows_of_3 FROM activity WHERE contact = 3;
SELECT rule_id, events, contribution FROM explain(4, 'life') WHERE kind = 'rule' ORDER BY rule_id;
SELECT lead, from_stage, to_stage, cause, reason FROM stage_history WHERE model = 'life' AND cause = 'merge' ORDER BY id;
SELECT merge_leads(4, 4, 'life');

-- forget: derived state, history and skipped rows go; activity rows stay
INSERT INTO activity (contact, at, kind) VALUES (2, NULL, 'visit');
SELECT (SELECT count(*) FROM lead_state WHERE lead = '2') AS state, (SELECT count(*) FROM stage_history WHERE lead = '2') AS history,
       (SELECT count(*) FROM skipped WHERE lead = '2') AS skipped;
SELECT forget(2, 'life') AS rows_erased;
SELECT (SELECT count(*) FROM lead_state WHERE lead = '2') AS state, (SELECT count(*) FROM stage_history WHERE lead = '2') AS history,
       (SELECT count(*) FROM skipped WHERE lead = '2') AS skipped, (SELECT count(*) FROM activity WHERE contact = 2) AS activity_rows;

-- rescore after rule edits: every lead equals a recomputation in plain SQL
UPDATE rules SET points = 7 WHERE id = 301;
UPDATE rules SET once = false WHERE id = 302;
INSERT INTO rules (model, event_type, points) VALUES ('life', 'visit', 1);
INSERT INTO activity (contact, at, kind)
SELECT 100 + g % 37, '2026-01-01'::timestamptz + (g * 7919 % 1000) * interval '1 hour',
       (ARRAY['visit', 'visit', 'visit', 'webinar', 'demo'])[1 + g % 5]
FROM generate_series(1, 2000) g;
CALL rescore('life', batch_size => 10);
CREATE TEMP VIEW reference AS
WITH scored AS (
	SELECT contact::text AS lead, at, kind FROM activity WHERE contact IS NOT NULL AND at IS NOT NULL AND kind IS NOT NULL),
matched AS (
	SELECT s.lead, s.at, r.id, r.points, r.max_per_day, r.once,
	       row_number() OVER (PARTITION BY s.lead, r.id, CASE WHEN r.once THEN NULL ELSE (s.at AT TIME ZONE 'UTC')::date END ORDER BY s.at) AS n
	FROM scored s JOIN rules r ON r.model = 'life' AND r.enabled AND r.event_type = s.kind)
SELECT lead, sum(points) FILTER (WHERE (NOT once OR n = 1) AND (max_per_day IS NULL OR n <= max_per_day)) AS engagement,
       (SELECT count(*) FROM scored s2 WHERE s2.lead = m.lead) AS events
FROM matched m GROUP BY lead;
SELECT count(*) AS leads_compared,
       count(*) FILTER (WHERE abs(s.engagement - coalesce(r.engagement, 0)) > 1e-9 OR s.events <> r.events) AS mismatches
FROM lead_state s JOIN reference r USING (lead) WHERE s.model = 'life';
SELECT model, leads, events > 0 AS counted_events, finished_at IS NOT NULL AS finished, status FROM rescore_runs ORDER BY id;
SELECT rescored_at >= config_changed_at AS up_to_date FROM model_status WHERE model = 'life';
-- a second rescore finds nothing to change (idempotent) and rewrites no row
CREATE TEMP TABLE before_rescore AS SELECT lead, engagement, events, fit, stage, xmin::text AS version FROM lead_state WHERE model = 'life';
CALL rescore('life');
SELECT count(*) AS changed, count(*) FILTER (WHERE s.xmin::text <> b.version) AS rewritten,
       (SELECT count(*) FROM before_rescore) > 0 AS some_leads
FROM lead_state s JOIN before_rescore b USING (lead)
WHERE s.model = 'life' AND ((s.engagement, s.events, s.fit, s.stage) IS DISTINCT FROM (b.engagement, b.events, b.fit, b.stage)
       OR s.xmin::text <> b.version);
-- an interrupted run is resumed by the next one
INSERT INTO rescore_runs (model, queued, status) VALUES ('life', 2, 'running');
INSERT INTO rescore_queue VALUES ('life', '100'), ('life', '101');
CALL rescore('life');
SELECT status, count(*) FROM rescore_runs GROUP BY 1 ORDER BY 1;
SELECT count(*) AS queue_left FROM rescore_queue;
CALL rescore('no_such_model');
CALL rescore('life', batch_size => 0);

-- refresh_stages: decay alone moves stages, and only due leads are read
INSERT INTO models (name, half_life, demote) VALUES ('fade', '1 day', true);
INSERT INTO stages (model, name, position, min_score) VALUES ('fade', 'cold', 1, -50), ('fade', 'warm', 2, 10), ('fade', 'hot', 3, 50);
INSERT INTO rules (model, event_type, points) VALUES ('fade', 'visit', 80), ('fade', 'complaint', -80);
SELECT track('activity', 'contact', 'at', 'kind', model => 'fade') >= 0 AS tracked;
INSERT INTO activity (contact, at, kind) VALUES (500, now() - interval '1 hour', 'visit'), (501, now() - interval '1 hour', 'complaint');
SELECT lead, stage, due_at IS NOT NULL AS has_due,
       due_at BETWEEN now() + interval '15 hours' AND now() + interval '17 hours' AS hot_until_80_halves_to_50
FROM lead_state WHERE model = 'fade' AND lead = '500';
-- pretend the time has come: the lead is due, refresh moves it (cause decay)
UPDATE lead_state SET last_event_at = last_event_at - interval '2 days', due_at = due_at - interval '2 days'
WHERE model = 'fade' AND lead = '500';
SELECT count(*) AS due FROM lead_state WHERE model = 'fade' AND due_at <= now();
CALL refresh_stages('fade');
SELECT lead, stage, round(score::numeric, 3) AS score FROM leads WHERE model = 'fade' AND lead = '500';
SELECT lead, from_stage, to_stage, cause FROM stage_history WHERE model = 'fade' AND cause = 'decay';
SELECT count(*) AS still_due FROM lead_state WHERE model = 'fade' AND due_at <= now();
-- negative engagement decays up: the lead enters an automatic stage by time alone
SELECT lead, stage, due_at BETWEEN now() + interval '14 hours' AND now() + interval '16 hours' AS cold_when_80_fades_to_50
FROM lead_state WHERE model = 'fade' AND lead = '501';
UPDATE lead_state SET last_event_at = last_event_at - interval '2 days', due_at = due_at - interval '2 days'
WHERE model = 'fade' AND lead = '501';
CALL refresh_stages();
SELECT lead, stage FROM lead_state WHERE model = 'fade' AND lead = '501';
-- the due leads are found through the due index, whatever the number of other leads
EXPLAIN (COSTS OFF) SELECT s.lead, s.due_at FROM lead_state s
WHERE s.model = 'fade' AND s.due_at <= now() AND (s.due_at, s.lead) > ('-infinity', '') ORDER BY s.due_at, s.lead LIMIT 1000;
-- the lowest automatic stage has no lower one to decay into: a lead in it is never due
CREATE TABLE floor_events (contact bigint, at timestamptz, kind text);
CREATE INDEX ON floor_events (contact);
INSERT INTO models (name, half_life, demote) VALUES ('floor', '1 day', true);
INSERT INTO stages (model, name, position, min_score) VALUES ('floor', 'lead', 1, 10), ('floor', 'mql', 2, 50);
INSERT INTO rules (model, event_type, points) VALUES ('floor', 'visit', 30);
SELECT track('floor_events', 'contact', 'at', 'kind', model => 'floor') AS tracked;
INSERT INTO floor_events VALUES (1, now() - interval '1 hour', 'visit'), (2, now() - interval '1 hour', 'visit'), (2, now(), 'visit');
SELECT lead, stage, due_at IS NOT NULL AS has_due FROM lead_state WHERE model = 'floor' ORDER BY lead;
SELECT untrack('floor_events', 'floor') AS untracked;
DROP TABLE floor_events;
DELETE FROM models WHERE name = 'floor';

-- recomputations promote like the events they count: track() over rows
-- holding a promoting event, and rescore after a promote_to rule is added;
-- a lead a person moved after its event stays where they put it
CREATE TABLE promo_events (contact bigint, at timestamptz, kind text);
CREATE INDEX ON promo_events (contact);
INSERT INTO models (name, half_life) VALUES ('promo', '30 days');
INSERT INTO stages (model, name, position, min_score) VALUES ('promo', 'lead', 1, 0), ('promo', 'mql', 2, 50), ('promo', 'sql', 3, NULL);
INSERT INTO rules (model, event_type, points, promote_to) VALUES ('promo', 'demo_request', 20, 'sql');
INSERT INTO rules (model, event_type, points) VALUES ('promo', 'visit', 5);
INSERT INTO promo_events VALUES (1, now() - interval '3 days', 'demo_request'), (2, now() - interval '3 days', 'visit'),
	(3, now() - interval '3 days', 'visit'), (4, now() - interval '3 days', 'visit');
SELECT track('promo_events', 'contact', 'at', 'kind', model => 'promo') AS tracked;
SELECT lead, stage FROM lead_state WHERE model = 'promo' ORDER BY lead;
-- sales hands lead 1 back; moves lead 4 to mql before its webinar, lead 3 after
SELECT recycle(1, 'promo', 'not ready') AS now_in;
SELECT set_stage(4, 'mql', 'promo', 'asked for a call') AS left_stage;
INSERT INTO promo_events VALUES (2, now() - interval '1 day', 'webinar'), (3, now() - interval '1 day', 'webinar'),
	(4, now(), 'webinar');
SELECT set_stage(3, 'mql', 'promo', 'asked for a call') AS left_stage;
-- webinars now promote: rescore moves leads 2 and 4, not 3
INSERT INTO rules (model, event_type, points, promote_to) VALUES ('promo', 'webinar', 10, 'sql');
CALL rescore('promo');
SELECT lead, stage FROM lead_state WHERE model = 'promo' ORDER BY lead;
SELECT lead, from_stage, to_stage, cause, r.event_type AS by_rule
FROM stage_history h LEFT JOIN rules r ON r.id = h.rule_id WHERE h.model = 'promo' ORDER BY h.id;
SELECT untrack('promo_events', 'promo') AS untracked;
DROP TABLE promo_events;
DELETE FROM models WHERE name = 'promo';

-- run_maintenance: rescores models whose configuration changed, then refreshes stages
UPDATE rules SET points = 6 WHERE id = 301;
SELECT model FROM model_status WHERE rescored_at IS NULL OR config_changed_at > rescored_at ORDER BY 1;
CALL run_maintenance();
SELECT model FROM model_status WHERE rescored_at IS NULL OR config_changed_at > rescored_at ORDER BY 1;
SELECT engagement FROM lead_state WHERE model = 'life' AND lead = '1';

-- a hostile search_path (operators named like pg_catalog's, ahead of it)
-- changes nothing in the jobs, which commit and so cannot pin it
CREATE SCHEMA hostile;
CREATE FUNCTION hostile.always(text, text) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE FUNCTION hostile.never(int, int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT false';
CREATE OPERATOR hostile.= (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.always);
CREATE OPERATOR hostile.= (LEFTARG = int, RIGHTARG = int, FUNCTION = hostile.never);
UPDATE rules SET points = 5 WHERE id = 301;
SET search_path = hostile, pg_catalog, public, mql_score;
SELECT 'a' = 'b' AS hostile_text_eq, 1 = 1 AS hostile_int_eq;
CALL mql_score.rescore('life');
CALL mql_score.refresh_stages();
CALL mql_score.run_maintenance();
RESET search_path;
SET search_path = public, mql_score;
DROP SCHEMA hostile CASCADE;
SELECT count(*) AS leads_compared,
       count(*) FILTER (WHERE abs(s.engagement - coalesce(r.engagement, 0)) > 1e-9 OR s.events <> r.events) AS mismatches
FROM lead_state s JOIN reference r USING (lead) WHERE s.model = 'life';
SELECT status, count(*) FROM rescore_runs GROUP BY 1 ORDER BY 1;

-- a lead-table statement whose rows spill to disk
SET work_mem = '64kB';
INSERT INTO contacts SELECT 1000 + g, 'x' || g || '@big.co', 'CFO', 1000, 'US' FROM generate_series(1, 3000) g;
SELECT count(*) AS leads, min(fit) = max(fit) AND min(fit) > 0 AS same_positive_fit FROM lead_state WHERE model = 'life' AND lead::int > 1000;
UPDATE contacts SET employees = 10 WHERE id > 1000;
SELECT count(DISTINCT fit) AS fits_after_update FROM lead_state WHERE model = 'life' AND lead::int > 1000;
DELETE FROM contacts WHERE id > 1000;
RESET work_mem;
SELECT count(*) AS leads, sum(fit) AS fit FROM lead_state WHERE model = 'life' AND lead::int > 1000;
-- the deleted contacts keep their history until forgotten (the GDPR path)
SELECT count(*) AS forgotten FROM (SELECT forget(lead::int, 'life') FROM lead_state WHERE model = 'life' AND lead::int > 1000) f;
SELECT count(*) AS left_over FROM lead_state WHERE model = 'life' AND lead::int > 1000;

SELECT untrack('activity', 'life') >= 0, untrack('activity', 'fade') >= 0, untrack_leads('life') >= 0;
SELECT count(*) FILTER (WHERE fit <> 0) AS fits_left FROM lead_state WHERE model = 'life';
DROP VIEW reference;
DROP TABLE activity, contacts;
DELETE FROM models WHERE name IN ('life', 'fade');

-- stage-move causes stay true: a change (a rescore, an UPDATE) moves a lead
-- under its own name only if it changed the lead's score; a lead it left
-- as it was, but that decay has taken across a threshold, moves with cause
-- decay, as refresh_stages would have moved it
CREATE TABLE drift_events (contact bigint, at timestamptz, kind text);
CREATE INDEX ON drift_events (contact);
INSERT INTO models (name, half_life, demote) VALUES ('drift', '1 day', true);
INSERT INTO stages (model, name, position, min_score) VALUES ('drift', 'cold', 1, 0), ('drift', 'warm', 2, 10), ('drift', 'hot', 3, 50);
INSERT INTO rules (id, model, event_type, points) VALUES (701, 'drift', 'visit', 80), (702, 'drift', 'download', 80);
SELECT track('drift_events', 'contact', 'at', 'kind', model => 'drift') AS tracked;
INSERT INTO drift_events VALUES (1, now() - interval '1 hour', 'visit'), (2, now() - interval '1 hour', 'visit'),
	(3, now() - interval '1 hour', 'download'), (6, now() - interval '1 hour', 'webinar');
CALL run_maintenance();
SELECT lead, stage, due_at > now() AS due_later FROM lead_state WHERE model = 'drift' ORDER BY lead;
-- two days pass: the events, and the state they gave, move two days back
SET session_replication_role = replica;
UPDATE drift_events SET at = at - interval '2 days';
UPDATE lead_state SET last_event_at = last_event_at - interval '2 days', due_at = due_at - interval '2 days',
	stage_entered_at = stage_entered_at - interval '2 days' WHERE model = 'drift';
RESET session_replication_role;
SELECT lead, stage, due_at <= now() AS due FROM lead_state WHERE model = 'drift' ORDER BY lead;
-- and the state is still what a recomputation from the rows gives
SELECT s.lead, abs(score_of(s.lead::bigint, 'drift') - e.total) < 1e-9 AS state_is_recomputation
FROM lead_state s, LATERAL (SELECT coalesce(sum(contribution), 0) AS total FROM explain(s.lead::bigint, 'drift')) e
WHERE s.model = 'drift' ORDER BY s.lead;
-- an UPDATE no rule reads leaves lead 2's score alone: decay moves it
UPDATE drift_events SET kind = kind WHERE contact = 2;
-- a rule for webinars (raises lead 6), downloads worth less (lowers leads 3
-- and 5, the latter not due), nothing for visits: lead 1's move is decay's
INSERT INTO drift_events VALUES (5, now() - interval '1 hour', 'download');
INSERT INTO rules (id, model, event_type, points) VALUES (703, 'drift', 'webinar', 60);
UPDATE rules SET points = 20 WHERE id = 702;
SELECT model FROM model_status WHERE config_changed_at > rescored_at ORDER BY 1;
CALL run_maintenance();
SELECT lead, from_stage, to_stage, cause FROM stage_history WHERE model = 'drift' ORDER BY lead::int, id;
-- rescore() alike: lead 7 decayed (decay); lead 8's score is unchanged but
-- its stage's threshold was raised, and it was not due (rescore)
INSERT INTO drift_events VALUES (7, now() - interval '1 hour', 'visit'), (8, now() - interval '1 hour', 'visit');
SET session_replication_role = replica;
UPDATE drift_events SET at = at - interval '2 days' WHERE contact = 7;
UPDATE lead_state SET last_event_at = last_event_at - interval '2 days', due_at = due_at - interval '2 days',
	stage_entered_at = stage_entered_at - interval '2 days' WHERE model = 'drift' AND lead = '7';
RESET session_replication_role;
UPDATE stages SET min_score = 90 WHERE model = 'drift' AND name = 'hot';
CALL rescore('drift');
SELECT lead, from_stage, to_stage, cause FROM stage_history WHERE model = 'drift' AND lead IN ('7', '8') ORDER BY lead::int, id;
-- refresh_stages finds nothing left: the decay moves are the three above
CALL refresh_stages('drift');
SELECT count(*) AS decay_moves FROM stage_history WHERE model = 'drift' AND cause = 'decay';
SELECT untrack('drift_events', 'drift') >= 0 AS untracked;
DROP TABLE drift_events;
DELETE FROM models WHERE name = 'drift';
