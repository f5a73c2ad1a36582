/*
 * reading.c — score_of(), stage_of() and explain(): the read side for BI
 * tools and applications.
 *
 * Readers need SELECT on mql_score.lead_state (GRANT it, or read the leads
 * view); they take only AccessShareLock, so they work on standbys.
 * explain() recomputes the lead from its activity rows, so its per-rule
 * contributions sum to score_of() as long as the incremental state is
 * right — which the differential tests check.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "config.h"
#include "decayed.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lead_key.h"
#include "miscadmin.h"
#include "recompute.h"
#include "stages.h"
#include "state_store.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(mql_engagement_at);
PG_FUNCTION_INFO_V1(mql_score_of);
PG_FUNCTION_INFO_V1(mql_stage_of);
PG_FUNCTION_INFO_V1(mql_explain);

/* _engagement_at(value, last_event_at, half_life, t), for the leads view */
Datum
mql_engagement_at(PG_FUNCTION_ARGS)
{
	double		value;
	TimestampTz last,
				t;
	int64		half_life;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	value = PG_GETARG_FLOAT8(0);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_FLOAT8(value);
	last = PG_GETARG_TIMESTAMPTZ(1);
	half_life = interval_to_usecs(PG_GETARG_INTERVAL_P(2));
	t = PG_GETARG_TIMESTAMPTZ(3);
	if (t <= last || half_life <= 0)
		PG_RETURN_FLOAT8(value);
	PG_RETURN_FLOAT8(value * decay_factor(t, last, half_life));
}

/* Readers must be allowed to read the leads view or lead_state itself. */
static void
check_read_privilege(void)
{
	Oid			leads = get_relname_relid("leads", config_objects()->namespace);

	if (pg_class_aclcheck(config_objects()->lead_state, GetUserId(), ACL_SELECT) != ACLCHECK_OK &&
		(!OidIsValid(leads) || pg_class_aclcheck(leads, GetUserId(), ACL_SELECT) != ACLCHECK_OK))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for view leads"),
				 errhint("GRANT SELECT ON mql_score.leads to the reading role.")));
}

/* Load the model and the lead's state (zeros when the lead is unknown). */
static ModelConfig *
read_lead(FunctionCallInfo fcinfo, const char *lead, LeadState *state)
{
	char	   *model_name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ModelConfig *model;
	OwnerContext owner;

	/* the configuration is the extension's to read; the state, the caller's */
	become_owner(&owner);
	config_acquire();
	restore_user(&owner);
	check_read_privilege();
	model = config_model(model_name, false);
	if (!state_read_lead(model->name, lead, state))
		lead_state_init(state);
	return model;
}

Datum
mql_score_of(PG_FUNCTION_ARGS)
{
	char	   *lead = lead_key_argument(fcinfo, 0);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(2);
	LeadState	state;
	ModelConfig *model;
	double		score;

	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
				 errmsg("score_of time must be a finite timestamp")));
	model = read_lead(fcinfo, lead, &state);
	score = lead_score_at(model, &state, at);
	config_release();
	PG_RETURN_FLOAT8(score);
}

Datum
mql_stage_of(PG_FUNCTION_ARGS)
{
	char	   *lead = lead_key_argument(fcinfo, 0);
	LeadState	state;

	(void) read_lead(fcinfo, lead, &state);
	config_release();
	if (state.stage == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(state.stage));
}

/* explain(lead, model, at) → kind, rule_id, event_type, events, contribution */
Datum
mql_explain(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *lead = lead_key_argument(fcinfo, 0);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(2);
	LeadState	state;
	ModelConfig *model;
	Recomputed	r;
	TimestampTz reference;
	OwnerContext owner;

	InitMaterializedSRF(fcinfo, 0);
	model = read_lead(fcinfo, lead, &state);
	become_owner(&owner);
	recompute_lead(model, lead, &r);
	restore_user(&owner);

	/* contributions as of `at`, never before the lead's last event (as score_of) */
	reference = r.has_events && at < r.last_event_at ? r.last_event_at : at;
	for (int i = 0; i < model->nrules; i++)
	{
		RuleTotal  *total = &r.rules[i];
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		if (total->events == 0)
			continue;
		values[0] = CStringGetTextDatum("rule");
		values[1] = Int64GetDatum(model->rules[i].id);
		values[2] = CStringGetTextDatum(model->rules[i].event_type);
		values[3] = Int64GetDatum(total->events);
		values[4] = Float8GetDatum(decayed_total(&total->sum) *
								   decay_factor(reference, total->sum.at, model->half_life));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	if (state.fit != 0.0)
	{
		Datum		values[5] = {CStringGetTextDatum("fit"), 0, 0, 0, Float8GetDatum(state.fit)};
		bool		nulls[5] = {false, true, true, true, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	config_release();
	return (Datum) 0;
}
