-- bench/scoring/schema.sql — the objects of the scoring benchmark
-- (bench/scoring.sh): the event distribution, four identical activity
-- tables, the mql_score model, and the two hand-written PL/pgSQL
-- alternatives a DBA would write instead (a ROW trigger and a statement
-- trigger with a transition table), each with its own state tables.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE EXTENSION IF NOT EXISTS mql_score;
CREATE SCHEMA bench;

--------------------------------------------------------------------------
-- The event distribution, shared by the COPY data file and pgbench.  The
-- functions are simple SQL expressions the planner inlines (text || int
-- is only stable: paths concatenate int::text).
-- r: uniform 1..10000 (event type), s: uniform 1..100 (path and
-- source), u: uniform [0,1) (duration).
--------------------------------------------------------------------------

-- page_view 60%, email_open 15%, email_click 7%, content_download 4%,
-- video_play 4%, webinar 2%, form_submit 2.5%, newsletter_signup 1.5%,
-- unsubscribe 0.5%, demo_request 0.3%, session_start 3.15%, NULL 0.05%
CREATE FUNCTION bench.event_kind(r int) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE
		WHEN r <= 6000 THEN 'page_view'
		WHEN r <= 7500 THEN 'email_open'
		WHEN r <= 8200 THEN 'email_click'
		WHEN r <= 8600 THEN 'content_download'
		WHEN r <= 9000 THEN 'video_play'
		WHEN r <= 9200 THEN 'webinar'
		WHEN r <= 9450 THEN 'form_submit'
		WHEN r <= 9600 THEN 'newsletter_signup'
		WHEN r <= 9650 THEN 'unsubscribe'
		WHEN r <= 9680 THEN 'demo_request'
		WHEN r <= 9995 THEN 'session_start'
	END	-- else NULL: a broken tracker; the row cannot be scored
$$;

CREATE FUNCTION bench.event_path(r int, s int) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE
		WHEN r <= 6000 THEN CASE	-- page views: 10% pricing, 20% docs, 40% blog
			WHEN s <= 8 THEN '/pricing'
			WHEN s <= 10 THEN '/pricing/enterprise'
			WHEN s <= 30 THEN '/docs/page-' || s::text
			WHEN s <= 70 THEN '/blog/post-' || s::text
			WHEN s <= 85 THEN '/'
			ELSE '/features/f-' || s::text END
		WHEN r <= 8200 THEN '/email/campaign-' || (s % 20)::text
		WHEN r <= 8600 THEN CASE WHEN s <= 50 THEN '/whitepapers/wp-' || s::text ELSE '/ebooks/eb-' || s::text END
		WHEN r <= 9000 THEN '/videos/v-' || s::text
		WHEN r <= 9200 THEN NULL
		WHEN r <= 9450 THEN CASE WHEN s <= 40 THEN '/contact' WHEN s <= 70 THEN '/newsletter' ELSE '/event-signup' END
		WHEN r <= 9600 THEN '/newsletter'
	END
$$;

-- page views: exponential, mean 25 s (30% last 30 s or more); webinars up
-- to an hour; videos up to 10 minutes; other events have no duration
CREATE FUNCTION bench.event_duration(r int, u float8) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE
		WHEN r <= 6000 THEN floor(-25 * ln(1 - u))::int
		WHEN r BETWEEN 8601 AND 9000 THEN floor(u * 600)::int
		WHEN r BETWEEN 9001 AND 9200 THEN floor(u * 3600)::int
	END
$$;

-- STABLE, like jsonb_build_object: a function whose volatility matches its
-- body is inlined into the INSERT, instead of being parsed on every call
CREATE FUNCTION bench.event_props(s int, session bigint) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT jsonb_build_object(
		'utm_source', (ARRAY['google', 'linkedin', 'newsletter', 'direct', 'partner'])[1 + s % 5],
		'session', to_hex(session * 2654435761 % 4294967296))
$$;

--------------------------------------------------------------------------
-- Activity tables: the floor (no trigger), mql_score, the DBA's row
-- trigger, the DBA's statement trigger.
--------------------------------------------------------------------------

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['events_floor', 'events_mql', 'events_row', 'events_set'] LOOP
		EXECUTE format($f$
			CREATE TABLE bench.%1$I (
				id bigserial PRIMARY KEY,
				contact_id bigint,
				created_at timestamptz,
				kind text,
				path text,
				duration_s int,
				props jsonb
			);
			CREATE INDEX ON bench.%1$I (contact_id);
		$f$, t);
	END LOOP;
END $$;

--------------------------------------------------------------------------
-- (b) mql_score: model, stages, 12 rules, tracking
--------------------------------------------------------------------------

INSERT INTO mql_score.models (name, half_life, demote, notify, description)
VALUES ('bench', '30 days', false, true, 'scoring benchmark model');
INSERT INTO mql_score.stages (model, name, position, min_score) VALUES
	('bench', 'subscriber', 1, 0),
	('bench', 'lead', 2, 10),
	('bench', 'mql', 3, 100),
	('bench', 'sql', 4, NULL),
	('bench', 'customer', 5, NULL);

-- The rules, in the form the DBA alternatives and the verification read
-- them too (their conditions are hard-coded there: see bench.rule_holds).
CREATE TABLE bench.rules (
	id int PRIMARY KEY,
	kind text NOT NULL,
	points float8 NOT NULL,
	condition text,
	cap int,				-- max_per_day, or 1 for once
	once boolean NOT NULL DEFAULT false,
	promote_pos int			-- stage position a counted event promotes to
);
INSERT INTO bench.rules (id, kind, points, condition, cap, once, promote_pos) VALUES
	(1, 'page_view', 1, NULL, 10, false, NULL),
	(2, 'page_view', 10, $$path LIKE '/pricing%'$$, 3, false, NULL),
	(3, 'page_view', 3, 'duration_s >= 30', 5, false, NULL),
	(4, 'email_open', 1, NULL, 5, false, NULL),
	(5, 'email_click', 5, NULL, NULL, false, NULL),
	(6, 'content_download', 15, NULL, NULL, false, NULL),
	(7, 'content_download', 10, $$path LIKE '/whitepapers/%'$$, NULL, false, NULL),
	(8, 'webinar', 25, 'duration_s >= 600', NULL, false, NULL),
	(9, 'form_submit', 30, $$path = '/contact'$$, NULL, false, NULL),
	(10, 'newsletter_signup', 5, NULL, 1, true, NULL),
	(11, 'demo_request', 50, NULL, NULL, false, 4),
	(12, 'unsubscribe', -30, NULL, NULL, false, NULL);

INSERT INTO mql_score.rules (id, model, event_type, points, condition, max_per_day, once, promote_to)
SELECT id, 'bench', kind, points, condition,
       CASE WHEN NOT once THEN cap END, once,
       CASE promote_pos WHEN 4 THEN 'sql' END
FROM bench.rules ORDER BY id;

SELECT mql_score.track('bench.events_mql', lead_column => 'contact_id', time_column => 'created_at',
                       type_column => 'kind', model => 'bench');

-- The rule conditions, hard-coded (the DBA's triggers and the check).
CREATE FUNCTION bench.rule_holds(rule int, path text, duration_s int) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE rule
		WHEN 2 THEN path LIKE '/pricing%'
		WHEN 3 THEN duration_s >= 30
		WHEN 7 THEN path LIKE '/whitepapers/%'
		WHEN 8 THEN duration_s >= 600
		WHEN 9 THEN path = '/contact'
		ELSE true
	END
$$;

--------------------------------------------------------------------------
-- State tables of the DBA alternatives (one set per alternative)
--------------------------------------------------------------------------

CREATE SCHEMA bench_row;
CREATE SCHEMA bench_set;
DO $$
DECLARE
	s text;
BEGIN
	FOREACH s IN ARRAY ARRAY['bench_row', 'bench_set'] LOOP
		EXECUTE format($f$
			-- engagement: decayed sum as of last_event_at (same math as mql_score)
			CREATE TABLE %1$I.score (
				lead bigint PRIMARY KEY,
				engagement float8 NOT NULL,
				last_event_at timestamptz NOT NULL,
				events bigint NOT NULL,
				stage text,
				stage_pos int NOT NULL DEFAULT 0,
				stage_entered_at timestamptz
			) WITH (fillfactor = 80);
			-- counted events per (lead, capped rule, UTC day); once rules use day -infinity
			CREATE TABLE %1$I.cap (
				lead bigint,
				rule int,
				day date,
				n int NOT NULL,
				PRIMARY KEY (lead, rule, day)
			);
			CREATE TABLE %1$I.history (
				id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
				lead bigint NOT NULL,
				from_stage text,
				to_stage text NOT NULL,
				score float8 NOT NULL,
				cause text NOT NULL,
				rule_id int,
				at timestamptz NOT NULL DEFAULT now()
			);
			CREATE INDEX ON %1$I.history (lead, at);
			CREATE TABLE %1$I.skipped (
				id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
				source regclass NOT NULL,
				row_id bigint,
				reason text NOT NULL,
				at timestamptz NOT NULL DEFAULT now()
			);
		$f$, s);
	END LOOP;
END $$;

--------------------------------------------------------------------------
-- (c) the DBA's ROW trigger: per row, the rules hard-coded, a counter
-- table for the caps, an upsert of the lead's score, stage moves.
--------------------------------------------------------------------------

CREATE FUNCTION bench_row.score_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	utc_day date;
	pts float8 := 0;
	promote int := 0;
	promote_rule int;
	eng float8;
	last_at timestamptz;
	cur_stage text;
	cur_pos int;
	score_now float8;
	reached int;
	target int;
	stage_names CONSTANT text[] := ARRAY['subscriber', 'lead', 'mql', 'sql', 'customer'];
BEGIN
	IF NEW.contact_id IS NULL THEN
		RETURN NULL;			-- anonymous
	END IF;
	IF NEW.kind IS NULL OR NEW.created_at IS NULL OR NOT isfinite(NEW.created_at) THEN
		INSERT INTO bench_row.skipped (source, row_id, reason)
		VALUES (TG_RELID::regclass, NEW.id, 'event type or time missing');
		RETURN NULL;
	END IF;
	utc_day := (NEW.created_at AT TIME ZONE 'UTC')::date;

	CASE NEW.kind
	WHEN 'page_view' THEN
		INSERT INTO bench_row.cap AS c VALUES (NEW.contact_id, 1, utc_day, 1)
		ON CONFLICT (lead, rule, day) DO UPDATE SET n = c.n + 1 WHERE c.n < 10;
		IF FOUND THEN pts := pts + 1; END IF;
		IF NEW.path LIKE '/pricing%' THEN
			INSERT INTO bench_row.cap AS c VALUES (NEW.contact_id, 2, utc_day, 1)
			ON CONFLICT (lead, rule, day) DO UPDATE SET n = c.n + 1 WHERE c.n < 3;
			IF FOUND THEN pts := pts + 10; END IF;
		END IF;
		IF NEW.duration_s >= 30 THEN
			INSERT INTO bench_row.cap AS c VALUES (NEW.contact_id, 3, utc_day, 1)
			ON CONFLICT (lead, rule, day) DO UPDATE SET n = c.n + 1 WHERE c.n < 5;
			IF FOUND THEN pts := pts + 3; END IF;
		END IF;
	WHEN 'email_open' THEN
		INSERT INTO bench_row.cap AS c VALUES (NEW.contact_id, 4, utc_day, 1)
		ON CONFLICT (lead, rule, day) DO UPDATE SET n = c.n + 1 WHERE c.n < 5;
		IF FOUND THEN pts := pts + 1; END IF;
	WHEN 'email_click' THEN
		pts := 5;
	WHEN 'content_download' THEN
		pts := 15;
		IF NEW.path LIKE '/whitepapers/%' THEN pts := pts + 10; END IF;
	WHEN 'webinar' THEN
		IF NEW.duration_s >= 600 THEN pts := 25; END IF;
	WHEN 'form_submit' THEN
		IF NEW.path = '/contact' THEN pts := 30; END IF;
	WHEN 'newsletter_signup' THEN
		INSERT INTO bench_row.cap VALUES (NEW.contact_id, 10, '-infinity', 1)
		ON CONFLICT (lead, rule, day) DO NOTHING;
		IF FOUND THEN pts := 5; END IF;
	WHEN 'demo_request' THEN
		pts := 50;
		promote := 4;
		promote_rule := 11;
	WHEN 'unsubscribe' THEN
		pts := -30;
	ELSE
		NULL;					-- a type no rule scores: counts as an event
	END CASE;

	INSERT INTO bench_row.score AS s (lead, engagement, last_event_at, events)
	VALUES (NEW.contact_id, pts, NEW.created_at, 1)
	ON CONFLICT (lead) DO UPDATE SET
		engagement = CASE WHEN EXCLUDED.last_event_at >= s.last_event_at
			THEN s.engagement * 0.5 ^ (extract(epoch FROM EXCLUDED.last_event_at - s.last_event_at)::float8 / 2592000)
			     + EXCLUDED.engagement
			ELSE s.engagement
			     + EXCLUDED.engagement * 0.5 ^ (extract(epoch FROM s.last_event_at - EXCLUDED.last_event_at)::float8 / 2592000)
			END,
		last_event_at = greatest(s.last_event_at, EXCLUDED.last_event_at),
		events = s.events + 1
	RETURNING s.engagement, s.last_event_at, s.stage, s.stage_pos INTO eng, last_at, cur_stage, cur_pos;

	-- the score as of the later of now and the event
	score_now := eng * 0.5 ^ (greatest(extract(epoch FROM now() - last_at)::float8, 0) / 2592000);
	reached := CASE WHEN score_now >= 100 THEN 3 WHEN score_now >= 10 THEN 2 WHEN score_now >= 0 THEN 1 ELSE 0 END;
	target := greatest(reached, promote);
	IF target > cur_pos THEN
		UPDATE bench_row.score SET stage = stage_names[target], stage_pos = target, stage_entered_at = now()
		WHERE lead = NEW.contact_id;
		INSERT INTO bench_row.history (lead, from_stage, to_stage, score, cause, rule_id)
		VALUES (NEW.contact_id, cur_stage, stage_names[target], score_now,
		        CASE WHEN promote > reached THEN 'promote' ELSE 'event' END,
		        CASE WHEN promote > reached THEN promote_rule END);
		PERFORM pg_notify('bench_row', json_build_object('lead', NEW.contact_id, 'from', cur_stage,
		                  'to', stage_names[target], 'score', score_now)::text);
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER score_event AFTER INSERT ON bench.events_row
	FOR EACH ROW EXECUTE FUNCTION bench_row.score_event();

--------------------------------------------------------------------------
-- (d) the DBA's statement trigger: the same, set-wise over the transition
-- table — one INSERT ... SELECT ... GROUP BY lead ... ON CONFLICT DO
-- UPDATE for the scores (with the cap counters and stage moves in the
-- same statement), NOTIFY for at most 100 moves, then a summary.
--------------------------------------------------------------------------

CREATE FUNCTION bench_set.score_events() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	nmoves bigint;
	nnotified bigint;
BEGIN
	INSERT INTO bench_set.skipped (source, row_id, reason)
	SELECT TG_RELID::regclass, n.id, 'event type or time missing'
	FROM new_rows n
	WHERE n.contact_id IS NOT NULL
	  AND (n.kind IS NULL OR n.created_at IS NULL OR NOT isfinite(n.created_at));

	WITH ev AS (
		SELECT n.contact_id AS lead, n.created_at AS at, n.kind, n.path, n.duration_s
		FROM new_rows n
		WHERE n.contact_id IS NOT NULL AND n.kind IS NOT NULL AND isfinite(n.created_at)
	), hits AS (			-- (event, rule) pairs whose condition holds
		SELECT e.lead, e.at, r.id AS rule, r.points, r.cap, r.promote_pos,
		       CASE WHEN r.once THEN date '-infinity' ELSE (e.at AT TIME ZONE 'UTC')::date END AS day
		FROM ev e JOIN bench.rules r ON r.kind = e.kind
		WHERE CASE r.id
			WHEN 2 THEN e.path LIKE '/pricing%'
			WHEN 3 THEN e.duration_s >= 30
			WHEN 7 THEN e.path LIKE '/whitepapers/%'
			WHEN 8 THEN e.duration_s >= 600
			WHEN 9 THEN e.path = '/contact'
			ELSE true END
	), capped AS (			-- capped hits, earliest first, after what the day already counted
		SELECT h.*, row_number() OVER (PARTITION BY h.lead, h.rule, h.day ORDER BY h.at) + coalesce(c.n, 0) AS nth
		FROM hits h LEFT JOIN bench_set.cap c ON c.lead = h.lead AND c.rule = h.rule AND c.day = h.day
		WHERE h.cap IS NOT NULL
	), counted AS (
		SELECT lead, at, rule, points, promote_pos FROM hits WHERE cap IS NULL
		UNION ALL
		SELECT lead, at, rule, points, promote_pos FROM capped WHERE nth <= cap
	), cap_counts AS (
		INSERT INTO bench_set.cap AS c (lead, rule, day, n)
		SELECT lead, rule, day, count(*) FROM capped WHERE nth <= cap GROUP BY lead, rule, day
		ON CONFLICT (lead, rule, day) DO UPDATE SET n = c.n + EXCLUDED.n
	), per_lead AS (
		SELECT lead, max(at) AS last_at, count(*) AS events FROM ev GROUP BY lead
	), delta AS (			-- per lead: points decayed to its latest new event
		SELECT l.lead, l.last_at, l.events,
		       coalesce(sum(c.points * 0.5 ^ (extract(epoch FROM l.last_at - c.at)::float8 / 2592000)), 0) AS pts,
		       coalesce(max(c.promote_pos), 0) AS promote, max(c.rule) FILTER (WHERE c.promote_pos IS NOT NULL) AS promote_rule
		FROM per_lead l LEFT JOIN counted c ON c.lead = l.lead
		GROUP BY l.lead, l.last_at, l.events
	), merged AS (			-- with the lead's stored state
		SELECT d.lead, d.promote, d.promote_rule, d.last_at AS new_last,
		       s.stage AS cur_stage, coalesce(s.stage_pos, 0) AS cur_pos, s.stage_entered_at,
		       greatest(s.last_event_at, d.last_at) AS last_at,
		       coalesce(s.events, 0) + d.events AS events,
		       CASE WHEN s.lead IS NULL THEN d.pts
		            WHEN d.last_at >= s.last_event_at
		            THEN s.engagement * 0.5 ^ (extract(epoch FROM d.last_at - s.last_event_at)::float8 / 2592000) + d.pts
		            ELSE s.engagement + d.pts * 0.5 ^ (extract(epoch FROM s.last_event_at - d.last_at)::float8 / 2592000)
		       END AS engagement
		FROM delta d LEFT JOIN bench_set.score s ON s.lead = d.lead
	), scored AS (			-- the score as of the later of now and the latest new event
		SELECT m.*, m.engagement * 0.5 ^ (greatest(extract(epoch FROM now() - m.last_at)::float8, 0) / 2592000) AS score
		FROM merged m
	), staged AS (
		SELECT s.*, greatest(s.reached, s.promote) AS target
		FROM (SELECT scored.*, CASE WHEN score >= 100 THEN 3 WHEN score >= 10 THEN 2 WHEN score >= 0 THEN 1 ELSE 0 END AS reached
		      FROM scored) s
	), upserted AS (
		INSERT INTO bench_set.score AS s (lead, engagement, last_event_at, events, stage, stage_pos, stage_entered_at)
		SELECT lead, engagement, last_at, events,
		       CASE WHEN target > cur_pos THEN (ARRAY['subscriber', 'lead', 'mql', 'sql', 'customer'])[target] ELSE cur_stage END,
		       greatest(target, cur_pos),
		       CASE WHEN target > cur_pos THEN now() ELSE stage_entered_at END
		FROM staged
		ON CONFLICT (lead) DO UPDATE SET
			engagement = EXCLUDED.engagement, last_event_at = EXCLUDED.last_event_at,
			events = EXCLUDED.events, stage = EXCLUDED.stage, stage_pos = EXCLUDED.stage_pos,
			stage_entered_at = EXCLUDED.stage_entered_at
	), moved AS (
		INSERT INTO bench_set.history (lead, from_stage, to_stage, score, cause, rule_id)
		SELECT lead, cur_stage, (ARRAY['subscriber', 'lead', 'mql', 'sql', 'customer'])[target], score,
		       CASE WHEN promote > reached THEN 'promote' ELSE 'event' END,
		       CASE WHEN promote > reached THEN promote_rule END
		FROM staged WHERE target > cur_pos
		RETURNING lead, from_stage, to_stage, score
	)
	SELECT (SELECT count(*) FROM moved),
	       (SELECT count(*) FROM (SELECT pg_notify('bench_set', json_build_object('lead', lead, 'from', from_stage,
	                                               'to', to_stage, 'score', score)::text)
	                              FROM moved LIMIT 100) n)
	INTO nmoves, nnotified;
	IF nmoves > nnotified THEN
		PERFORM pg_notify('bench_set', json_build_object('moves', nmoves, 'notified', nnotified)::text);
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER score_events AFTER INSERT ON bench.events_set
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION bench_set.score_events();

--------------------------------------------------------------------------
-- Verification: a lead's engagement, latest event and event count
-- recomputed in SQL from the rows of one activity table.
--------------------------------------------------------------------------

CREATE FUNCTION bench.recompute(activity regclass, lead bigint,
	OUT engagement float8, OUT last_event_at timestamptz, OUT events bigint)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format($q$
		WITH ev AS (
			SELECT created_at AS at, kind, path, duration_s FROM %s
			WHERE contact_id = $1 AND kind IS NOT NULL AND isfinite(created_at)
		), hits AS (
			SELECT e.at, r.points, r.cap,
			       row_number() OVER (PARTITION BY r.id, CASE WHEN r.once THEN date '-infinity'
			                          ELSE (e.at AT TIME ZONE 'UTC')::date END ORDER BY e.at) AS nth
			FROM ev e JOIN bench.rules r ON r.kind = e.kind
			WHERE bench.rule_holds(r.id, e.path, e.duration_s)
		), last AS (SELECT max(at) AS at, count(*) AS events FROM ev)
		SELECT (SELECT coalesce(sum(h.points * 0.5 ^ (extract(epoch FROM l.at - h.at)::float8 / 2592000)), 0)
		        FROM hits h WHERE h.cap IS NULL OR h.nth <= h.cap),
		       l.at, l.events
		FROM last l
	$q$, activity) INTO engagement, last_event_at, events USING lead;
END $$;
