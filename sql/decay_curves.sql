-- Decay curves against Elasticsearch function_score reference values.
SET search_path = mql_score, public;
SET extra_float_digits = 0;

-- scale 30 days, decay 0.5: exp at 45 days, gauss at 60 days, linear at 45 days
SELECT exp_decay('45 days', '30 days') AS exp_45,
       gauss_decay('60 days', '30 days') AS gauss_60,
       linear_decay('45 days', '30 days') AS linear_45;

-- offset: the first 7 days are free, so 67 days is a distance of 60
SELECT gauss_decay('67 days', '30 days', '7 days') AS gauss_67_off7,
       exp_decay('37 days', '30 days', '7 days') AS exp_37_off7,
       linear_decay('3 days', '30 days', '7 days') AS linear_inside_offset;

-- every curve is 1 at distance 0 and equals decay at distance scale
SELECT c, exp_decay(c, '10 days', '0', 0.3) AS exp_v,
       linear_decay(c, '10 days', '0', 0.3) AS linear_v,
       gauss_decay(c, '10 days', '0', 0.3) AS gauss_v
FROM (VALUES (interval '0'), ('10 days')) v(c);

-- distance uses |age|: the future decays like the past
SELECT exp_decay('-45 days', '30 days') = exp_decay('45 days', '30 days') AS symmetric_exp,
       gauss_decay('-20 days', '30 days', '5 days') = gauss_decay('20 days', '30 days', '5 days') AS symmetric_gauss;

-- linear reaches 0 at scale / (1 - decay) and stays there
SELECT linear_decay('60 days', '30 days') AS at_zero,
       linear_decay('600 days', '30 days') AS beyond;

-- a month counts as 30 days, a year as 365.25 days (as EXTRACT(EPOCH) does)
SELECT exp_decay('1 mon', '30 days') AS month_is_30_days,
       half_life_decay('1 year', '365 days 6 hours') AS year_is_365_25_days;

-- half_life_decay: 0.5^(age/half_life), 1 for a negative age
SELECT half_life_decay('14 days', '7 days') AS two_half_lives,
       half_life_decay('0', '7 days') AS now_,
       half_life_decay('-3 days', '7 days') AS future,
       half_life_decay('90 minutes', '1 hour') AS fractional;

-- agreement with the closed forms on a grid, compared in numeric: newer
-- servers' numeric power() returns values (~1e-10000) below float8's range
-- where 15's returned 0
SELECT count(*) AS grid_points,
       max(abs(exp_decay(a, s, o, d)::numeric - d ^ (greatest(0, extract(epoch FROM a) - extract(epoch FROM o)) / extract(epoch FROM s)))) < 1e-15 AS exp_ok,
       max(abs(gauss_decay(a, s, o, d)::numeric - d ^ ((greatest(0, extract(epoch FROM a) - extract(epoch FROM o)) / extract(epoch FROM s)) ^ 2))) < 1e-15 AS gauss_ok,
       max(abs(linear_decay(a, s, o, d)::numeric - greatest(0, 1 - (1 - d) * greatest(0, extract(epoch FROM a) - extract(epoch FROM o)) / extract(epoch FROM s)))) < 1e-15 AS linear_ok
FROM generate_series(0, 100, 7) AS ad, generate_series(1, 40, 13) AS sd,
     generate_series(0, 10, 5) AS od, (VALUES (0.1), (0.5), (0.9)) AS dv(d),
     LATERAL (SELECT make_interval(days => ad), make_interval(days => sd), make_interval(days => od)) AS i(a, s, o);

-- properties the planner relies on
SELECT p.proname, p.provolatile, p.proisstrict, p.proparallel
FROM pg_proc p WHERE p.pronamespace = 'mql_score'::regnamespace AND p.proname LIKE '%decay'
ORDER BY 1;

-- invalid parameters: 22023, naming the parameter
\set VERBOSITY default
SELECT exp_decay('1 day', '0');
SELECT exp_decay('1 day', '-1 day');
SELECT linear_decay('1 day', '1 day', '-1 hour');
SELECT gauss_decay('1 day', '1 day', '0', 0);
SELECT gauss_decay('1 day', '1 day', '0', 1);
SELECT exp_decay('1 day', '1 day', '0', 'NaN');
SELECT exp_decay('1 day', '1 day', '0', 'Infinity');
SELECT half_life_decay('1 day', '0');
SELECT half_life_decay('1 day', '-7 days');
SELECT half_life_decay('1 day', '1 mon -30 days');
\set VERBOSITY sqlstate
SELECT exp_decay('1 day', '0');
SELECT half_life_decay('1 day', '0');
SELECT half_life_decay('1 day', '178000000 years');
\set VERBOSITY default

-- NULL in, NULL out (STRICT)
SELECT exp_decay(NULL, '1 day') IS NULL AS strict_null;
