-- scoring_setup.sql — attach the scoring engine to the sample CRM: a model
-- (the example B2B model plus rules bound to particular tables and columns),
-- then mql_score.track() on every activity table, which scores the ~250,000
-- rows already there.  From then on the triggers keep scores and stages right
-- on every INSERT, UPDATE and DELETE (report_scoring.sql shows it live).

SET TimeZone = 'UTC';
\pset footer off
\pset null '-'

-- The example model: engagement halves every 30 days; stages subscriber (0),
-- lead (10), mql (100), then sql / opportunity / customer, entered only by a
-- rule's promote_to or by hand; one rule per event type, with caps (page views
-- at most 10 a day, the newsletter sign-up once, ...) and demo requests
-- promoted straight to sql.  (It returns void; \gset keeps the empty result
-- off the output.)
SELECT mql_score.install_example_model() \gset
UPDATE mql_score.models
SET description = 'sample CRM: example B2B model plus rules on pages, webinar minutes, assets and topics'
WHERE name = 'default';

-- Rules bound to one table (source) may test that table's columns.  They add
-- to the example rules above: an event earns the points of every enabled rule
-- whose event type matches and whose condition holds.
INSERT INTO mql_score.rules (source, event_type, points, condition, max_per_day, once, description) VALUES
	('crm.web_events', 'pricing_view', 10, $$path = '/pricing/enterprise'$$, 1, false,
	 'enterprise pricing: a big-deal signal (once a day)'),
	('crm.web_events', 'pricing_view', 5, $$path = '/pricing/compare'$$, 1, false,
	 'compared plans (once a day)'),
	('crm.web_events', 'page_view', 2, $$path LIKE '/docs/%'$$, 5, false,
	 'read the docs: technical evaluation (at most 5 a day)'),
	('crm.web_events', 'page_view', -10, $$path = '/careers'$$, NULL, true,
	 'looked at jobs: maybe a candidate, not a buyer (once)'),
	('crm.web_events', 'content_download', 10,
	 $$path IN ('/resources/template-scoring-rules', '/resources/whitepaper-in-database-scoring')$$, NULL, false,
	 'bottom-of-funnel asset: building rules, in-database scoring'),
	('crm.webinar_attendance', 'webinar', 15, 'minutes >= 45', NULL, false,
	 'stayed for most of the webinar'),
	('crm.webinar_attendance', 'webinar', -15, 'minutes < 10', NULL, false,
	 'left within 10 minutes'),
	('crm.email_events', 'email_click', 5, $$url LIKE '%/pricing%'$$, NULL, false,
	 'clicked through to pricing from an email'),
	('crm.form_submissions', 'contact_us', 20, $$fields->>'topic' = 'pricing'$$, NULL, false,
	 'asked sales about pricing');

\echo
\echo '-- Model "default": stages'
SELECT position, name AS stage, min_score AS "entered at score", description
FROM mql_score.stages WHERE model = 'default' ORDER BY position;

\echo '-- ... and rules (source - = every tracked table)'
SELECT id, coalesce(source::text, '-') AS source, event_type, points,
       coalesce(condition, '-') AS condition,
       concat_ws(', ', CASE WHEN max_per_day IS NOT NULL THEN max_per_day || '/day' END,
                       CASE WHEN once THEN 'once' END,
                       CASE WHEN promote_to IS NOT NULL THEN '-> ' || promote_to END) AS "caps, promotion"
FROM mql_score.rules WHERE model = 'default' ORDER BY id;

-- Track every activity table.  Each track() scores that table's rows and
-- re-stages their leads; stages never move down in this model, so a lead
-- keeps a stage it reached before a later table's negative points arrive.
-- Email goes first: its unsubscribes (-30) are the big negative points (the
-- small negative web and webinar rules still leave ~100 leads one stage above
-- what their final score earns).
CREATE TEMP TABLE demo_tracking (activity regclass, leads_scored bigint, started timestamptz, took interval);

SELECT clock_timestamp() AS started \gset
SELECT mql_score.track('crm.email_events', lead_column => 'contact_id',
                       time_column => 'occurred_at', type_column => 'kind') AS leads \gset
INSERT INTO demo_tracking VALUES ('crm.email_events', :leads, :'started', clock_timestamp() - :'started');

SELECT clock_timestamp() AS started \gset
SELECT mql_score.track('crm.web_events', lead_column => 'contact_id',
                       time_column => 'created_at', type_column => 'kind') AS leads \gset
INSERT INTO demo_tracking VALUES ('crm.web_events', :leads, :'started', clock_timestamp() - :'started');

-- every row of this table is a webinar attendance: a constant event type
SELECT clock_timestamp() AS started \gset
SELECT mql_score.track('crm.webinar_attendance', lead_column => 'contact_id',
                       time_column => 'attended_at', event_type => 'webinar') AS leads \gset
INSERT INTO demo_tracking VALUES ('crm.webinar_attendance', :leads, :'started', clock_timestamp() - :'started');

-- the form name is the event type
SELECT clock_timestamp() AS started \gset
SELECT mql_score.track('crm.form_submissions', lead_column => 'contact_id',
                       time_column => 'submitted_at', type_column => 'form') AS leads \gset
INSERT INTO demo_tracking VALUES ('crm.form_submissions', :leads, :'started', clock_timestamp() - :'started');

-- rows per table; rows with a NULL contact are anonymous visitors, not scored
CREATE TEMP VIEW demo_rows AS
SELECT 'crm.email_events'::regclass AS activity, count(*) AS n, count(contact_id) AS with_lead FROM crm.email_events
UNION ALL SELECT 'crm.web_events', count(*), count(contact_id) FROM crm.web_events
UNION ALL SELECT 'crm.webinar_attendance', count(*), count(contact_id) FROM crm.webinar_attendance
UNION ALL SELECT 'crm.form_submissions', count(*), count(contact_id) FROM crm.form_submissions;

\echo
\echo '-- mql_score.track() scored the rows already there (in the order tracked)'
SELECT coalesce(t.activity::text, 'total') AS "table",
       to_char(sum(r.n), 'FM999,999') AS "rows",
       to_char(sum(r.n - r.with_lead), 'FM999,999') AS anonymous,
       -- a lead with rows in several tables is rescored by each track()
       to_char(CASE WHEN grouping(t.activity) = 0 THEN sum(t.leads_scored)
                    ELSE (SELECT count(*) FROM mql_score.leads WHERE model = 'default') END,
               'FM999,999') AS "leads scored",
       to_char(extract(epoch FROM sum(t.took)), 'FM990.00') || ' s' AS took
FROM demo_tracking t JOIN demo_rows r USING (activity)
GROUP BY ROLLUP (t.activity)
ORDER BY t.activity IS NULL, min(t.started);

SELECT to_char(sum(events), 'FM999,999') AS "scored events (mql_score.leads)",
       (SELECT count(*) FROM mql_score.skipped) AS "rows skipped (mql_score.skipped)"
FROM mql_score.leads WHERE model = 'default';
