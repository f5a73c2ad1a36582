/*
 * state_store.c — find, lock, insert and update lead_state rows, and append
 * stage_history and skipped rows, through the executor's simple relation
 * API (see state_store.h).
 *
 * Lookups keep one index scan on lead_state's primary key open for the
 * whole statement and rescan it per lead.  Like logical replication's
 * RelationFindReplTupleByIndex, a lookup uses a dirty snapshot, waits for
 * a transaction that is writing the row, then locks the newest version.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_am.h"
#include "commands/sequence.h"
#include "compat.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "state_store.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

/* lead_state columns, in table order */
enum
{
	LS_MODEL = 0, LS_LEAD, LS_ENGAGEMENT, LS_LAST_EVENT_AT, LS_EVENTS, LS_FIT,
	LS_STAGE, LS_STAGE_ENTERED_AT, LS_DUE_AT, LS_CAPS, LS_NATTS
};

/* stage_history columns */
enum
{
	SH_MODEL = 0, SH_LEAD, SH_FROM, SH_TO, SH_SCORE, SH_CAUSE, SH_AT, SH_RULE_ID, SH_REASON, SH_ID, SH_NATTS
};

/* skipped columns */
enum
{
	SK_SOURCE = 0, SK_ROW_IDENTITY, SK_REASON, SK_AT, SK_MODEL, SK_RULE_ID, SK_LEAD, SK_ID, SK_NATTS
};

/* New rows buffered per table before a multi-insert (as COPY does). */
#define STORE_BUFFER_ROWS 1000

/* One table opened for writing. */
typedef struct StoreTable
{
	Relation	rel;
	ResultRelInfo *rri;
	TupleTableSlot *slot;		/* virtual slot for new rows */
	Oid			id_sequence;	/* identity of the `id` column, if any */
	bool		buffered;		/* no row triggers on INSERT: rows may wait */
	int			nwaiting;
	TupleTableSlot **waiting;	/* STORE_BUFFER_ROWS slots, made on first use */
} StoreTable;

struct StateStore
{
	EState	   *estate;
	EPQState	epqstate;
	StoreTable	lead_state;
	StoreTable	history;
	StoreTable	skipped;
	Relation	pk_index;
	IndexScanDesc dirty_scan;
	SnapshotData dirty_snapshot;
	ScanKeyData keys[2];
	TupleTableSlot *found;		/* the row of the last lookup (a heap slot) */
	int			nopened;
};

void
lead_state_init(LeadState *state)
{
	memset(state, 0, sizeof(LeadState));
}

bool
lead_state_equal(const LeadState *a, const LeadState *b)
{
	return a->engagement == b->engagement &&
		a->has_events == b->has_events &&
		(!a->has_events || a->last_event_at == b->last_event_at) &&
		a->events == b->events &&
		a->fit == b->fit &&
		(a->stage == NULL) == (b->stage == NULL) &&
		(a->stage == NULL || (strcmp(a->stage, b->stage) == 0 &&
							  a->stage_entered_at == b->stage_entered_at)) &&
		a->has_due == b->has_due &&
		(!a->has_due || a->due_at == b->due_at) &&
		(a->caps == NULL) == (b->caps == NULL) &&
		(a->caps == NULL || (VARSIZE_ANY(a->caps) == VARSIZE_ANY(b->caps) &&
							 memcmp(a->caps, b->caps, VARSIZE_ANY(a->caps)) == 0));
}

/* Open one of our tables as range table entry `rti`. */
static void
store_open_table(StateStore *store, StoreTable *table, Oid relid, Index rti, Oid id_sequence)
{
	MemoryContext old = MemoryContextSwitchTo(store->estate->es_query_cxt);

	table->rel = table_open(relid, RowExclusiveLock);
	table->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(table->rri, table->rel, rti, NULL, 0);
	ExecOpenIndices(table->rri, false);
	table->slot = ExecInitExtraTupleSlot(store->estate, RelationGetDescr(table->rel), &TTSOpsVirtual);
	table->id_sequence = id_sequence;
	/* a DBA's trigger on our table sees each row inserted as it comes */
	table->buffered = table->rri->ri_TrigDesc == NULL ||
		!(table->rri->ri_TrigDesc->trig_insert_before_row ||
		  table->rri->ri_TrigDesc->trig_insert_after_row ||
		  table->rri->ri_TrigDesc->trig_insert_new_table);
	table->nwaiting = 0;
	table->waiting = NULL;
	MemoryContextSwitchTo(old);
}

static RangeTblEntry *
store_rte(Oid relid)
{
	RangeTblEntry *rte = makeNode(RangeTblEntry);

	rte->rtekind = RTE_RELATION;
	rte->relid = relid;
	rte->relkind = RELKIND_RELATION;
	rte->rellockmode = RowExclusiveLock;
	return rte;
}

/* Scan keys for (model, lead) on the primary key, values set per lookup. */
static void
store_init_keys(StateStore *store)
{
	for (int i = 0; i < 2; i++)
	{
		ScanKeyInit(&store->keys[i], i + 1, BTEqualStrategyNumber, F_TEXTEQ, (Datum) 0);
		store->keys[i].sk_collation = store->pk_index->rd_indcollation[i];
	}
}

StateStore *
store_open(void)
{
	const ExtensionObjects *objects = config_objects();
	StateStore *store = palloc0(sizeof(StateStore));

	store->estate = CreateExecutorState();
	compat_init_range_table(store->estate, list_make3(store_rte(objects->lead_state),
													  store_rte(objects->stage_history),
													  store_rte(objects->skipped)));
	store->estate->es_snapshot = GetActiveSnapshot();
	store->estate->es_output_cid = GetCurrentCommandId(true);
	compat_epq_init(&store->epqstate, store->estate);

	store_open_table(store, &store->lead_state, objects->lead_state, 1, InvalidOid);
	store->found = table_slot_create(store->lead_state.rel, &store->estate->es_tupleTable);
	store->pk_index = index_open(compat_primary_key_index(store->lead_state.rel), RowExclusiveLock);
	store_init_keys(store);
	InitDirtySnapshot(store->dirty_snapshot);
	store->dirty_scan = compat_index_beginscan(store->lead_state.rel, store->pk_index,
											   &store->dirty_snapshot, 2, 0);
	return store;
}

static void
store_close_table(StoreTable *table)
{
	if (table->rel == NULL)
		return;
	ExecCloseIndices(table->rri);
	table_close(table->rel, NoLock);
}

void
store_close(StateStore *store)
{
	store_flush(store);
	index_endscan(store->dirty_scan);
	index_close(store->pk_index, NoLock);
	store_close_table(&store->lead_state);
	store_close_table(&store->history);
	store_close_table(&store->skipped);
	EvalPlanQualEnd(&store->epqstate);
	ExecResetTupleTable(store->estate->es_tupleTable, false);
	FreeExecutorState(store->estate);
}

/* Decode a lead_state row held by `slot`. */
static void
store_decode(TupleTableSlot *slot, LeadState *state)
{
	Datum	   *v;
	bool	   *n;

	slot_getallattrs(slot);
	v = slot->tts_values;
	n = slot->tts_isnull;
	state->engagement = DatumGetFloat8(v[LS_ENGAGEMENT]);
	state->has_events = !n[LS_LAST_EVENT_AT];
	state->last_event_at = state->has_events ? DatumGetTimestampTz(v[LS_LAST_EVENT_AT]) : 0;
	state->events = DatumGetInt64(v[LS_EVENTS]);
	state->fit = DatumGetFloat8(v[LS_FIT]);
	state->stage = n[LS_STAGE] ? NULL : TextDatumGetCString(v[LS_STAGE]);
	state->stage_entered_at = n[LS_STAGE_ENTERED_AT] ? 0 : DatumGetTimestampTz(v[LS_STAGE_ENTERED_AT]);
	state->has_due = !n[LS_DUE_AT];
	state->due_at = state->has_due ? DatumGetTimestampTz(v[LS_DUE_AT]) : 0;
	state->caps = n[LS_CAPS] ? NULL : DatumGetByteaPCopy(v[LS_CAPS]);
}

/* Fill the virtual slot with a lead_state row. */
static TupleTableSlot *
store_encode(StateStore *store, const char *model, const char *lead, const LeadState *state)
{
	TupleTableSlot *slot = store->lead_state.slot;
	Datum	   *v = slot->tts_values;
	bool	   *n = slot->tts_isnull;

	ExecClearTuple(slot);
	memset(n, false, sizeof(bool) * LS_NATTS);
	v[LS_MODEL] = CStringGetTextDatum(model);
	v[LS_LEAD] = CStringGetTextDatum(lead);
	v[LS_ENGAGEMENT] = Float8GetDatum(state->engagement);
	v[LS_LAST_EVENT_AT] = TimestampTzGetDatum(state->last_event_at);
	n[LS_LAST_EVENT_AT] = !state->has_events;
	v[LS_EVENTS] = Int64GetDatum(state->events);
	v[LS_FIT] = Float8GetDatum(state->fit);
	n[LS_STAGE] = state->stage == NULL;
	v[LS_STAGE] = state->stage ? CStringGetTextDatum(state->stage) : (Datum) 0;
	n[LS_STAGE_ENTERED_AT] = state->stage == NULL;
	v[LS_STAGE_ENTERED_AT] = TimestampTzGetDatum(state->stage_entered_at);
	n[LS_DUE_AT] = !state->has_due;
	v[LS_DUE_AT] = TimestampTzGetDatum(state->due_at);
	n[LS_CAPS] = state->caps == NULL;
	v[LS_CAPS] = PointerGetDatum(state->caps);
	return ExecStoreVirtualTuple(slot);
}

/* Whether a fresh MVCC snapshot sees a version of the lead keyed in `store->keys`. */
static bool
store_committed_version(StateStore *store)
{
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	IndexScanDesc scan = compat_index_beginscan(store->lead_state.rel, store->pk_index, snapshot, 2, 0);
	bool		found;

	index_rescan(scan, store->keys, 2, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, store->found);
	index_endscan(scan);
	UnregisterSnapshot(snapshot);
	return found;
}

/*
 * Position the dirty scan on (model, lead); true if a version exists.
 *
 * A dirty-snapshot index scan is not atomic: when another transaction
 * moves the row to a new heap tuple (a non-HOT update) and commits between
 * our reading the index page and fetching the old tuple, the old tuple is
 * dead and the new index entry unseen.  Calling such a lead absent would
 * have us lock it later, out of key order: a deadlock.  So when entries
 * matched but none led to a live row, a fresh MVCC snapshot (which sees
 * every row committed before it) decides whether to look again.  The
 * retries are bounded: a row deleted by this very command stays visible
 * to that snapshot.
 */
static bool
store_probe(StateStore *store, const char *model, const char *lead)
{
	IndexScanDesc scan = store->dirty_scan;

	/* the keys live until the next probe; the scan's own state, for good */
	store->keys[0].sk_argument = CStringGetTextDatum(model);
	store->keys[1].sk_argument = CStringGetTextDatum(lead);
	for (int attempt = 0;; attempt++)
	{
		MemoryContext old = MemoryContextSwitchTo(store->estate->es_query_cxt);
		bool		matched = false;
		bool		found = false;

		index_rescan(scan, store->keys, 2, NULL, 0);
		for (;;)
		{
			if (!scan->xs_heap_continue)
			{
				if (index_getnext_tid(scan, ForwardScanDirection) == NULL)
					break;
				matched = true;
			}
			if (index_fetch_heap(scan, store->found))
			{
				found = true;
				break;
			}
		}
		MemoryContextSwitchTo(old);
		if (found || !matched || attempt == 8 || !store_committed_version(store))
			return found;
	}
}

/*
 * Lock a lead's row, waiting for whoever writes it.  While we wait we hold
 * the row's tuple lock, as heap_lock_tuple does, so waiters are served in
 * arrival order: without it, every waiter wakes at the writer's commit and
 * the fastest takes the row.
 */
LockResult
store_lock_lead(StateStore *store, const char *model, const char *lead, LeadState *state,
				bool skip_busy)
{
	Relation	rel = store->lead_state.rel;
	ItemPointerData queued_at;
	bool		queued = false;
	LockResult	result = LOCK_ABSENT;

	for (;;)
	{
		TransactionId xwait;
		TM_FailureData tmfd;
		TM_Result	locked;
		Snapshot	latest;

		if (!store_probe(store, model, lead))
			break;
		ExecMaterializeSlot(store->found);

		/* a transaction is inserting, updating or deleting it: wait */
		xwait = TransactionIdIsValid(store->dirty_snapshot.xmin) ?
			store->dirty_snapshot.xmin : store->dirty_snapshot.xmax;
		if (TransactionIdIsValid(xwait))
		{
			if (skip_busy)
			{
				result = LOCK_BUSY;
				break;
			}
			if (!queued)
			{
				queued_at = store->found->tts_tid;
				LockTuple(rel, &queued_at, ExclusiveLock);	/* heap's mode for NoKeyExclusive */
				queued = true;
			}
			XactLockTableWait(xwait, rel, &store->found->tts_tid, XLTW_Lock);
			continue;
		}

		latest = GetLatestSnapshot();	/* one snapshot for both: each costs a ProcArray scan */
		PushActiveSnapshot(latest);
		locked = table_tuple_lock(rel, &store->found->tts_tid, latest, store->found,
								  GetCurrentCommandId(false), LockTupleNoKeyExclusive,
								  skip_busy ? LockWaitSkip : LockWaitBlock, 0, &tmfd);
		PopActiveSnapshot();
		if (locked == TM_Updated || locked == TM_Deleted)
			continue;			/* changed under us: look again */
		if (locked == TM_WouldBlock)
			result = LOCK_BUSY;
		else if (locked == TM_Ok)
		{
			store_decode(store->found, state);
			result = LOCK_FOUND;
		}
		else
			elog(ERROR, "unexpected lock result %d on mql_score.lead_state", (int) locked);
		break;
	}
	if (queued)
		UnlockTuple(rel, &queued_at, ExclusiveLock);
	return result;
}

bool
state_read_lead(const char *model, const char *lead, LeadState *state)
{
	Relation	rel = table_open(config_objects()->lead_state, AccessShareLock);
	Relation	index = index_open(compat_primary_key_index(rel), AccessShareLock);
	IndexScanDesc scan = compat_index_beginscan(rel, index, GetActiveSnapshot(), 2, 0);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	ScanKeyData keys[2];
	bool		found;

	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(model));
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(lead));
	keys[0].sk_collation = index->rd_indcollation[0];
	keys[1].sk_collation = index->rd_indcollation[1];
	index_rescan(scan, keys, 2, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	if (found)
		store_decode(slot, state);
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(rel, AccessShareLock);
	return found;
}

void
store_update_lead(StateStore *store, const char *model, const char *lead, const LeadState *state)
{
	TupleTableSlot *slot = store_encode(store, model, lead, state);

	store->estate->es_output_cid = GetCurrentCommandId(true);
	ExecSimpleRelationUpdate(store->lead_state.rri, store->estate, &store->epqstate,
							 store->found, slot);
}

/* Write the rows waiting for `table`: heap pages in one go, then their index entries. */
static void
store_flush_table(StateStore *store, StoreTable *table)
{
	CommandId	cid = GetCurrentCommandId(true);

	if (table->nwaiting == 0)
		return;
	store->estate->es_output_cid = cid;
	table_multi_insert(table->rel, table->waiting, table->nwaiting, cid, 0, NULL);
	for (int i = 0; i < table->nwaiting; i++)
	{
		if (table->rri->ri_NumIndices > 0)
			list_free(compat_insert_index_tuples(table->rri, table->waiting[i], store->estate));
		ExecClearTuple(table->waiting[i]);
	}
	table->nwaiting = 0;
}

void
store_flush(StateStore *store)
{
	store_flush_table(store, &store->lead_state);
	store_flush_table(store, &store->history);
	store_flush_table(store, &store->skipped);
}

/*
 * Insert the row held by `table->slot`.  Without INSERT row triggers the
 * row is checked now and written with the next flush; with them, at once.
 */
static void
store_insert_row(StateStore *store, StoreTable *table)
{
	TupleTableSlot *slot = table->slot;
	MemoryContext old;

	store->estate->es_output_cid = GetCurrentCommandId(true);
	if (!table->buffered)
	{
		ExecSimpleRelationInsert(table->rri, store->estate, slot);
		return;
	}
	if (table->rel->rd_att->constr)
		ExecConstraints(table->rri, slot, store->estate);
	old = MemoryContextSwitchTo(store->estate->es_query_cxt);
	if (table->waiting == NULL)
		table->waiting = palloc0(sizeof(TupleTableSlot *) * STORE_BUFFER_ROWS);
	if (table->waiting[table->nwaiting] == NULL)
		table->waiting[table->nwaiting] = table_slot_create(table->rel, &store->estate->es_tupleTable);
	ExecCopySlot(table->waiting[table->nwaiting++], slot);
	MemoryContextSwitchTo(old);
	if (table->nwaiting == STORE_BUFFER_ROWS)
		store_flush_table(store, table);
}

void
store_insert_lead(StateStore *store, const char *model, const char *lead, const LeadState *state)
{
	store_encode(store, model, lead, state);
	store_insert_row(store, &store->lead_state);
}

void
store_delete_lead(StateStore *store)
{
	store->estate->es_output_cid = GetCurrentCommandId(true);
	ExecSimpleRelationDelete(store->lead_state.rri, store->estate, &store->epqstate, store->found);
}

/* Insert the row held by `table->slot`, numbering it from its identity. */
static void
store_append(StateStore *store, StoreTable *table, int id_col)
{
	table->slot->tts_values[id_col] = Int64GetDatum(nextval_internal(table->id_sequence, false));
	table->slot->tts_isnull[id_col] = false;
	ExecStoreVirtualTuple(table->slot);
	store_insert_row(store, table);
}

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = s == NULL;
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

void
store_insert_history(StateStore *store, const char *model, const char *lead,
					 const char *from_stage, const char *to_stage, double score,
					 const char *cause, int64 rule_id, const char *reason)
{
	StoreTable *t = &store->history;
	Datum	   *v;
	bool	   *n;

	if (t->rel == NULL)
		store_open_table(store, t, config_objects()->stage_history, 2, config_objects()->stage_history_ids);
	ExecClearTuple(t->slot);
	v = t->slot->tts_values;
	n = t->slot->tts_isnull;
	memset(n, false, sizeof(bool) * SH_NATTS);
	v[SH_MODEL] = CStringGetTextDatum(model);
	v[SH_LEAD] = CStringGetTextDatum(lead);
	v[SH_FROM] = text_or_null(from_stage, &n[SH_FROM]);
	v[SH_TO] = text_or_null(to_stage, &n[SH_TO]);
	v[SH_SCORE] = Float8GetDatum(score);
	v[SH_CAUSE] = CStringGetTextDatum(cause);
	v[SH_AT] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	v[SH_RULE_ID] = Int64GetDatum(rule_id);
	n[SH_RULE_ID] = rule_id == 0;
	v[SH_REASON] = text_or_null(reason, &n[SH_REASON]);
	store_append(store, t, SH_ID);
}

void
store_insert_skipped(StateStore *store, Oid source, Datum row_identity,
					 const char *reason, const char *model, int64 rule_id, const char *lead)
{
	StoreTable *t = &store->skipped;
	Datum	   *v;
	bool	   *n;

	if (t->rel == NULL)
		store_open_table(store, t, config_objects()->skipped, 3, config_objects()->skipped_ids);
	ExecClearTuple(t->slot);
	v = t->slot->tts_values;
	n = t->slot->tts_isnull;
	memset(n, false, sizeof(bool) * SK_NATTS);
	v[SK_SOURCE] = ObjectIdGetDatum(source);
	v[SK_ROW_IDENTITY] = row_identity;
	v[SK_REASON] = CStringGetTextDatum(reason);
	v[SK_AT] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	v[SK_MODEL] = text_or_null(model, &n[SK_MODEL]);
	v[SK_RULE_ID] = Int64GetDatum(rule_id);
	n[SK_RULE_ID] = rule_id == 0;
	v[SK_LEAD] = text_or_null(lead, &n[SK_LEAD]);
	store_append(store, t, SK_ID);
}
