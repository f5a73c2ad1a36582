/*
 * decayed.c — the `mql_score.decayed` SQL type: text and binary I/O, the
 * constructor, value_at(), merge (the + operator) and equality.
 *
 * Text form: (value,at,half_life), e.g. (12.5,2026-01-01 00:00:00+00,7 days).
 * Output is independent of session settings (shortest exact digits, UTC, ISO
 * dates, Postgres-style interval) so it is IMMUTABLE and round-trips exactly; input accepts any
 * spelling timestamptz_in and interval_in accept.
 */
#include "postgres.h"

#include "common/int.h"
#include "common/shortest_dec.h"
#include "decayed.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(decayed_in);
PG_FUNCTION_INFO_V1(decayed_out);
PG_FUNCTION_INFO_V1(decayed_recv);
PG_FUNCTION_INFO_V1(decayed_send);
PG_FUNCTION_INFO_V1(decayed_make);
PG_FUNCTION_INFO_V1(decayed_value_at);
PG_FUNCTION_INFO_V1(decayed_merge);
PG_FUNCTION_INFO_V1(decayed_eq);
PG_FUNCTION_INFO_V1(decayed_ne);

#define USECS_PER_YEAR_EPOCH	INT64CONST(31557600000000)	/* 365.25 days */
#define USECS_PER_MONTH_EPOCH	(INT64CONST(30) * USECS_PER_DAY)

/* Microseconds in an interval, as EXTRACT(EPOCH FROM interval) counts them. */
int64
interval_to_usecs(const Interval *span)
{
	int64		years_us,
				months_us,
				days_us,
				total;

	if (pg_mul_s64_overflow(span->month / MONTHS_PER_YEAR, USECS_PER_YEAR_EPOCH, &years_us) ||
		pg_mul_s64_overflow(span->month % MONTHS_PER_YEAR, USECS_PER_MONTH_EPOCH, &months_us) ||
		pg_mul_s64_overflow(span->day, USECS_PER_DAY, &days_us) ||
		pg_add_s64_overflow(years_us, months_us, &total) ||
		pg_add_s64_overflow(total, days_us, &total) ||
		pg_add_s64_overflow(total, span->time, &total))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("interval out of range")));
	return total;
}

/* A half-life in microseconds; it must be positive. */
int64
half_life_usecs(const Interval *span, const char *what)
{
	int64		us = interval_to_usecs(span);

	if (us <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a positive interval", what),
				 errhint("A half-life is the time after which points are worth half, e.g. '30 days'.")));
	return us;
}

/* A half-life as Postgres-style interval text in whole days plus time. */
static char *
half_life_text(int64 usecs)
{
	Interval	span;
	struct pg_itm itm;
	char		buf[MAXDATELEN + 1];

	span.month = 0;
	span.day = (int32) (usecs / USECS_PER_DAY);
	span.time = usecs % USECS_PER_DAY;
	interval2itm(span, &itm);
	EncodeInterval(&itm, INTSTYLE_POSTGRES, buf);
	return pstrdup(buf);
}

/* Event times must be finite and valid: an infinite time has no decayed value. */
void
check_finite_timestamp(TimestampTz t, const char *what)
{
	if (TIMESTAMP_NOT_FINITE(t) || !IS_VALID_TIMESTAMP(t))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
				 errmsg("%s must be a finite timestamp", what)));
}

/* Points must be finite numbers. */
void
check_finite_double(double x, const char *what)
{
	if (isnan(x) || isinf(x))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number, got %g", what, x)));
}

/* Build a validated Decayed in the current memory context. */
static Decayed *
decayed_new(double value, TimestampTz at, int64 half_life)
{
	Decayed    *d = palloc(sizeof(Decayed));

	check_finite_double(value, "decayed value");
	check_finite_timestamp(at, "decayed time");
	d->value = value;
	d->comp = 0.0;
	d->at = at;
	d->half_life = half_life;
	return d;
}

/* Raise a syntax error for malformed decayed text input. */
static void
decayed_syntax_error(const char *input)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type decayed: \"%s\"", input),
			 errhint("Expected (value,timestamp,half-life), e.g. (12.5,2026-01-01 00:00:00+00,7 days).")));
}

/* Cut the next comma- or parenthesis-terminated field, unquoting it. */
static char *
decayed_next_field(char **cursor, char terminator, const char *input)
{
	char	   *p = *cursor;
	char	   *field;

	while (isspace((unsigned char) *p))
		p++;
	if (*p == '"')
	{
		field = ++p;
		while (*p && *p != '"')
			p++;
		if (*p != '"')
			decayed_syntax_error(input);
		*p++ = '\0';
		while (isspace((unsigned char) *p))
			p++;
		if (*p != terminator)
			decayed_syntax_error(input);
	}
	else
	{
		field = p;
		while (*p && *p != terminator && *p != ',' && *p != ')')
			p++;
		if (*p != terminator)
			decayed_syntax_error(input);
	}
	*p++ = '\0';
	*cursor = p;
	return field;
}

/* Text input: (value,timestamp,half-life). */
Datum
decayed_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	char	   *copy = pstrdup(input);
	char	   *cursor = copy;
	char	   *value_text,
			   *at_text,
			   *half_life_text;
	double		value;
	TimestampTz at;
	Interval   *half_life;

	while (isspace((unsigned char) *cursor))
		cursor++;
	if (*cursor++ != '(')
		decayed_syntax_error(input);
	value_text = decayed_next_field(&cursor, ',', input);
	at_text = decayed_next_field(&cursor, ',', input);
	half_life_text = decayed_next_field(&cursor, ')', input);
	while (isspace((unsigned char) *cursor))
		cursor++;
	if (*cursor != '\0')
		decayed_syntax_error(input);

	value = DatumGetFloat8(DirectFunctionCall1(float8in, CStringGetDatum(value_text)));
	at = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in,
												 CStringGetDatum(at_text),
												 ObjectIdGetDatum(InvalidOid),
												 Int32GetDatum(-1)));
	half_life = DatumGetIntervalP(DirectFunctionCall3(interval_in,
													  CStringGetDatum(half_life_text),
													  ObjectIdGetDatum(InvalidOid),
													  Int32GetDatum(-1)));

	PG_RETURN_DECAYED_P(decayed_new(value, at, half_life_usecs(half_life, "decayed half-life")));
}

/* Text output, independent of DateStyle, IntervalStyle and TimeZone. */
Datum
decayed_out(PG_FUNCTION_ARGS)
{
	Decayed    *d = PG_GETARG_DECAYED_P(0);
	struct pg_tm tm;
	fsec_t		fsec;
	char		at_text[MAXDATELEN + 1];
	char		value_text[DOUBLE_SHORTEST_DECIMAL_LEN];

	/* shortest exact digits whatever extra_float_digits says */
	double_to_shortest_decimal_buf(decayed_total(d), value_text);
	if (timestamp2tm(d->at, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	tm.tm_isdst = 0;			/* so the +00 offset is printed */
	EncodeDateTime(&tm, fsec, true, 0, NULL, USE_ISO_DATES, at_text);

	PG_RETURN_CSTRING(psprintf("(%s,%s,%s)", value_text, at_text,
							   half_life_text(d->half_life)));
}

/* Binary input: value, compensation, time, half-life; validated before use. */
Datum
decayed_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	double		value = pq_getmsgfloat8(buf);
	double		comp = pq_getmsgfloat8(buf);
	TimestampTz at = pq_getmsgint64(buf);
	int64		half_life = pq_getmsgint64(buf);
	Decayed    *d;

	if (half_life <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid half-life in external decayed value")));
	check_finite_double(comp, "decayed compensation");
	d = decayed_new(value, at, half_life);
	d->comp = comp;
	PG_RETURN_DECAYED_P(d);
}

/* Binary output, lossless (keeps the compensation term). */
Datum
decayed_send(PG_FUNCTION_ARGS)
{
	Decayed    *d = PG_GETARG_DECAYED_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendfloat8(&buf, d->value);
	pq_sendfloat8(&buf, d->comp);
	pq_sendint64(&buf, d->at);
	pq_sendint64(&buf, d->half_life);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* decayed(value, at, half_life) */
Datum
decayed_make(PG_FUNCTION_ARGS)
{
	PG_RETURN_DECAYED_P(decayed_new(PG_GETARG_FLOAT8(0),
									PG_GETARG_TIMESTAMPTZ(1),
									half_life_usecs(PG_GETARG_INTERVAL_P(2), "half_life")));
}

/* value_at(d, t) = value * 0.5^((t - at) / half_life) */
Datum
decayed_value_at(PG_FUNCTION_ARGS)
{
	Decayed    *d = PG_GETARG_DECAYED_P(0);
	TimestampTz t = PG_GETARG_TIMESTAMPTZ(1);
	double		result;

	check_finite_timestamp(t, "value_at time");
	result = decayed_total(d) * decay_factor(t, d->at, d->half_life);
	if (isinf(result))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("decayed value at %s is out of range for type double precision",
						timestamptz_to_str(t)),
				 errdetail("The value grows without bound when taken long before its reference time.")));
	PG_RETURN_FLOAT8(result);
}

/* Both operands of a merge must decay at the same rate. */
static void
decayed_check_compatible(const Decayed *a, const Decayed *b)
{
	if (a->half_life != b->half_life)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot merge decayed values with different half-lives"),
				 errdetail("Half-lives are %s and %s.",
						   half_life_text(a->half_life), half_life_text(b->half_life)),
				 errhint("Aggregate each half-life separately.")));
}

/*
 * d1 + d2.  As an aggregate's transition or combine function the left
 * state belongs to the aggregate and is updated in place.
 */
Datum
decayed_merge(PG_FUNCTION_ARGS)
{
	Decayed    *left = PG_GETARG_DECAYED_P(0);
	Decayed    *right = PG_GETARG_DECAYED_P(1);
	Decayed    *result;

	decayed_check_compatible(left, right);
	if (AggCheckCallContext(fcinfo, NULL))
		result = left;
	else
	{
		result = palloc(sizeof(Decayed));
		*result = *left;
	}
	decayed_merge_into(result, right);
	PG_RETURN_DECAYED_P(result);
}

/* Same half-life, same reference time, same value. */
static bool
decayed_equal(const Decayed *a, const Decayed *b)
{
	return a->half_life == b->half_life && a->at == b->at &&
		decayed_total(a) == decayed_total(b);
}

Datum
decayed_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(decayed_equal(PG_GETARG_DECAYED_P(0), PG_GETARG_DECAYED_P(1)));
}

Datum
decayed_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(!decayed_equal(PG_GETARG_DECAYED_P(0), PG_GETARG_DECAYED_P(1)));
}
