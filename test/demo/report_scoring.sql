-- report_scoring.sql — what the scoring engine keeps, read with plain SQL
-- (after scoring_setup.sql): the stage funnel, the top MQLs joined to the
-- CRM's contacts, explain() of one of them, then live INSERTs that move a lead
-- to MQL inside the inserting transaction, with the NOTIFY it sends.
--
-- The sample data ends at 00:00 UTC today and scores are "as of now" with a
-- 30-day half-life, so they depend on the time of day the demo runs (-2.3 %
-- from 00:00 to 24:00); rankings do not (every score decays by the same
-- factor).  Stages were set by track() from the scores at that moment, so a
-- few dozen leads near a threshold (10, 100) land on one side or the other
-- depending on the time of day.  The live lead is chosen by its score at
-- 00:00 UTC today, so it is the same on every run.

SET TimeZone = 'UTC';
\pset footer off
\pset null '-'

\echo
\echo '-- Stage funnel: scored leads per stage of model "default", in stage order'
WITH scored AS (
	SELECT stage, score FROM mql_score.leads WHERE model = 'default'
)
SELECT coalesce(s.name, '(none)') AS stage,
       s.min_score AS "entered at",
       count(l.score) AS leads,
       to_char(100.0 * count(l.score) / (SELECT count(*) FROM scored), 'FM990.0') || ' %' AS "% of scored",
       round(avg(l.score)::numeric, 1) AS "avg score now",
       repeat('#', ceil(50.0 * count(l.score) / (SELECT count(*) FROM scored))::int) AS " "
FROM (SELECT name, position, min_score FROM mql_score.stages WHERE model = 'default'
      UNION ALL SELECT NULL, NULL, NULL) s               -- leads below every stage (score < 0)
LEFT JOIN scored l ON l.stage IS NOT DISTINCT FROM s.name
GROUP BY s.name, s.position, s.min_score
ORDER BY s.position NULLS FIRST;

\echo '-- Top 10 MQLs (mql_score.leads joined to crm.contacts on l.lead = c.id::text)'
SELECT row_number() OVER (ORDER BY l.score DESC, l.lead) AS "#",
       c.id,
       c.first_name || ' ' || c.last_name AS lead,
       c.job_title AS title,
       c.company,
       round(l.score::numeric, 1) AS score,
       l.stage,
       to_char(l.stage_entered_at, 'YYYY-MM-DD HH24:MI') AS "stage since",
       to_char(l.last_event_at, 'YYYY-MM-DD HH24:MI') AS "last event",
       l.events
FROM mql_score.leads l
JOIN crm.contacts c ON l.lead = c.id::text
WHERE l.model = 'default' AND l.stage = 'mql'
ORDER BY l.score DESC, l.lead
LIMIT 10;

-- The top MQL, for explain()
SELECT c.id AS top_id,
       format('-- Why is %s %s an MQL?  mql_score.explain(%s)', c.first_name, c.last_name, c.id) AS top_title
FROM mql_score.leads l JOIN crm.contacts c ON l.lead = c.id::text
WHERE l.model = 'default' AND l.stage = 'mql'
ORDER BY l.score DESC, l.lead
LIMIT 1 \gset

\echo
\echo :top_title
SELECT e.kind, e.rule_id AS rule, e.event_type, r.description AS "rule description",
       e.events AS "events counted", round(e.contribution::numeric, 2) AS "points now"
FROM mql_score.explain(:top_id::bigint) e
LEFT JOIN mql_score.rules r ON r.id = e.rule_id
ORDER BY e.contribution DESC, e.rule_id;

-- explain() and score_of() at the same instant (now() is fixed in a statement)
SELECT sum(e.contribution) AS "sum(contribution)",
       mql_score.score_of(:top_id::bigint) AS "score_of",
       CASE WHEN abs(sum(e.contribution) - mql_score.score_of(:top_id::bigint))
                 <= 1e-9 * greatest(1, abs(mql_score.score_of(:top_id::bigint)))
            THEN 'adds up' ELSE 'MISMATCH' END AS "check"
FROM mql_score.explain(:top_id::bigint) e;

-- Fail the demo if the explanation ever stops adding up to the score.
SET demo.top_id = :'top_id';
DO $$
DECLARE lead bigint := current_setting('demo.top_id')::bigint;
BEGIN
	IF (SELECT abs(sum(contribution) - mql_score.score_of(lead))
	           > 1e-9 * greatest(1, abs(mql_score.score_of(lead)))
	    FROM mql_score.explain(lead)) THEN
		RAISE EXCEPTION 'explain(%) does not add up to score_of(%)', lead, lead;
	END IF;
END $$;

--------------------------------------------------------------------------
-- Live: a lead just below the MQL threshold comes back today.  The triggers
-- score the INSERTs in the inserting transaction; the stage move is
-- NOTIFYed at COMMIT to every session that LISTENs (this one, here).
--------------------------------------------------------------------------

-- The 'lead' whose score at 00:00 UTC today was highest below 90.
SELECT c.id AS live_id,
       format('-- Live: %s %s (%s at %s, contact %s) is close to MQL',
              c.first_name, c.last_name, c.job_title, c.company, c.id) AS live_title
FROM mql_score.leads l JOIN crm.contacts c ON l.lead = c.id::text
WHERE l.model = 'default' AND l.stage = 'lead'
  AND mql_score.score_of(c.id, 'default', date_trunc('day', now())) < 90
ORDER BY mql_score.score_of(c.id, 'default', date_trunc('day', now())) DESC, c.id
LIMIT 1 \gset

\echo
\echo :live_title
SELECT round(mql_score.score_of(:live_id::bigint)::numeric, 2) AS "score now",
       mql_score.stage_of(:live_id::bigint) AS stage,
       to_char(l.last_event_at, 'YYYY-MM-DD HH24:MI') AS "last event",
       l.events
FROM mql_score.leads l WHERE l.model = 'default' AND l.lead = :'live_id';

LISTEN mql_score;

\echo '-- BEGIN; attends today''s webinar (52 minutes), then views pricing twice'
BEGIN;
INSERT INTO crm.webinar_attendance (contact_id, attended_at, webinar, minutes)
VALUES (:live_id, now() - interval '55 minutes',
        'Scoring in Postgres, live (' || to_char(now(), 'YYYY-MM-DD') || ')', 52);
SELECT 'after the webinar' AS "in the transaction",
       round(mql_score.score_of(:live_id::bigint)::numeric, 2) AS score,
       mql_score.stage_of(:live_id::bigint) AS stage;
INSERT INTO crm.web_events (contact_id, anonymous_id, created_at, kind, path, referrer, props, duration_s)
VALUES (:live_id, md5('visitor-' || :live_id)::uuid, now() - interval '40 seconds', 'pricing_view', '/pricing',
        'https://mql-score.example/webinars', '{"device": "desktop"}', 35),
       (:live_id, md5('visitor-' || :live_id)::uuid, now(), 'pricing_view', '/pricing/enterprise',
        'https://mql-score.example/pricing', '{"device": "desktop"}', 140);
SELECT 'after the pricing views' AS "in the transaction",
       round(mql_score.score_of(:live_id::bigint)::numeric, 2) AS score,
       mql_score.stage_of(:live_id::bigint) AS stage;
\echo '-- COMMIT (psql prints the notification this session receives)'
COMMIT;

\echo
\echo '-- ... and asks for a demo: the rule''s promote_to moves the lead to sql'
INSERT INTO crm.form_submissions (contact_id, submitted_at, form, fields)
SELECT id, now(), 'demo_request',
       jsonb_build_object('email', email, 'company', company, 'use_case', 'real-time MQL alerts for sales')
FROM crm.contacts WHERE id = :live_id;

UNLISTEN mql_score;

\echo
SELECT round(mql_score.score_of(:live_id::bigint)::numeric, 2) AS "score now",
       mql_score.stage_of(:live_id::bigint) AS stage,
       to_char(l.last_event_at, 'YYYY-MM-DD HH24:MI') AS "last event",
       l.events
FROM mql_score.leads l WHERE l.model = 'default' AND l.lead = :'live_id';

\echo '-- mql_score.stage_history of contact' :live_id '(latest moves last)'
SELECT to_char(h.at, 'YYYY-MM-DD HH24:MI:SS') AS at,
       coalesce(h.from_stage, '-') || ' -> ' || h.to_stage AS move,
       round(h.score::numeric, 2) AS score,
       h.cause,
       h.rule_id AS rule
FROM (SELECT * FROM mql_score.stage_history
      WHERE model = 'default' AND lead = :'live_id'
      ORDER BY id DESC LIMIT 5) h
ORDER BY h.id;
