/*
 * decayed.h — the exponentially decaying quantity shared by the SQL type,
 * its aggregates and the per-lead scoring state.
 *
 * A Decayed holds `value`, the decayed sum *as of* `at`, the latest event
 * time seen.  Adding an event never scales anything up: a later event first
 * decays the sum forward to its own time, an earlier one is decayed forward
 * to `at` before it is added.  So values only shrink, nothing overflows,
 * and merging is associative and commutative.  Sums of millions of terms
 * keep a Neumaier compensation term so they stay within 1e-12 relative.
 */
#ifndef MQL_DECAYED_H
#define MQL_DECAYED_H

#include "postgres.h"

#include <math.h>

#include "datatype/timestamp.h"
#include "common/int.h"
#include "fmgr.h"

typedef struct Decayed
{
	double		value;			/* sum decayed to `at` */
	double		comp;			/* Neumaier compensation of `value` */
	TimestampTz at;				/* reference time: latest event seen */
	int64		half_life;		/* microseconds, > 0 (0 inside lead scoring: no decay) */
} Decayed;

#define DatumGetDecayedP(X)		((Decayed *) DatumGetPointer(X))
#define DecayedPGetDatum(X)		PointerGetDatum(X)
#define PG_GETARG_DECAYED_P(n)	DatumGetDecayedP(PG_GETARG_DATUM(n))
#define PG_RETURN_DECAYED_P(x)	return DecayedPGetDatum(x)

/* `later - earlier` in microseconds, exact up to 2^53 and never overflowing. */
static inline double
elapsed_usecs(TimestampTz later, TimestampTz earlier)
{
	int64		diff;

	if (pg_sub_s64_overflow(later, earlier, &diff))
		return (double) later - (double) earlier;
	return (double) diff;
}

/* Factor by which a quantity decays from `from` to `to`; a half-life of 0
 * (models that never decay, never a SQL decayed value) means no decay. */
static inline double
decay_factor(TimestampTz to, TimestampTz from, int64 half_life)
{
	if (half_life == 0)
		return 1.0;
	return exp2(-elapsed_usecs(to, from) / (double) half_life);
}

/* Neumaier-compensated `*sum += x`. */
static inline void
compensated_add(double *sum, double *comp, double x)
{
	double		t = *sum + x;

	if (fabs(*sum) >= fabs(x))
		*comp += (*sum - t) + x;
	else
		*comp += (x - t) + *sum;
	*sum = t;
}

/* An empty sum: the first event sets the reference time. */
static inline void
decayed_init(Decayed *d, int64 half_life)
{
	d->value = 0.0;
	d->comp = 0.0;
	d->at = DT_NOBEGIN;
	d->half_life = half_life;
}

/* Add `points` earned at `t` to `d`. */
static inline void
decayed_add_event(Decayed *d, double points, TimestampTz t)
{
	if (d->at == DT_NOBEGIN)
	{
		d->at = t;
		compensated_add(&d->value, &d->comp, points);
	}
	else if (t > d->at)
	{
		double		f = decay_factor(t, d->at, d->half_life);

		d->value *= f;
		d->comp *= f;
		d->at = t;
		compensated_add(&d->value, &d->comp, points);
	}
	else
		compensated_add(&d->value, &d->comp,
						points * decay_factor(d->at, t, d->half_life));
}

/* Fold `src` into `dst` (same half-life, checked by the caller). */
static inline void
decayed_merge_into(Decayed *dst, const Decayed *src)
{
	if (src->at > dst->at)
	{
		double		f = decay_factor(src->at, dst->at, dst->half_life);

		dst->value *= f;
		dst->comp *= f;
		dst->at = src->at;
		compensated_add(&dst->value, &dst->comp, src->value);
		dst->comp += src->comp;
	}
	else
	{
		double		f = decay_factor(dst->at, src->at, dst->half_life);

		compensated_add(&dst->value, &dst->comp, src->value * f);
		dst->comp += src->comp * f;
	}
}

/* The compensated value as of `at`. */
static inline double
decayed_total(const Decayed *d)
{
	return d->value + d->comp;
}

/* Microseconds in an interval, counting a month as 30 days and a year as
 * 365.25 days, exactly as EXTRACT(EPOCH FROM interval) does. */
extern int64 interval_to_usecs(const Interval *span);

/* Validate and convert a half-life; `what` names the parameter in errors. */
extern int64 half_life_usecs(const Interval *span, const char *what);

/* Reject ±infinity timestamps with 22008, naming the argument. */
extern void check_finite_timestamp(TimestampTz t, const char *what);

/* Reject NaN and ±Infinity with 22023, naming the argument. */
extern void check_finite_double(double x, const char *what);

#endif							/* MQL_DECAYED_H */
