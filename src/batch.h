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

/* Lock, update and re-stage every touched lead; returns how many. */
extern int64 batch_apply(ScoreBatch *batch);

extern void batch_end(ScoreBatch *batch);

#endif							/* MQL_BATCH_H */
