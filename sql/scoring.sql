-- What the triggers do to scores and stages: inserts of every shape,
-- decay, caps in any arrival order, updates, deletes, truncation,
-- unscorable rows, failing conditions, stage moves and the read side.
-- user tables go to public, ahead of mql_score in the path
SET search_path = public, mql_score;
SET timezone = 'UTC';
\set VERBOSITY default

-- a model without decay, so points add up exactly
INSERT INTO models (name, half_life) VALUES ('flat', NULL);
INSERT INTO stages (model, name, position, min_score) VALUES
	('flat', 'subscriber', 1, 0), ('flat', 'lead', 2, 10), ('flat', 'mql', 3, 100),
	('flat', 'sql', 4, NULL), ('flat', 'customer', 5, NULL);
INSERT INTO rules (id, model, event_type, points, condition, max_per_day, once, promote_to) VALUES
	(101, 'flat', 'page_view', 1, NULL, NULL, false, NULL),
	(102, 'flat', 'page_view', 5, 'path LIKE ''/pricing%''', NULL, false, NULL),
	(103, 'flat', 'download', 8, NULL, 2, false, NULL),
	(104, 'flat', 'webinar', 25, NULL, NULL, true, NULL),
	(105, 'flat', 'demo_request', 40, NULL, NULL, false, 'sql'),
	(106, 'flat', 'unsubscribe', -20, NULL, NULL, false, NULL),
	(107, 'flat', 'page_view', 100, 'duration_s / 0 > 1', NULL, false, NULL);
UPDATE rules SET enabled = false WHERE id = 107;
CREATE TABLE events (id serial PRIMARY KEY, contact bigint, at timestamptz, kind text, path text, duration_s int);
CREATE INDEX ON events (contact);
SELECT track('events', 'contact', 'at', 'kind', model => 'flat');

-- single-row inserts, several rules on one event, conditions (NULL path: no match)
INSERT INTO events (contact, at, kind, path) VALUES (1, '2026-03-01 10:00', 'page_view', '/pricing/pro');
INSERT INTO events (contact, at, kind, path) VALUES (1, '2026-03-01 11:00', 'page_view', NULL);
SELECT lead, engagement, events, last_event_at, stage FROM lead_state WHERE model = 'flat' ORDER BY lead;
-- multi-row insert, COPY, and INSERT ... SELECT
INSERT INTO events (contact, at, kind) VALUES (2, '2026-03-02', 'page_view'), (2, '2026-03-03', 'page_view'), (3, '2026-03-01', 'page_view');
COPY events (contact, at, kind, path) FROM STDIN;
2	2026-03-04 00:00:00	page_view	/pricing
3	2026-03-04 00:00:00	download	\N
\.
INSERT INTO events (contact, at, kind) SELECT 4, '2026-03-01'::timestamptz + g * interval '1 hour', 'page_view' FROM generate_series(1, 12) g;
SELECT lead, engagement, events, stage FROM lead_state WHERE model = 'flat' ORDER BY lead;

-- once: only the earliest webinar counts, whatever the arrival order
INSERT INTO events (contact, at, kind) VALUES (5, '2026-03-10', 'webinar');
INSERT INTO events (contact, at, kind) VALUES (5, '2026-03-12', 'webinar');
SELECT engagement, events FROM lead_state WHERE model = 'flat' AND lead = '5';
INSERT INTO events (contact, at, kind) VALUES (5, '2026-03-05', 'webinar');
SELECT engagement, events FROM lead_state WHERE model = 'flat' AND lead = '5';
SELECT rule_id, events, contribution FROM explain(5, 'flat') ORDER BY rule_id;
-- max_per_day 2: the two earliest downloads of each UTC day count
INSERT INTO events (contact, at, kind) VALUES (6, '2026-03-10 12:00', 'download'), (6, '2026-03-10 13:00', 'download');
INSERT INTO events (contact, at, kind) VALUES (6, '2026-03-10 14:00', 'download');
INSERT INTO events (contact, at, kind) VALUES (6, '2026-03-10 09:00', 'download');	-- earlier: displaces 13:00
INSERT INTO events (contact, at, kind) VALUES (6, '2026-03-10 23:59:59', 'download'), (6, '2026-03-11 00:00:00', 'download');	-- next UTC day
SELECT engagement, events FROM lead_state WHERE model = 'flat' AND lead = '6';
SELECT rule_id, events, contribution FROM explain(6, 'flat') ORDER BY rule_id;
-- deleting a counted capped event lets the next one count
DELETE FROM events WHERE contact = 6 AND at = '2026-03-10 09:00';
SELECT engagement, events FROM lead_state WHERE model = 'flat' AND lead = '6';
DELETE FROM events WHERE contact = 5 AND at = '2026-03-05';
SELECT engagement, events FROM lead_state WHERE model = 'flat' AND lead = '5';

-- negative points; promote_to jumps to a stage without min_score
INSERT INTO events (contact, at, kind) VALUES (4, '2026-03-20', 'unsubscribe');
SELECT lead, engagement, stage FROM lead_state WHERE model = 'flat' AND lead = '4';
INSERT INTO events (contact, at, kind) VALUES (2, '2026-03-21', 'demo_request');
SELECT lead, engagement, stage FROM lead_state WHERE model = 'flat' AND lead = '2';
-- stages never go down without demote, nor below a manual stage
DELETE FROM events WHERE contact = 2;
SELECT lead, engagement, events, stage FROM lead_state WHERE model = 'flat' AND lead = '2';
SELECT lead, from_stage, to_stage, score, cause, rule_id FROM stage_history WHERE model = 'flat' ORDER BY id;

-- anonymous rows are ignored; identity resolution scores them when the lead is set
INSERT INTO events (contact, at, kind, path) VALUES (NULL, '2026-03-01', 'page_view', '/pricing'), (NULL, '2026-03-02', 'page_view', NULL);
SELECT count(*) AS leads FROM lead_state WHERE model = 'flat' AND lead = '7';
UPDATE events SET contact = 7 WHERE contact IS NULL;
SELECT lead, engagement, events FROM lead_state WHERE model = 'flat' AND lead = '7';
-- an update that changes nothing the score depends on changes nothing
UPDATE events SET duration_s = 3 WHERE contact = 7;
SELECT lead, engagement, events FROM lead_state WHERE model = 'flat' AND lead = '7';
-- changing the type, the time, the lead, or a condition column rescores
UPDATE events SET kind = 'download' WHERE contact = 7 AND path IS NULL;
UPDATE events SET path = '/pricing/x' WHERE contact = 7 AND kind = 'page_view';
SELECT lead, engagement, events FROM lead_state WHERE model = 'flat' AND lead = '7';
UPDATE events SET contact = 8 WHERE contact = 7 AND kind = 'download';
SELECT lead, engagement, events FROM lead_state WHERE model = 'flat' AND lead IN ('7', '8') ORDER BY lead;

-- rows that cannot be scored are kept and recorded in skipped
INSERT INTO events (contact, at, kind) VALUES (9, NULL, 'page_view'), (9, 'infinity', 'page_view'),
	(9, '-infinity', 'page_view'), (9, '2026-03-01', NULL), (9, '2026-03-02', 'no_rule_for_this');
SELECT count(*) AS rows_kept FROM events WHERE contact = 9;
SELECT lead, engagement, events FROM lead_state WHERE model = 'flat' AND lead = '9';
SELECT source, row_identity, reason, model FROM skipped ORDER BY id;

-- a condition that fails at run time raises an error naming the rule ...
UPDATE rules SET enabled = true WHERE id = 107;
INSERT INTO events (contact, at, kind, duration_s) VALUES (10, '2026-03-01', 'page_view', 5);
\set VERBOSITY sqlstate
INSERT INTO events (contact, at, kind, duration_s) VALUES (10, '2026-03-01', 'page_view', 5);
\set VERBOSITY default
SELECT count(*) AS rows_after_error FROM events WHERE contact = 10;
-- ... or, with on_error = 'skip', records the row in skipped instead
UPDATE models SET on_error = 'skip' WHERE name = 'flat';
INSERT INTO events (contact, at, kind, duration_s) VALUES (10, '2026-03-01', 'page_view', 5), (10, '2026-03-02', 'page_view', NULL);
SELECT lead, engagement, events FROM lead_state WHERE model = 'flat' AND lead = '10';
SELECT row_identity, reason, rule_id FROM skipped WHERE row_identity->>'id' IN (SELECT id::text FROM events WHERE contact = 10) ORDER BY id;
UPDATE rules SET enabled = false WHERE id = 107;
UPDATE models SET on_error = 'raise' WHERE name = 'flat';

-- a rolled-back insert leaves no trace
BEGIN;
INSERT INTO events (contact, at, kind) VALUES (11, '2026-03-01', 'demo_request');
SELECT lead, engagement, stage FROM lead_state WHERE model = 'flat' AND lead = '11';
ROLLBACK;
SELECT count(*) AS after_rollback FROM lead_state WHERE model = 'flat' AND lead = '11';

-- rule edits apply to events inserted after them
UPDATE rules SET points = 2 WHERE id = 101;
INSERT INTO events (contact, at, kind) VALUES (12, '2026-03-01', 'page_view');
SELECT lead, engagement FROM lead_state WHERE model = 'flat' AND lead = '12';
UPDATE rules SET points = 1 WHERE id = 101;

-- the hostile search_path of the inserting session changes nothing
CREATE SCHEMA hostile;
CREATE FUNCTION hostile.textlike(text, text) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR hostile.~~ (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.textlike);
SET search_path = hostile, pg_catalog, public, mql_score;
UPDATE mql_score.rules SET points = 5 WHERE id = 102;	-- the cache is rebuilt under this path
SELECT 'x' LIKE 'y' AS hostile_like_is_active;
INSERT INTO public.events (contact, at, kind, path) VALUES (13, '2026-03-01', 'page_view', '/blog');
SET search_path = public, mql_score;
SELECT lead, engagement FROM lead_state WHERE model = 'flat' AND lead = '13';
DROP SCHEMA hostile CASCADE;

-- decay: a model halving every day, future events, score_of at any time
INSERT INTO models (name, half_life) VALUES ('daily', '1 day');
INSERT INTO stages (model, name, position, min_score) VALUES ('daily', 'warm', 1, 10), ('daily', 'hot', 2, 50);
INSERT INTO rules (model, event_type, points) VALUES ('daily', 'page_view', 16), ('daily', 'download', 64);
SELECT track('events', 'contact', 'at', 'kind', model => 'daily') AS leads_scored;
INSERT INTO events (contact, at, kind) VALUES (20, '2026-03-01', 'page_view'), (20, '2026-03-03', 'page_view');
SELECT lead, engagement, last_event_at FROM lead_state WHERE model = 'daily' AND lead = '20';
SELECT score_of(20, 'daily', '2026-03-03') AS at_last, score_of(20, 'daily', '2026-03-05') AS two_days_later,
       score_of(20, 'daily', '2026-03-02') AS before_last_event_is_clamped;
-- an out-of-order (earlier) event is decayed from its own time
INSERT INTO events (contact, at, kind) VALUES (20, '2026-02-28', 'download');
SELECT lead, engagement, last_event_at FROM lead_state WHERE model = 'daily' AND lead = '20';
SELECT sum(contribution) = score_of(20, 'daily', '2026-03-04') AS explain_adds_up FROM explain(20, 'daily', '2026-03-04');
-- a backfilled event does not promote on a score long decayed; a fresh one does
SELECT stage FROM lead_state WHERE model = 'daily' AND lead = '20';
INSERT INTO events (contact, at, kind) VALUES (21, now() - interval '30 days', 'download');
INSERT INTO events (contact, at, kind) VALUES (22, now(), 'download');
SELECT lead, stage FROM lead_state WHERE model = 'daily' AND lead IN ('21', '22') ORDER BY lead;
-- a future-dated event counts in full until its time comes, and stages use its time
INSERT INTO events (contact, at, kind) VALUES (23, '2099-01-01', 'download');
SELECT lead, stage, score_of(23, 'daily', now()) AS score_now, score_of(23, 'daily', '2099-01-02') AS a_day_after
FROM lead_state WHERE model = 'daily' AND lead = '23';
SELECT untrack('events', 'daily') AS leads_rescored;

-- demote: a model whose stages follow the score down (out of automatic stages only)
INSERT INTO models (name, half_life, demote) VALUES ('follow', NULL, true);
INSERT INTO stages (model, name, position, min_score) VALUES ('follow', 'cold', 1, 0), ('follow', 'warm', 2, 10), ('follow', 'sales', 3, NULL);
INSERT INTO rules (model, event_type, points, promote_to) VALUES ('follow', 'page_view', 1, NULL), ('follow', 'download', 10, NULL),
	('follow', 'unsubscribe', -20, NULL), ('follow', 'demo_request', 0, 'sales');
SELECT track('events', 'contact', 'at', 'kind', model => 'follow') > 0 AS scored_existing;
INSERT INTO events (contact, at, kind) VALUES (30, '2026-03-01', 'download');
INSERT INTO events (contact, at, kind) VALUES (30, '2026-03-02', 'unsubscribe');
INSERT INTO events (contact, at, kind) VALUES (31, '2026-03-01', 'download'), (31, '2026-03-01', 'demo_request');
INSERT INTO events (contact, at, kind) VALUES (31, '2026-03-02', 'unsubscribe');
SELECT lead, engagement, stage FROM lead_state WHERE model = 'follow' AND lead IN ('30', '31') ORDER BY lead;
SELECT lead, from_stage, to_stage, cause FROM stage_history WHERE model = 'follow' AND lead IN ('30', '31') ORDER BY id;
SELECT untrack('events', 'follow') > 0 AS untracked;

-- TRUNCATE removes the table's contributions
SELECT lead, events FROM lead_state WHERE model = 'flat' AND events > 0 ORDER BY lead LIMIT 3;
TRUNCATE events;
SELECT count(*) FILTER (WHERE events > 0) AS leads_with_events, count(*) AS leads,
       count(*) FILTER (WHERE stage IS NOT NULL) AS stages_kept FROM lead_state WHERE model = 'flat';

-- reading: the leads view, score_of / stage_of for known and unknown leads
INSERT INTO events (contact, at, kind, path) VALUES (40, '2026-03-01', 'page_view', '/pricing');
SELECT model, lead, score, fit, stage, events FROM leads WHERE model = 'flat' AND lead = '40';
SELECT score_of(40, 'flat'), stage_of(40, 'flat'), score_of(40::int, 'flat'), score_of('40'::text, 'flat'),
       score_of(999, 'flat') AS unknown_score, stage_of(999, 'flat') AS unknown_stage;
SELECT * FROM explain(999, 'flat');
SELECT score_of(40, 'no_such_model');
SELECT score_of(40.5, 'flat');
SELECT score_of(40, 'flat', 'infinity');
\set VERBOSITY sqlstate
SELECT score_of(40, 'no_such_model');
SELECT score_of(40.5, 'flat');
\set VERBOSITY default
SELECT score_of(NULL::bigint, 'flat') IS NULL AS null_lead;
-- the leads view joins a CRM table on an index
CREATE TABLE contacts (id bigint PRIMARY KEY, name text);
INSERT INTO contacts SELECT g, 'contact ' || g FROM generate_series(1, 1000) g;
INSERT INTO events (contact, at, kind) SELECT g, '2026-03-01', 'page_view' FROM generate_series(41, 1000) g;
ANALYZE contacts, lead_state;
EXPLAIN (COSTS OFF) SELECT c.name, l.score FROM contacts c JOIN leads l ON l.model = 'flat' AND l.lead = c.id::text WHERE c.id = 40;
SELECT c.name, l.score, l.stage FROM contacts c JOIN leads l ON l.model = 'flat' AND l.lead = c.id::text WHERE c.id = 40;

-- statements whose transition rows spill to disk (beyond work_mem)
SET work_mem = '64kB';
INSERT INTO events (contact, at, kind) SELECT 5000 + g % 100, '2026-04-01'::timestamptz + g * interval '1 minute', 'page_view'
FROM generate_series(1, 10000) g;
UPDATE events SET at = at - interval '1 second' WHERE contact >= 5000;
DELETE FROM events WHERE contact >= 5050;
RESET work_mem;
SELECT count(*) AS leads, sum(events) AS events, sum(engagement) AS engagement
FROM lead_state WHERE model = 'flat' AND lead::int >= 5000;

-- new state and history rows are written in bulk (1,000 at a time); a
-- DBA's row trigger on stage_history still fires for every move
INSERT INTO events (contact, at, kind) SELECT 6000 + g, '2026-04-02', 'download' FROM generate_series(1, 1200) g;
SELECT count(*) AS new_leads, count(*) FILTER (WHERE stage = 'subscriber') AS subscribers,
       (SELECT count(*) FROM stage_history WHERE model = 'flat' AND lead::int > 6000) AS history_rows
FROM lead_state WHERE model = 'flat' AND lead::int > 6000;
CREATE TABLE moves_seen (lead text, to_stage text);
CREATE FUNCTION note_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO moves_seen VALUES (NEW.lead, NEW.to_stage);
	RETURN NULL;
END $$;
CREATE TRIGGER note_move AFTER INSERT ON stage_history FOR EACH ROW EXECUTE FUNCTION note_move();
INSERT INTO events (contact, at, kind) SELECT 8000 + g, '2026-04-02', 'download' FROM generate_series(1, 1200) g;
SELECT count(*) AS moves_seen, count(DISTINCT lead) AS leads, min(to_stage), max(to_stage) FROM moves_seen;
DROP TRIGGER note_move ON stage_history;
DROP FUNCTION note_move();
DROP TABLE moves_seen;

SELECT untrack('events', 'flat') > 0 AS untracked;
DROP TABLE events, contacts;
DELETE FROM models WHERE name IN ('flat', 'daily', 'follow');
