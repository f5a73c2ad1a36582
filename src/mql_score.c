/*
 * mql_score.c — module entry point: GUCs and cache invalidation hooks.
 *
 * Each concern lives in its own file: decay_curves.c (the four curves),
 * decayed.c and decayed_agg.c (the mergeable type and its aggregates),
 * config.c (the configuration cache), condition.c (rule conditions),
 * event_row.c (reading an activity row), batch.c (applying a statement's
 * rows), caps.c (capped rules), recompute.c (a lead from scratch),
 * stages.c (stage moves), state_store.c (state tables), triggers.c,
 * admin.c and jobs.c (SQL-callable entry points), reading.c (score_of,
 * stage_of, explain).
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
