-- The decayed type: constructor, text and binary I/O, value_at, merge, equality.
SET search_path = mql_score, public;
SET extra_float_digits = 0;

-- output is UTC, ISO and Postgres-style whatever the session settings
SET timezone = 'America/New_York';
SET datestyle = 'SQL, DMY';
SET intervalstyle = 'iso_8601';
SELECT decayed(12.5, '2026-01-01 00:00:00+00', '7 days') AS d;
SELECT decayed(1, '2026-01-01 10:00:00+00', '90 minutes') AS minutes,
       decayed(1, '2026-01-01 10:00:00+00', '1 mon') AS month_30_days,
       decayed(1, '2026-01-01 10:00:00+00', '1 year') AS year_365_25_days;
RESET timezone; RESET datestyle; RESET intervalstyle;

-- text input: spacing, quotes and any timestamp/interval spelling
SELECT '(12.5,2026-01-01 00:00:00+00,7 days)'::decayed AS plain,
       ' ( -3 , "2026-01-01T05:00:00-05" , "P1W" ) '::decayed AS spaced_quoted_iso,
       '(1e-300,2026-01-01 00:00:00+00,00:00:01)'::decayed AS tiny;

-- text round trip is exact for random values
SELECT count(*) AS values_tried,
       count(*) FILTER (WHERE d::text::decayed = d AND d::text = d::text::decayed::text) AS round_trips
FROM (SELECT decayed((random() - 0.5) * 10 ^ (random() * 20 - 10),
                     '2000-01-01'::timestamptz + random() * interval '40 years',
                     make_interval(secs => 1 + random() * 1e8)) AS d
      FROM generate_series(1, 1000)) s;

-- binary round trip (send/recv) through COPY BINARY, keeping the compensation term
CREATE TEMP TABLE bin_in (d decayed);
INSERT INTO bin_in
SELECT decayed_sum(p, t, '3 days')
FROM (SELECT g % 97, (random() * 1e6)::float8, '2026-01-01'::timestamptz + random() * interval '90 days'
      FROM generate_series(1, 20000) g) s(k, p, t)
GROUP BY k;
COPY bin_in TO '/tmp/mql_score_decayed.bin' WITH (FORMAT binary);
CREATE TEMP TABLE bin_out (d decayed);
COPY bin_out FROM '/tmp/mql_score_decayed.bin' WITH (FORMAT binary);
SELECT (SELECT count(*) FROM bin_in) AS sent,
       (SELECT count(*) FROM bin_in i WHERE EXISTS (SELECT 1 FROM bin_out o WHERE o.d = i.d)) AS received_equal;
SELECT decayed_send(decayed(2, '2026-01-01 00:00:00+00', '1 day')) AS wire_format;

-- value_at: value * 0.5^((t - at) / half_life), in both directions
SELECT value_at(decayed(80, '2026-01-01', '7 days'), '2026-01-15') AS two_half_lives_later,
       value_at(decayed(80, '2026-01-01', '7 days'), '2026-01-01') AS at_reference,
       value_at(decayed(80, '2026-01-01', '7 days'), '2025-12-25') AS one_half_life_before,
       value_at(decayed(80, '2026-01-01', '1 mon'), '2026-01-31') AS month_is_30_days;
-- far in the future a value underflows to 0 instead of failing
SELECT value_at(decayed(1e300, '2000-01-01', '1 hour'), '2200-01-01') AS underflow;

-- merge: the sum of two decaying quantities, taken at the later reference time
SELECT decayed(10, '2026-01-01 00:00:00+00', '7 days') + decayed(4, '2026-01-08 00:00:00+00', '7 days') AS merged;
SELECT decayed(4, '2026-01-08 00:00:00+00', '7 days') + decayed(10, '2026-01-01 00:00:00+00', '7 days') AS commuted;
-- equal half-lives spelled differently merge
SELECT decayed(1, '2026-01-01 00:00:00+00', '1 week') + decayed(1, '2026-01-01 00:00:00+00', '168 hours') AS spelled_differently;

-- merge is associative and commutative: every order and grouping of random
-- triples agrees at a common time to 1e-12 relative
WITH r AS (
  SELECT g, decayed((random() - 0.3) * 100, '2026-01-01'::timestamptz + random() * interval '60 days', '5 days') AS a,
            decayed((random() - 0.3) * 100, '2026-01-01'::timestamptz + random() * interval '60 days', '5 days') AS b,
            decayed((random() - 0.3) * 100, '2026-01-01'::timestamptz + random() * interval '60 days', '5 days') AS c
  FROM generate_series(1, 2000) g),
v AS (
  SELECT value_at((a + b) + c, '2026-03-15') AS x1, value_at(a + (b + c), '2026-03-15') AS x2,
         value_at((c + a) + b, '2026-03-15') AS x3, value_at(b + (c + a), '2026-03-15') AS x4,
         value_at(a, '2026-03-15') + value_at(b, '2026-03-15') + value_at(c, '2026-03-15') AS direct,
         abs(value_at(a, '2026-03-15')) + abs(value_at(b, '2026-03-15')) + abs(value_at(c, '2026-03-15')) AS magnitude
  FROM r)
SELECT count(*) AS triples,
       max(greatest(abs(x1 - x2), abs(x1 - x3), abs(x1 - x4), abs(x1 - direct)) / magnitude) < 1e-12 AS all_agree
FROM v;
-- and in exact cases the representation is the same
SELECT (decayed(1, '2026-01-01', '1 day') + decayed(2, '2026-01-02', '1 day')) + decayed(4, '2026-01-03', '1 day')
     = decayed(1, '2026-01-01', '1 day') + (decayed(2, '2026-01-02', '1 day') + decayed(4, '2026-01-03', '1 day')) AS exact_associative;

-- equality compares half-life, reference time and value
SELECT decayed(1, '2026-01-01', '1 day') = decayed(1, '2026-01-01', '24 hours') AS same,
       decayed(1, '2026-01-01', '1 day') = decayed(1, '2026-01-01', '2 days') AS other_half_life,
       decayed(1, '2026-01-01', '1 day') <> decayed(0.5, '2026-01-02', '1 day') AS same_function_other_reference;

-- errors
\set VERBOSITY default
SELECT decayed(1, '2026-01-01', '7 days') + decayed(1, '2026-01-01', '1 day');
SELECT decayed('NaN', '2026-01-01', '1 day');
SELECT decayed('Infinity', '2026-01-01', '1 day');
SELECT decayed(1, 'infinity', '1 day');
SELECT decayed(1, '-infinity', '1 day');
SELECT decayed(1, '2026-01-01', '0');
SELECT decayed(1, '2026-01-01', '-1 day');
SELECT value_at(decayed(1e300, '2200-01-01', '1 hour'), '2000-01-01');
SELECT value_at(decayed(1, '2026-01-01', '1 hour'), 'infinity');
SELECT 'garbage'::decayed;
SELECT '(1,2026-01-01)'::decayed;
SELECT '(1,2026-01-01,1 day'::decayed;
SELECT '(1,2026-01-01,1 day) trailing'::decayed;
SELECT '(one,2026-01-01,1 day)'::decayed;
SELECT '(1,not a time,1 day)'::decayed;
SELECT '(1,2026-01-01,"1 day)'::decayed;
SELECT '(1,2026-01-01,0)'::decayed;
SELECT '(NaN,2026-01-01,1 day)'::decayed;
SELECT '(1,infinity,1 day)'::decayed;
\set VERBOSITY sqlstate
SELECT decayed(1, '2026-01-01', '7 days') + decayed(1, '2026-01-01', '1 day');
SELECT decayed('NaN', '2026-01-01', '1 day');
SELECT decayed(1, 'infinity', '1 day');
SELECT decayed(1, '2026-01-01', '0');
SELECT '(one,2026-01-01,1 day)'::decayed;
SELECT 'garbage'::decayed;
\set VERBOSITY default

-- malformed binary input through COPY BINARY: a file with one row whose
-- single field holds `payload` (the server reads it back with COPY FROM)
CREATE FUNCTION pg_temp.copy_binary_file(payload bytea, path text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE lo oid;
BEGIN
  lo := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
                         || '\x0001'::bytea || int4send(length(payload)) || payload || '\xffff'::bytea);
  PERFORM lo_export(lo, path);
  PERFORM lo_unlink(lo);
END $$;
CREATE TEMP TABLE bin_bad (d decayed);
-- a well-formed payload is accepted (the harness itself works)
SELECT pg_temp.copy_binary_file(decayed_send(decayed(2, '2026-01-01 00:00:00+00', '1 day')), '/tmp/mql_score_good.bin');
COPY bin_bad FROM '/tmp/mql_score_good.bin' WITH (FORMAT binary);
SELECT d FROM bin_bad;
-- truncated: 24 of 32 bytes
SELECT pg_temp.copy_binary_file(substr(decayed_send(decayed(2, '2026-01-01', '1 day')), 1, 24), '/tmp/mql_score_short.bin');
COPY bin_bad FROM '/tmp/mql_score_short.bin' WITH (FORMAT binary);
-- oversized: 40 bytes
SELECT pg_temp.copy_binary_file(decayed_send(decayed(2, '2026-01-01', '1 day')) || '\x0000000000000000'::bytea, '/tmp/mql_score_long.bin');
COPY bin_bad FROM '/tmp/mql_score_long.bin' WITH (FORMAT binary);
-- zero half-life
SELECT pg_temp.copy_binary_file(float8send(1) || float8send(0) || int8send(0) || int8send(0), '/tmp/mql_score_hl.bin');
COPY bin_bad FROM '/tmp/mql_score_hl.bin' WITH (FORMAT binary);
-- NaN value
SELECT pg_temp.copy_binary_file(float8send('NaN') || float8send(0) || int8send(0) || int8send(1000000), '/tmp/mql_score_nan.bin');
COPY bin_bad FROM '/tmp/mql_score_nan.bin' WITH (FORMAT binary);
-- infinite time
SELECT pg_temp.copy_binary_file(float8send(1) || float8send(0) || int8send(9223372036854775807) || int8send(1000000), '/tmp/mql_score_inf.bin');
COPY bin_bad FROM '/tmp/mql_score_inf.bin' WITH (FORMAT binary);
-- a time outside the timestamp range
SELECT pg_temp.copy_binary_file(float8send(1) || float8send(0) || int8send(9000000000000000000) || int8send(1000000), '/tmp/mql_score_range.bin');
COPY bin_bad FROM '/tmp/mql_score_range.bin' WITH (FORMAT binary);
SELECT count(*) AS rows_after_bad_input FROM bin_bad;
