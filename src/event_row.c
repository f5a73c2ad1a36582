/*
 * event_row.c — read an activity row and evaluate the rules of its event
 * type against it (see event_row.h).
 *
 * A condition that fails at run time raises an error naming the rule; a
 * model with on_error = 'skip' evaluates each row in a subtransaction
 * instead, and a failing row is reported as ROW_FAILED (never scored).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "condition.h"
#include "event_row.h"
#include "executor/executor.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

void
row_reader_init(RowReader *reader, TableRules *rules)
{
	int			most = 1;

	reader->rules = rules;
	reader->model = rules->tracking->model;
	reader->econtext = CreateStandaloneExprContext();
	for (int i = 0; i < rules->ntypes; i++)
		most = Max(most, rules->types[i].nrules);
	reader->matched = palloc(sizeof(RuleConfig *) * most);
	/* once per scan, outside the per-row subtransactions of on_error = 'skip' */
	reader->guc_level = rules->has_conditions ? condition_pin_search_path() : 0;
}

void
row_reader_done(RowReader *reader)
{
	FreeExprContext(reader->econtext, true);
	if (reader->guc_level > 0)
		condition_unpin_search_path(reader->guc_level);
}

/* An event time as timestamptz; `timestamp` columns are read as UTC. */
static inline TimestampTz
row_time(Datum value)
{
	/* timestamp and timestamptz share their representation */
	return DatumGetTimestampTz(value);
}

/* The rules for the row's event type; NULL type sets *isnull. */
static TypeRules *
row_type_rules(RowReader *reader, TupleTableSlot *slot, bool *isnull)
{
	TableRules *tr = reader->rules;
	Datum		value;

	if (tr->constant_type || tr->type_attnum == 0)
	{
		*isnull = false;
		return tr->constant_type;
	}
	value = slot_getattr(slot, tr->type_attnum, isnull);
	if (*isnull)
		return NULL;
	if (tr->type_type == TEXTOID || tr->type_type == VARCHAROID)
	{
		text	   *t = DatumGetTextPP(value);

		return table_rules_for_type(tr, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	}
	else
	{
		char	   *s = OutputFunctionCall(&tr->type_out, value);

		return table_rules_for_type(tr, s, strlen(s));
	}
}

/* Evaluate the rules of `type` on the row into row->matched. */
static void
row_match(RowReader *reader, TupleTableSlot *slot, TypeRules *type, EventRow *row)
{
	ExprContext *econtext = reader->econtext;
	volatile int i = 0;

	row->nmatched = 0;
	if (type == NULL)
		return;
	econtext->ecxt_scantuple = slot;
	PG_TRY();
	{
		for (i = 0; i < type->nrules; i++)
		{
			CompiledRule *cr = &type->rules[i];

			if (cr->qual == NULL || condition_holds(cr->qual, cr->rule->author, econtext))
				row->matched[row->nmatched++] = cr->rule;
		}
	}
	PG_CATCH();
	{
		RuleConfig *rule = type->rules[i].rule;
		ErrorData  *edata;

		reader->failing_rule = rule->id;
		MemoryContextSwitchTo(econtext->ecxt_per_query_memory);
		edata = CopyErrorData();
		FlushErrorState();
		edata->message = psprintf("condition of rule %lld failed on a row of %s: %s",
								  (long long) rule->id,
								  get_rel_name(reader->rules->relid), edata->message);
		if (edata->hint == NULL)
			edata->hint = pstrdup("Fix the rule's condition, or set on_error = 'skip' on the model "
								  "to record such rows in mql_score.skipped instead.");
		ReThrowError(edata);
	}
	PG_END_TRY();
	ResetExprContext(econtext);
}

/* row_match in a subtransaction: a failure marks the row instead of raising. */
static void
row_match_or_skip(RowReader *reader, TupleTableSlot *slot, TypeRules *type, EventRow *row)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		row_match(reader, slot, type, row);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		row->status = ROW_FAILED;
		row->reason = edata->message;
		row->failed_rule = reader->failing_rule;
		row->nmatched = 0;
	}
	PG_END_TRY();
}

void
row_read(RowReader *reader, TupleTableSlot *slot, EventRow *row)
{
	TableRules *tr = reader->rules;
	bool		isnull;
	Datum		value;
	TypeRules  *type;

	row->nmatched = 0;
	row->matched = reader->matched;
	row->reason = NULL;
	row->failed_rule = 0;

	value = slot_getattr(slot, tr->lead_attnum, &isnull);
	if (isnull)
	{
		row->status = ROW_ANONYMOUS;
		return;
	}
	lead_key_from_datum(value, tr->lead_type, &row->lead);
	if (row->lead.len > LEAD_KEY_MAX)
	{
		/* lead_state's index cannot hold it: keep the row, record why */
		row->status = ROW_UNSCORABLE;
		row->reason = "lead is longer than " CppAsString2(LEAD_KEY_MAX) " bytes";
		return;
	}

	value = slot_getattr(slot, tr->time_attnum, &isnull);
	if (isnull)
	{
		row->status = ROW_UNSCORABLE;
		row->reason = "event time is NULL";
		return;
	}
	row->at = row_time(value);
	if (TIMESTAMP_NOT_FINITE(row->at))
	{
		row->status = ROW_UNSCORABLE;
		row->reason = TIMESTAMP_IS_NOBEGIN(row->at) ? "event time is -infinity" : "event time is infinity";
		return;
	}

	type = row_type_rules(reader, slot, &isnull);
	if (isnull)
	{
		row->status = ROW_UNSCORABLE;
		row->reason = "event type is NULL";
		return;
	}

	row->status = ROW_SCORED;
	if (type == NULL)
		return;					/* a type no rule mentions: an event worth 0 */
	if (reader->model->skip_errors)
		row_match_or_skip(reader, slot, type, row);
	else
		row_match(reader, slot, type, row);
}

double
fit_of_row(ModelConfig *model, FitTable *table, TupleTableSlot *slot,
		   ExprContext *econtext, int *matched, int *nmatched)
{
	volatile int i = 0;
	volatile double fit = 0.0;
	int			guc_level;

	if (nmatched)
		*nmatched = 0;
	if (model->nfit_rules == 0)
		return 0.0;
	econtext->ecxt_scantuple = slot;
	guc_level = condition_pin_search_path();
	PG_TRY();
	{
		for (i = 0; i < model->nfit_rules; i++)
		{
			if (condition_holds(table->quals[i], model->fit_rules[i].author, econtext))
			{
				fit += model->fit_rules[i].points;
				if (matched)
					matched[(*nmatched)++] = i;
			}
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(econtext->ecxt_per_query_memory);
		edata = CopyErrorData();
		FlushErrorState();
		edata->message = psprintf("condition of fit rule %lld failed on a row of %s: %s",
								  (long long) model->fit_rules[i].id,
								  get_rel_name(table->relid), edata->message);
		ReThrowError(edata);
	}
	PG_END_TRY();
	condition_unpin_search_path(guc_level);
	ResetExprContext(econtext);
	return fit;
}

Datum
row_identity(RowReader *reader, TupleTableSlot *slot)
{
	TableRules *tr = reader->rules;
	Datum		record;
	Datum		json;

	if (tr->pk_attnums != NIL)
	{
		/* a blessed record of just the primary key columns */
		int			n = list_length(tr->pk_attnums);
		TupleDesc	desc = CreateTemplateTupleDesc(n);
		Datum	   *values = palloc(sizeof(Datum) * n);
		bool	   *nulls = palloc(sizeof(bool) * n);
		int			i = 0;
		ListCell   *lc;

		foreach(lc, tr->pk_attnums)
		{
			Form_pg_attribute att = TupleDescAttr(slot->tts_tupleDescriptor, lfirst_int(lc) - 1);

			TupleDescInitEntry(desc, i + 1, NameStr(att->attname), att->atttypid, att->atttypmod, 0);
			values[i] = slot_getattr(slot, lfirst_int(lc), &nulls[i]);
			i++;
		}
		desc = BlessTupleDesc(desc);
		record = HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
	}
	else
		record = ExecFetchSlotHeapTupleDatum(slot);

	json = DirectFunctionCall1(row_to_json, record);
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(text_to_cstring(DatumGetTextPP(json))));
}
