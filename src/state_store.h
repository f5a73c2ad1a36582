/*
 * state_store.h — direct access to mql_score's state tables: lead_state
 * (find-and-lock, update, insert), stage_history and skipped (insert).
 *
 * The hot path writes state without SPI or the planner: it uses the
 * executor's simple relation API (as logical replication's apply worker
 * does), so a statement touching 100k leads costs 100k index probes and
 * heap updates, and no privilege checks — the triggers act for the
 * extension, not for the role that inserted the event.
 */
#ifndef MQL_STATE_STORE_H
#define MQL_STATE_STORE_H

#include "postgres.h"

#include "caps.h"
#include "config.h"
#include "datatype/timestamp.h"

/* A lead_state row in memory. */
typedef struct LeadState
{
	double		engagement;		/* decayed sum as of last_event_at */
	bool		has_events;		/* last_event_at is not NULL */
	TimestampTz last_event_at;
	int64		events;
	double		fit;
	char	   *stage;			/* NULL: no stage */
	TimestampTz stage_entered_at;
	bool		has_due;
	TimestampTz due_at;
	bytea	   *caps;			/* NULL: no capped events */
} LeadState;

/* Would writing `b` over the row `a` was decoded from change nothing? */
extern bool lead_state_equal(const LeadState *a, const LeadState *b);

typedef struct StateStore StateStore;

extern StateStore *store_open(void);
extern void store_close(StateStore *store);

typedef enum LockResult
{
	LOCK_FOUND,					/* locked; `state` holds the row */
	LOCK_ABSENT,				/* no such row */
	LOCK_BUSY					/* another transaction holds it (skip_busy only) */
} LockResult;

/*
 * Find and lock a lead's row.  Waits for concurrent writers, unless
 * `skip_busy`: then a row another transaction writes or locks is reported
 * busy at once (maintenance jobs never wait while holding other leads).
 */
extern LockResult store_lock_lead(StateStore *store, const char *model, const char *lead,
								  LeadState *state, bool skip_busy);

/* Read a lead's row as of the active snapshot, for readers; false if absent. */
extern bool state_read_lead(const char *model, const char *lead, LeadState *state);

/* Write back the row found by the last store_lock_lead(). */
extern void store_update_lead(StateStore *store, const char *model, const char *lead, const LeadState *state);

/*
 * Insert a new lead's row.  New rows of lead_state, stage_history and
 * skipped may wait in memory until store_flush() (or store_close()), which
 * must come before anything looks for them.
 */
extern void store_flush(StateStore *store);
extern void store_insert_lead(StateStore *store, const char *model, const char *lead, const LeadState *state);

/* Delete the row found by the last store_lock_lead(). */
extern void store_delete_lead(StateStore *store);

extern void store_insert_history(StateStore *store, const char *model, const char *lead,
								 const char *from_stage, const char *to_stage, double score,
								 const char *cause, int64 rule_id, const char *reason);

extern void store_insert_skipped(StateStore *store, Oid source, Datum row_identity,
								 const char *reason, const char *model, int64 rule_id,
								 const char *lead);

/* An empty lead state. */
extern void lead_state_init(LeadState *state);

#endif							/* MQL_STATE_STORE_H */
