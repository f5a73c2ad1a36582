/*
 * stages.c — stage evaluation after a scoring change, the decay-driven due
 * time of the next move, and stage-move history and notifications.
 *
 * A bulk statement may move thousands of leads; NOTIFY payloads are queued
 * per transaction, so each statement sends at most mql_score.notify_limit
 * individual notifications and then one summary pointing to stage_history.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "common/shortest_dec.h"
#include "decayed.h"
#include "executor/spi.h"
#include "stages.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/timestamp.h"

#define NOTIFY_CHANNEL "mql_score"

int			mql_notify_limit = 100;

double
lead_score_at(const ModelConfig *model, const LeadState *state, TimestampTz t)
{
	double		engagement = state->engagement;

	/* before the last event the engagement is its value at that event */
	if (state->has_events && t > state->last_event_at)
		engagement *= decay_factor(t, state->last_event_at, model->half_life);
	return engagement + state->fit;
}

int
stage_index(const ModelConfig *model, const char *name)
{
	if (name == NULL)
		return -1;
	for (int i = 0; i < model->nstages; i++)
		if (strcmp(model->stages[i].name, name) == 0)
			return i;
	return -1;
}

void
stage_moves_init(StageMoves *moves)
{
	moves->count = 0;
	moves->notified = 0;
	initStringInfo(&moves->summary);
}

/* Append `"key": value` for a string value (or null). */
static void
json_field(StringInfo buf, const char *key, const char *value)
{
	if (buf->len > 1)
		appendStringInfoChar(buf, ',');
	escape_json(buf, key);
	appendStringInfoChar(buf, ':');
	if (value)
		escape_json(buf, value);
	else
		appendStringInfoString(buf, "null");
}

static void
json_number(StringInfo buf, const char *key, double value)
{
	char		digits[DOUBLE_SHORTEST_DECIMAL_LEN];

	double_to_shortest_decimal_buf(value, digits);
	if (buf->len > 1)
		appendStringInfoChar(buf, ',');
	escape_json(buf, key);
	appendStringInfo(buf, ":%s", digits);
}

/* Queue the notification of one move, or count it for the summary. */
static void
stage_notify(StageMoves *moves, const ModelConfig *model, const char *lead,
			 const char *from, const char *to, double score, const char *cause)
{
	StringInfoData buf;

	if (!model->notify)
		return;
	if (moves->notified >= mql_notify_limit)
		return;
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	json_field(&buf, "model", model->name);
	json_field(&buf, "lead", lead);
	json_field(&buf, "from", from);
	json_field(&buf, "to", to);
	json_number(&buf, "score", score);
	json_field(&buf, "cause", cause);
	json_field(&buf, "at", timestamptz_to_str(GetCurrentTransactionStartTimestamp()));
	appendStringInfoChar(&buf, '}');
	Async_Notify(NOTIFY_CHANNEL, buf.data);
	moves->notified++;
	pfree(buf.data);
}

void
stage_moves_finish(StageMoves *moves, const ModelConfig *model)
{
	StringInfoData buf;

	if (!model->notify || moves->count <= moves->notified)
		return;
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	json_field(&buf, "model", model->name);
	json_field(&buf, "summary", "more stage moves than mql_score.notify_limit");
	appendStringInfo(&buf, ",\"moves\":%d,\"notified\":%d", moves->count, moves->notified);
	json_field(&buf, "see", "mql_score.stage_history");
	json_field(&buf, "at", timestamptz_to_str(GetCurrentTransactionStartTimestamp()));
	appendStringInfoChar(&buf, '}');
	Async_Notify(NOTIFY_CHANNEL, buf.data);
	pfree(buf.data);
}

void
stage_move(StateStore *store, StageMoves *moves, const ModelConfig *model,
		   const char *lead, LeadState *state, int to_idx, double score,
		   const char *cause, int64 rule_id, const char *reason)
{
	const char *to = to_idx >= 0 ? model->stages[to_idx].name : NULL;
	const char *from = state->stage;

	if ((from == NULL && to == NULL) || (from && to && strcmp(from, to) == 0))
		return;
	store_insert_history(store, model->name, lead, from, to, score, cause, rule_id, reason);
	moves->count++;
	stage_notify(moves, model, lead, from, to, score, cause);
	state->stage = to ? pstrdup(to) : NULL;
	state->stage_entered_at = GetCurrentTransactionStartTimestamp();
}

/* Index of the model's lowest automatic stage, -1 if it has none. */
static int
lowest_automatic(const ModelConfig *model)
{
	for (int i = 0; i < model->nstages; i++)
		if (model->stages[i].automatic)
			return i;
	return -1;
}

void
stage_evaluate(StateStore *store, StageMoves *moves, const ModelConfig *model,
			   const char *lead, LeadState *state, TimestampTz t,
			   int promote_idx, int64 promote_rule, const char *cause, bool score_kept)
{
	int			current = stage_index(model, state->stage);
	double		score = lead_score_at(model, state, t);
	int			reached = -1;
	int			target;

	/*
	 * A move the score decides, after a change that left the score as it
	 * was, is time's if decay had made the lead due (state->due_at is still
	 * the one computed before the change): refresh_stages would have made
	 * it.  If it was not due, the change itself (a stage edit) moved it.
	 */
	const char *score_cause = score_kept && state->has_due && state->due_at <= t ? "decay" : cause;

	for (int i = 0; i < model->nstages; i++)
		if (model->stages[i].automatic && score >= model->stages[i].min_score)
			reached = i;

	target = Max(reached, promote_idx);
	if (target > current)
	{
		bool		promoted = promote_idx > reached;

		/* an event's promotion says "promote"; a rescore's or track()'s keeps its cause */
		const char *move_cause = !promoted ? score_cause :
			strcmp(cause, "event") == 0 ? "promote" : cause;

		stage_move(store, moves, model, lead, state, target, score, move_cause,
				   promoted ? promote_rule : 0, NULL);
	}
	else if (model->demote && current >= 0 && model->stages[current].automatic &&
			 reached < current)
	{
		int			to = reached >= 0 ? reached : lowest_automatic(model);

		if (to < current)
			stage_move(store, moves, model, lead, state, to, score, score_cause, 0, NULL);
	}
	stage_due_at(model, state);
}

TimestampTz
stage_last_manual_move(const char *model, const char *lead)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {CStringGetTextDatum(model), CStringGetTextDatum(lead)};
	TimestampTz result = DT_NOBEGIN;
	bool		isnull;
	Datum		at;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT pg_catalog.max(at) FROM mql_score.stage_history "
							  "WHERE model OPERATOR(pg_catalog.=) $1 AND lead OPERATOR(pg_catalog.=) $2 "
							  "AND cause OPERATOR(pg_catalog.=) ANY ('{manual,recycle}'::pg_catalog.text[])",
							  2, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading the stage history of lead \"%s\" failed", lead);
	at = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
		result = DatumGetTimestampTz(at);
	SPI_finish();
	return result;
}

/* Time at which `v·2^-(t-L)/h` crosses `level` (same sign, |v| > |level|). */
static double
crossing_usecs(double v, double level, TimestampTz last, int64 half_life)
{
	return (double) last + (double) half_life * log2(v / level);
}

void
stage_due_at(const ModelConfig *model, LeadState *state)
{
	int			current = stage_index(model, state->stage);
	double		v = state->engagement;
	double		due = INFINITY;

	state->has_due = false;
	if (model->half_life == 0 || !state->has_events || v == 0.0)
		return;

	/* decaying down out of the current automatic stage, if there is a lower one */
	if (model->demote && current > lowest_automatic(model) && model->stages[current].automatic && v > 0)
	{
		double		gap = model->stages[current].min_score - state->fit;

		if (gap > 0)
			due = v > gap ? crossing_usecs(v, gap, state->last_event_at, model->half_life)
				: (double) state->last_event_at;
	}

	/* negative engagement decaying up into a higher automatic stage */
	if (v < 0)
	{
		for (int j = current + 1; j < model->nstages; j++)
		{
			double		gap = model->stages[j].min_score - state->fit;

			if (!model->stages[j].automatic || gap >= 0)
				continue;
			/* crosses when v·2^-x >= gap, i.e. |v|·2^-x <= |gap| */
			due = fmin(due, -v > -gap ? crossing_usecs(-v, -gap, state->last_event_at, model->half_life)
					   : (double) state->last_event_at);
		}
	}

	if (due < (double) END_TIMESTAMP)
	{
		state->has_due = true;
		state->due_at = (TimestampTz) ceil(due);
	}
}
