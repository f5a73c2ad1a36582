-- bench/sqlsmith/setup.sql — the database bench/sqlsmith.sh fuzzes: a small
-- CRM that mql_score tracks with every feature switched on, so random SQL
-- reaches the engine from every side (reads, activity writes, config
-- writes, the public functions and the internal helpers).
--
--   crm.contacts          lead table of models b2b and product (fit rules)
--   crm.web_events        type column, text lead ids? no: bigint; tracked by b2b
--   crm.email_events      tracked by b2b and product
--   crm.form_submissions  constant event type per model ('form')
--   crm.app_events        partitioned by month (3 partitions), tracked by product
--   crm.trial_signups     uuid leads, model trials (no decay, demote)
--
-- Run as a superuser; the fuzzing role is created by bench/sqlsmith.sh.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS mql_score;
CREATE SCHEMA crm;

CREATE TABLE crm.contacts (
	id bigint PRIMARY KEY,
	email text NOT NULL,
	job_title text,
	company_size int,
	industry text,
	country char(2)
);
CREATE TABLE crm.web_events (
	id bigserial PRIMARY KEY,
	contact_id bigint,
	created_at timestamptz NOT NULL DEFAULT now(),
	kind text,
	path text,
	duration_s int
);
CREATE INDEX ON crm.web_events (contact_id);
CREATE TABLE crm.email_events (
	id bigserial PRIMARY KEY,
	contact_id bigint,
	occurred_at timestamptz,
	kind text,
	campaign text,
	url text
);
CREATE INDEX ON crm.email_events (contact_id);
CREATE TABLE crm.form_submissions (
	id bigserial PRIMARY KEY,
	contact_id int,
	submitted_at timestamptz NOT NULL DEFAULT now(),
	fields jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX ON crm.form_submissions (contact_id);
CREATE TABLE crm.app_events (
	contact_id bigint,
	at timestamptz NOT NULL,
	kind text NOT NULL,
	feature text
) PARTITION BY RANGE (at);
CREATE TABLE crm.app_events_old PARTITION OF crm.app_events FOR VALUES FROM (MINVALUE) TO ('2026-11-01');
CREATE TABLE crm.app_events_nov PARTITION OF crm.app_events FOR VALUES FROM ('2026-11-01') TO ('2026-12-01');
CREATE TABLE crm.app_events_new PARTITION OF crm.app_events FOR VALUES FROM ('2026-12-01') TO (MAXVALUE);
CREATE INDEX ON crm.app_events (contact_id);
CREATE TYPE crm.trial_kind AS ENUM ('signup', 'activated', 'invited', 'churned');
CREATE TABLE crm.trial_signups (
	id serial PRIMARY KEY,
	visitor uuid,
	at timestamptz,
	kind crm.trial_kind
);
CREATE INDEX ON crm.trial_signups (visitor);

-- Models: a decaying one with the example stages and rules, a product
-- model with demotion and on_error = skip, a non-decaying uuid model.
SELECT mql_score.install_example_model('b2b');
INSERT INTO mql_score.models (name, half_life, demote, notify, on_error, description) VALUES
	('product', '14 days', true, false, 'skip', 'product-led: app usage'),
	('trials', NULL, true, true, 'raise', 'trial funnel, no decay');
INSERT INTO mql_score.stages (model, name, position, min_score) VALUES
	('product', 'visitor', 1, 0), ('product', 'active', 2, 20), ('product', 'pql', 3, 60),
	('product', 'paying', 4, NULL),
	('trials', 'new', 1, 0), ('trials', 'engaged', 2, 5), ('trials', 'converted', 3, NULL);
INSERT INTO mql_score.rules (model, event_type, points, condition, max_per_day, once, promote_to) VALUES
	('product', 'login', 2, NULL, 3, false, NULL),
	('product', 'feature_used', 5, NULL, NULL, false, NULL),
	('product', 'invite_sent', 15, NULL, NULL, true, NULL),
	('product', 'upgrade', 0, NULL, NULL, false, 'paying'),
	('product', 'email_click', 1, NULL, 2, false, NULL),
	('trials', 'signup', 5, NULL, NULL, true, NULL),
	('trials', 'activated', 10, NULL, NULL, false, NULL),
	('trials', 'churned', -20, NULL, NULL, false, NULL);

SELECT mql_score.track('crm.web_events', 'contact_id', 'created_at', type_column => 'kind', model => 'b2b');
SELECT mql_score.track('crm.email_events', 'contact_id', 'occurred_at', type_column => 'kind', model => 'b2b');
SELECT mql_score.track('crm.form_submissions', 'contact_id', 'submitted_at', event_type => 'contact_us', model => 'b2b');
SELECT mql_score.track('crm.app_events', 'contact_id', 'at', type_column => 'kind', model => 'product');
SELECT mql_score.track('crm.email_events', 'contact_id', 'occurred_at', type_column => 'kind', model => 'product');
SELECT mql_score.track('crm.trial_signups', 'visitor', 'at', type_column => 'kind', model => 'trials');

-- Rules bound to tables, with conditions (validated against them).
INSERT INTO mql_score.rules (model, source, event_type, points, condition, max_per_day, once, promote_to) VALUES
	('b2b', 'crm.web_events', 'page_view', 2, $$path LIKE '/docs/%'$$, 5, false, NULL),
	('b2b', 'crm.web_events', 'pricing_view', 10, $$path = '/pricing/enterprise'$$, 1, false, NULL),
	('b2b', 'crm.web_events', 'page_view', -10, $$path = '/careers'$$, NULL, true, NULL),
	('b2b', 'crm.web_events', 'page_view', 1, 'duration_s > 60 AND 100 / duration_s > 0', NULL, false, NULL),
	('b2b', 'crm.email_events', 'email_click', 5, $$url LIKE '%/pricing%'$$, NULL, false, 'mql'),
	('product', 'crm.app_events', 'feature_used', 3, $$feature IN ('api', 'sso')$$, 2, false, 'pql');

SELECT mql_score.track_leads('crm.contacts', 'id', model => 'b2b');
INSERT INTO mql_score.fit_rules (model, condition, points, description) VALUES
	('b2b', $$job_title ~* '(VP|Chief|Head|Director)'$$, 20, 'senior title'),
	('b2b', 'company_size >= 200', 15, 'mid-market and up'),
	('b2b', $$email LIKE '%@gmail.com'$$, -10, 'consumer address'),
	('b2b', $$country IN ('DE', 'FR', 'US')$$, 5, 'served markets');

-- Data: 300 contacts, a few thousand events, some anonymous, some unscorable.
INSERT INTO crm.contacts
SELECT i, 'user' || i || CASE WHEN i % 7 = 0 THEN '@gmail.com' ELSE '@corp' || (i % 40) || '.example' END,
       (ARRAY['VP Sales', 'Engineer', 'Head of Marketing', 'Student', NULL])[1 + i % 5],
       CASE WHEN i % 6 = 0 THEN NULL ELSE (i * 37) % 2000 + 1 END,
       (ARRAY['software', 'retail', 'finance'])[1 + i % 3],
       (ARRAY['DE', 'FR', 'US', 'GB', 'JP'])[1 + i % 5]
FROM generate_series(1, 300) i;

INSERT INTO crm.web_events (contact_id, created_at, kind, path, duration_s)
SELECT CASE WHEN i % 11 = 0 THEN NULL ELSE 1 + (i * 7919) % 300 END,
       timestamptz '2026-12-01 00:00+00' - (i % 97) * interval '7 hours',
       (ARRAY['page_view', 'page_view', 'pricing_view', 'content_download', 'demo_request', NULL])[1 + i % 6],
       (ARRAY['/docs/start', '/pricing/enterprise', '/careers', '/blog/x', '/'])[1 + i % 5],
       (i * 13) % 300
FROM generate_series(1, 3000) i;

INSERT INTO crm.email_events (contact_id, occurred_at, kind, campaign, url)
SELECT 1 + (i * 104729) % 300,
       CASE WHEN i % 50 = 0 THEN 'infinity' ELSE timestamptz '2026-11-20 00:00+00' + (i % 200) * interval '3 hours' END,
       (ARRAY['email_open', 'email_click', 'email_click', 'unsubscribe'])[1 + i % 4],
       'c' || i % 5, CASE WHEN i % 3 = 0 THEN 'https://x.example/pricing' END
FROM generate_series(1, 1500) i;

INSERT INTO crm.form_submissions (contact_id, submitted_at, fields)
SELECT 1 + (i * 31) % 300, timestamptz '2026-11-25 00:00+00' + i * interval '1 hour', jsonb_build_object('topic', 'pricing')
FROM generate_series(1, 120) i;

INSERT INTO crm.app_events (contact_id, at, kind, feature)
SELECT 1 + (i * 17) % 300, timestamptz '2026-10-15 00:00+00' + i * interval '45 minutes',
       (ARRAY['login', 'feature_used', 'invite_sent', 'upgrade', 'login'])[1 + i % 5],
       (ARRAY['api', 'sso', 'reports'])[1 + i % 3]
FROM generate_series(1, 2000) i;

INSERT INTO crm.trial_signups (visitor, at, kind)
SELECT md5((i % 80)::text)::uuid, timestamptz '2026-11-01 00:00+00' + i * interval '5 hours',
       (ARRAY['signup', 'activated', 'invited', 'churned']::crm.trial_kind[])[1 + i % 4]
FROM generate_series(1, 400) i;

-- History: hand moves, recycling, a merge, a rescore and a refresh.
SELECT mql_score.set_stage(5::bigint, 'opportunity', 'b2b', 'call booked');
SELECT mql_score.set_stage(6::bigint, 'customer', 'b2b', 'closed won');
SELECT mql_score.recycle(6::bigint, 'b2b', 'churned');
SELECT mql_score.merge_leads(299::bigint, 298::bigint, 'b2b', 'duplicate');
CALL mql_score.rescore();
CALL mql_score.refresh_stages();
ANALYZE;
