/*
 * triggers.c — the statement-level triggers that track() attaches to an
 * activity table (and each of its partitions).
 *
 * INSERT, UPDATE and DELETE read their transition tables and apply them as
 * one batch (batch.c).  TRUNCATE cannot show its rows: the BEFORE trigger
 * notes which leads the relation holds rows of, and the AFTER trigger
 * recomputes them from what remains.  The work runs as the extension
 * owner, so a role that may only write its activity tables still has its
 * events scored.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/xact.h"
#include "batch.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "config.h"
#include "fmgr.h"
#include "jobs.h"
#include "triggers.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(mql_on_insert);
PG_FUNCTION_INFO_V1(mql_on_update);
PG_FUNCTION_INFO_V1(mql_on_delete);
PG_FUNCTION_INFO_V1(mql_on_truncate);

/* Leads noted by BEFORE TRUNCATE triggers, per tracking, for this transaction. */
typedef struct TruncatedLeads
{
	int			tracking;
	List	   *leads;
} TruncatedLeads;

static List *truncated = NIL;
static bool truncated_callback_registered = false;

static void
truncated_reset(XactEvent event, void *arg)
{
	truncated = NIL;			/* its memory went with TopTransactionContext */
}

/* The tracking a trigger was attached for (its single argument). */
static int
trigger_tracking(FunctionCallInfo fcinfo, TriggerData **td)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mql_score trigger functions can only be called as triggers")));
	*td = (TriggerData *) fcinfo->context;
	if (!TRIGGER_FIRED_FOR_STATEMENT((*td)->tg_event) || (*td)->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mql_score trigger \"%s\" is not one track() creates", (*td)->tg_trigger->tgname),
				 errhint("Use mql_score.track() and mql_score.untrack() to manage tracking.")));
	return pg_strtoint32((*td)->tg_trigger->tgargs[0]);
}

/* Whether trigger `tgoid` is still in the catalog (it was not dropped meanwhile). */
static bool
trigger_exists(Oid tgoid)
{
	Relation	rel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	bool		found;

	ScanKeyInit(&key, Anum_pg_trigger_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(tgoid));
	scan = systable_beginscan(rel, TriggerOidIndexId, true, NULL, 1, &key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

void
trigger_check_unknown_tracking(TriggerData *td, int id, const char *what)
{
	if (!trigger_exists(td->tg_trigger->tgoid))
		return;					/* untracked by a transaction that committed meanwhile */
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("mql_score trigger \"%s\" on table \"%s\" names %s %d, which this database does not have",
					td->tg_trigger->tgname, RelationGetRelationName(td->tg_relation), what, id),
			 errdetail("Rows written to the table would not be scored."),
			 errhint("Triggers copied with a table (Citus shards on a worker node, a table restored "
					 "without mql_score's configuration) cannot score it: track the table where "
					 "mql_score's configuration lives, or drop the trigger.")));
}

/* Apply a statement's old and/or new rows to the tracking's model. */
static Datum
score_statement(FunctionCallInfo fcinfo, bool old_rows, bool new_rows)
{
	TriggerData *td;
	int			id = trigger_tracking(fcinfo, &td);
	OwnerContext owner;

	become_owner(&owner);
	config_acquire();
	PG_TRY();
	{
		TrackingConfig *tc = config_tracking(id, true);

		if (tc == NULL)
			trigger_check_unknown_tracking(td, id, "tracking");
		else
		{
			TableRules *rules = config_table_rules(tc, td->tg_relation);
			bool		updating = old_rows && new_rows;
			int64		rows = (old_rows ? tuplestore_tuple_count(td->tg_oldtable) : 0) +
				(new_rows ? tuplestore_tuple_count(td->tg_newtable) : 0);
			ScoreBatch *batch = batch_begin(tc->model, NULL, rows);

			if (old_rows)
				batch_add_rows(batch, rules, td->tg_relation, td->tg_oldtable, -1, updating);
			if (new_rows)
				batch_add_rows(batch, rules, td->tg_relation, td->tg_newtable, 1, updating);
			batch_apply(batch);
			batch_end(batch);
		}
	}
	PG_FINALLY();
	{
		config_release();
		restore_user(&owner);
	}
	PG_END_TRY();
	return PointerGetDatum(NULL);
}

Datum
mql_on_insert(PG_FUNCTION_ARGS)
{
	return score_statement(fcinfo, false, true);
}

Datum
mql_on_update(PG_FUNCTION_ARGS)
{
	return score_statement(fcinfo, true, true);
}

Datum
mql_on_delete(PG_FUNCTION_ARGS)
{
	return score_statement(fcinfo, true, false);
}

/* Note the leads before TRUNCATE; recompute them after. */
Datum
mql_on_truncate(PG_FUNCTION_ARGS)
{
	TriggerData *td;
	int			id = trigger_tracking(fcinfo, &td);
	OwnerContext owner;

	if (!truncated_callback_registered)
	{
		RegisterXactCallback(truncated_reset, NULL);
		truncated_callback_registered = true;
	}
	become_owner(&owner);
	config_acquire();
	PG_TRY();
	{
		TrackingConfig *tc = config_tracking(id, true);

		if (tc == NULL)
			trigger_check_unknown_tracking(td, id, "tracking");
		else if (TRIGGER_FIRED_BEFORE(td->tg_event))
		{
			MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
			TruncatedLeads *noted = palloc(sizeof(TruncatedLeads));

			noted->tracking = id;
			noted->leads = leads_of_relation(RelationGetRelid(td->tg_relation), tc->lead_column);
			truncated = lappend(truncated, noted);
			MemoryContextSwitchTo(old);
		}
		else
		{
			ListCell   *lc;

			foreach(lc, truncated)
			{
				TruncatedLeads *noted = lfirst(lc);

				if (noted->tracking == id)
				{
					recompute_leads(tc->model, noted->leads, "truncate");
					noted->leads = NIL;
				}
			}
		}
	}
	PG_FINALLY();
	{
		config_release();
		restore_user(&owner);
	}
	PG_END_TRY();
	return PointerGetDatum(NULL);
}
