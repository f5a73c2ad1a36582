/*
 * stages.h — qualification stages: where a score puts a lead, when decay
 * alone will move it, and the history and notifications of each move.
 */
#ifndef MQL_STAGES_H
#define MQL_STAGES_H

#include "postgres.h"

#include "config.h"
#include "state_store.h"

/* The score of a lead as of `t`: decayed engagement plus fit. */
extern double lead_score_at(const ModelConfig *model, const LeadState *state, TimestampTz t);

/* Index of a stage in its model; -1 for NULL or a stage no longer defined. */
extern int	stage_index(const ModelConfig *model, const char *name);

/* Stage moves of one statement or job: history now, notifications bounded. */
typedef struct StageMoves
{
	int			count;
	int			notified;
	StringInfoData summary;		/* "to-stage:count" pairs beyond the limit */
} StageMoves;

extern void stage_moves_init(StageMoves *moves);

/*
 * Re-evaluate a lead's stage at `t` after a change: up to the highest
 * automatic stage its score reaches or to `promote_idx` if higher; down
 * (demote models, automatic stages only) to what the score supports.  A
 * move updates `state`, appends to stage_history with `cause` (or
 * 'promote' when an event's promotion decided it) and queues a NOTIFY.
 * `score_kept`: the change left the lead's score as it was, so a move the
 * score decides for a lead decay had made due is recorded as 'decay'.
 * Then recomputes state->due_at.
 */
extern void stage_evaluate(StateStore *store, StageMoves *moves, const ModelConfig *model,
						   const char *lead, LeadState *state, TimestampTz t,
						   int promote_idx, int64 promote_rule, const char *cause,
						   bool score_kept);

/* Move a lead to `to_idx` (-1: no stage) unconditionally: manual moves. */
extern void stage_move(StateStore *store, StageMoves *moves, const ModelConfig *model,
					   const char *lead, LeadState *state, int to_idx, double score,
					   const char *cause, int64 rule_id, const char *reason);

/* Send the notifications still owed (a summary past the limit). */
extern void stage_moves_finish(StageMoves *moves, const ModelConfig *model);

/* When a person last moved the lead (set_stage, recycle); DT_NOBEGIN if never. */
extern TimestampTz stage_last_manual_move(const char *model, const char *lead);

/* The time decay alone moves the lead's stage, if it ever does. */
extern void stage_due_at(const ModelConfig *model, LeadState *state);

/* GUC mql_score.notify_limit */
extern int	mql_notify_limit;

#endif							/* MQL_STAGES_H */
