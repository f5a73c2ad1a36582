/*
 * decayed_agg.c — transition function of decayed_sum(points, at, half_life).
 *
 * The state is the `decayed` type itself (not `internal`), so partial
 * aggregates need no serialization: parallel workers, partitions and Citus
 * shards exchange plain decayed values and combine them with decayed_merge,
 * which is also the transition function of decayed_union().
 */
#include "postgres.h"

#include "decayed.h"
#include "fmgr.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(decayed_sum_trans);

/* The last half-life argument seen by this call site, converted once. */
typedef struct HalfLifeCache
{
	Interval	span;
	int64		usecs;
} HalfLifeCache;

/* The half-life in microseconds; the argument is nearly always a constant. */
static int64
cached_half_life(FunctionCallInfo fcinfo, const Interval *span)
{
	HalfLifeCache *cache = fcinfo->flinfo->fn_extra;

	if (cache == NULL || cache->span.time != span->time || cache->span.day != span->day ||
		cache->span.month != span->month)
	{
		int64		usecs = half_life_usecs(span, "decayed_sum half_life");

		if (cache == NULL)
			cache = fcinfo->flinfo->fn_extra =
				MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(HalfLifeCache));
		cache->span = *span;
		cache->usecs = usecs;
	}
	return cache->usecs;
}

/* Add one (points, at) row; rows with a NULL argument are skipped, as sum() does. */
Datum
decayed_sum_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext;
	Decayed    *state = PG_ARGISNULL(0) ? NULL : PG_GETARG_DECAYED_P(0);
	double		points;
	TimestampTz at;
	int64		half_life;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("decayed_sum_trans called in non-aggregate context")));

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_DECAYED_P(state);
	}

	points = PG_GETARG_FLOAT8(1);
	at = PG_GETARG_TIMESTAMPTZ(2);
	half_life = cached_half_life(fcinfo, PG_GETARG_INTERVAL_P(3));
	check_finite_double(points, "decayed_sum points");
	check_finite_timestamp(at, "decayed_sum time");

	if (state == NULL)
	{
		state = MemoryContextAlloc(aggcontext, sizeof(Decayed));
		state->value = points;
		state->comp = 0.0;
		state->at = at;
		state->half_life = half_life;
		PG_RETURN_DECAYED_P(state);
	}

	if (state->half_life != half_life)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("decayed_sum half_life must be the same for every row of a group"),
				 errhint("Group by the half-life, or aggregate each half-life separately.")));

	decayed_add_event(state, points, at);
	PG_RETURN_DECAYED_P(state);
}
