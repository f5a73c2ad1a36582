/*
 * recompute.c — compute a lead's state from its activity rows (see
 * recompute.h).
 *
 * Rows are fetched through the lead column's index with one cached plan
 * per tracked table (SELECT t FROM table t WHERE lead = $1), read as whole
 * rows in the table's own row type so compiled conditions apply, and
 * scored with the same code the triggers use (event_row.c).  Capped rules
 * then count each lead's earliest events per UTC day, by event time.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "event_row.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "lead_key.h"
#include "recompute.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#define RECOMPUTE_FETCH 1000

typedef struct CappedHit
{
	RuleConfig *rule;
	int32		day;
	TimestampTz at;
} CappedHit;

typedef struct CappedHits
{
	MemoryContext cxt;			/* outlives the SPI connection */
	int			n;
	int			size;
	CappedHit  *hits;
} CappedHits;

static void store_whole_row(TupleTableSlot *slot, Datum whole, Oid relid, HeapTupleData *tuple);

/* The cached plan reading one lead's rows of a tracked table. */
static SPIPlanPtr
rows_of_lead_plan(TrackingConfig *tc)
{
	Oid			argtype = tc->lead_type == VARCHAROID ? TEXTOID : tc->lead_type;
	char	   *query;
	SPIPlanPtr	plan;

	if (tc->rows_of_lead)
		return tc->rows_of_lead;
	query = psprintf("SELECT t FROM %s AS t WHERE t.%s OPERATOR(pg_catalog.=) $1",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(tc->relid)),
												get_rel_name(tc->relid)),
					 quote_identifier(tc->lead_column));
	plan = SPI_prepare(query, 1, &argtype);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", query, SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	tc->rows_of_lead = plan;
	return plan;
}

static void
capped_add(CappedHits *hits, RuleConfig *rule, TimestampTz at)
{
	if (hits->n == hits->size)
	{
		hits->size = Max(64, hits->size * 2);
		hits->hits = hits->hits ? repalloc(hits->hits, sizeof(CappedHit) * hits->size)
			: MemoryContextAlloc(hits->cxt, sizeof(CappedHit) * hits->size);
	}
	hits->hits[hits->n].rule = rule;
	hits->hits[hits->n].day = rule->once ? CAPS_ONCE_DAY : caps_utc_day(at);
	hits->hits[hits->n].at = at;
	hits->n++;
}

/* Count one event of a rule. */
static void
rule_total_add(RuleTotal *total, const RuleConfig *rule, TimestampTz at)
{
	decayed_add_event(&total->sum, rule->points, at);
	if (total->events == 0 || at > total->last_counted)
		total->last_counted = at;
	total->events++;
}

static int
capped_compare(const void *a, const void *b)
{
	const CappedHit *x = a;
	const CappedHit *y = b;

	if (x->rule->index != y->rule->index)
		return x->rule->index < y->rule->index ? -1 : 1;
	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return (x->at > y->at) - (x->at < y->at);
}

/* Score the lead's rows of one tracked table into `out`. */
static void
recompute_table(TrackingConfig *tc, const char *lead, Recomputed *out, CappedHits *hits)
{
	Datum		param;
	Relation	rel;
	TableRules *tr;
	RowReader	reader;
	TupleTableSlot *slot;
	Portal		portal;

	if (!lead_key_to_datum(lead, tc->lead_type, &param))
		return;					/* no value of this column's type has that key */

	rel = relation_open(tc->relid, AccessShareLock);
	tr = config_table_rules(tc, rel);
	row_reader_init(&reader, tr);
	slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);

	portal = SPI_cursor_open(NULL, rows_of_lead_plan(tc), &param, NULL, false);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, RECOMPUTE_FETCH);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			HeapTupleData tuple;
			EventRow	row;

			store_whole_row(slot, SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull),
							RelationGetRelid(rel), &tuple);

			row_read(&reader, slot, &row);
			if (row.status != ROW_SCORED)
				continue;
			out->events++;
			if (!out->has_events || row.at > out->last_event_at)
				out->last_event_at = row.at;
			out->has_events = true;
			for (int m = 0; m < row.nmatched; m++)
			{
				RuleConfig *rule = row.matched[m];

				if (rule->cap > 0)
					capped_add(hits, rule, row.at);
				else
					rule_total_add(&out->rules[rule->index], rule, row.at);
			}
			ExecClearTuple(slot);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	ExecDropSingleTupleTableSlot(slot);
	row_reader_done(&reader);
	relation_close(rel, AccessShareLock);
}

/* Count the earliest `cap` hits of each (rule, day) and record the caps. */
static void
recompute_caps(CappedHits *hits, Recomputed *out)
{
	int			i = 0;

	qsort(hits->hits, hits->n, sizeof(CappedHit), capped_compare);
	while (i < hits->n)
	{
		CappedHit  *first = &hits->hits[i];
		RuleConfig *rule = first->rule;
		CapEntry   *entry = caps_lookup(&out->caps, rule->id, first->day, true);

		for (; i < hits->n && hits->hits[i].rule == rule && hits->hits[i].day == first->day; i++)
		{
			if (entry->count >= rule->cap)
				continue;
			entry->count++;
			entry->max_counted = hits->hits[i].at;
			rule_total_add(&out->rules[rule->index], rule, hits->hits[i].at);
		}
	}
}

/* The cached plan reading one lead's row of the model's lead table. */
static SPIPlanPtr
row_of_lead_plan(FitConfig *fit)
{
	Oid			argtype = fit->id_type == VARCHAROID ? TEXTOID : fit->id_type;
	char	   *query;
	SPIPlanPtr	plan;

	if (fit->row_of_lead)
		return fit->row_of_lead;
	query = psprintf("SELECT t FROM %s AS t WHERE t.%s OPERATOR(pg_catalog.=) $1 LIMIT 1",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(fit->relid)),
												get_rel_name(fit->relid)),
					 quote_identifier(fit->id_column));
	plan = SPI_prepare(query, 1, &argtype);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", query, SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	fit->row_of_lead = plan;
	return plan;
}

/* Point a heap-tuple slot at a whole-row datum returned by SPI. */
static void
store_whole_row(TupleTableSlot *slot, Datum whole, Oid relid, HeapTupleData *tuple)
{
	HeapTupleHeader header = DatumGetHeapTupleHeader(whole);

	tuple->t_len = HeapTupleHeaderGetDatumLength(header);
	ItemPointerSetInvalid(&tuple->t_self);
	tuple->t_tableOid = relid;
	tuple->t_data = header;
	ExecStoreHeapTuple(tuple, slot, false);
}

double
recompute_fit(ModelConfig *model, const char *lead, int *matched, int *nmatched)
{
	FitConfig  *fit = model->fit;
	double		result = 0.0;
	Datum		param;

	if (nmatched)
		*nmatched = 0;
	if (fit == NULL || model->nfit_rules == 0 || !lead_key_to_datum(lead, fit->id_type, &param))
		return 0.0;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_plan(row_of_lead_plan(fit), &param, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading the lead row of \"%s\" failed", lead);
	if (SPI_processed > 0)
	{
		Relation	rel = relation_open(fit->relid, AccessShareLock);
		FitTable   *table = config_fit_table(model, rel);
		TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
		ExprContext *econtext = CreateStandaloneExprContext();
		HeapTupleData tuple;
		bool		isnull;

		store_whole_row(slot, SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull),
						fit->relid, &tuple);
		result = fit_of_row(model, table, slot, econtext, matched, nmatched);
		FreeExprContext(econtext, true);
		ExecDropSingleTupleTableSlot(slot);
		relation_close(rel, AccessShareLock);
	}
	SPI_finish();
	return result;
}

void
recompute_lead(ModelConfig *model, const char *lead, Recomputed *out)
{
	CappedHits	hits = {0};
	ListCell   *lc;
	Decayed		total;

	hits.cxt = CurrentMemoryContext;
	memset(out, 0, sizeof(Recomputed));
	out->rules = palloc0(sizeof(RuleTotal) * Max(1, model->nrules));
	for (int i = 0; i < model->nrules; i++)
		decayed_init(&out->rules[i].sum, model->half_life);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	foreach(lc, model->trackings)
		recompute_table(lfirst(lc), lead, out, &hits);
	SPI_finish();

	recompute_caps(&hits, out);

	/* the lead's engagement as of its latest event */
	decayed_init(&total, model->half_life);
	if (out->has_events)
		total.at = out->last_event_at;
	for (int i = 0; i < model->nrules; i++)
		if (out->rules[i].events > 0)
			decayed_merge_into(&total, &out->rules[i].sum);
	out->engagement = decayed_total(&total);

	out->fit_matched = palloc(sizeof(int) * Max(1, model->nfit_rules));
	out->fit = recompute_fit(model, lead, out->fit_matched, &out->nfit_matched);
}
