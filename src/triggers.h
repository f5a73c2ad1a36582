/*
 * triggers.h — shared by the trigger entry points (triggers.c implements
 * it; lifecycle.c's lead-table trigger uses it).
 */
#ifndef MQL_TRIGGERS_H
#define MQL_TRIGGERS_H

#include "postgres.h"

#include "commands/trigger.h"

/*
 * The trigger fired for tracking `id`, which the configuration does not
 * know.  Nothing to do if untrack() dropped the trigger meanwhile; if it
 * still exists (a trigger copied with its table — Citus shards on a worker,
 * a dump restored without mql_score's configuration), raise: its rows
 * would otherwise go unscored without a word.
 */
extern void trigger_check_unknown_tracking(TriggerData *td, int id, const char *what);

#endif							/* MQL_TRIGGERS_H */
