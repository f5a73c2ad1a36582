/*
 * event_row.h — reading one activity row: its lead, event time and type,
 * and which rules it satisfies.  Shared by the triggers (rows of a
 * statement's transition table) and recomputation (a lead's rows).
 */
#ifndef MQL_EVENT_ROW_H
#define MQL_EVENT_ROW_H

#include "postgres.h"

#include "config.h"
#include "executor/tuptable.h"
#include "lead_key.h"

typedef enum RowStatus
{
	ROW_SCORED,					/* lead, time and type are usable */
	ROW_ANONYMOUS,				/* NULL lead: not scored, silently */
	ROW_UNSCORABLE,				/* NULL type or NULL/infinite time: recorded in skipped */
	ROW_FAILED					/* a condition failed under on_error = 'skip' */
} RowStatus;

typedef struct EventRow
{
	RowStatus	status;
	LeadKey		lead;
	TimestampTz at;
	int			nmatched;
	RuleConfig **matched;		/* rules whose type matches and condition holds */
	const char *reason;			/* why unscorable or failed */
	int64		failed_rule;
} EventRow;

/* Per-relation evaluation context, reused for every row of a scan. */
typedef struct RowReader
{
	TableRules *rules;
	ModelConfig *model;
	ExprContext *econtext;
	RuleConfig **matched;		/* buffer for EventRow.matched */
	int64		failing_rule;	/* the rule whose condition raised last */
	int			guc_level;		/* search_path pinned for conditions; 0 if none */
} RowReader;

extern void row_reader_init(RowReader *reader, TableRules *rules);
extern void row_reader_done(RowReader *reader);

/* Read the row held by `slot` (its descriptor is the relation's). */
extern void row_read(RowReader *reader, TupleTableSlot *slot, EventRow *row);

/*
 * The fit of a lead-table row held by `slot`: the sum of the points of the
 * model's fit rules whose condition holds.  `matched`, if not NULL, gets
 * the matching rules' indexes (room for model->nfit_rules).
 */
extern double fit_of_row(ModelConfig *model, FitTable *table, TupleTableSlot *slot,
						 ExprContext *econtext, int *matched, int *nmatched);

/* The row's identity for mql_score.skipped: its primary key, else the row. */
extern Datum row_identity(RowReader *reader, TupleTableSlot *slot);

#endif							/* MQL_EVENT_ROW_H */
