-- crm_data.sql — a deterministic sample CRM: 12,000 contacts at 1,500 companies
-- and ~250,000 activity rows over the 180 days before today (UTC midnight).
--
-- Deterministic: one seed, no parallelism, and every random() call happens in a
-- scan whose order is fixed (generate_series, or a temp table scanned with a
-- LATERAL generate_series); joins only ever combine draws already stored, and
-- rows are inserted in time order so ids are stable too.  Everything is
-- relative to the anchor date_trunc('day', now()), so a run on another day
-- gives the same rows shifted in time (and the same ranking of leads).
--
-- Realism: engagement follows a power law (most contacts light, a few very
-- engaged), page views dwarf everything else, demo requests are rare and come
-- from well-fitting, engaged, mostly recently active people, emails cluster at
-- campaign sends and stop after an unsubscribe, webinars happen on fixed dates,
-- weekend traffic is low, ~5% of web events are anonymous.

SET TimeZone = 'UTC';                        -- the anchor is a UTC midnight
SET max_parallel_workers_per_gather = 0;     -- parallel workers would reorder random() calls
SET synchronize_seqscans = off;              -- every scan starts at block 0
SELECT setseed(0.42) AS seeded \gset

CREATE TEMP TABLE g_anchor AS SELECT date_trunc('day', now()) AS t0;

--------------------------------------------------------------------------
-- Weighted choices: g_weights lists (choice, label, weight in percent);
-- g_bag expands each choice into 100 slots, so a uniform u picks a label with
-- an equality join on slot = floor(u * 100) (fast hash joins, no functions).
--------------------------------------------------------------------------
CREATE TEMP TABLE g_weights (choice text, label text, pct int, ord serial);
INSERT INTO g_weights (choice, label, pct) VALUES
	-- company headquarters
	('country', 'US', 36), ('country', 'GB', 12), ('country', 'DE', 10), ('country', 'FR', 7),
	('country', 'CA', 6), ('country', 'NL', 5), ('country', 'IN', 5), ('country', 'AU', 4),
	('country', 'ES', 3), ('country', 'SE', 3), ('country', 'BR', 3), ('country', 'IT', 2),
	('country', 'IE', 2), ('country', 'SG', 1), ('country', 'PL', 1),
	-- how the contact first came in
	('lead_source', 'organic_search', 30), ('lead_source', 'paid_search', 14),
	('lead_source', 'newsletter', 14), ('lead_source', 'content', 12),
	('lead_source', 'webinar', 8), ('lead_source', 'event', 7), ('lead_source', 'referral', 6),
	('lead_source', 'outbound', 6), ('lead_source', 'partner', 3),
	-- free mailboxes used instead of a work address
	('free_mail', 'gmail.com', 55), ('free_mail', 'outlook.com', 20), ('free_mail', 'yahoo.com', 10),
	('free_mail', 'hotmail.com', 8), ('free_mail', 'proton.me', 4), ('free_mail', 'icloud.com', 3),
	-- pages viewed (pricing and downloads have their own lists)
	('page_view', '/', 16), ('page_view', '/product', 9), ('page_view', '/features/lead-scoring', 7),
	('page_view', '/features/score-decay', 5), ('page_view', '/features/lifecycle-stages', 4),
	('page_view', '/integrations', 5), ('page_view', '/integrations/salesforce', 3),
	('page_view', '/customers', 4), ('page_view', '/customers/northwind-case-study', 2),
	('page_view', '/blog/what-is-an-mql', 8), ('page_view', '/blog/lead-scoring-models-compared', 5),
	('page_view', '/blog/score-decay-explained', 4), ('page_view', '/blog/mql-to-sql-handoff', 3),
	('page_view', '/blog/postgres-for-marketing-ops', 4), ('page_view', '/blog/recycling-leads', 2),
	('page_view', '/docs/getting-started', 5), ('page_view', '/docs/rules', 3),
	('page_view', '/docs/sql-reference', 3), ('page_view', '/about', 2), ('page_view', '/careers', 2),
	('page_view', '/security', 2), ('page_view', '/webinars', 2),
	('pricing_view', '/pricing', 70), ('pricing_view', '/pricing/compare', 18),
	('pricing_view', '/pricing/enterprise', 12),
	('content_download', '/resources/ebook-lead-scoring-playbook', 30),
	('content_download', '/resources/report-state-of-b2b-funnels-2026', 25),
	('content_download', '/resources/template-scoring-rules', 20),
	('content_download', '/resources/checklist-mql-definition', 15),
	('content_download', '/resources/whitepaper-in-database-scoring', 10),
	('referrer', NULL, 38), ('referrer', 'https://www.google.com/', 34),
	('referrer', 'https://www.bing.com/', 4), ('referrer', 'https://www.linkedin.com/', 12),
	('referrer', 'https://news.ycombinator.com/', 3), ('referrer', 'https://www.reddit.com/', 3),
	('referrer', 'https://duckduckgo.com/', 3), ('referrer', 'https://github.com/', 3),
	('device', 'desktop', 72), ('device', 'mobile', 24), ('device', 'tablet', 4),
	-- links clicked in emails
	('email_link', '/blog/what-is-an-mql', 18), ('email_link', '/blog/score-decay-explained', 14),
	('email_link', '/webinars', 16), ('email_link', '/resources/ebook-lead-scoring-playbook', 14),
	('email_link', '/pricing', 12), ('email_link', '/product', 10),
	('email_link', '/customers/northwind-case-study', 8), ('email_link', '/docs/getting-started', 8),
	-- what demo requesters say they want
	('use_case', 'replace HubSpot lead scoring', 25), ('use_case', 'score leads in our Postgres CRM', 35),
	('use_case', 'real-time MQL alerts for sales', 25), ('use_case', 'explainable scores for RevOps', 15);

DO $$
DECLARE bad text;
BEGIN
	SELECT string_agg(choice || '=' || total, ', ') INTO bad
	FROM (SELECT choice, sum(pct) AS total FROM g_weights GROUP BY choice) s WHERE total <> 100;
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'weights must add up to 100: %', bad;
	END IF;
END $$;

CREATE TEMP TABLE g_bag AS
SELECT w.choice, s.slot, w.label
FROM (SELECT choice, label, pct,
             sum(pct) OVER (PARTITION BY choice ORDER BY ord) - pct AS first_slot
      FROM g_weights) w,
     generate_series(w.first_slot, w.first_slot + w.pct - 1) AS s(slot);
ALTER TABLE g_bag ADD PRIMARY KEY (choice, slot);

-- Job titles with seniority, department and affinity (0..1: how much this
-- role cares about lead scoring; drives intent, pricing views, demo requests).
CREATE TEMP TABLE g_titles (title text, seniority text, department text, affinity float8, pct int, ord serial);
INSERT INTO g_titles (title, seniority, department, affinity, pct) VALUES
	('Chief Executive Officer',           'executive', 'executive', 0.45, 2),
	('Founder & CEO',                     'executive', 'executive', 0.55, 2),
	('Chief Marketing Officer',           'executive', 'marketing', 0.80, 2),
	('Chief Revenue Officer',             'executive', 'sales',     0.75, 1),
	('Chief Technology Officer',          'executive', 'engineering', 0.35, 1),
	('VP Marketing',                      'vp',        'marketing', 0.90, 3),
	('VP Sales',                          'vp',        'sales',     0.60, 2),
	('VP Revenue Operations',             'vp',        'revenue_operations', 1.00, 1),
	('VP Growth',                         'vp',        'marketing', 0.85, 1),
	('Director of Demand Generation',     'director',  'marketing', 1.00, 3),
	('Director of Marketing Operations',  'director',  'marketing', 1.00, 3),
	('Head of Growth',                    'director',  'marketing', 0.85, 2),
	('Head of CRM',                       'director',  'marketing', 0.95, 2),
	('Sales Director',                    'director',  'sales',     0.55, 2),
	('Director of Data Engineering',      'director',  'data',      0.45, 1),
	('Marketing Operations Manager',      'manager',   'marketing', 1.00, 7),
	('Demand Generation Manager',         'manager',   'marketing', 0.90, 5),
	('Revenue Operations Manager',        'manager',   'revenue_operations', 1.00, 4),
	('Sales Operations Manager',          'manager',   'sales',     0.80, 3),
	('Product Marketing Manager',         'manager',   'marketing', 0.55, 3),
	('CRM Manager',                       'manager',   'marketing', 0.95, 3),
	('Data Engineering Manager',          'manager',   'data',      0.40, 2),
	('Marketing Specialist',              'individual_contributor', 'marketing', 0.50, 6),
	('Marketing Coordinator',             'individual_contributor', 'marketing', 0.40, 4),
	('Sales Development Representative',  'individual_contributor', 'sales', 0.30, 6),
	('Account Executive',                 'individual_contributor', 'sales', 0.25, 4),
	('Data Analyst',                      'individual_contributor', 'data', 0.35, 6),
	('Data Engineer',                     'individual_contributor', 'data', 0.30, 4),
	('Software Engineer',                 'individual_contributor', 'engineering', 0.15, 6),
	('Database Administrator',            'individual_contributor', 'engineering', 0.25, 3),
	('Content Marketer',                  'individual_contributor', 'marketing', 0.30, 3),
	('Business Analyst',                  'individual_contributor', 'operations', 0.30, 3);
CREATE TEMP TABLE g_title_bag AS
SELECT s.slot, t.title, t.seniority, t.department, t.affinity
FROM (SELECT *, sum(pct) OVER (ORDER BY ord) - pct AS first_slot FROM g_titles) t,
     generate_series(t.first_slot, t.first_slot + t.pct - 1) AS s(slot);
DO $$ BEGIN
	IF (SELECT count(*) FROM g_title_bag) <> 100 THEN RAISE EXCEPTION 'title weights must add up to 100'; END IF;
END $$;

--------------------------------------------------------------------------
-- Companies: 61 name stems x 25 industry words give 1,525 distinct names
-- (61 and 25 are coprime); idx 1 is the largest company.
--------------------------------------------------------------------------
CREATE TEMP TABLE g_company_draws AS
SELECT i, random() AS u_size, random() AS u_country, random() AS u_tld
FROM generate_series(0, 1499) AS i;

CREATE TEMP TABLE g_companies AS
WITH stems AS (
	SELECT ARRAY['Northwind', 'Blue Harbor', 'Acorn', 'Summit', 'Redwood', 'Silverline', 'Brightpath',
	             'Ironbridge', 'Clearwater', 'Granite', 'Lumen', 'Atlas', 'Beacon', 'Cedar', 'Copperleaf',
	             'Crescent', 'Evergreen', 'Falcon', 'Foxglove', 'Harbor Point', 'Helix', 'Horizon',
	             'Juniper', 'Keystone', 'Lakeshore', 'Maple', 'Meridian', 'Nimbus', 'Northstar', 'Oakridge',
	             'Orion', 'Pinnacle', 'Polaris', 'Quarry', 'Riverbend', 'Sapphire', 'Sequoia', 'Skyline',
	             'Solstice', 'Starling', 'Stonegate', 'Sunrise', 'Tidewater', 'Trailhead', 'Vantage',
	             'Vertex', 'Willow', 'Zephyr', 'Alder', 'Bluebird', 'Cobalt', 'Driftwood', 'Ember', 'Fjord',
	             'Glacier', 'Hawthorne', 'Indigo', 'Kestrel', 'Larkspur', 'Mosaic', 'Pioneer'] AS stem,
	       ARRAY['Analytics', 'Software', 'Cloud', 'Labs', 'Capital', 'Bank', 'Insurance', 'Health',
	             'Medical', 'Pharma', 'Manufacturing', 'Industries', 'Robotics', 'Retail', 'Outfitters',
	             'Markets', 'Media', 'Studios', 'Logistics', 'Freight', 'Telecom', 'Networks',
	             'Consulting', 'Partners', 'Energy'] AS word,
	       ARRAY['Software', 'Software', 'Software', 'Software', 'Financial Services', 'Financial Services',
	             'Financial Services', 'Healthcare', 'Healthcare', 'Healthcare', 'Manufacturing',
	             'Manufacturing', 'Manufacturing', 'Retail', 'Retail', 'Retail', 'Media', 'Media',
	             'Logistics', 'Logistics', 'Telecommunications', 'Telecommunications',
	             'Professional Services', 'Professional Services', 'Energy'] AS industry
), named AS (
	SELECT d.i, stems.stem[1 + d.i % 61] || ' ' || stems.word[1 + d.i % 25] AS name,
	       stems.industry[1 + d.i % 25] AS industry,
	       -- log-uniform-ish sizes skewed small: 3 .. ~30,000 employees
	       round(10 ^ (0.5 + 4.0 * d.u_size ^ 1.6))::int AS size,
	       c.label AS country, d.u_tld
	FROM g_company_draws d CROSS JOIN stems
	JOIN g_bag c ON c.choice = 'country' AND c.slot = floor(d.u_country * 100)::int
)
SELECT row_number() OVER (ORDER BY size DESC, i) AS idx, name, industry, size, country,
       lower(regexp_replace(name, '[^A-Za-z]', '', 'g')) ||
       CASE WHEN u_tld < 0.5 THEN '.com'
            ELSE CASE country WHEN 'US' THEN '.com' WHEN 'GB' THEN '.co.uk' WHEN 'AU' THEN '.com.au'
                              WHEN 'BR' THEN '.com.br' ELSE '.' || lower(country) END
       END AS domain
FROM named;
DO $$ BEGIN
	IF (SELECT count(DISTINCT domain) FROM g_companies) <> 1500 THEN RAISE EXCEPTION 'company names must be distinct'; END IF;
END $$;

--------------------------------------------------------------------------
-- Contacts: one row of uniform draws per person, then everything derived.
--------------------------------------------------------------------------
CREATE TEMP TABLE g_people AS
SELECT s AS seq,
       random() AS u_created, random() AS u_company, random() AS u_first,
       random() AS u_last, random() AS u_title, random() AS u_persona, random() AS u_free_mail,
       random() AS u_free_domain, random() AS u_fmt, random() AS u_source, random() AS u_customer,
       random() AS u_engagement, random() AS u_intent, random() AS u_burst_center,
       random() AS u_burst_width, random() AS u_web,
       random() AS u_email, random() AS u_unsub, random() AS u_unsub_at, random() AS u_unsub_delay,
       random() AS u_webinar, random() AS u_newsletter, random() AS u_newsletter_at, random() AS u_newsletter_tod,
       random() AS u_contact_us, random() AS u_contact_us_at, random() AS u_contact_us_tod,
       random() AS u_demo, random() AS u_demo_at, random() AS u_demo_tod
FROM generate_series(1, 12000) AS s;

CREATE TEMP TABLE g_contacts AS
WITH names AS (
	SELECT ARRAY['James', 'Mary', 'Robert', 'Patricia', 'Michael', 'Jennifer', 'David', 'Linda', 'Daniel',
	             'Sarah', 'Thomas', 'Emma', 'Oliver', 'Sophie', 'Lukas', 'Anna', 'Felix', 'Laura', 'Julien',
	             'Camille', 'Pierre', 'Chloé', 'Arjun', 'Priya', 'Rahul', 'Ananya', 'Wei', 'Mei', 'Hiroshi',
	             'Yuki', 'Lucas', 'Mariana', 'Mateo', 'Sofia', 'Lars', 'Ingrid', 'Jan', 'Eva', 'Marco',
	             'Giulia', 'Sean', 'Aoife', 'Kwame', 'Amara', 'Omar', 'Layla', 'Noah', 'Olivia', 'Ethan',
	             'Ava', 'Liam', 'Isabella', 'Mason', 'Mia', 'Jakub', 'Zofia', 'Carlos', 'Lucía', 'Nina',
	             'Tom', 'Grace', 'Ben', 'Hannah', 'Sam'] AS first,
	       ARRAY['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Miller', 'Davis', 'Wilson', 'Taylor',
	             'Anderson', 'Thomas', 'Moore', 'Martin', 'Lee', 'Walker', 'Hall', 'Young', 'King',
	             'Wright', 'Scott', 'Green', 'Baker', 'Adams', 'Nelson', 'Campbell', 'Evans', 'Müller',
	             'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Dubois', 'Lefebvre', 'Moreau', 'Laurent',
	             'Patel', 'Sharma', 'Gupta', 'Iyer', 'Chen', 'Wang', 'Zhang', 'Tanaka', 'Sato', 'Silva',
	             'Santos', 'Oliveira', 'García', 'Fernández', 'López', 'Rossi', 'Bianchi', 'Jansen',
	             'de Vries', 'Andersson', 'Johansson', 'Nowak', 'Kowalski', 'Murphy', 'O''Brien',
	             'Okafor', 'Mensah', 'Haddad', 'Cohen'] AS last
), people AS (
	SELECT p.*,
	       -- 45% joined in the last 180 days, the rest up to 3 years ago
	       CASE WHEN p.u_created < 0.45 THEN 180 * p.u_created / 0.45
	            ELSE 180 + 915 * (p.u_created - 0.45) / 0.55 END AS age_days,
	       CASE WHEN p.u_persona < 0.030 THEN 'student'
	            WHEN p.u_persona < 0.045 THEN 'competitor'
	            ELSE 'business' END AS persona
	FROM g_people p
), shaped AS (
	SELECT p.seq, p.persona, p.age_days,
	       names.first[1 + floor(p.u_first * cardinality(names.first))::int] AS first_name,
	       names.last[1 + floor(p.u_last * cardinality(names.last))::int] AS last_name,
	       -- bigger companies have more contacts in the CRM
	       co.name AS co_name, co.domain AS co_domain, co.size AS co_size, co.industry AS co_industry,
	       co.country AS co_country,
	       t.title, t.seniority, t.department, t.affinity,
	       fm.label AS free_domain, src.label AS lead_source,
	       p.u_free_mail, p.u_fmt, p.u_customer,
	       -- intent: role fit x company-size fit x personal interest
	       CASE p.persona
	            WHEN 'student' THEN 0.05
	            WHEN 'competitor' THEN 0.30
	            ELSE t.affinity * (0.35 + 0.65 * p.u_intent) *
	                 CASE WHEN co.size < 20 THEN 0.5 WHEN co.size <= 5000 THEN 1.0 ELSE 0.8 END
	       END AS intent,
	       -- engagement: Pareto(alpha 1.3) capped at 50 (median 1.7, a few very
	       -- engaged), a bit higher for people the product fits
	       least(50, (1 - p.u_engagement) ^ (-1 / 1.3)) *
	       CASE p.persona WHEN 'student' THEN 0.6 WHEN 'competitor' THEN 1.5
	                      ELSE 0.6 + 0.8 * t.affinity * p.u_intent END AS engagement,
	       p.u_burst_center, p.u_burst_width, p.u_web, p.u_email, p.u_unsub, p.u_unsub_at, p.u_unsub_delay,
	       p.u_webinar, p.u_newsletter, p.u_newsletter_at, p.u_newsletter_tod, p.u_contact_us, p.u_contact_us_at,
	       p.u_contact_us_tod, p.u_demo, p.u_demo_at, p.u_demo_tod
	FROM people p CROSS JOIN names
	JOIN g_companies co ON co.idx = 1 + floor(1500 * p.u_company ^ 1.7)::int
	JOIN g_title_bag t ON t.slot = floor(p.u_title * 100)::int
	JOIN g_bag fm ON fm.choice = 'free_mail' AND fm.slot = floor(p.u_free_domain * 100)::int
	JOIN g_bag src ON src.choice = 'lead_source' AND src.slot = floor(p.u_source * 100)::int
)
SELECT row_number() OVER (ORDER BY s.age_days DESC, s.seq) AS id,
       s.seq, s.persona, s.first_name, s.last_name,
       (SELECT t0 FROM g_anchor) - make_interval(secs => round(s.age_days * 86400)) AS created_at,
       least(172, s.age_days) AS span_days,   -- + up to 7 days of weekday shift = 180
       CASE s.persona
            WHEN 'student' THEN (ARRAY['Student', 'MBA Student', 'PhD Student'])[1 + floor(s.u_fmt * 3)::int]
            ELSE s.title END AS job_title,
       CASE s.persona WHEN 'student' THEN 'student' ELSE s.seniority END AS seniority,
       CASE s.persona WHEN 'student' THEN NULL ELSE s.department END AS department,
       CASE s.persona
            WHEN 'student' THEN (ARRAY['University of Amsterdam', 'TU München', 'Boston University',
                                       'University of Toronto', 'Sciences Po', 'IIT Delhi',
                                       'University of Manchester', 'KTH Stockholm'])[1 + s.seq % 8]
            WHEN 'competitor' THEN (ARRAY['Leadforge', 'ScoreStack', 'FunnelIQ'])[1 + s.seq % 3]
            ELSE s.co_name END AS company,
       CASE s.persona
            WHEN 'student' THEN (ARRAY['student.uva.nl', 'tum.de', 'bu.edu', 'mail.utoronto.ca',
                                       'sciencespo.fr', 'iitd.ac.in', 'student.manchester.ac.uk',
                                       'kth.se'])[1 + s.seq % 8]
            WHEN 'competitor' THEN (ARRAY['leadforge.io', 'scorestack.com', 'funneliq.ai'])[1 + s.seq % 3]
            ELSE s.co_domain END AS company_domain,
       CASE s.persona WHEN 'student' THEN NULL
                      WHEN 'competitor' THEN (ARRAY[85, 240, 40])[1 + s.seq % 3]
                      ELSE s.co_size END AS company_size,
       CASE s.persona WHEN 'student' THEN 'Education'
                      WHEN 'competitor' THEN 'Software'
                      ELSE s.co_industry END AS industry,
       CASE s.persona WHEN 'student' THEN (ARRAY['NL', 'DE', 'US', 'CA', 'FR', 'IN', 'GB', 'SE'])[1 + s.seq % 8]
                      WHEN 'competitor' THEN 'US'
                      ELSE s.co_country END AS country,
       -- 12% of business contacts give a free mailbox instead of their work address
       CASE WHEN s.persona = 'business' AND s.u_free_mail < 0.12 THEN s.free_domain END AS free_domain,
       s.u_fmt,
       s.lead_source,
       s.persona = 'business' AND s.u_customer < 0.02 AS is_customer,
       s.intent, s.engagement,
       -- people are active in bursts: a contact's events fall in a window of
       -- burst_width (fraction of its span) around burst_center (0 = now)
       s.u_burst_center AS burst_center, 0.08 + 0.92 * s.u_burst_width AS burst_width,
       s.u_web, s.u_email, s.u_unsub, s.u_unsub_at, s.u_unsub_delay, s.u_webinar, s.u_newsletter,
       s.u_newsletter_at, s.u_newsletter_tod, s.u_contact_us, s.u_contact_us_at, s.u_contact_us_tod,
       s.u_demo, s.u_demo_at, s.u_demo_tod
FROM shaped s;
ALTER TABLE g_contacts ADD PRIMARY KEY (id);

-- Emails: first.last@, flast@ or first@ at the work domain; duplicates get a digit.
INSERT INTO crm.contacts (id, email, first_name, last_name, job_title, seniority, department, company,
                          company_domain, company_size, industry, country, lead_source, lifecycle_stage,
                          email_opt_out, created_at, updated_at)
SELECT id, CASE WHEN dup = 1 THEN local ELSE local || dup END || '@' || domain,
       first_name, last_name, job_title, seniority, department, company, company_domain, company_size,
       industry, country, lead_source,
       CASE WHEN is_customer THEN 'customer' WHEN lead_source = 'newsletter' THEN 'subscriber' ELSE 'lead' END,
       false, created_at, created_at
FROM (SELECT c.*, coalesce(c.free_domain, c.company_domain) AS domain, l.local,
             row_number() OVER (PARTITION BY l.local, coalesce(c.free_domain, c.company_domain) ORDER BY c.id) AS dup
      FROM g_contacts c
      CROSS JOIN LATERAL (
          SELECT translate(lower(CASE WHEN c.free_domain IS NOT NULL OR c.u_fmt < 0.6
                                      THEN c.first_name || '.' || c.last_name
                                      WHEN c.u_fmt < 0.85 THEN left(c.first_name, 1) || c.last_name
                                      ELSE c.first_name END),
                           'éèüöóäíáñ'' ', 'eeuooaian') AS local) l) e
ORDER BY id;

--------------------------------------------------------------------------
-- Calendar: weekly newsletters, monthly product emails, webinar invitations,
-- and webinars every other Thursday at 16:00 UTC.
--------------------------------------------------------------------------
CREATE TEMP TABLE g_webinars AS
SELECT row_number() OVER (ORDER BY starts_at) AS idx, starts_at,
       (ARRAY['Lead scoring 101', 'From MQL to SQL: the handoff', 'Score decay in practice',
              'Fit vs. engagement', 'RevOps office hours', 'Scoring in Postgres, live',
              'Building an MQL definition', 'Customer story: Northwind'])[1 + (k % 8)]
       || ' (' || to_char(starts_at, 'YYYY-MM-DD') || ')' AS webinar
FROM (SELECT k, t0 - make_interval(days => (extract(isodow FROM t0)::int + 2) % 7 + 1 + 14 * k)
                   + interval '16 hours' AS starts_at
      FROM g_anchor, generate_series(0, 12) AS k) w;

CREATE TEMP TABLE g_campaigns AS
SELECT row_number() OVER (ORDER BY sent_at, campaign) AS idx, sent_at, campaign
FROM (
	-- newsletter every Tuesday 10:00 UTC
	SELECT t0 - make_interval(days => (extract(isodow FROM t0)::int + 4) % 7 + 1 + 7 * k) + interval '10 hours' AS sent_at,
	       'newsletter-' || to_char(t0 - make_interval(days => (extract(isodow FROM t0)::int + 4) % 7 + 1 + 7 * k), 'YYYY-MM-DD') AS campaign
	FROM g_anchor, generate_series(0, 24) AS k
	UNION ALL
	-- product update on the 1st of each month, 15:00 UTC
	SELECT m + interval '15 hours', 'product-update-' || to_char(m, 'YYYY-MM')
	FROM g_anchor, generate_series(date_trunc('month', t0 - interval '175 days') + interval '1 month',
	                               t0 - interval '1 day', interval '1 month') AS m
	UNION ALL
	-- invitation a week before each webinar
	SELECT starts_at - interval '7 days 6 hours', 'webinar-invite-' || to_char(starts_at, 'YYYY-MM-DD')
	FROM g_webinars WHERE starts_at - interval '7 days' > (SELECT t0 - interval '178 days' FROM g_anchor)
) c;
ALTER TABLE g_campaigns ADD PRIMARY KEY (idx);

-- Per contact: campaigns received (sent after the contact was created) and
-- derived counts; no random() here, only the stored draws.
CREATE TEMP TABLE g_plan AS
SELECT c.id, c.persona, c.created_at, c.span_days, c.intent, c.engagement, c.burst_center,
       c.burst_width, c.lead_source,
       c.is_customer,
       -- web activity: ~6.5 hits per unit of engagement over a full span
       round(c.engagement * 6.5 * (0.5 + c.u_web) * c.span_days / 172)::int AS n_web,
       -- share of web hits that are pricing views / downloads
       CASE c.persona WHEN 'competitor' THEN 0.30 WHEN 'student' THEN 0.01
                      ELSE 0.02 + 0.16 * c.intent END AS pricing_share,
       CASE c.persona WHEN 'student' THEN 0.15 ELSE 0.04 + 0.04 * c.intent END AS download_share,
       e.first_idx, e.last_idx,
       -- 3.5% unsubscribe at some campaign they received
       CASE WHEN c.u_unsub < 0.035 AND e.last_idx >= e.first_idx
            THEN e.first_idx + floor(c.u_unsub_at * (e.last_idx - e.first_idx + 1))::int END AS unsub_idx,
       c.u_unsub_delay,
       -- opens: a share of the campaigns received that grows with engagement
       round((e.last_idx - e.first_idx + 1) * least(0.85, 0.05 + 0.07 * sqrt(c.engagement)) * (0.3 + 1.4 * c.u_email))::int AS n_open,
       -- webinars attended: more with intent and engagement, at most 6
       least(6, floor((0.1 + 0.9 * c.intent) * c.engagement ^ 0.6 * c.u_webinar * 2.2))::int AS n_webinar,
       -- one-off forms
       c.lead_source = 'newsletter' OR c.u_newsletter < 0.06 AS newsletter,
       c.u_newsletter_at, c.u_newsletter_tod,
       c.persona = 'business' AND c.u_contact_us < 0.008 + 0.08 * c.intent * least(1, c.engagement / 8) AS contact_us,
       c.u_contact_us_at, c.u_contact_us_tod,
       c.persona = 'business' AND NOT c.is_customer
           AND c.u_demo < 0.35 * c.intent ^ 2 * least(1, c.engagement / 10) AS demo_request,
       c.u_demo_at, c.u_demo_tod
FROM g_contacts c
CROSS JOIN LATERAL (
	SELECT coalesce(min(idx), 1) AS first_idx, coalesce(max(idx), 0) AS last_idx
	FROM g_campaigns WHERE sent_at > c.created_at) e
ORDER BY c.id;

--------------------------------------------------------------------------
-- Per-event draws (the only other random() calls): a LATERAL generate_series
-- over g_plan in id order, so the sequence of draws is fixed.
--------------------------------------------------------------------------
CREATE TEMP TABLE g_web_draws AS
SELECT p.id AS contact_id, random() AS u_age, random() AS u_tod, random() AS u_biz, random() AS u_wkd,
       random() AS u_kind, random() AS u_path, random() AS u_ref, random() AS u_dev, random() AS u_dur
FROM g_plan p CROSS JOIN LATERAL generate_series(1, p.n_web);

CREATE TEMP TABLE g_open_draws AS
SELECT p.id AS contact_id, random() AS u_campaign, random() AS u_delay, random() AS u_click,
       random() AS u_click_delay, random() AS u_link
FROM g_plan p CROSS JOIN LATERAL generate_series(1, p.n_open);

CREATE TEMP TABLE g_webinar_draws AS
SELECT p.id AS contact_id, random() AS u_webinar, random() AS u_join, random() AS u_minutes
FROM g_plan p CROSS JOIN LATERAL generate_series(1, p.n_webinar);

-- Anonymous visitors: 5% of all web events (so 5/95 of the identified ones).
CREATE TEMP TABLE g_anon_draws AS
SELECT random() AS u_age, random() AS u_tod, random() AS u_biz, random() AS u_wkd, random() AS u_kind,
       random() AS u_path, random() AS u_ref, random() AS u_dev, random() AS u_dur, random() AS u_visitor
FROM generate_series(1, (SELECT round(count(*) * 5 / 95.0)::int FROM g_web_draws));

-- Where in its span (0 = now, 1 = start) an event of a contact falls: uniform
-- over the burst window, reflected at the ends so the overall spread stays flat.
CREATE FUNCTION pg_temp.in_burst(center float8, width float8, u float8)
RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
	SELECT 1 - abs(1 - abs(center + width * (u - 0.5)))     -- reflects [-0.5, 1.5] into [0, 1]
$$;

-- An event about `age_days` before the anchor (0 = yesterday).  Weekdays get
-- most traffic, in business hours peaking early afternoon UTC: 70% of weekend
-- events move back to one of the five weekdays before (never forward, so
-- never past the anchor; at most 6 days further back).
CREATE FUNCTION pg_temp.event_time(t0 timestamptz, age_days float8, u_tod float8, u_biz float8, u_wkd float8)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
	SELECT date_trunc('second',
	       t0 - make_interval(days => 1 + floor(age_days)::int)
	          - make_interval(days => CASE
	                WHEN u_wkd < 0.7 AND extract(isodow FROM t0 - make_interval(days => 1 + floor(age_days)::int)) >= 6
	                THEN extract(isodow FROM t0 - make_interval(days => 1 + floor(age_days)::int))::int - 5
	                     + floor(u_wkd / 0.7 * 5)::int           -- Sat -> Fri..Mon, Sun -> Fri..Mon
	                ELSE 0 END)
	          + make_interval(secs => CASE WHEN u_biz < 0.8     -- triangular over 07:00-18:00
	                                       THEN 7 * 3600 + (u_tod + u_biz / 0.8) / 2 * 11 * 3600
	                                       ELSE u_tod * 86400 END))
$$;

--------------------------------------------------------------------------
-- Activity tables, each loaded in time order.
--------------------------------------------------------------------------
INSERT INTO crm.web_events (contact_id, anonymous_id, created_at, kind, path, referrer, props, duration_s)
SELECT contact_id, anonymous_id, at, kind, path.label, ref.label,
       jsonb_build_object('device', dev.label)
         || CASE WHEN ref.label LIKE '%google%' AND u_dur < 0.3 THEN '{"utm_source": "google", "utm_medium": "cpc"}'::jsonb
                 WHEN ref.label LIKE '%linkedin%' THEN '{"utm_source": "linkedin", "utm_medium": "social"}'::jsonb
                 ELSE '{}'::jsonb END
         || CASE WHEN kind = 'content_download' THEN jsonb_build_object('asset', substr(path.label, 12)) ELSE '{}'::jsonb END,
       -- time on page: exponential, longer on pricing
       round(-ln(1 - u_dur) * CASE kind WHEN 'pricing_view' THEN 95 WHEN 'content_download' THEN 20 ELSE 45 END)::int
FROM (
	SELECT d.contact_id, md5('visitor-' || d.contact_id)::uuid AS anonymous_id,
	       pg_temp.event_time(a.t0, p.span_days * pg_temp.in_burst(p.burst_center, p.burst_width, d.u_age), d.u_tod, d.u_biz, d.u_wkd) AS at,
	       CASE WHEN d.u_kind < p.pricing_share THEN 'pricing_view'
	            WHEN d.u_kind < p.pricing_share + p.download_share THEN 'content_download'
	            ELSE 'page_view' END AS kind,
	       p.created_at, d.u_path, d.u_ref, d.u_dev, d.u_dur
	FROM g_web_draws d JOIN g_plan p ON p.id = d.contact_id CROSS JOIN g_anchor a
	UNION ALL
	SELECT NULL, md5('anonymous-' || floor(d.u_visitor * 40000))::uuid,
	       pg_temp.event_time(a.t0, 172 * d.u_age, d.u_tod, d.u_biz, d.u_wkd),
	       CASE WHEN d.u_kind < 0.06 THEN 'pricing_view' WHEN d.u_kind < 0.07 THEN 'content_download'
	            ELSE 'page_view' END,
	       '-infinity', d.u_path, d.u_ref, d.u_dev, d.u_dur
	FROM g_anon_draws d CROSS JOIN g_anchor a
) e
JOIN g_bag path ON path.choice = e.kind AND path.slot = floor(e.u_path * 100)::int
JOIN g_bag ref ON ref.choice = 'referrer' AND ref.slot = floor(e.u_ref * 100)::int
JOIN g_bag dev ON dev.choice = 'device' AND dev.slot = floor(e.u_dev * 100)::int
WHERE e.at >= e.created_at                  -- no activity before the contact existed
ORDER BY e.at, e.contact_id, e.kind, path.label, e.anonymous_id, e.u_dur;

-- Opens cluster in the hours after a send; recently active contacts open
-- recent campaigns; nothing after an unsubscribe.
CREATE TEMP TABLE g_opens AS
SELECT d.contact_id, c.campaign,
       c.sent_at + make_interval(secs => round(least(72 * 3600, -ln(1 - d.u_delay) * 5 * 3600))) AS opened_at,
       d.u_click < 0.10 + 0.30 * p.intent AS clicked, d.u_click_delay, d.u_link
FROM g_open_draws d JOIN g_plan p ON p.id = d.contact_id
CROSS JOIN LATERAL (SELECT coalesce(p.unsub_idx, p.last_idx) - p.first_idx + 1 AS received) r
JOIN g_campaigns c ON c.idx = p.first_idx + least(r.received - 1,
                        floor(r.received * (1 - pg_temp.in_burst(p.burst_center, p.burst_width, d.u_campaign)))::int);

INSERT INTO crm.email_events (contact_id, occurred_at, kind, campaign, url)
SELECT contact_id, at, kind, campaign, url
FROM (
	SELECT contact_id, opened_at AS at, 'email_open' AS kind, campaign, NULL AS url FROM g_opens
	UNION ALL
	SELECT o.contact_id, o.opened_at + make_interval(secs => round(5 + 120 * o.u_click_delay)), 'email_click',
	       o.campaign, 'https://mql-score.example' || l.label || '?utm_source=email&utm_campaign=' || o.campaign
	FROM g_opens o JOIN g_bag l ON l.choice = 'email_link' AND l.slot = floor(o.u_link * 100)::int
	WHERE o.clicked
	UNION ALL
	-- the unsubscribe itself, a little after the campaign that triggered it arrived
	SELECT p.id, c.sent_at + make_interval(secs => round(600 + 36 * 3600 * p.u_unsub_delay)), 'unsubscribe',
	       c.campaign, NULL
	FROM g_plan p JOIN g_campaigns c ON c.idx = p.unsub_idx
) e
WHERE at < (SELECT t0 FROM g_anchor)
  -- an unsubscribed contact's opens and clicks stop at the unsubscribe
  AND NOT EXISTS (SELECT FROM g_plan p JOIN g_campaigns c ON c.idx = p.unsub_idx
                  WHERE p.id = e.contact_id AND e.kind <> 'unsubscribe'
                    AND e.at > c.sent_at + make_interval(secs => round(600 + 36 * 3600 * p.u_unsub_delay)))
ORDER BY at, contact_id, kind, campaign, url;

UPDATE crm.contacts SET email_opt_out = true, updated_at = e.occurred_at
FROM crm.email_events e WHERE e.kind = 'unsubscribe' AND e.contact_id = contacts.id;

-- One row per (webinar, attendee); registrations before the contact existed don't count.
INSERT INTO crm.webinar_attendance (contact_id, attended_at, webinar, minutes)
SELECT contact_id, attended_at, webinar, minutes
FROM (SELECT DISTINCT ON (w.webinar, d.contact_id)
             d.contact_id,
             w.starts_at + make_interval(secs => round(-ln(1 - d.u_join) * 240)) AS attended_at,
             w.webinar,
             -- most stay for the whole hour, some drop off early
             CASE WHEN d.u_minutes < 0.55 THEN 45 + floor(d.u_minutes / 0.55 * 16)::int
                  ELSE 5 + floor((d.u_minutes - 0.55) / 0.45 * 40)::int END AS minutes
      FROM g_webinar_draws d JOIN g_plan p ON p.id = d.contact_id
      -- webinars during the contact's active period (idx 13 is the latest)
      JOIN g_webinars w ON w.idx = 13 - least(12, floor(p.span_days * pg_temp.in_burst(p.burst_center, p.burst_width, d.u_webinar) / 14)::int)
      WHERE w.starts_at > p.created_at
      ORDER BY w.webinar, d.contact_id, d.u_join) a
ORDER BY attended_at, contact_id;

-- Forms: a newsletter sign-up (often what created the contact), contact-us
-- and demo requests, mostly from recently active people.
INSERT INTO crm.form_submissions (contact_id, submitted_at, form, fields)
SELECT contact_id, at, form, fields
FROM (
	SELECT p.id AS contact_id,
	       CASE WHEN p.lead_source = 'newsletter' THEN p.created_at
	            ELSE pg_temp.event_time(a.t0, p.span_days * p.u_newsletter_at, p.u_newsletter_tod, 0.5, 0.5) END AS at,
	       'newsletter' AS form, jsonb_build_object('email', c.email) AS fields, p.created_at
	FROM g_plan p JOIN crm.contacts c ON c.id = p.id CROSS JOIN g_anchor a
	WHERE p.newsletter
	UNION ALL
	SELECT p.id, pg_temp.event_time(a.t0, p.span_days * pg_temp.in_burst(p.burst_center, p.burst_width, p.u_contact_us_at), p.u_contact_us_tod, 0.3, 0.3),
	       'contact_us', jsonb_build_object('email', c.email, 'company', c.company, 'topic',
	                                        (ARRAY['pricing', 'integration question', 'partnership', 'security review'])[1 + c.id % 4]),
	       p.created_at
	FROM g_plan p JOIN crm.contacts c ON c.id = p.id CROSS JOIN g_anchor a
	WHERE p.contact_us
	UNION ALL
	SELECT p.id, pg_temp.event_time(a.t0, p.span_days * pg_temp.in_burst(p.burst_center, 0.3 * p.burst_width, p.u_demo_at), p.u_demo_tod, 0.2, 0.2),
	       'demo_request', jsonb_build_object('email', c.email, 'company', c.company,
	                                          'team_size', CASE WHEN c.company_size < 50 THEN '1-49'
	                                                            WHEN c.company_size < 500 THEN '50-499'
	                                                            ELSE '500+' END,
	                                          'use_case', uc.label),
	       p.created_at
	FROM g_plan p JOIN crm.contacts c ON c.id = p.id CROSS JOIN g_anchor a
	JOIN g_bag uc ON uc.choice = 'use_case' AND uc.slot = (c.id * 37) % 100
	WHERE p.demo_request
) f
WHERE at >= created_at AND at >= (SELECT t0 - interval '180 days' FROM g_anchor)
ORDER BY at, contact_id, form;

ANALYZE crm.contacts, crm.web_events, crm.email_events, crm.webinar_attendance, crm.form_submissions;

--------------------------------------------------------------------------
-- What was loaded
--------------------------------------------------------------------------
\echo
\echo 'Sample CRM loaded (anchor = today 00:00 UTC):'
SELECT coalesce(source, 'total') AS "table", event_type AS "kind", to_char(count(*), 'FM999,999,999') AS "rows",
       to_char(count(DISTINCT contact_id), 'FM999,999') AS contacts,
       to_char(count(*) FILTER (WHERE contact_id IS NULL), 'FM999,999') AS anonymous,
       to_char(min(at), 'YYYY-MM-DD') AS first, to_char(max(at), 'YYYY-MM-DD') AS last
FROM (
	SELECT 'crm.web_events' AS source, kind AS event_type, contact_id, created_at AS at FROM crm.web_events
	UNION ALL SELECT 'crm.email_events', kind, contact_id, occurred_at FROM crm.email_events
	UNION ALL SELECT 'crm.webinar_attendance', 'webinar', contact_id, attended_at FROM crm.webinar_attendance
	UNION ALL SELECT 'crm.form_submissions', form, contact_id, submitted_at FROM crm.form_submissions
) a
GROUP BY ROLLUP ((source, event_type))
ORDER BY source IS NULL, source, count(*) DESC;

SELECT to_char(count(*), 'FM999,999') AS contacts,
       to_char(count(DISTINCT company), 'FM999,999') AS companies,
       count(*) FILTER (WHERE seniority = 'student') AS students,
       count(*) FILTER (WHERE company IN ('Leadforge', 'ScoreStack', 'FunnelIQ')) AS competitors,
       count(*) FILTER (WHERE email ~ '@(gmail|outlook|yahoo|hotmail|icloud)\.com$|@proton\.me$') AS free_mail,
       count(*) FILTER (WHERE lifecycle_stage = 'customer') AS customers,
       count(*) FILTER (WHERE email_opt_out) AS opted_out
FROM crm.contacts;
