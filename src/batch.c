/*
 * batch.c — fold rows into per-lead deltas, then apply them lead by lead
 * in key order (see batch.h).
 *
 * Applying a delta is exact bookkeeping in the common cases: points of
 * uncapped rules are added (or, for removed rows, subtracted) decayed from
 * their own event times; capped rules are settled against the lead's cap
 * entries (caps.h).  The cases bookkeeping cannot settle — a removed
 * event that was counted by a full capped day, or the lead's latest event
 * removed — recompute the lead from its rows (recompute.c) after locking
 * it, so concurrent writers are accounted for.
 *
 * An UPDATE statement delivers old and new rows separately; rows that
 * reappear unchanged (same lead, time and matching rules) cancel out
 * first, so `UPDATE ... SET note = ...` leaves the state untouched.
 *
 * Leads are locked, and new ones created, in one pass in key order, so
 * concurrent batches cannot deadlock each other: a new lead is created in
 * its place in that order, under a per-model creation lock that is never
 * held while waiting for a lead, so two batches never insert the same
 * lead.  (Creating new leads after the ordered pass, as this once did,
 * let a batch wait out of order for a lead another batch created.)
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "batch.h"
#include "caps.h"
#include "catalog/pg_extension.h"
#include "common/hashfn.h"
#include "decayed.h"
#include "event_row.h"
#include "lead_key.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "recompute.h"
#include "stages.h"
#include "state_store.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/rel.h"

typedef struct LeadKeyRef
{
	const char *data;
	int			len;
} LeadKeyRef;

typedef struct CappedEvent
{
	RuleConfig *rule;
	TimestampTz at;
	int			sign;
} CappedEvent;

/* A row of an UPDATE, kept until old and new rows have cancelled out. */
typedef struct EventRecord
{
	TimestampTz at;
	int			sign;
	int			nmatched;
	RuleConfig **matched;
} EventRecord;

typedef struct LeadDelta
{
	LeadKeyRef	key;			/* NUL-terminated copy, stored after the struct */
	Decayed		points;			/* uncapped rules' ± points, decayed */
	int64		events;			/* + new rows - old rows */
	bool		has_new;
	TimestampTz max_new;
	bool		has_old;
	TimestampTz max_old;
	int			promote_idx;
	int64		promote_rule;
	int			ncapped;
	int			capped_size;
	CappedEvent *capped;
	int			nrecords;
	int			records_size;
	EventRecord *records;
	bool		recompute;
	bool		has_fit;
	double		fit;
	LeadAction	action;
	int			action_stage;
	const char *reason;
	bool		stored;			/* outcome: the lead has state after the batch */
	bool		busy;			/* skipped: another transaction held it */
	char	   *stage_before;
	char	   *stage_after;
} LeadDelta;

/*
 * Leads recomputed by the statement whose triggers are firing.  One query
 * can fire several of our triggers (MERGE, INSERT ... ON CONFLICT, a
 * DELETE ... RETURNING feeding an INSERT): a recomputation in the first
 * reads the rows as the whole statement left them, so the later triggers'
 * deltas for that lead are already in and must not be added again.  The
 * statement is identified by its snapshot's command id; entries live for
 * the transaction.
 */
typedef struct RecomputedLead
{
	uint64		key;			/* hash of model and lead */
	CommandId	statement;
} RecomputedLead;

static HTAB *recomputed_leads = NULL;

static void
recomputed_reset(XactEvent event, void *arg)
{
	recomputed_leads = NULL;	/* its memory went with TopTransactionContext */
}

static uint64
recomputed_key(const ModelConfig *model, const char *lead)
{
	return hash_bytes_extended((const unsigned char *) lead, strlen(lead),
							   hash_bytes((const unsigned char *) model->name, strlen(model->name)));
}

/* The command id of the statement whose triggers are running. */
static CommandId
current_statement(void)
{
	return ActiveSnapshotSet() ? GetActiveSnapshot()->curcid : InvalidCommandId;
}

static void
note_recomputed(const ModelConfig *model, const char *lead)
{
	static bool registered = false;
	uint64		key = recomputed_key(model, lead);
	RecomputedLead *entry;

	if (recomputed_leads == NULL)
	{
		HASHCTL		ctl;

		if (!registered)
		{
			RegisterXactCallback(recomputed_reset, NULL);
			registered = true;
		}
		ctl.keysize = sizeof(uint64);
		ctl.entrysize = sizeof(RecomputedLead);
		ctl.hcxt = TopTransactionContext;
		recomputed_leads = hash_create("mql_score recomputed leads", 256, &ctl,
									   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	entry = hash_search(recomputed_leads, &key, HASH_ENTER, NULL);
	entry->statement = current_statement();
}

static bool
recomputed_in_this_statement(const ModelConfig *model, const char *lead)
{
	uint64		key = recomputed_key(model, lead);
	RecomputedLead *entry;

	if (recomputed_leads == NULL)
		return false;
	entry = hash_search(recomputed_leads, &key, HASH_FIND, NULL);
	return entry != NULL && entry->statement == current_statement();
}

/* What apply_lead decided to do with the state row. */
typedef enum StoreVerdict
{
	STORE_NOTHING,
	STORE_WRITE,
	STORE_DELETE
} StoreVerdict;

/*
 * A bucket of the lead hash.  It stays small (32 bytes) so that a statement
 * over 100k leads probes a few MB rather than tens, in random order: the
 * delta and its key live apart, in one allocation.
 */
typedef struct LeadSlot
{
	LeadKeyRef	key;			/* points into the delta */
	uint32		hash;
	char		status;
	LeadDelta  *delta;
} LeadSlot;

#define SH_PREFIX		leadmap
#define SH_ELEMENT_TYPE LeadSlot
#define SH_KEY_TYPE		LeadKeyRef
#define SH_KEY			key
#define SH_HASH_KEY(tb, k) hash_bytes((const unsigned char *) (k).data, (k).len)
#define SH_EQUAL(tb, a, b) ((a).len == (b).len && memcmp((a).data, (b).data, (a).len) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

struct ScoreBatch
{
	MemoryContext cxt;			/* the batch: deltas and keys */
	MemoryContext row_cxt;		/* reset per row */
	MemoryContext lead_cxt;		/* reset per lead while applying */
	ModelConfig *model;
	const char *cause;
	leadmap_hash *leads;
	StateStore *store;
	StageMoves	moves;
	TimestampTz now;
	bool		skip_busy;
	bool		creating;		/* holds the model's creation lock */
	LeadDelta **deltas;			/* after batch_apply: every lead, in key order */
	int64		ndeltas;
};

ScoreBatch *
batch_begin(ModelConfig *model, const char *cause, int64 expected_leads)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "mql_score batch",
											  ALLOCSET_DEFAULT_SIZES);
	ScoreBatch *batch = MemoryContextAllocZero(cxt, sizeof(ScoreBatch));

	batch->cxt = cxt;
	batch->row_cxt = AllocSetContextCreate(cxt, "mql_score row", ALLOCSET_SMALL_SIZES);
	batch->lead_cxt = AllocSetContextCreate(cxt, "mql_score lead", ALLOCSET_DEFAULT_SIZES);
	batch->model = model;
	batch->cause = cause;
	/*
	 * Sized to the statement but capped: a single-row INSERT must not clear
	 * a big table, and a 1M-row COPY over 100k leads must not allocate
	 * buckets for 1M (the table grows as leads appear).
	 */
	batch->leads = leadmap_create(cxt, (uint32) Min(Max(expected_leads, 8), 8192), NULL);
	batch->store = store_open();
	batch->now = GetCurrentTransactionStartTimestamp();
	stage_moves_init(&batch->moves);
	return batch;
}

void
batch_end(ScoreBatch *batch)
{
	store_close(batch->store);
	MemoryContextDelete(batch->cxt);
}

/* The delta of a lead, created empty on first sight. */
static LeadDelta *
batch_delta(ScoreBatch *batch, const char *data, int len)
{
	LeadKeyRef	key = {data, len};
	bool		found;
	LeadSlot   *slot = leadmap_insert(batch->leads, key, &found);

	if (!found)
	{
		LeadDelta  *d = MemoryContextAllocZero(batch->cxt, sizeof(LeadDelta) + len + 1);
		char	   *copy = (char *) (d + 1);

		memcpy(copy, data, len);
		copy[len] = '\0';
		d->key.data = copy;
		d->key.len = len;
		decayed_init(&d->points, batch->model->half_life);
		d->promote_idx = -1;
		d->action = ACTION_NONE;
		d->action_stage = -1;
		slot->key = d->key;
		slot->delta = d;
	}
	return slot->delta;
}

/* Grow a batch-owned array to hold one more element. */
static void *
batch_grow(ScoreBatch *batch, void *array, int *size, int n, Size elem)
{
	if (n < *size)
		return array;
	*size = Max(4, *size * 2);
	return array ? repalloc(array, elem * *size) : MemoryContextAlloc(batch->cxt, elem * *size);
}

/* Fold one event (a row's time and the rules it satisfied) into a delta. */
static void
fold_event(ScoreBatch *batch, LeadDelta *d, TimestampTz at, int sign,
		   RuleConfig **matched, int nmatched)
{
	d->events += sign;
	if (sign > 0)
	{
		d->max_new = d->has_new ? Max(d->max_new, at) : at;
		d->has_new = true;
	}
	else
	{
		d->max_old = d->has_old ? Max(d->max_old, at) : at;
		d->has_old = true;
	}
	for (int i = 0; i < nmatched; i++)
	{
		RuleConfig *rule = matched[i];

		if (rule->cap > 0)
		{
			d->capped = batch_grow(batch, d->capped, &d->capped_size, d->ncapped, sizeof(CappedEvent));
			d->capped[d->ncapped].rule = rule;
			d->capped[d->ncapped].at = at;
			d->capped[d->ncapped].sign = sign;
			d->ncapped++;
			continue;
		}
		decayed_add_event(&d->points, sign * rule->points, at);
		if (sign > 0 && rule->promote_idx > d->promote_idx)
		{
			d->promote_idx = rule->promote_idx;
			d->promote_rule = rule->id;
		}
	}
}

/* Keep an UPDATE row for cancellation against its counterpart. */
static void
keep_record(ScoreBatch *batch, LeadDelta *d, const EventRow *row, int sign)
{
	EventRecord *r;

	d->records = batch_grow(batch, d->records, &d->records_size, d->nrecords, sizeof(EventRecord));
	r = &d->records[d->nrecords++];
	r->at = row->at;
	r->sign = sign;
	r->nmatched = row->nmatched;
	r->matched = MemoryContextAlloc(batch->cxt, sizeof(RuleConfig *) * Max(1, row->nmatched));
	memcpy(r->matched, row->matched, sizeof(RuleConfig *) * row->nmatched);
}

/*
 * The next transition row into `slot`, per-row memory reset.  A tuplestore
 * that spilled to disk hands over a copy the slot frees itself: it must
 * not live in the per-row context.
 */
static bool
next_row(ScoreBatch *batch, Tuplestorestate *rows, TupleTableSlot *slot)
{
	bool		found;

	MemoryContextReset(batch->row_cxt);
	MemoryContextSwitchTo(batch->cxt);
	found = tuplestore_gettupleslot(rows, true, false, slot);
	MemoryContextSwitchTo(batch->row_cxt);
	return found;
}

void
batch_add_rows(ScoreBatch *batch, TableRules *rules, Relation rel,
			   Tuplestorestate *rows, int sign, bool updating)
{
	RowReader	reader;
	TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
	int			readptr = tuplestore_alloc_read_pointer(rows, EXEC_FLAG_REWIND);
	int			oldptr = 0;
	MemoryContext old = MemoryContextSwitchTo(batch->cxt);

	row_reader_init(&reader, rules);
	tuplestore_select_read_pointer(rows, readptr);
	tuplestore_rescan(rows);
	while (next_row(batch, rows, slot))
	{
		EventRow	row;

		row_read(&reader, slot, &row);
		switch (row.status)
		{
			case ROW_ANONYMOUS:
				break;
			case ROW_UNSCORABLE:
			case ROW_FAILED:
				if (sign > 0)
					store_insert_skipped(batch->store, RelationGetRelid(rel),
										 row_identity(&reader, slot), row.reason,
										 batch->model->name, row.failed_rule,
										 row.lead.len <= LEAD_KEY_MAX ? pnstrdup(row.lead.data, row.lead.len) : NULL);
				break;
			case ROW_SCORED:
				{
					LeadDelta  *d = batch_delta(batch, row.lead.data, row.lead.len);

					if (updating)
						keep_record(batch, d, &row, sign);
					else
						fold_event(batch, d, row.at, sign, row.matched, row.nmatched);
					break;
				}
		}
	}
	MemoryContextSwitchTo(old);
	tuplestore_select_read_pointer(rows, oldptr);
	row_reader_done(&reader);
	ExecDropSingleTupleTableSlot(slot);
}

void
batch_recompute(ScoreBatch *batch, const char *lead)
{
	batch_delta(batch, lead, strlen(lead))->recompute = true;
}

void
batch_set_fit(ScoreBatch *batch, const char *lead, double fit)
{
	LeadDelta  *d = batch_delta(batch, lead, strlen(lead));

	d->has_fit = true;
	d->fit = fit;
}

void
batch_add_fit_rows(ScoreBatch *batch, FitTable *table, Relation rel,
				   Tuplestorestate *rows, int sign)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
	int			readptr = tuplestore_alloc_read_pointer(rows, EXEC_FLAG_REWIND);
	ExprContext *econtext = CreateStandaloneExprContext();
	MemoryContext old = CurrentMemoryContext;

	tuplestore_select_read_pointer(rows, readptr);
	tuplestore_rescan(rows);
	while (next_row(batch, rows, slot))
	{
		bool		isnull;
		Datum		id;
		LeadKey		key;
		LeadDelta  *d;

		id = slot_getattr(slot, table->id_attnum, &isnull);
		if (isnull)
			continue;
		lead_key_from_datum(id, table->id_type, &key);
		d = batch_delta(batch, key.data, key.len);
		d->has_fit = true;
		/* an UPDATE's new row (folded after its old one) wins */
		d->fit = sign > 0 ? fit_of_row(batch->model, table, slot, econtext, NULL, NULL) : 0.0;
	}
	MemoryContextSwitchTo(old);
	tuplestore_select_read_pointer(rows, 0);
	FreeExprContext(econtext, true);
	ExecDropSingleTupleTableSlot(slot);
}

void
batch_act(ScoreBatch *batch, const char *lead, LeadAction action, int stage_idx, const char *reason)
{
	LeadDelta  *d = batch_delta(batch, lead, strlen(lead));

	d->action = action;
	d->action_stage = stage_idx;
	d->reason = reason ? MemoryContextStrdup(batch->cxt, reason) : NULL;
}

void
batch_skip_busy(ScoreBatch *batch)
{
	batch->skip_busy = true;
}

List *
batch_done(ScoreBatch *batch)
{
	List	   *done = NIL;

	for (int64 i = 0; i < batch->ndeltas; i++)
		if (!batch->deltas[i]->busy)
			done = lappend(done, (char *) batch->deltas[i]->key.data);
	return done;
}

bool
batch_outcome(ScoreBatch *batch, const char *lead, const char **before, const char **after)
{
	LeadKeyRef	key = {lead, strlen(lead)};
	LeadSlot   *slot = leadmap_lookup(batch->leads, key);
	LeadDelta  *d = slot ? slot->delta : NULL;

	*before = d ? d->stage_before : NULL;
	*after = d ? d->stage_after : NULL;
	return d != NULL && d->stored;
}

static int
record_compare(const void *a, const void *b)
{
	const EventRecord *x = a;
	const EventRecord *y = b;
	int			c;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	if (x->nmatched != y->nmatched)
		return x->nmatched < y->nmatched ? -1 : 1;
	c = memcmp(x->matched, y->matched, sizeof(RuleConfig *) * x->nmatched);
	if (c != 0)
		return c;
	return x->sign - y->sign;
}

static bool
record_same_event(const EventRecord *x, const EventRecord *y)
{
	return x->at == y->at && x->nmatched == y->nmatched &&
		memcmp(x->matched, y->matched, sizeof(RuleConfig *) * x->nmatched) == 0;
}

/* Cancel rows that an UPDATE left unchanged, fold the rest. */
static void
fold_records(ScoreBatch *batch, LeadDelta *d)
{
	int			i = 0;

	qsort(d->records, d->nrecords, sizeof(EventRecord), record_compare);
	while (i < d->nrecords)
	{
		int			j = i,
					balance = 0;

		while (j < d->nrecords && record_same_event(&d->records[i], &d->records[j]))
			balance += d->records[j++].sign;
		/* the group nets to `balance` copies of the event */
		for (; balance != 0; balance += balance > 0 ? -1 : 1)
			fold_event(batch, d, d->records[i].at, balance > 0 ? 1 : -1,
					   d->records[i].matched, d->records[i].nmatched);
		i = j;
	}
	d->nrecords = 0;
}

static int
capped_compare(const void *a, const void *b)
{
	const CappedEvent *x = a;
	const CappedEvent *y = b;

	if (x->rule->index != y->rule->index)
		return x->rule->index < y->rule->index ? -1 : 1;
	if (x->sign != y->sign)
		return x->sign - y->sign;	/* removals first */
	return (x->at > y->at) - (x->at < y->at);
}

static inline int32
capped_day(const CappedEvent *e)
{
	return e->rule->once ? CAPS_ONCE_DAY : caps_utc_day(e->at);
}

static void
promote_candidate(RuleConfig *rule, int *promote_idx, int64 *promote_rule)
{
	if (rule->promote_idx > *promote_idx)
	{
		*promote_idx = rule->promote_idx;
		*promote_rule = rule->id;
	}
}

/*
 * Settle capped events against the lead's cap entries, adding their points
 * to `engagement`.  False when only a recomputation can settle them.
 */
static bool
settle_capped(LeadDelta *d, CapSet *caps, Decayed *engagement, int *promote_idx, int64 *promote_rule)
{
	qsort(d->capped, d->ncapped, sizeof(CappedEvent), capped_compare);
	for (int i = 0; i < d->ncapped; i++)
	{
		CappedEvent *e = &d->capped[i];
		RuleConfig *rule = e->rule;
		CapEntry   *entry = caps_lookup(caps, rule->id, capped_day(e), e->sign > 0);

		if (e->sign < 0)
		{
			/* a removed event that was never counted changes nothing */
			if (entry == NULL || entry->count == 0 || e->at > entry->max_counted)
				continue;
			/* counted, and the day had room: nothing waits to take its place */
			if (entry->count < rule->cap && e->at < entry->max_counted)
			{
				entry->count--;
				decayed_add_event(engagement, -rule->points, e->at);
				continue;
			}
			return false;
		}
		if (entry->count < rule->cap)
		{
			entry->count++;
			entry->max_counted = entry->count == 1 ? e->at : Max(entry->max_counted, e->at);
		}
		else if (e->at < entry->max_counted && rule->cap == 1)
		{
			/* an earlier event takes the single counted place */
			decayed_add_event(engagement, -rule->points, entry->max_counted);
			entry->max_counted = e->at;
		}
		else if (e->at < entry->max_counted)
			return false;		/* displaces one of several counted events */
		else
			continue;			/* the day (or the once) is already used up */
		decayed_add_event(engagement, rule->points, e->at);
		promote_candidate(rule, promote_idx, promote_rule);
	}
	return true;
}

/* Bring a decayed sum forward to `t` (no-op if it is already there). */
static void
decayed_advance(Decayed *d, TimestampTz t)
{
	if (d->at == DT_NOBEGIN)
		d->at = t;
	else if (t > d->at)
	{
		double		f = decay_factor(t, d->at, d->half_life);

		d->value *= f;
		d->comp *= f;
		d->at = t;
	}
}

/* Apply a delta by bookkeeping; false if only recomputation can. */
static bool
apply_increment(LeadDelta *d, LeadState *state, const ModelConfig *model,
				int *promote_idx, int64 *promote_rule)
{
	Decayed		engagement;
	TimestampTz last = state->last_event_at;
	CapSet		caps;

	if (d->has_old && (!state->has_events || d->max_old >= state->last_event_at ||
					   state->events + d->events <= 0))
		return false;

	decayed_init(&engagement, model->half_life);
	if (state->has_events)
	{
		engagement.value = state->engagement;
		engagement.at = state->last_event_at;
	}
	if (d->has_new)
		last = state->has_events ? Max(last, d->max_new) : d->max_new;
	decayed_merge_into(&engagement, &d->points);
	decayed_advance(&engagement, last);

	if (d->ncapped > 0)
	{
		caps_decode(state->caps, &caps);
		if (!settle_capped(d, &caps, &engagement, promote_idx, promote_rule))
			return false;
		state->caps = caps_encode(&caps);
	}
	state->engagement = decayed_total(&engagement);
	state->events += d->events;
	state->last_event_at = last;
	state->has_events = true;
	return true;
}

/*
 * A recomputation (track(), rescore, ...) promotes like the events it
 * counts: to a rule's promote_to stage above the lead's, unless a person
 * moved the lead after the rule's latest counted event (a lead sales
 * handed back stays back).
 */
static void
promote_from_rows(const ModelConfig *model, const char *lead, const LeadState *state,
				  const Recomputed *r, int *promote_idx, int64 *promote_rule)
{
	int			current = stage_index(model, state->stage);
	bool		looked = false;
	TimestampTz moved_at = DT_NOBEGIN;

	for (int i = 0; i < model->nrules; i++)
	{
		RuleConfig *rule = &model->rules[i];

		if (r->rules[i].events == 0 || rule->promote_idx <= Max(current, *promote_idx))
			continue;
		if (!looked)
		{
			moved_at = stage_last_manual_move(model->name, lead);
			looked = true;
		}
		if (r->rules[i].last_counted > moved_at)
			promote_candidate(rule, promote_idx, promote_rule);
	}
}

/* Replace the lead's scoring state by a recomputation from its rows. */
static bool
apply_recompute(LeadDelta *d, LeadState *state, ModelConfig *model,
				int *promote_idx, int64 *promote_rule)
{
	Recomputed	r;

	/* the lead's lock may have been waited for: recompute under the current configuration */
	model = config_refresh(model);
	if (model == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("the model of lead \"%s\" was removed concurrently", d->key.data),
				 errhint("Retry the transaction.")));
	recompute_lead(model, d->key.data, &r);
	note_recomputed(model, d->key.data);
	state->fit = r.fit;
	if (!r.has_events && !state->has_events && state->stage == NULL && r.fit == 0.0)
		return false;			/* nothing to keep for a lead we never had */
	state->engagement = r.engagement;
	state->has_events = r.has_events;
	state->last_event_at = r.last_event_at;
	state->events = r.events;
	state->caps = caps_encode(&r.caps);

	/* promotions by capped rules count if their event is among the counted */
	for (int i = 0; i < d->ncapped; i++)
	{
		CappedEvent *e = &d->capped[i];
		CapEntry   *entry;

		if (e->sign < 0 || e->rule->promote_idx <= *promote_idx)
			continue;
		entry = caps_lookup(&r.caps, e->rule->id, capped_day(e), false);
		if (entry && e->at <= entry->max_counted)
			promote_candidate(e->rule, promote_idx, promote_rule);
	}
	promote_from_rows(model, d->key.data, state, &r, promote_idx, promote_rule);
	return true;
}

/* A lead without state is created only for something worth keeping. */
static bool
worth_creating(const LeadDelta *d)
{
	switch (d->action)
	{
		case ACTION_REFRESH:
		case ACTION_MERGE_FROM:
			return false;
		case ACTION_SET_STAGE:
		case ACTION_RECYCLE:
		case ACTION_MERGE_INTO:
			return true;
		case ACTION_NONE:
			break;
	}
	return d->has_new || d->recompute || (d->has_fit && d->fit != 0.0);
}

/* The stage a recycled lead goes back to: the highest automatic stage its score supports. */
static int
recycle_target(const ModelConfig *model, double score)
{
	int			target = -1;

	for (int i = 0; i < model->nstages; i++)
		if (model->stages[i].automatic && (target < 0 || score >= model->stages[i].min_score))
			target = i;
	return target;
}

/*
 * Whether a change left the lead's score as it was: the same events, and
 * engagement and fit equal to the 1e-9 to which a recomputation agrees
 * with the triggers' bookkeeping (a rescore must not claim a rounding).
 */
static bool
score_unchanged(const LeadState *before, const LeadState *after)
{
	return before->has_events == after->has_events &&
		(!before->has_events || before->last_event_at == after->last_event_at) &&
		before->events == after->events &&
		fabs(before->engagement - after->engagement) <=
		1e-9 * Max(fabs(before->engagement), fabs(after->engagement)) &&
		fabs(before->fit - after->fit) <= 1e-9 * Max(fabs(before->fit), fabs(after->fit));
}

/* Carry out a lead's action once its scores are up to date. */
static void
apply_action(ScoreBatch *batch, ModelConfig *model, LeadDelta *d, LeadState *state,
			 TimestampTz eval_at, int promote_idx, int64 promote_rule, bool score_kept)
{
	double		score = lead_score_at(model, state, batch->now);
	int			current = stage_index(model, state->stage);

	switch (d->action)
	{
		case ACTION_NONE:
			stage_evaluate(batch->store, &batch->moves, model, d->key.data, state, eval_at,
						   promote_idx, promote_rule, batch->cause ? batch->cause : "event",
						   score_kept);
			return;
		case ACTION_REFRESH:
			stage_evaluate(batch->store, &batch->moves, model, d->key.data, state, batch->now,
						   -1, 0, "decay", false);
			return;
		case ACTION_SET_STAGE:
			stage_move(batch->store, &batch->moves, model, d->key.data, state, d->action_stage,
					   score, "manual", 0, d->reason);
			break;
		case ACTION_RECYCLE:
			if (state->stage == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("lead \"%s\" has no stage in model \"%s\" to recycle from",
								d->key.data, model->name)));
			stage_move(batch->store, &batch->moves, model, d->key.data, state,
					   d->action_stage >= 0 ? d->action_stage : recycle_target(model, score),
					   score, "recycle", 0, d->reason);
			break;
		case ACTION_MERGE_INTO:
			if (d->action_stage > current)
				stage_move(batch->store, &batch->moves, model, d->key.data, state, d->action_stage,
						   score, "merge", 0, d->reason);
			break;
		case ACTION_MERGE_FROM:
			stage_move(batch->store, &batch->moves, model, d->key.data, state, -1,
					   score, "merge", 0, d->reason);
			break;
	}
	stage_due_at(model, state);
}

/* Update one locked (or new) lead: scores, fit, then its stage. */
static StoreVerdict
apply_lead(ScoreBatch *batch, LeadDelta *d, LeadState *state, bool existed)
{
	ModelConfig *model = batch->model;
	int			promote_idx;
	int64		promote_rule = d->promote_rule;
	TimestampTz eval_at = d->has_new ? Max(batch->now, d->max_new) : batch->now;
	LeadState	before;

	if (!existed && !worth_creating(d))
		return STORE_NOTHING;
	before = *state;			/* to tell later whether the change moved the score */
	d->stage_before = state->stage ? MemoryContextStrdup(batch->cxt, state->stage) : NULL;

	/*
	 * The configuration changed since this statement's rows were folded
	 * (e.g. while we waited for the lead's lock): the fold used the old
	 * rules, so recompute the lead under the current ones.
	 */
	{
		ModelConfig *current = config_refresh(model);

		if (current == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("model \"%s\" was removed concurrently", model->name),
					 errhint("Retry the transaction.")));
		if (current != model)
		{
			/* stage indexes are per version: carry the promotion by name */
			if (d->promote_idx >= 0)
				d->promote_idx = stage_index(current, model->stages[d->promote_idx].name);
			d->recompute = true;
			model = current;
		}
	}
	promote_idx = d->promote_idx;

	/* apply_increment changes nothing when it gives up */
	if (!d->recompute && recomputed_in_this_statement(model, d->key.data))
		;						/* this statement's rows are already counted */
	else if (d->recompute || !apply_increment(d, state, model, &promote_idx, &promote_rule))
	{
		promote_idx = d->promote_idx;
		promote_rule = d->promote_rule;
		if (!apply_recompute(d, state, model, &promote_idx, &promote_rule) &&
			!existed && d->action == ACTION_NONE)
			return STORE_NOTHING;
	}
	if (d->has_fit)
		state->fit = d->fit;
	apply_action(batch, model, d, state, eval_at, promote_idx, promote_rule,
				 score_unchanged(&before, state));

	d->stored = d->action != ACTION_MERGE_FROM;
	d->stage_after = state->stage ? MemoryContextStrdup(batch->cxt, state->stage) : NULL;
	return d->action == ACTION_MERGE_FROM ? STORE_DELETE : STORE_WRITE;
}

static int
delta_compare(const void *a, const void *b)
{
	const LeadDelta *x = *(LeadDelta *const *) a;
	const LeadDelta *y = *(LeadDelta *const *) b;
	int			c = memcmp(x->key.data, y->key.data, Min(x->key.len, y->key.len));

	return c != 0 ? c : (x->key.len > y->key.len) - (x->key.len < y->key.len);
}

/* Write back (or delete) the locked row of a lead as apply_lead decided. */
static void
store_verdict(ScoreBatch *batch, LeadDelta *d, StoreVerdict verdict, const LeadState *state)
{
	if (verdict == STORE_WRITE)
		store_update_lead(batch->store, batch->model->name, d->key.data, state);
	else if (verdict == STORE_DELETE)
		store_delete_lead(batch->store);
}

/*
 * Apply a lead whose row we hold locked.  A row that would be rewritten
 * unchanged (a rescore after edits that do not concern the lead) is left
 * alone: no new row version, no WAL, no index or vacuum work.
 */
static void
apply_locked(ScoreBatch *batch, LeadDelta *d, LeadState *state)
{
	/* apply_lead replaces stage and caps, never writes into them */
	LeadState	before = *state;
	StoreVerdict verdict = apply_lead(batch, d, state, true);

	if (verdict == STORE_WRITE && lead_state_equal(&before, state))
		verdict = STORE_NOTHING;
	store_verdict(batch, d, verdict, state);
}

/* Serializes the creation of a model's new leads; never held while waiting for a lead. */
static void
creation_lock(ScoreBatch *batch, bool acquire)
{
	uint16		subid = 1 + hash_bytes((const unsigned char *) batch->model->name,
									   strlen(batch->model->name)) % 65535;

	if (acquire)
		LockDatabaseObject(ExtensionRelationId, config_objects()->extension, subid, ExclusiveLock);
	else
	{
		store_flush(batch->store);	/* others must find the leads we created */
		UnlockDatabaseObject(ExtensionRelationId, config_objects()->extension, subid, ExclusiveLock);
	}
	batch->creating = acquire;
}

/*
 * Lock (or create) one lead and apply its delta.  A lead found absent is
 * created only if it is still absent under the creation lock; holding
 * that lock, we only try locks, and let it go before waiting.
 */
static void
apply_in_order(ScoreBatch *batch, LeadDelta *d)
{
	const char *model = batch->model->name;

	for (;;)
	{
		LeadState	state;

		MemoryContextReset(batch->lead_cxt);
		switch (store_lock_lead(batch->store, model, d->key.data, &state,
								batch->skip_busy || batch->creating))
		{
			case LOCK_FOUND:
				/* existing leads follow: let creators in */
				if (batch->creating)
					creation_lock(batch, false);
				apply_locked(batch, d, &state);
				return;
			case LOCK_BUSY:
				if (batch->skip_busy)
				{
					d->busy = true;
					return;
				}
				creation_lock(batch, false);	/* then wait, in key order */
				continue;
			case LOCK_ABSENT:
				if (!batch->creating)
				{
					creation_lock(batch, true);	/* and look again */
					continue;
				}
				lead_state_init(&state);
				if (apply_lead(batch, d, &state, false) == STORE_WRITE)
					store_insert_lead(batch->store, model, d->key.data, &state);
				return;
		}
	}
}

int64
batch_apply(ScoreBatch *batch)
{
	int64		n = batch->leads->members;
	LeadDelta **deltas = MemoryContextAlloc(batch->cxt, sizeof(LeadDelta *) * Max(1, n));
	int64		i = 0;
	leadmap_iterator it;
	LeadSlot   *slot;
	MemoryContext old = MemoryContextSwitchTo(batch->lead_cxt);

	leadmap_start_iterate(batch->leads, &it);
	while ((slot = leadmap_iterate(batch->leads, &it)) != NULL)
	{
		LeadDelta  *d = slot->delta;

		if (d->nrecords > 0)
			fold_records(batch, d);
		deltas[i++] = d;
	}
	qsort(deltas, n, sizeof(LeadDelta *), delta_compare);
	batch->deltas = deltas;
	batch->ndeltas = n;

	for (i = 0; i < n; i++)
		apply_in_order(batch, deltas[i]);
	if (batch->creating)
		creation_lock(batch, false);
	store_flush(batch->store);
	MemoryContextSwitchTo(old);
	stage_moves_finish(&batch->moves, batch->model);

	/*
	 * Make our writes visible to the rest of this command: a MERGE or an
	 * INSERT ... ON CONFLICT fires several of our triggers in one command,
	 * and the next one must find and lock the rows this one wrote.
	 */
	CommandCounterIncrement();
	return n;
}
