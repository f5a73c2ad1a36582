-- mql_score 0.1.0 — decay curves and the mergeable `decayed` type
\echo Use "CREATE EXTENSION mql_score" to load this file. \quit

--------------------------------------------------------------------------
-- Decay curves (Elasticsearch function_score semantics)
--------------------------------------------------------------------------

CREATE FUNCTION @extschema@.exp_decay(age interval, scale interval, "offset" interval DEFAULT '0', decay float8 DEFAULT 0.5)
RETURNS float8 AS 'MODULE_PATHNAME', 'exp_decay'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.exp_decay(interval, interval, interval, float8) IS
'decay^(x/scale) with x = max(0, |age| - offset): exponential decay, equal to decay at distance scale';

CREATE FUNCTION @extschema@.linear_decay(age interval, scale interval, "offset" interval DEFAULT '0', decay float8 DEFAULT 0.5)
RETURNS float8 AS 'MODULE_PATHNAME', 'linear_decay'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.linear_decay(interval, interval, interval, float8) IS
'max(0, 1 - (1 - decay)·x/scale) with x = max(0, |age| - offset): linear decay reaching 0 at scale/(1 - decay)';

CREATE FUNCTION @extschema@.gauss_decay(age interval, scale interval, "offset" interval DEFAULT '0', decay float8 DEFAULT 0.5)
RETURNS float8 AS 'MODULE_PATHNAME', 'gauss_decay'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.gauss_decay(interval, interval, interval, float8) IS
'decay^((x/scale)²) with x = max(0, |age| - offset): Gaussian decay, equal to decay at distance scale';

CREATE FUNCTION @extschema@.half_life_decay(age interval, half_life interval)
RETURNS float8 AS 'MODULE_PATHNAME', 'half_life_decay'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.half_life_decay(interval, interval) IS
'0.5^(age/half_life) for age >= 0, 1 for a negative age';

--------------------------------------------------------------------------
-- The decayed type
--------------------------------------------------------------------------

CREATE TYPE @extschema@.decayed;

-- STABLE: a timestamp without an offset is read in the session's TimeZone.
CREATE FUNCTION @extschema@.decayed_in(cstring) RETURNS @extschema@.decayed
AS 'MODULE_PATHNAME', 'decayed_in' LANGUAGE C STABLE STRICT PARALLEL SAFE;
-- IMMUTABLE: output is always UTC, ISO dates, Postgres-style interval.
CREATE FUNCTION @extschema@.decayed_out(@extschema@.decayed) RETURNS cstring
AS 'MODULE_PATHNAME', 'decayed_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.decayed_recv(internal) RETURNS @extschema@.decayed
AS 'MODULE_PATHNAME', 'decayed_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.decayed_send(@extschema@.decayed) RETURNS bytea
AS 'MODULE_PATHNAME', 'decayed_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.decayed (
	INTERNALLENGTH = 32,
	INPUT = @extschema@.decayed_in,
	OUTPUT = @extschema@.decayed_out,
	RECEIVE = @extschema@.decayed_recv,
	SEND = @extschema@.decayed_send,
	ALIGNMENT = double,
	STORAGE = plain
);
COMMENT ON TYPE @extschema@.decayed IS
'an exponentially decaying quantity: a value, the time it refers to, and its half-life; mergeable with +';

CREATE FUNCTION @extschema@.decayed(value float8, at timestamptz, half_life interval)
RETURNS @extschema@.decayed AS 'MODULE_PATHNAME', 'decayed_make'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.decayed(float8, timestamptz, interval) IS
'a decayed quantity worth value at time at, halving every half_life';

CREATE FUNCTION @extschema@.value_at(d @extschema@.decayed, t timestamptz)
RETURNS float8 AS 'MODULE_PATHNAME', 'decayed_value_at'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.value_at(@extschema@.decayed, timestamptz) IS
'value·0.5^((t - at)/half_life): the quantity as of time t';

CREATE FUNCTION @extschema@.decayed_merge(@extschema@.decayed, @extschema@.decayed)
RETURNS @extschema@.decayed AS 'MODULE_PATHNAME', 'decayed_merge'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.decayed_merge(@extschema@.decayed, @extschema@.decayed) IS
'the sum of two decayed quantities with the same half-life (associative, commutative)';

CREATE FUNCTION @extschema@.decayed_eq(@extschema@.decayed, @extschema@.decayed)
RETURNS boolean AS 'MODULE_PATHNAME', 'decayed_eq'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.decayed_ne(@extschema@.decayed, @extschema@.decayed)
RETURNS boolean AS 'MODULE_PATHNAME', 'decayed_ne'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR @extschema@.+ (
	LEFTARG = @extschema@.decayed, RIGHTARG = @extschema@.decayed,
	FUNCTION = @extschema@.decayed_merge, COMMUTATOR = OPERATOR(@extschema@.+)
);
COMMENT ON OPERATOR @extschema@.+ (@extschema@.decayed, @extschema@.decayed) IS
'merge two decayed quantities with the same half-life';

CREATE OPERATOR @extschema@.= (
	LEFTARG = @extschema@.decayed, RIGHTARG = @extschema@.decayed,
	FUNCTION = @extschema@.decayed_eq,
	COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>)
);
COMMENT ON OPERATOR @extschema@.= (@extschema@.decayed, @extschema@.decayed) IS
'same half-life, same reference time and same value';

CREATE OPERATOR @extschema@.<> (
	LEFTARG = @extschema@.decayed, RIGHTARG = @extschema@.decayed,
	FUNCTION = @extschema@.decayed_ne,
	COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=)
);
COMMENT ON OPERATOR @extschema@.<> (@extschema@.decayed, @extschema@.decayed) IS
'not equal';

--------------------------------------------------------------------------
-- Aggregates: the state is the decayed type itself, so partial results
-- cross process and shard boundaries without serialization functions.
--------------------------------------------------------------------------

CREATE FUNCTION @extschema@.decayed_sum_trans(@extschema@.decayed, float8, timestamptz, interval)
RETURNS @extschema@.decayed AS 'MODULE_PATHNAME', 'decayed_sum_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE @extschema@.decayed_sum(points float8, at timestamptz, half_life interval) (
	SFUNC = @extschema@.decayed_sum_trans,
	STYPE = @extschema@.decayed,
	COMBINEFUNC = @extschema@.decayed_merge,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.decayed_sum(float8, timestamptz, interval) IS
'decayed sum of points earned at times at; rows with a NULL argument are skipped';

CREATE AGGREGATE @extschema@.decayed_union(@extschema@.decayed) (
	SFUNC = @extschema@.decayed_merge,
	STYPE = @extschema@.decayed,
	COMBINEFUNC = @extschema@.decayed_merge,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.decayed_union(@extschema@.decayed) IS
'merge of decayed values (the rollup of partial decayed_sum results)';

COMMENT ON FUNCTION @extschema@.decayed_in(cstring) IS 'text input of decayed: (value,timestamp,half-life)';
COMMENT ON FUNCTION @extschema@.decayed_out(@extschema@.decayed) IS 'text output of decayed, independent of session settings';
COMMENT ON FUNCTION @extschema@.decayed_recv(internal) IS 'binary input of decayed, validated before use';
COMMENT ON FUNCTION @extschema@.decayed_send(@extschema@.decayed) IS 'binary output of decayed (lossless)';
COMMENT ON FUNCTION @extschema@.decayed_eq(@extschema@.decayed, @extschema@.decayed) IS 'implementation of = for decayed';
COMMENT ON FUNCTION @extschema@.decayed_ne(@extschema@.decayed, @extschema@.decayed) IS 'implementation of <> for decayed';
COMMENT ON FUNCTION @extschema@.decayed_sum_trans(@extschema@.decayed, float8, timestamptz, interval) IS 'transition function of decayed_sum';
