-- The funnel family: stage_episodes, funnel, conversion, stage_flow,
-- stage_times, lead_velocity — all read stage_history alone.  Small
-- histories inserted by hand (as a previous tool's history would be), with
-- every answer worked out by hand in the comments above each query.
SET search_path = public, mql_score;
SET timezone = 'UTC';
\set VERBOSITY default
\set SHOW_CONTEXT never

-- SQLSTATE, message and hint of a failing statement, on one line.
CREATE FUNCTION pg_temp.fails(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; hnt text;
BEGIN
	EXECUTE q;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hnt = PG_EXCEPTION_HINT;
	RETURN st || ' ' || msg || coalesce(' | ' || nullif(hnt, ''), '');
END $$;

INSERT INTO models (name) VALUES ('f'), ('g'), ('v');
INSERT INTO stages (model, name, position, min_score) VALUES
	('f', 'lead', 1, 0), ('f', 'mql', 2, 100), ('f', 'sql', 3, NULL),
	('f', 'opportunity', 4, NULL), ('f', 'customer', 5, NULL),
	('g', 'lead', 1, 0), ('g', 'mql', 2, 50),
	('v', 'lead', 1, 0), ('v', 'mql', 2, 50);

-- Model f (all times 2026, 00:00 UTC unless said):
--  L1 lead 01-05, mql 01-10, sql 01-20 (promote), back to mql 02-10
--     (recycle), sql 03-01, customer 04-01
--  L2 lead 01-12, sql 01-13 (a demo request: skips mql), back to lead 01-31
--  L3 lead 02-03, mql 02-04, demoted to lead 02-20 (decay), mql 03-05
--  L4 lead 2025-12-20, mql 01-15
--  L5 imported: mql and sql both at 01-25 12:00 (id orders them), merged
--     away 02-01 (to_stage NULL)
--  L6 'legacy' (a previous tool's stage, not in stages) 2025-11-01, lead
--     03-10, lead again 03-11 (same stage: the stay continues)
--  L7 lead 02-15, legacy 02-16, mql 02-18
-- Model g: L1 lead 01-07, mql 01-08 (same lead key, other model).
INSERT INTO stage_history (model, lead, from_stage, to_stage, score, cause, at) VALUES
	('f', 'L1', NULL, 'lead', 0, 'event', '2026-01-05 00:00+00'),
	('f', 'L1', 'lead', 'mql', 100, 'event', '2026-01-10 00:00+00'),
	('f', 'L1', 'mql', 'sql', 100, 'promote', '2026-01-20 00:00+00'),
	('f', 'L1', 'sql', 'mql', 100, 'recycle', '2026-02-10 00:00+00'),
	('f', 'L1', 'mql', 'sql', 100, 'manual', '2026-03-01 00:00+00'),
	('f', 'L1', 'sql', 'customer', 100, 'manual', '2026-04-01 00:00+00'),
	('f', 'L2', NULL, 'lead', 0, 'event', '2026-01-12 00:00+00'),
	('f', 'L2', 'lead', 'sql', 10, 'promote', '2026-01-13 00:00+00'),
	('f', 'L2', 'sql', 'lead', 10, 'recycle', '2026-01-31 00:00+00'),
	('f', 'L3', NULL, 'lead', 0, 'event', '2026-02-03 00:00+00'),
	('f', 'L3', 'lead', 'mql', 100, 'event', '2026-02-04 00:00+00'),
	('f', 'L3', 'mql', 'lead', 90, 'decay', '2026-02-20 00:00+00'),
	('f', 'L3', 'lead', 'mql', 100, 'event', '2026-03-05 00:00+00'),
	('f', 'L4', NULL, 'lead', 0, 'event', '2025-12-20 00:00+00'),
	('f', 'L4', 'lead', 'mql', 100, 'event', '2026-01-15 00:00+00'),
	('f', 'L5', NULL, 'mql', 100, 'import', '2026-01-25 12:00+00'),
	('f', 'L5', 'mql', 'sql', 100, 'import', '2026-01-25 12:00+00'),
	('f', 'L5', 'sql', NULL, 100, 'merge', '2026-02-01 00:00+00'),
	('f', 'L6', NULL, 'legacy', 0, 'import', '2025-11-01 00:00+00'),
	('f', 'L6', 'legacy', 'lead', 0, 'event', '2026-03-10 00:00+00'),
	('f', 'L6', 'lead', 'lead', 0, 'manual', '2026-03-11 00:00+00'),
	('f', 'L7', NULL, 'lead', 0, 'event', '2026-02-15 00:00+00'),
	('f', 'L7', 'lead', 'legacy', 0, 'import', '2026-02-16 00:00+00'),
	('f', 'L7', 'legacy', 'mql', 100, 'event', '2026-02-18 00:00+00'),
	('g', 'L1', NULL, 'lead', 0, 'event', '2026-01-07 00:00+00'),
	('g', 'L1', 'lead', 'mql', 60, 'event', '2026-01-08 00:00+00');

-------------------------------------------------------------------------
-- stage_episodes: 22 stays in f (L1 6, L2 3, L3 4, L4 2, L5 2, L6 2, L7 3);
-- L1 and L3 re-enter (episode 2); L5's mql stay lasts 0 (same at, id
-- orders); L5's sql stay ends with next_stage NULL (merge); L6's 03-11 row
-- continues its lead stay; legacy has position NULL.
-------------------------------------------------------------------------
SELECT lead, stage, position, episode, entered_at, left_at, next_stage, cause_in, cause_out, duration
FROM stage_episodes WHERE model = 'f' ORDER BY lead, entered_at, position NULLS FIRST;
-- model g is apart
SELECT lead, stage, episode, entered_at, left_at FROM stage_episodes WHERE model = 'g' ORDER BY entered_at;

-------------------------------------------------------------------------
-- funnel
-------------------------------------------------------------------------
-- January: first known-stage entries L1 01-05, L2 01-12, L5 01-25 (L4's was
-- in 2025; L6's legacy entry does not count, its first is lead 03-10).
-- Highest reached: L1 customer, L2 sql (reaches mql by skipping it), L5 sql.
-- lead 3, mql 3, sql 3, opportunity 1 (L1 reached customer), customer 1;
-- of_first 1 1 1 1/3 1/3; of_previous NULL 1 1 1/3 1.
SELECT * FROM funnel('f', '2026-01-01', '2026-02-01');
-- February–March: L3 (top mql), L7 (top mql; legacy ignored), L6 (03-10,
-- top lead): lead 3, mql 2, others 0; of_previous after a 0 is NULL.
SELECT * FROM funnel('f', '2026-02-01', '2026-04-01');
-- everyone, until now(): tops L1 5, L2 3, L3 2, L4 2, L5 3, L6 1, L7 2:
-- lead 7, mql 6, sql 3, opportunity 1, customer 1.
SELECT * FROM funnel('f', '2025-01-01');
-- [since, until) is half-open: L1 entered at 01-05 00:00 exactly: in the
-- second, not the first
SELECT reached FROM funnel('f', '2026-01-01', '2026-01-05') WHERE position = 1;
SELECT reached FROM funnel('f', '2026-01-05', '2026-01-06') WHERE position = 1;
-- an empty period: zeros, shares NULL
SELECT * FROM funnel('f', '2030-01-01', '2030-01-01');
-- model g: L1 lead and mql
SELECT * FROM funnel('g', '2026-01-01');

-------------------------------------------------------------------------
-- conversion
-------------------------------------------------------------------------
-- mql -> sql, cohorts by first mql entry in [01-01, 03-01): L1 01-10, L4
-- 01-15, L5 01-25 12:00 (January); L3 02-04, L7 02-18 (February; L3's
-- second mql entry 03-05 is not its first).  L1 reaches sql 01-20 (10 days),
-- L5 at the same instant, one id later (0), L3, L4, L7 never.
-- January 3 / 2 / 0, rate 2/3, median 5 days, p90 0 + 0.9 * 10 = 9 days;
-- February 2 / 0 / 0, rate 0; total 5 / 2 / 0, rate 0.4, 5 days, 9 days.
SELECT * FROM conversion('f', 'mql', 'sql', '2026-01-01', '2026-03-01');
-- within 5 days: L1 (10 days) is no longer converted; L5 is.  Nothing is
-- pending (every entry + 5 days is long past).  January 3 / 1, 1/3, 0 and 0.
SELECT * FROM conversion('f', 'mql', 'sql', '2026-01-01', '2026-03-01', within => '5 days');
-- within 10 days: reaching exactly at entry + within counts: as without
SELECT * FROM conversion('f', 'mql', 'sql', '2026-01-01', '2026-03-01', within => '10 days');
-- within 100 years: whoever has not converted is too young to judge:
-- January L4 pending, rate 2 / (3 - 1) = 1; February L3, L7 pending, rate
-- NULL (0 / 0); total 5 / 2 / 3, rate 1.
SELECT * FROM conversion('f', 'mql', 'sql', '2026-01-01', '2026-03-01', within => '100 years');
-- weeks start on Monday: L1 01-10 (Sat) -> 01-05, L4 01-15 (Thu) -> 01-12,
-- L5 01-25 (Sun) -> 01-19, L3 02-04 -> 02-02, L7 02-18 -> 02-16
SELECT * FROM conversion('f', 'mql', 'sql', '2026-01-01', '2026-03-01', grain => 'week');
-- days; quarter and year put all five in one cohort (same as the total)
SELECT * FROM conversion('f', 'mql', 'sql', '2026-01-01', '2026-03-01', grain => 'day');
SELECT * FROM conversion('f', 'mql', 'sql', '2026-01-01', '2026-03-01', grain => 'quarter');
SELECT * FROM conversion('f', 'mql', 'sql', '2026-01-01', '2026-03-01', grain => 'year');
-- mql -> customer: only L1 (01-10 -> 04-01: 81 days); opportunity is
-- reached by reaching customer: same answer
SELECT * FROM conversion('f', 'mql', 'customer', '2026-01-01', '2026-03-01');
SELECT * FROM conversion('f', 'mql', 'opportunity', '2026-01-01', '2026-03-01');
-- lead -> mql: L1 (01-05 -> 01-10, 5 days), L2 (skips to sql 01-13: reaches
-- mql, 1 day); L4's first lead entry is in 2025 (not in the cohort).
-- January 2 / 2, rate 1, median 3 days, p90 1 + 0.9 * 4 = 4.6 days.
SELECT * FROM conversion('f', 'lead', 'mql', '2026-01-01', '2026-02-01');
-- an empty cohort: the total row alone
SELECT * FROM conversion('f', 'mql', 'sql', '2030-01-01', '2030-02-01');

-------------------------------------------------------------------------
-- stage_flow: at_start = stays entered before the period and not left
-- before it; entered / left during it; at_end = at_start + entered - left.
-------------------------------------------------------------------------
-- months, January and February:
-- Jan lead 1 (L4) +3 (L1, L2, L2 again 01-31) -3 (L1, L2, L4) = 1
--     mql 0 +3 (L1, L4, L5) -2 (L1, L5) = 1; sql 0 +3 (L1, L2, L5) -1 (L2) = 2
-- Feb lead 1 +3 (L3, L7, L3 again) -2 (L3, L7) = 2
--     mql 1 +3 (L3, L7, L1 again) -1 (L3) = 3; sql 2 +0 -2 (L1, L5) = 0
-- opportunity and customer: zeros
SELECT * FROM stage_flow('f', '2026-01-01', '2026-03-01');
-- days around L5's zero-length mql stay (01-25 12:00); the second day
-- intersects [since, until) and is counted whole:
-- 01-25 lead 0 0 0 0; mql 1 (L4) +1 -1 = 1; sql 2 (L1, L2) +1 = 3
-- 01-26 lead 0; mql 1; sql 3
SELECT * FROM stage_flow('f', '2026-01-25', '2026-01-26 06:00', 'day');
-- weeks: 01-26 lead 0 +1 (L2) = 1; mql 1; sql 3 -2 (L2 01-31, L5 02-01) = 1
--        02-02 lead 1 +1 -1 (L3) = 1; mql 1 +1 (L3) = 2; sql 1
SELECT * FROM stage_flow('f', '2026-01-28', '2026-02-03', 'week');
-- quarters: Q1 lead 1 +7 -6 = 2; mql 0 +7 -4 = 3; sql 0 +4 -3 = 1
--           Q2 lead 2; mql 3; sql 1 -1 = 0; customer +1 = 1
SELECT * FROM stage_flow('f', '2026-02-15', '2026-04-15', 'quarter');
-- the year 2026 (only the year's period, counted whole):
-- lead 1 +7 -6 = 2; mql 0 +7 -4 = 3; sql 0 +4 -4 = 0; customer 0 +1 = 1
SELECT * FROM stage_flow('f', '2026-06-01', '2026-06-02', 'year');
-- since = until: no period intersects an empty range
SELECT count(*) FROM stage_flow('f', '2026-02-01', '2026-02-01');
-- the invariant, everywhere, and at_end = next period's at_start
SELECT count(*) AS rows,
       count(*) FILTER (WHERE at_end <> at_start + entered - "left") AS broken_sum,
       count(*) FILTER (WHERE at_end <> coalesce(next_start, at_end)) AS broken_chain
FROM (SELECT *, lead(at_start) OVER (PARTITION BY stage ORDER BY period) AS next_start
      FROM stage_flow('f', '2025-06-01', '2026-06-01', 'week')) f;

-------------------------------------------------------------------------
-- stage_times over [01-01, 03-01)
-------------------------------------------------------------------------
-- lead: stays that left in the range: L1 5 d, L2 1 d, L4 26 d, L3 1 d (all
--   forward), L7 1 d (to legacy: neither way) -> 5 stays, avg 34/5 = 6.8 d,
--   median 1 d, p90 5 + 0.6 * 21 = 17.6 d; open at 03-01: L2 (since 01-31,
--   29 d), L3 (since 02-20, 9 d) -> 2, median age 19 d; forward 4, back 0
-- mql: L1 10 d (forward), L5 0 (forward), L3 16 d (back) -> avg 26/3 d,
--   median 10 d, p90 10 + 0.8 * 6 = 14.8 d; open at 03-01: L4 45 d, L1 19 d
--   (it leaves at 03-01 exactly: still there just before), L7 11 d -> 3,
--   median 19 d
-- sql: L2 18 d (back), L1 21 d (back), L5 6.5 d (merged: neither) -> avg
--   15 d 4 h, median 18 d, p90 18 + 0.8 * 3 = 20.4 d; open 0 (L1 enters at
--   03-01, not before)
SELECT * FROM stage_times('f', '2026-01-01', '2026-03-01');
-- the whole history until now(): every stay that ended, every open one
-- (L1 customer, L2 lead, L3 mql, L4 mql, L6 lead, L7 mql) -> ages vary with
-- now(), so only the counts
SELECT stage, stays, open, left_forward, left_back FROM stage_times('f', '2020-01-01');

-------------------------------------------------------------------------
-- lead_velocity: the last months calendar months, the current one included
-------------------------------------------------------------------------
-- model v, relative to the current month m0: V1, V2 first enter mql in
-- m-3; V3, V4, V5 in m-1; V6..V9 in m0; V1 re-enters mql in m0 (not a first
-- entry).  Last 3 months: m-2 0 (previous 2, lvr -100); m-1 3 (previous 0,
-- NULL); m0 4 (previous 3, lvr 33.3...).
INSERT INTO stage_history (model, lead, from_stage, to_stage, score, cause, at)
SELECT 'v', l, 'lead', 'mql', 60, 'event', date_trunc('month', now()) - k * interval '1 month' + interval '2 days'
FROM (VALUES ('V1', 3), ('V2', 3), ('V3', 1), ('V4', 1), ('V5', 1),
             ('V6', 0), ('V7', 0), ('V8', 0), ('V9', 0)) x(l, k);
INSERT INTO stage_history (model, lead, from_stage, to_stage, score, cause, at) VALUES
	('v', 'V1', 'mql', 'lead', 10, 'recycle', date_trunc('month', now()) - interval '2 months'),
	('v', 'V1', 'lead', 'mql', 60, 'event', date_trunc('month', now()) + interval '1 day');
SELECT month = (date_trunc('month', now()) - (3 - row_number() OVER (ORDER BY month)) * interval '1 month')::date AS right_month,
       entered, previous, round(lvr::numeric, 6) AS lvr
FROM lead_velocity('v', 'mql', 3);
-- one month; the default twelve (9 first entries in them)
SELECT entered, previous, round(lvr::numeric, 6) AS lvr FROM lead_velocity('v', 'mql', 1);
SELECT count(*), sum(entered), min(month) = (date_trunc('month', now()) - interval '11 months')::date AS starts_right
FROM lead_velocity('v', 'mql');
-- lead in v: only V1's recycle (m-2) is a first entry: m-1 0 (previous 1,
-- lvr -100), m0 0 (previous 0, NULL)
SELECT entered, previous, lvr FROM lead_velocity('v', 'lead', 2);

-------------------------------------------------------------------------
-- periods in the session's time zone (Europe/Berlin: DST on 2026-03-29)
-------------------------------------------------------------------------
SET timezone = 'Europe/Berlin';
-- G2 enters lead at 2026-01-31 23:30 UTC = 02-01 00:30 Berlin, and mql at
-- 03-29 23:30 UTC = 03-30 01:30 Berlin (57 days later)
INSERT INTO stage_history (model, lead, from_stage, to_stage, score, cause, at) VALUES
	('g', 'G2', NULL, 'lead', 0, 'event', '2026-01-31 23:30+00'),
	('g', 'G2', 'lead', 'mql', 60, 'event', '2026-03-29 23:30+00');
-- cohorts January (L1, 1 day) and February (G2, 57 days), in Berlin time
SELECT * FROM conversion('g', 'lead', 'mql', '2026-01-01', '2026-03-01');
-- days 03-28, 03-29 (23 hours long), 03-30: G2 leaves lead and enters mql
-- on 03-30 in Berlin (it would be 03-29 in UTC):
-- lead 1 1 1 | 1 .. 0; mql 1 1 1 | 1 +1 = 2
SELECT * FROM stage_flow('g', '2026-03-28 12:00', '2026-03-30 12:00', 'day');
SET timezone = 'UTC';

-------------------------------------------------------------------------
-- errors
-------------------------------------------------------------------------
SELECT pg_temp.fails($$SELECT * FROM funnel('nope', '2026-01-01')$$);
SELECT pg_temp.fails($$SELECT * FROM funnel(NULL, '2026-01-01')$$);
SELECT pg_temp.fails($$SELECT * FROM funnel('f', NULL)$$);
SELECT pg_temp.fails($$SELECT * FROM funnel('f', '2026-01-01', NULL)$$);
SELECT pg_temp.fails($$SELECT * FROM funnel('f', '2026-02-01', '2026-01-01')$$);
SELECT pg_temp.fails($$SELECT * FROM conversion('f', 'mq', 'sql', '2026-01-01')$$);
SELECT pg_temp.fails($$SELECT * FROM conversion('f', 'mql', 'legacy', '2026-01-01')$$);
SELECT pg_temp.fails($$SELECT * FROM conversion('f', NULL, 'sql', '2026-01-01')$$);
SELECT pg_temp.fails($$SELECT * FROM conversion('f', 'mql', 'sql', '2026-01-01', grain => 'decade')$$);
SELECT pg_temp.fails($$SELECT * FROM conversion('f', 'mql', 'sql', '2026-01-01', grain => NULL)$$);
SELECT pg_temp.fails($$SELECT * FROM conversion('f', 'mql', 'sql', '2026-01-01', within => '-1 day')$$);
SELECT pg_temp.fails($$SELECT * FROM conversion('nope', 'mql', 'sql', '2026-01-01')$$);
SELECT pg_temp.fails($$SELECT * FROM conversion('f', 'mql', 'sql', '2026-03-01', '2026-01-01')$$);
SELECT pg_temp.fails($$SELECT * FROM stage_flow('f', '2026-01-01', now(), 'hour')$$);
SELECT pg_temp.fails($$SELECT * FROM stage_flow('f', '2026-01-01', now(), 'Month')$$);
SELECT pg_temp.fails($$SELECT * FROM stage_flow('f', '2026-03-01', '2026-01-01')$$);
SELECT pg_temp.fails($$SELECT * FROM stage_flow('nope', '2026-01-01')$$);
SELECT pg_temp.fails($$SELECT * FROM stage_times('f', '2026-01-01', NULL)$$);
SELECT pg_temp.fails($$SELECT * FROM stage_times('f', '2026-03-01', '2026-01-01')$$);
SELECT pg_temp.fails($$SELECT * FROM stage_times('nope', '2026-01-01')$$);
SELECT pg_temp.fails($$SELECT * FROM lead_velocity('f', 'mql', 0)$$);
SELECT pg_temp.fails($$SELECT * FROM lead_velocity('f', 'mql', NULL)$$);
SELECT pg_temp.fails($$SELECT * FROM lead_velocity('f', NULL)$$);
SELECT pg_temp.fails($$SELECT * FROM lead_velocity('f', 'legacy')$$);
SELECT pg_temp.fails($$SELECT * FROM lead_velocity('nope', 'mql')$$);
-- a model without stages: the hint says so
INSERT INTO models (name) VALUES ('bare');
SELECT pg_temp.fails($$SELECT * FROM lead_velocity('bare', 'mql')$$);
DELETE FROM models WHERE name = 'bare';

-------------------------------------------------------------------------
-- privileges: the functions read stage_history with the caller's rights
-------------------------------------------------------------------------
SELECT p.proname, p.provolatile, p.proparallel, p.prosecdef,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_execute
FROM pg_proc p
WHERE p.pronamespace = 'mql_score'::regnamespace
  AND p.proname IN ('funnel', 'conversion', 'stage_flow', 'stage_times', 'lead_velocity',
                    '_stage_positions', '_stage_position', '_funnel_check', '_grain_step')
ORDER BY 1;
CREATE ROLE regress_funnel_reader;
CREATE ROLE regress_funnel_nobody;
GRANT SELECT ON stage_history TO regress_funnel_reader;
SET ROLE regress_funnel_reader;
-- a reporting role with SELECT on stage_history: everything works
SELECT stage, reached FROM funnel('f', '2026-01-01', '2026-02-01');
SELECT count(*) FROM stage_episodes WHERE model = 'f';
SELECT entered, converted FROM conversion('f', 'mql', 'sql', '2026-01-01', '2026-03-01') WHERE cohort IS NULL;
SELECT count(*) FROM stage_flow('f', '2026-01-01', '2026-03-01');
SELECT stage, stays FROM stage_times('f', '2026-01-01', '2026-03-01');
SELECT count(*) FROM lead_velocity('v', 'mql');
-- but not the configuration tables behind the stage helper
SELECT pg_temp.fails($$SELECT * FROM stages$$);
RESET ROLE;
SET ROLE regress_funnel_nobody;
-- without it: nothing, not even the model's stages
SELECT pg_temp.fails($$SELECT * FROM funnel('f', '2026-01-01')$$);
SELECT pg_temp.fails($$SELECT * FROM conversion('f', 'mql', 'sql', '2026-01-01')$$);
SELECT pg_temp.fails($$SELECT * FROM stage_flow('f', '2026-01-01')$$);
SELECT pg_temp.fails($$SELECT * FROM stage_times('f', '2026-01-01')$$);
SELECT pg_temp.fails($$SELECT * FROM lead_velocity('v', 'mql')$$);
SELECT pg_temp.fails($$SELECT * FROM stage_episodes$$);
SELECT pg_temp.fails($$SELECT * FROM _stage_positions('f')$$);
SELECT pg_temp.fails($$SELECT * FROM _stage_positions()$$);
-- nor which models exist
SELECT pg_temp.fails($$SELECT * FROM funnel('nope', '2026-01-01')$$);
RESET ROLE;
REVOKE SELECT ON stage_history FROM regress_funnel_reader;
DROP ROLE regress_funnel_reader, regress_funnel_nobody;

-------------------------------------------------------------------------
-- the engine's own history: set_stage and merge_leads write rows the
-- view reads like any other (the merged-away lead's row has to_stage NULL:
-- its stay ends with next_stage NULL; the survivor's mql is episode 2)
-------------------------------------------------------------------------
SELECT set_stage(1, 'mql', 'g'), set_stage(2, 'mql', 'g');
SELECT set_stage(2, 'lead', 'g');
SELECT merge_leads(1, 2, 'g');
SELECT lead, stage, episode, next_stage, cause_in, cause_out FROM stage_episodes
WHERE model = 'g' AND lead IN ('1', '2') ORDER BY lead, entered_at, episode;

-- an index on (model, lead, at, id) serves one lead's history in order
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM stage_history WHERE model = 'f' AND lead = 'L1' ORDER BY at, id;
RESET enable_seqscan;

DELETE FROM models WHERE name IN ('f', 'g', 'v');
SELECT count(*) FROM stage_history WHERE model IN ('f', 'g', 'v');
