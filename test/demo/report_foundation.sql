-- report_foundation.sql — reports built only from the foundation: the
-- `decayed` type, decayed_sum() and decayed_union(), over the raw CRM tables.
-- No triggers, no rules tables: the scoring rules are a CASE expression here.

SET TimeZone = 'UTC';                        -- ISO weeks and dates in UTC, like the data
\pset footer off
\pset null '-'

-- Every activity table as (contact, event type, time, points).  The table
-- shapes differ (time column names, kind column or one kind per table), which
-- is exactly what mql_score.track() will later paper over.
CREATE TEMP VIEW demo_points AS
SELECT contact_id, event_type, at,
       CASE event_type
            WHEN 'page_view'        THEN   1
            WHEN 'pricing_view'     THEN   5
            WHEN 'content_download' THEN   8
            WHEN 'email_open'       THEN   1
            WHEN 'email_click'      THEN   3
            WHEN 'unsubscribe'      THEN -20
            WHEN 'webinar'          THEN  15
            WHEN 'newsletter'       THEN   2
            WHEN 'contact_us'       THEN  20
            WHEN 'demo_request'     THEN  40
            ELSE 0 END::float8 AS points
FROM (
	SELECT contact_id, kind AS event_type, created_at AS at FROM crm.web_events
	UNION ALL
	SELECT contact_id, kind, occurred_at FROM crm.email_events
	UNION ALL
	SELECT contact_id, 'webinar', attended_at FROM crm.webinar_attendance
	UNION ALL
	SELECT contact_id, form, submitted_at FROM crm.form_submissions
) activity;

-- One decayed score per contact (anonymous rows have no lead to score).
CREATE TEMP TABLE demo_scores AS
SELECT contact_id,
       count(*) AS events,
       count(*) FILTER (WHERE event_type = 'pricing_view') AS pricing_views,
       count(*) FILTER (WHERE event_type = 'webinar') AS webinars,
       count(*) FILTER (WHERE event_type = 'demo_request') AS demo_requests,
       sum(points) AS raw_points,
       max(at) AS last_at,
       mql_score.value_at(mql_score.decayed_sum(points, at, '30 days'), now()) AS score
FROM demo_points
WHERE contact_id IS NOT NULL
GROUP BY contact_id;

\echo
\echo '-- Report 1: top 10 leads by decayed engagement score (30-day half-life, as of now)'
SELECT row_number() OVER (ORDER BY s.score DESC, s.contact_id) AS "#",
       c.first_name || ' ' || c.last_name AS lead,
       c.job_title AS title,
       c.company,
       s.events,
       s.pricing_views AS pricing,
       s.webinars,
       s.demo_requests AS demos,
       s.raw_points::int AS "raw points",
       round(s.score::numeric, 1) AS score,
       (current_date - s.last_at::date) || 'd ago' AS "last touch"
FROM demo_scores s JOIN crm.contacts c ON c.id = s.contact_id
ORDER BY s.score DESC, s.contact_id
LIMIT 10;

-- Why decay: the contacts with the most raw points are not all hot any more.
\echo
\echo '-- ... and the 5 contacts with the most raw points: where decay ranks them'
SELECT c.first_name || ' ' || c.last_name AS lead,
       c.company,
       s.raw_points::int AS "raw points",
       round(s.score::numeric, 1) AS score,
       s.decayed_rank AS "rank by score",
       (current_date - s.last_at::date) || 'd ago' AS "last touch"
FROM (SELECT *, rank() OVER (ORDER BY score DESC) AS decayed_rank FROM demo_scores) s
JOIN crm.contacts c ON c.id = s.contact_id
ORDER BY s.raw_points DESC, s.contact_id
LIMIT 5;

-- A rollup a BI tool would keep: one partial decayed_sum per (industry, ISO
-- week).  Weeks are independent, so new weeks append without touching old ones.
-- (The planner may run this in parallel and combine the workers' partial
-- states, so the last digits of the stored values can vary run to run.)
CREATE TEMP TABLE engagement_weekly AS
SELECT c.industry,
       date_trunc('week', p.at) AS week,                -- ISO week (starts Monday)
       count(*) AS events,
       mql_score.decayed_sum(p.points, p.at, '30 days') AS engagement
FROM demo_points p JOIN crm.contacts c ON c.id = p.contact_id
GROUP BY c.industry, date_trunc('week', p.at);

-- Merge the weeks per industry with decayed_union, next to a direct
-- decayed_sum over the raw rows: merging is exact, not an approximation.
CREATE TEMP TABLE engagement_check AS
SELECT r.industry, r.weeks, r.events, n.contacts,
       r.score AS rolled_up, d.score AS direct,
       abs(r.score - d.score) / abs(d.score) AS rel_diff
FROM (SELECT industry, count(*) AS weeks, sum(events) AS events,
             mql_score.value_at(mql_score.decayed_union(engagement), now()) AS score
      FROM engagement_weekly GROUP BY industry) r
JOIN (SELECT c.industry, mql_score.value_at(mql_score.decayed_sum(p.points, p.at, '30 days'), now()) AS score
      FROM demo_points p JOIN crm.contacts c ON c.id = p.contact_id
      GROUP BY c.industry) d USING (industry)
JOIN (SELECT industry, count(*) AS contacts FROM crm.contacts GROUP BY industry) n USING (industry);

\echo
\echo '-- Report 2: engagement by industry, merged from weekly rollup rows with decayed_union'
SELECT industry,
       contacts,
       weeks AS "weekly rows",
       events,
       round(rolled_up::numeric, 1) AS "score now (rollup)",
       round(direct::numeric, 1) AS "score now (raw rows)",
       round((rolled_up / contacts)::numeric, 2) AS "per contact",
       to_char(rel_diff, '9.9EEEE') AS "rel. diff"
FROM engagement_check
ORDER BY rolled_up DESC;

SELECT to_char(max(rel_diff), '9.9EEEE') AS "max relative difference, rollup vs raw rows",
       CASE WHEN max(rel_diff) < 1e-12 THEN 'exact (to rounding)' ELSE 'MISMATCH' END AS verdict
FROM engagement_check;

-- Fail the demo if merging partial aggregates ever stops being exact.
DO $$
BEGIN
	IF (SELECT max(rel_diff) FROM engagement_check) >= 1e-12 THEN
		RAISE EXCEPTION 'decayed_union of weekly rollups differs from decayed_sum over raw rows';
	END IF;
END $$;

\echo
\echo '-- The last 6 weekly rollup rows for Software (value as of the last event of the week)'
SELECT to_char(week, 'IYYY-"W"IW') AS "ISO week",
       to_char(week, 'Mon DD') AS "starts",
       events,
       engagement AS "decayed_sum(points, at, '30 days')",
       round(mql_score.value_at(engagement, now())::numeric, 1) AS "worth now"
FROM (SELECT * FROM engagement_weekly WHERE industry = 'Software' ORDER BY week DESC LIMIT 6) w
ORDER BY week;
