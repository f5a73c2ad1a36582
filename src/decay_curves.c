/*
 * decay_curves.c — Elasticsearch function_score decay curves over intervals.
 *
 * Distance is x = max(0, |age| - offset) in seconds (months counted as 30
 * days, as EXTRACT(EPOCH FROM interval) does); every curve is 1 at x = 0
 * and equals `decay` at x = scale.
 */
#include "postgres.h"

#include <math.h>

#include "decayed.h"
#include "fmgr.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(exp_decay);
PG_FUNCTION_INFO_V1(linear_decay);
PG_FUNCTION_INFO_V1(gauss_decay);
PG_FUNCTION_INFO_V1(half_life_decay);

/* Validate the shared parameters; return distance/scale as a ratio. */
static double
curve_ratio(FunctionCallInfo fcinfo, double *decay)
{
	int64		age = interval_to_usecs(PG_GETARG_INTERVAL_P(0));
	int64		scale = interval_to_usecs(PG_GETARG_INTERVAL_P(1));
	int64		offset = interval_to_usecs(PG_GETARG_INTERVAL_P(2));
	double		distance;

	*decay = PG_GETARG_FLOAT8(3);

	if (scale <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("decay scale must be a positive interval"),
				 errhint("Pass the distance at which the curve reaches \"decay\", e.g. '30 days'.")));
	if (offset < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("decay offset must not be negative"),
				 errhint("Use '0' for no offset.")));
	if (!(*decay > 0.0 && *decay < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("decay must be between 0 and 1 exclusive, got %g", *decay),
				 errhint("It is the curve's value at distance \"scale\"; 0.5 is the usual choice.")));

	/* |age| in double: |INT64_MIN| does not fit an int64 */
	distance = fabs((double) age) - (double) offset;
	return distance > 0 ? distance / (double) scale : 0.0;
}

/* decay^(x/scale) */
Datum
exp_decay(PG_FUNCTION_ARGS)
{
	double		decay;
	double		r = curve_ratio(fcinfo, &decay);

	PG_RETURN_FLOAT8(pow(decay, r));
}

/* max(0, 1 - (1-decay) * x/scale) */
Datum
linear_decay(PG_FUNCTION_ARGS)
{
	double		decay;
	double		r = curve_ratio(fcinfo, &decay);

	PG_RETURN_FLOAT8(fmax(0.0, 1.0 - (1.0 - decay) * r));
}

/* decay^((x/scale)^2) */
Datum
gauss_decay(PG_FUNCTION_ARGS)
{
	double		decay;
	double		r = curve_ratio(fcinfo, &decay);

	PG_RETURN_FLOAT8(pow(decay, r * r));
}

/* 0.5^(age/half_life) for age >= 0, 1 for a negative age */
Datum
half_life_decay(PG_FUNCTION_ARGS)
{
	int64		age = interval_to_usecs(PG_GETARG_INTERVAL_P(0));
	int64		half_life = half_life_usecs(PG_GETARG_INTERVAL_P(1), "half_life");

	if (age <= 0)
		PG_RETURN_FLOAT8(1.0);
	PG_RETURN_FLOAT8(exp2(-(double) age / (double) half_life));
}
