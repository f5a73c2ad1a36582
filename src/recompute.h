/*
 * recompute.h — a lead's scoring state computed from scratch from its
 * activity rows in every table its model tracks.
 *
 * The triggers maintain state incrementally; this is the definition they
 * must agree with.  It is also what they fall back on when bookkeeping
 * cannot decide (a deleted event that was counted by a capped rule, the
 * lead's latest event removed), and what rescore, untrack, TRUNCATE and
 * explain() use.
 */
#ifndef MQL_RECOMPUTE_H
#define MQL_RECOMPUTE_H

#include "postgres.h"

#include "caps.h"
#include "config.h"
#include "decayed.h"

typedef struct RuleTotal
{
	Decayed		sum;			/* decayed points of the rule's counted events */
	int64		events;			/* counted events */
	TimestampTz last_counted;	/* the latest of them */
} RuleTotal;

typedef struct Recomputed
{
	int64		events;			/* scored rows */
	bool		has_events;
	TimestampTz last_event_at;
	double		engagement;		/* as of last_event_at */
	RuleTotal  *rules;			/* per model->rules index */
	CapSet		caps;
	double		fit;			/* from the lead table (0 without one) */
	int			nfit_matched;
	int		   *fit_matched;	/* indexes of the fit rules that hold */
} Recomputed;

extern void recompute_lead(ModelConfig *model, const char *lead, Recomputed *out);

/* The fit of one lead from its row in the model's lead table (0 if none). */
extern double recompute_fit(ModelConfig *model, const char *lead, int *matched, int *nmatched);

#endif							/* MQL_RECOMPUTE_H */
