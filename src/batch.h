/*
 * batch.h — apply one statement's (or one job's) changes to a model's
 * leads.
 *
 * Rows are folded per lead into a delta (decayed points, event counts,
 * capped events, promotions) in a hash table; then each touched lead's
 * state row is locked and updated once, in lead-key order.  That global
 * order means two concurrent batches touching the same leads cannot
 * deadlock each other, and a COPY of 1M events over 100k leads performs
 * 100k state updates, not 1M.
 */
#ifndef MQL_BATCH_H
#define MQL_BATCH_H

#include "postgres.h"

#include "config.h"
#include "utils/tuplestore.h"

typedef struct ScoreBatch ScoreBatch;

/* What a batch does to a lead besides applying events and fit. */
typedef enum LeadAction
{
	ACTION_NONE,				/* re-evaluate the stage after the change */
	ACTION_SET_STAGE,			/* move to a stage by hand (cause manual) */
	ACTION_RECYCLE,				/* back to an automatic stage (cause recycle) */
	ACTION_REFRESH,				/* re-evaluate the stage now (cause decay) */
	ACTION_MERGE_INTO,			/* keep the higher of two stages (cause merge) */
	ACTION_MERGE_FROM			/* the merged-away lead: its state goes */
} LeadAction;

/*
 * Start a batch for `model`; `cause` labels the stage moves it makes (NULL:
 * "event"); `expected_leads` sizes the hash table (it grows if needed).
 */
extern ScoreBatch *batch_begin(ModelConfig *model, const char *cause, int64 expected_leads);

/*
 * Fold a transition table's rows in: sign +1 for new rows, -1 for old.
 * `updating`: old and new rows of one UPDATE, which first cancel out.
 */
extern void batch_add_rows(ScoreBatch *batch, TableRules *rules, Relation rel,
						   Tuplestorestate *rows, int sign, bool updating);

/* Have a lead recomputed from its rows instead of updated by delta. */
extern void batch_recompute(ScoreBatch *batch, const char *lead);

/* Set a lead's fit. */
extern void batch_set_fit(ScoreBatch *batch, const char *lead, double fit);

/* Fold a lead table's transition rows in: their fit (0 for old rows). */
extern void batch_add_fit_rows(ScoreBatch *batch, FitTable *table, Relation rel,
							   Tuplestorestate *rows, int sign);

/* Ask for an action on a lead; `stage_idx` is its target stage (-1: none). */
extern void batch_act(ScoreBatch *batch, const char *lead, LeadAction action,
					  int stage_idx, const char *reason);

/*
 * Skip leads that other transactions hold instead of waiting for them, so
 * a job holding many leads can never be part of a deadlock; batch_done()
 * then says which leads were handled.
 */
extern void batch_skip_busy(ScoreBatch *batch);

/* After batch_apply: the leads handled (not skipped), as a List of char *. */
extern List *batch_done(ScoreBatch *batch);

/* After batch_apply: a lead's stage before and after; false if it has no state. */
extern bool batch_outcome(ScoreBatch *batch, const char *lead,
						  const char **before, const char **after);

/* Lock, update and re-stage every touched lead; returns how many. */
extern int64 batch_apply(ScoreBatch *batch);

extern void batch_end(ScoreBatch *batch);

#endif							/* MQL_BATCH_H */
