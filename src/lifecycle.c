/*
 * lifecycle.c — what happens to leads besides events: fit from the CRM's
 * lead table (its trigger and _refit), manual moves (set_stage, recycle),
 * CRM merges (merge_leads), erasure (forget), and the per-batch workers of
 * the refresh_stages() procedure.
 *
 * Every operation that changes a lead goes through a batch (batch.c), so
 * it locks state rows in the same global order as the triggers do.
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "batch.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "config.h"
#include "event_row.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "jobs.h"
#include "lead_key.h"
#include "stages.h"
#include "triggers.h"
#include "state_store.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(mql_set_stage);
PG_FUNCTION_INFO_V1(mql_recycle);
PG_FUNCTION_INFO_V1(mql_merge_leads);
PG_FUNCTION_INFO_V1(mql_forget);
PG_FUNCTION_INFO_V1(mql_refresh_leads);
PG_FUNCTION_INFO_V1(mql_refit);
PG_FUNCTION_INFO_V1(mql_lead_table_keys);
PG_FUNCTION_INFO_V1(mql_on_leads_change);

/* Leads refitted per batch by _refit(), bounding its memory. */
#define REFIT_CHUNK 50000

/* A required text argument. */
static char *
required_text(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

static char *
optional_text(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

static char *
required_lead(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
	return lead_key_argument(fcinfo, argno);
}

/* A stage of a model by name; 22023 naming the model's stages if unknown. */
static int
required_stage(ModelConfig *model, const char *stage)
{
	int			idx = stage_index(model, stage);
	StringInfoData names;

	if (idx >= 0)
		return idx;
	initStringInfo(&names);
	for (int i = 0; i < model->nstages; i++)
		appendStringInfo(&names, "%s%s", i ? ", " : "", model->stages[i].name);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("model \"%s\" has no stage \"%s\"", model->name, stage),
			 model->nstages ? errhint("Its stages are: %s.", names.data)
			 : errhint("Add stages to mql_score.stages first.")));
	return -1;
}

/* Run one action on one lead; returns its stage before and after. */
static void
act_on_lead(ModelConfig *model, const char *lead, LeadAction action, int stage_idx,
			const char *reason, char **before, char **after)
{
	ScoreBatch *batch = batch_begin(model, NULL, 1);
	const char *b,
			   *a;

	batch_act(batch, lead, action, stage_idx, reason);
	batch_apply(batch);
	batch_outcome(batch, lead, &b, &a);
	*before = b ? pstrdup(b) : NULL;
	*after = a ? pstrdup(a) : NULL;
	batch_end(batch);
}

/* set_stage(lead, stage, model, reason) → the stage the lead left */
Datum
mql_set_stage(PG_FUNCTION_ARGS)
{
	char	   *lead = required_lead(fcinfo, 0, "lead");
	char	   *stage = required_text(fcinfo, 1, "stage");
	char	   *model_name = required_text(fcinfo, 2, "model");
	char	   *reason = optional_text(fcinfo, 3);
	char	   *before = NULL,
			   *after = NULL;
	OwnerContext owner;

	become_owner(&owner);
	config_acquire();
	PG_TRY();
	{
		ModelConfig *model = config_model(model_name, false);

		act_on_lead(model, lead, ACTION_SET_STAGE, required_stage(model, stage), reason,
					&before, &after);
	}
	PG_FINALLY();
	{
		config_release();
		restore_user(&owner);
	}
	PG_END_TRY();
	if (before == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(before));
}

/* recycle(lead, model, reason, to_stage) → the stage the lead is in now */
Datum
mql_recycle(PG_FUNCTION_ARGS)
{
	char	   *lead = required_lead(fcinfo, 0, "lead");
	char	   *model_name = required_text(fcinfo, 1, "model");
	char	   *reason = optional_text(fcinfo, 2);
	char	   *to_stage = optional_text(fcinfo, 3);
	char	   *before = NULL,
			   *after = NULL;
	OwnerContext owner;

	become_owner(&owner);
	config_acquire();
	PG_TRY();
	{
		ModelConfig *model = config_model(model_name, false);

		act_on_lead(model, lead, ACTION_RECYCLE, to_stage ? required_stage(model, to_stage) : -1,
					reason, &before, &after);
	}
	PG_FINALLY();
	{
		config_release();
		restore_user(&owner);
	}
	PG_END_TRY();
	if (after == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(after));
}

/* The models an operation with an optional model argument applies to. */
static List *
models_named(const char *name)
{
	return name != NULL ? list_make1(config_model(name, false)) : config_models();
}

/* Move from_lead's rows to into_lead in every table the models track. */
static int64
merge_rows(List *models, const char *from, const char *into)
{
	List	   *done = NIL;
	int64		moved = 0;
	ListCell   *lm,
			   *lt;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	foreach(lm, models)
	{
		foreach(lt, ((ModelConfig *) lfirst(lm))->trackings)
		{
			TrackingConfig *tc = lfirst(lt);
			Datum		values[2];
			Oid			types[2];
			char	   *query;

			if (list_member_oid(done, tc->relid))
				continue;		/* a table tracked by two models moves once */
			done = lappend_oid(done, tc->relid);
			if (!lead_key_to_datum(from, tc->lead_type, &values[1]))
				continue;		/* no row can have that lead */
			if (!lead_key_to_datum(into, tc->lead_type, &values[0]))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("lead \"%s\" does not fit column \"%s\" of %s",
								into, tc->lead_column, get_rel_name(tc->relid))));
			types[0] = types[1] = tc->lead_type;
			query = psprintf("UPDATE %s SET %s = $1 WHERE %s OPERATOR(pg_catalog.=) $2",
							 quote_qualified_identifier(get_namespace_name(get_rel_namespace(tc->relid)),
														get_rel_name(tc->relid)),
							 quote_identifier(tc->lead_column), quote_identifier(tc->lead_column));
			if (SPI_execute_with_args(query, 2, types, values, NULL, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "moving rows of lead \"%s\" failed", from);
			moved += SPI_processed;
		}
	}
	SPI_finish();
	return moved;
}

/* merge_leads(from_lead, into_lead, model, reason) → activity rows moved */
Datum
mql_merge_leads(PG_FUNCTION_ARGS)
{
	char	   *from = required_lead(fcinfo, 0, "from_lead");
	char	   *into = required_lead(fcinfo, 1, "into_lead");
	char	   *model_name = optional_text(fcinfo, 2);
	char	   *reason = optional_text(fcinfo, 3);
	int64		moved = 0;
	OwnerContext owner;

	if (strcmp(from, into) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot merge lead \"%s\" into itself", from)));
	become_owner(&owner);
	config_acquire();
	PG_TRY();
	{
		List	   *models = models_named(model_name);
		ListCell   *lc;
		char	   *why = reason ? reason : psprintf("merged %s into %s", from, into);

		/* the triggers rescore both leads as their rows move */
		moved = merge_rows(models, from, into);
		CommandCounterIncrement();
		foreach(lc, models)
		{
			ModelConfig *model = lfirst(lc);
			LeadState	merged;
			int			stage = -1;
			ScoreBatch *batch;

			PushActiveSnapshot(GetTransactionSnapshot());
			if (state_read_lead(model->name, from, &merged))
				stage = stage_index(model, merged.stage);
			PopActiveSnapshot();

			batch = batch_begin(model, NULL, 2);
			batch_act(batch, from, ACTION_MERGE_FROM, -1, why);
			batch_act(batch, into, ACTION_MERGE_INTO, stage, why);
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
	PG_RETURN_INT64(moved);
}

/* forget(lead, model) → rows erased from state, history and skipped */
Datum
mql_forget(PG_FUNCTION_ARGS)
{
	char	   *lead = required_lead(fcinfo, 0, "lead");
	char	   *model = optional_text(fcinfo, 1);
	static const char *const tables[] = {"lead_state", "stage_history", "skipped", "rescore_queue"};
	int64		erased = 0;
	OwnerContext owner;

	become_owner(&owner);
	config_acquire();
	PG_TRY();
	{
		Oid			types[2] = {TEXTOID, TEXTOID};
		Datum		values[2] = {CStringGetTextDatum(lead), model ? CStringGetTextDatum(model) : (Datum) 0};
		char		nulls[2] = {' ', model ? ' ' : 'n'};

		if (model != NULL)
			(void) config_model(model, false);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		for (int i = 0; i < (int) lengthof(tables); i++)
		{
			char	   *query = psprintf("DELETE FROM mql_score.%s WHERE lead OPERATOR(pg_catalog.=) $1 AND ($2::pg_catalog.text IS NULL OR model OPERATOR(pg_catalog.=) $2)",
										 tables[i]);

			if (SPI_execute_with_args(query, 2, types, values, nulls, false, 0) != SPI_OK_DELETE)
				elog(ERROR, "forgetting lead \"%s\" failed", lead);
			erased += SPI_processed;
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		config_release();
		restore_user(&owner);
	}
	PG_END_TRY();
	PG_RETURN_INT64(erased);
}

/* Run `action` on every lead of a text[] in one batch; returns how many. */
static int64
act_on_leads(ModelConfig *model, ArrayType *array, LeadAction action)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	ScoreBatch *batch;
	int64		result;

	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	batch = batch_begin(model, NULL, n);
	/* a lead its own writer holds is re-staged by that writer's trigger */
	batch_skip_busy(batch);
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			batch_act(batch, TextDatumGetCString(elems[i]), action, -1, NULL);
	result = batch_apply(batch);
	batch_end(batch);
	return result;
}

/* _refresh_leads(model, leads) → leads re-evaluated (cause decay) */
Datum
mql_refresh_leads(PG_FUNCTION_ARGS)
{
	char	   *model_name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ArrayType  *leads = PG_GETARG_ARRAYTYPE_P(1);
	int64		n = 0;
	OwnerContext owner;

	become_owner(&owner);
	config_acquire();
	PG_TRY();
	{
		n = act_on_leads(config_model(model_name, false), leads, ACTION_REFRESH);
	}
	PG_FINALLY();
	{
		config_release();
		restore_user(&owner);
	}
	PG_END_TRY();
	PG_RETURN_INT64(n);
}

/* Recompute the fit of every lead of the model: its lead table's rows, and zero for the rest. */
static int64
refit(ModelConfig *model)
{
	ScoreBatch *batch = batch_begin(model, "fit", REFIT_CHUNK);
	int64		n = 0;
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(model->name)};

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* leads with fit that may have lost their row: zero first, rows override */
	SPI_execute_with_args("SELECT lead FROM mql_score.lead_state WHERE model OPERATOR(pg_catalog.=) $1 AND fit OPERATOR(pg_catalog.<>) 0",
						  1, types, values, NULL, true, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
		batch_set_fit(batch, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1), 0.0);

	if (model->fit != NULL && model->nfit_rules > 0)
	{
		Relation	rel = relation_open(model->fit->relid, AccessShareLock);
		FitTable   *table = config_fit_table(model, rel);
		TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
		ExprContext *econtext = CreateStandaloneExprContext();
		Portal		portal;

		portal = SPI_cursor_open_with_args(NULL,
										   psprintf("SELECT t FROM %s AS t",
													quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
																			   RelationGetRelationName(rel))),
										   0, NULL, NULL, NULL, true, 0);
		for (;;)
		{
			SPI_cursor_fetch(portal, true, 1000);
			if (SPI_processed == 0)
				break;
			for (uint64 i = 0; i < SPI_processed; i++)
			{
				bool		isnull;
				HeapTupleHeader header = DatumGetHeapTupleHeader(SPI_getbinval(SPI_tuptable->vals[i],
																				SPI_tuptable->tupdesc, 1, &isnull));
				HeapTupleData tuple;
				Datum		id;
				LeadKey		key;

				tuple.t_len = HeapTupleHeaderGetDatumLength(header);
				ItemPointerSetInvalid(&tuple.t_self);
				tuple.t_tableOid = RelationGetRelid(rel);
				tuple.t_data = header;
				ExecStoreHeapTuple(&tuple, slot, false);
				id = slot_getattr(slot, table->id_attnum, &isnull);
				if (isnull)
					continue;
				lead_key_from_datum(id, table->id_type, &key);
				batch_set_fit(batch, pnstrdup(key.data, key.len),
							  fit_of_row(model, table, slot, econtext, NULL, NULL));
				ExecClearTuple(slot);
			}
			SPI_freetuptable(SPI_tuptable);
		}
		SPI_cursor_close(portal);
		FreeExprContext(econtext, true);
		ExecDropSingleTupleTableSlot(slot);
		relation_close(rel, AccessShareLock);
	}
	SPI_finish();
	n = batch_apply(batch);
	batch_end(batch);
	return n;
}

/* _refit(model) → leads whose fit was recomputed */
Datum
mql_refit(PG_FUNCTION_ARGS)
{
	char	   *model_name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		n = 0;
	OwnerContext owner;

	become_owner(&owner);
	config_acquire();
	PG_TRY();
	{
		n = refit(config_model(model_name, false));
	}
	PG_FINALLY();
	{
		config_release();
		restore_user(&owner);
	}
	PG_END_TRY();
	PG_RETURN_INT64(n);
}

/* _lead_table_keys(model) → the lead keys of its lead table */
Datum
mql_lead_table_keys(PG_FUNCTION_ARGS)
{
	char	   *model_name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	List	   *volatile leads = NIL;
	OwnerContext owner;

	become_owner(&owner);
	config_acquire();
	PG_TRY();
	{
		ModelConfig *model = config_model(model_name, false);

		if (model->fit != NULL)
			leads = leads_of_relation(model->fit->relid, model->fit->id_column);
	}
	PG_FINALLY();
	{
		config_release();
		restore_user(&owner);
	}
	PG_END_TRY();
	PG_RETURN_ARRAYTYPE_P(text_array_of_list(leads));
}

/* Statement trigger on a model's lead table: refit the changed rows' leads. */
Datum
mql_on_leads_change(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	int			id;
	OwnerContext owner;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
		td->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("_on_leads_change() is a statement trigger that track_leads() attaches")));
	id = pg_strtoint32(td->tg_trigger->tgargs[0]);
	become_owner(&owner);
	config_acquire();
	PG_TRY();
	{
		ModelConfig *model = config_fit_tracking(id);

		if (model == NULL)
			trigger_check_unknown_tracking(td, id, "lead table tracking");
		else if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
			(void) refit(model);
		else
		{
			FitTable   *table = config_fit_table(model, td->tg_relation);
			int64		rows = (td->tg_oldtable ? tuplestore_tuple_count(td->tg_oldtable) : 0) +
				(td->tg_newtable ? tuplestore_tuple_count(td->tg_newtable) : 0);
			ScoreBatch *batch = batch_begin(model, "fit", rows);

			if (td->tg_oldtable)
				batch_add_fit_rows(batch, table, td->tg_relation, td->tg_oldtable, -1);
			if (td->tg_newtable)
				batch_add_fit_rows(batch, table, td->tg_relation, td->tg_newtable, 1);
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
