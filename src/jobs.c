/*
 * jobs.c — recompute sets of leads, and the SQL-callable helpers that
 * track() and untrack() use: _leads_of(), _recompute_leads() and
 * _record_unscorable(); _require_job(), the privilege check of the jobs'
 * helpers.
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "batch.h"
#include "catalog/namespace.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "event_row.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "jobs.h"
#include "miscadmin.h"
#include "state_store.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/catcache.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(mql_leads_of);
PG_FUNCTION_INFO_V1(mql_recompute_leads);
PG_FUNCTION_INFO_V1(mql_rescore_batch);
PG_FUNCTION_INFO_V1(mql_record_unscorable);
PG_FUNCTION_INFO_V1(mql_require_job);

List *
leads_of_relation(Oid relid, const char *lead_column)
{
	MemoryContext caller = CurrentMemoryContext;
	List	   *leads = NIL;
	char	   *query;
	Portal		portal;

	query = psprintf("SELECT DISTINCT (%s)::pg_catalog.text FROM %s WHERE %s IS NOT NULL",
					 quote_identifier(lead_column),
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												get_rel_name(relid)),
					 quote_identifier(lead_column));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	portal = SPI_cursor_open_with_args(NULL, query, 0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 10000);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			char	   *lead = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
			MemoryContext spi = MemoryContextSwitchTo(caller);	/* SPI frees its own */

			leads = lappend(leads, pstrdup(lead));
			MemoryContextSwitchTo(spi);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_finish();
	return leads;
}

ArrayType *
text_array_of_list(List *strings)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(1, list_length(strings)));
	int			n = 0;
	ListCell   *lc;

	foreach(lc, strings)
		elems[n++] = CStringGetTextDatum(lfirst(lc));
	return construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT);
}

int64
recompute_leads(ModelConfig *model, List *leads, const char *cause)
{
	ScoreBatch *batch;
	ListCell   *lc;
	int64		n;

	if (leads == NIL)
		return 0;
	batch = batch_begin(model, cause, list_length(leads));
	foreach(lc, leads)
		batch_recompute(batch, lfirst(lc));
	n = batch_apply(batch);
	batch_end(batch);
	return n;
}

/* _leads_of(tracking, rel) → text[]: the leads a tracked table (or `rel`) holds rows of. */
Datum
mql_leads_of(PG_FUNCTION_ARGS)
{
	int			id;
	Oid			rel = PG_ARGISNULL(1) ? InvalidOid : PG_GETARG_OID(1);
	OwnerContext owner;
	List	   *volatile leads = NIL;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	id = PG_GETARG_INT32(0);
	become_owner(&owner);
	config_acquire();
	PG_TRY();
	{
		TrackingConfig *tc = config_tracking(id, false);

		leads = leads_of_relation(OidIsValid(rel) ? rel : tc->relid, tc->lead_column);
	}
	PG_FINALLY();
	{
		config_release();
		restore_user(&owner);
	}
	PG_END_TRY();

	PG_RETURN_ARRAYTYPE_P(text_array_of_list(leads));
}

/* _recompute_leads(model, leads text[], cause) → leads recomputed. */
Datum
mql_recompute_leads(PG_FUNCTION_ARGS)
{
	char	   *model_name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(1);
	char	   *cause = text_to_cstring(PG_GETARG_TEXT_PP(2));
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *leads = NIL;
	int64		result = 0;
	OwnerContext owner;

	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			leads = lappend(leads, TextDatumGetCString(elems[i]));

	become_owner(&owner);
	config_acquire();
	PG_TRY();
	{
		result = recompute_leads(config_model(model_name, false), leads, cause);
	}
	PG_FINALLY();
	{
		config_release();
		restore_user(&owner);
	}
	PG_END_TRY();
	PG_RETURN_INT64(result);
}

/*
 * _rescore_batch(model, leads text[], wait) → the leads recomputed.  Leads
 * other transactions hold are skipped unless `wait` (rescore() retries them,
 * waiting for one lead at a time, which cannot deadlock).
 */
Datum
mql_rescore_batch(PG_FUNCTION_ARGS)
{
	char	   *model_name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(1);
	bool		wait = PG_GETARG_BOOL(2);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *done = NIL;
	ListCell   *lc;
	OwnerContext owner;

	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	become_owner(&owner);
	config_acquire();
	PG_TRY();
	{
		ScoreBatch *batch = batch_begin(config_model(model_name, false), "rescore", n);

		if (!wait)
			batch_skip_busy(batch);
		for (int i = 0; i < n; i++)
			if (!nulls[i])
				batch_recompute(batch, TextDatumGetCString(elems[i]));
		batch_apply(batch);
		foreach(lc, batch_done(batch))
			done = lappend(done, pstrdup(lfirst(lc)));
		batch_end(batch);
	}
	PG_FINALLY();
	{
		config_release();
		restore_user(&owner);
	}
	PG_END_TRY();
	PG_RETURN_ARRAYTYPE_P(text_array_of_list(done));
}

/* Record the rows of one relation that the model cannot score; returns how many. */
static int64
record_unscorable_in(StateStore *store, TrackingConfig *tc, Relation rel)
{
	MemoryContext row_cxt = AllocSetContextCreate(CurrentMemoryContext, "mql_score row",
												  ALLOCSET_SMALL_SIZES);
	MemoryContext old;
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	RowReader	reader;
	int64		n = 0;

	row_reader_init(&reader, config_table_rules(tc, rel));
	old = MemoryContextSwitchTo(row_cxt);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		EventRow	row;

		MemoryContextReset(row_cxt);
		row_read(&reader, slot, &row);
		if (row.status != ROW_UNSCORABLE && row.status != ROW_FAILED)
			continue;
		/* the record an INSERT through the tracked table writes for such a row */
		store_insert_skipped(store, tc->relid, row_identity(&reader, slot), row.reason,
							 tc->model->name, row.failed_rule,
							 row.lead.len <= LEAD_KEY_MAX ? pnstrdup(row.lead.data, row.lead.len) : NULL);
		n++;
	}
	MemoryContextSwitchTo(old);
	table_endscan(scan);
	row_reader_done(&reader);
	ExecDropSingleTupleTableSlot(slot);
	MemoryContextDelete(row_cxt);
	return n;
}

/*
 * _record_unscorable(tracking) → rows recorded: the rows a table already
 * holds when track() is called and the model cannot score (NULL type or
 * time, infinite time, a failing condition under on_error = 'skip') go to
 * skipped, as they would have had they been inserted after track().
 */
Datum
mql_record_unscorable(PG_FUNCTION_ARGS)
{
	int			id = PG_GETARG_INT32(0);
	OwnerContext owner;
	volatile int64 n = 0;

	become_owner(&owner);
	config_acquire();
	PG_TRY();
	{
		TrackingConfig *tc = config_tracking(id, false);
		StateStore *store = store_open();
		List	   *relids = get_rel_relkind(tc->relid) == RELKIND_PARTITIONED_TABLE ?
			find_all_inheritors(tc->relid, AccessShareLock, NULL) : list_make1_oid(tc->relid);
		ListCell   *lc;

		foreach(lc, relids)
		{
			Relation	rel = table_open(lfirst_oid(lc), AccessShareLock);

			/* a partitioned table holds no rows itself */
			if (rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
				n += record_unscorable_in(store, tc, rel);
			table_close(rel, AccessShareLock);
		}
		store_close(store);
	}
	PG_FINALLY();
	{
		config_release();
		restore_user(&owner);
	}
	PG_END_TRY();
	PG_RETURN_INT64(n);
}

/* The procedures whose EXECUTE privilege lets a role run mql_score's jobs. */
static const char *const job_procedures[] = {"rescore", "refresh_stages", "run_maintenance"};

/* Whether `role` may execute procedure mql_score.<name>. */
static bool
may_run_job(Oid role, const char *name)
{
	Oid			namespace = get_namespace_oid("mql_score", false);
	CatCList   *procs = SearchSysCacheList1(PROCNAMEARGSNSP, CStringGetDatum(name));
	bool		allowed = false;

	for (int i = 0; i < procs->n_members; i++)
	{
		Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(&procs->members[i]->tuple);

		if (proc->pronamespace == namespace && proc->prokind == PROKIND_PROCEDURE)
			allowed |= DatumGetBool(DirectFunctionCall3(has_function_privilege_id_id,
														ObjectIdGetDatum(role),
														ObjectIdGetDatum(proc->oid),
														CStringGetTextDatum("EXECUTE")));
	}
	ReleaseSysCacheList(procs);
	return allowed;
}

/*
 * _require_job(job): the jobs' helpers are SECURITY DEFINER (their
 * procedures COMMIT, so cannot be) and executable by PUBLIC; each first
 * checks that the session's role — the SET ROLE or login role, which a
 * SECURITY DEFINER function does not change — may execute the job's
 * procedure.  NULL: any of them.
 */
Datum
mql_require_job(PG_FUNCTION_ARGS)
{
	Oid			role = GetOuterUserId();
	char	   *job = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		known = job == NULL;

	for (size_t i = 0; i < lengthof(job_procedures); i++)
	{
		if (job != NULL && strcmp(job, job_procedures[i]) != 0)
			continue;
		known = true;
		if (may_run_job(role, job_procedures[i]))
			PG_RETURN_VOID();
	}
	if (!known)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a job of mql_score", job),
				 errhint("The jobs are rescore, refresh_stages and run_maintenance.")));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for procedure mql_score.%s", job ? job : "rescore"),
			 errdetail("Role %s may not run mql_score's jobs.",
					   quote_identifier(GetUserNameFromId(role, false))),
			 errhint("The extension's owner grants it: GRANT EXECUTE ON PROCEDURE mql_score.%s TO %s;",
					 job ? job : "rescore", quote_identifier(GetUserNameFromId(role, false)))));
	PG_RETURN_VOID();
}
