/*
 * mql_score.c — module entry point: GUCs and cache invalidation hooks.
 *
 * The files, one concern each (a header says which file implements it):
 *
 *   decay_curves.c   exp/linear/gauss/half-life decay curves
 *   decayed.c/.h     the mergeable decayed type: math, I/O, operators
 *   decayed_agg.c    decayed_sum and decayed_union aggregates
 *   config.c/.h      the per-backend configuration cache, invalidation,
 *                    and who code runs as (become_owner)
 *   condition.c/.h   rule and fit conditions: compiled like CHECK
 *                    constraints, run with their writer's rights
 *   lead_key.c/.h    a lead's identity as text
 *   event_row.c/.h   reading one activity or lead-table row
 *   caps.c/.h        once / max_per_day bookkeeping
 *   batch.c/.h       applying a statement's (or job's) changes per lead
 *   recompute.c/.h   a lead from scratch, the definition batches agree with
 *   stages.c/.h      stage moves, due times, history and notifications
 *   state_store.c/.h direct access to lead_state, stage_history, skipped
 *   triggers.c/.h    the triggers track() attaches to activity tables
 *   lifecycle.c      fit (the lead-table trigger, refit) and manual moves:
 *                    set_stage, recycle, merge_leads, forget
 *   jobs.c/.h        recomputing sets of leads; the jobs' privilege check
 *   admin.c          validation of configuration as it is written, track()
 *                    checks, DDL event handling
 *   reading.c        score_of, stage_of, explain
 *   compat.h         every PostgreSQL version difference (15 to 18)
 */
#include "postgres.h"

#include "config.h"
#include "fmgr.h"
#include "stages.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomIntVariable("mql_score.notify_limit",
							"Stage-move notifications sent individually per statement.",
							"Moves beyond the limit are announced by one summary notification; "
							"mql_score.stage_history has them all.",
							&mql_notify_limit,
							100, 0, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("mql_score");
	config_init();
}
