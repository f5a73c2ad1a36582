/*
 * caps.h — bookkeeping for capped rules (once, max_per_day).
 *
 * Caps count the *earliest* matching events by event time, whatever order
 * rows arrive in.  Per lead, rule and UTC day (a single entry for `once`)
 * we keep how many events are counted and the latest counted time.  That
 * decides almost every arrival on the spot: a day with room counts the
 * event; a full day ignores a later one; a `once` rule (or a cap of 1)
 * swaps its counted event for an earlier one.  The rest — an earlier event
 * displacing one of several counted, or the removal of a counted event —
 * is decided by recomputing the lead from its rows (recompute.c).
 */
#ifndef MQL_CAPS_H
#define MQL_CAPS_H

#include "postgres.h"

#include "datatype/timestamp.h"

#define CAPS_ONCE_DAY PG_INT32_MIN	/* the day of a `once` entry */

typedef struct CapEntry
{
	int64		rule_id;
	int32		day;			/* UTC days since 2000-01-01, or CAPS_ONCE_DAY */
	int32		count;			/* counted events */
	TimestampTz max_counted;	/* latest counted event time */
} CapEntry;

typedef struct CapSet
{
	int			n;
	int			size;
	CapEntry   *entries;		/* sorted by (rule_id, day) */
} CapSet;

/* The UTC day of an event time. */
static inline int32
caps_utc_day(TimestampTz t)
{
	int64		day = t / USECS_PER_DAY;

	if (t < 0 && t % USECS_PER_DAY != 0)
		day--;
	return (int32) day;
}

extern void caps_decode(const bytea *data, CapSet *set);
extern bytea *caps_encode(const CapSet *set);

/* The entry of (rule, day), created empty if `create`; NULL if absent. */
extern CapEntry *caps_lookup(CapSet *set, int64 rule_id, int32 day, bool create);

#endif							/* MQL_CAPS_H */
