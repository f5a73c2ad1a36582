/*
 * admin.c — validation of configuration as it is written: rules (trigger
 * on mql_score.rules), tracked tables (track() calls _check_trackable and
 * _validate_rules_for), and the invalidation trigger on every
 * configuration table.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "catalog/namespace.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "condition.h"
#include "config.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lead_key.h"
#include "tcop/deparse_utility.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(mql_config_changed);
PG_FUNCTION_INFO_V1(mql_validate_rule);
PG_FUNCTION_INFO_V1(mql_check_trackable);
PG_FUNCTION_INFO_V1(mql_validate_rules_for);
PG_FUNCTION_INFO_V1(mql_tracking_columns);
PG_FUNCTION_INFO_V1(mql_validate_fit_rule);
PG_FUNCTION_INFO_V1(mql_check_lead_table);
PG_FUNCTION_INFO_V1(mql_ddl_touches_partitions);
PG_FUNCTION_INFO_V1(mql_on_drop_extension);

/* Statement trigger on configuration tables: drop every backend's cache. */
Datum
mql_config_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("_config_changed() can only be called as a trigger")));
	config_invalidate_all();
	return PointerGetDatum(NULL);
}

/* A column of the trigger's row by name. */
static Datum
row_column(TriggerData *td, HeapTuple row, const char *name, bool *isnull)
{
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0)
		elog(ERROR, "column \"%s\" of %s is missing", name, RelationGetRelationName(td->tg_relation));
	return heap_getattr(row, attnum, desc, isnull);
}

/*
 * A NOT NULL column of the trigger's row.  BEFORE ROW triggers run before
 * NOT NULL constraints are checked, so a NULL must be refused here first.
 */
static Datum
row_required(TriggerData *td, HeapTuple row, const char *name)
{
	bool		isnull;
	Datum		value = row_column(td, row, name, &isnull);

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("null value in column \"%s\" of relation \"%s\" violates not-null constraint",
						name, RelationGetRelationName(td->tg_relation)),
				 errtable(td->tg_relation)));
	return value;
}

/*
 * Points are bounded so that sums over billions of events stay far from
 * float8 overflow and keep their precision.
 */
#define MAX_POINTS 1e12

static void
check_points_range(double points, const char *what, int64 id)
{
	if (fabs(points) > MAX_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("points of %s %lld are out of range: %g", what, (long long) id, points),
				 errdetail("Points must lie between -1e12 and 1e12.")));
}

/* Refuse anything but an ordinary or partitioned, permanent table. */
static void
check_table_kind(Relation rel, const char *purpose)
{
	char		kind = rel->rd_rel->relkind;

	if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", RelationGetRelationName(rel)),
				 errdetail("%s needs an ordinary or partitioned table; \"%s\" is a %s.",
						   purpose, RelationGetRelationName(rel),
						   kind == RELKIND_VIEW ? "view" :
						   kind == RELKIND_MATVIEW ? "materialized view" :
						   kind == RELKIND_FOREIGN_TABLE ? "foreign table" :
						   kind == RELKIND_INDEX || kind == RELKIND_PARTITIONED_INDEX ? "index" :
						   kind == RELKIND_SEQUENCE ? "sequence" : "relation of another kind")));
	if (rel->rd_rel->relpersistence == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot track temporary table \"%s\"", RelationGetRelationName(rel)),
				 errdetail("Scores outlive sessions; a temporary table's rows do not.")));
}

/*
 * Refuse a Citus distributed or reference table: its rows live in shards on
 * the worker nodes, where the triggers Citus copies would fire without
 * mql_score's configuration (they raise there, see triggers.h).
 */
static void
check_not_distributed(Relation rel, const char *purpose)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(RelationGetRelid(rel))};
	bool		distributed;

	if (!OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE)))
		return;					/* no Citus in this database */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid OPERATOR(pg_catalog.=) $1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed on pg_dist_partition");
	distributed = SPI_processed > 0;
	SPI_finish();
	if (distributed)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot track \"%s\": it is a Citus distributed or reference table",
						RelationGetRelationName(rel)),
				 errdetail("%s needs the table's rows on this node; Citus keeps them in shards on the workers, "
						   "where mql_score's triggers would find no configuration and score nothing.", purpose),
				 errhint("Track a local table of this node; scoring distributed tables is not supported yet.")));
}

/* Compile a rule's condition against one table as its author (raising on error). */
static void
validate_condition(const char *condition, int64 rule_id, Oid relid, Oid author)
{
	Relation	rel = relation_open(relid, AccessShareLock);

	check_table_kind(rel, "A rule's source");
	if (condition != NULL)
		(void) condition_compile(condition, psprintf("rule %lld", (long long) rule_id),
								 rel, relid, author);
	relation_close(rel, AccessShareLock);
}

/*
 * The role a rule's or fit rule's condition will run as, recorded in
 * written_by: the writing role, unless it has the rights of the role
 * recorded (kept: a superuser restoring a dump, an owner fixing points)
 * and it still exists.
 * Naming a role one does not have the rights of is refused, so nobody
 * makes a condition run with rights they lack.  Databases before 0.4.0
 * have no written_by: their conditions run as the extension's owner.
 */
static Oid
condition_author(TriggerData *td, HeapTuple *row, const char *what, int64 id)
{
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	int			attnum = SPI_fnumber(desc, "written_by");
	Oid			writer = GetUserId();
	bool		isnull;
	bool		old_isnull = true;
	Oid			requested;
	Oid			previous = InvalidOid;
	Oid			author;
	Datum		value;
	bool		nulls = false;

	if (attnum <= 0)
		return InvalidOid;
	requested = DatumGetObjectId(heap_getattr(*row, attnum, desc, &isnull));
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		previous = DatumGetObjectId(heap_getattr(td->tg_trigtuple, attnum, desc, &old_isnull));
	if (isnull || !SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(requested)))
		author = writer;		/* unset, or its writer was dropped */
	else if (has_privs_of_role(writer, requested))
		author = requested;
	else if (!old_isnull && requested == previous)
		author = writer;		/* someone else's row, rewritten: now the writer's */
	else
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to write %s %lld as role %s", what, (long long) id,
						GetUserNameFromId(requested, true) ? quote_identifier(GetUserNameFromId(requested, true)) :
						psprintf("with OID %u", requested)),
				 errdetail("Its condition would run with that role's rights, which role %s does not have.",
						   quote_identifier(GetUserNameFromId(writer, false))),
				 errhint("Leave written_by out: it is set to the role that writes the row.")));
	if (isnull || author != requested)
	{
		value = ObjectIdGetDatum(author);
		*row = heap_modify_tuple_by_cols(*row, desc, 1, &attnum, &value, &nulls);
	}
	return author;
}

/* BEFORE INSERT OR UPDATE on rules: a rule is checked when written. */
Datum
mql_validate_rule(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple	row;
	bool		isnull;
	int64		id;
	char	   *model;
	char	   *event_type;
	double		points;
	Datum		v;
	char	   *condition;
	char	   *promote_to;
	Oid			source;
	Oid			author;
	OwnerContext owner;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("_validate_rule() can only be called as a row trigger")));
	row = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;

	id = DatumGetInt64(row_required(td, row, "id"));
	model = TextDatumGetCString(row_required(td, row, "model"));
	event_type = TextDatumGetCString(row_required(td, row, "event_type"));
	points = DatumGetFloat8(row_required(td, row, "points"));
	v = row_column(td, row, "condition", &isnull);
	condition = isnull ? NULL : TextDatumGetCString(v);
	v = row_column(td, row, "promote_to", &isnull);
	promote_to = isnull ? NULL : TextDatumGetCString(v);
	v = row_column(td, row, "source", &isnull);
	source = isnull ? InvalidOid : DatumGetObjectId(v);

	if (isnan(points) || isinf(points))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("points of rule %lld must be a finite number, got %g", (long long) id, points)));
	check_points_range(points, "rule", id);
	if (event_type[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("event_type of rule %lld must not be empty", (long long) id)));
	v = row_column(td, row, "max_per_day", &isnull);
	if (!isnull && DatumGetInt32(v) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_per_day of rule %lld must be positive, got %d", (long long) id, DatumGetInt32(v)),
				 errhint("Use NULL for no daily cap.")));
	if (condition != NULL && condition[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("condition of rule %lld is empty", (long long) id),
				 errhint("Use NULL for a rule without condition.")));
	author = condition_author(td, &row, "rule", id);

	become_owner(&owner);
	if (!OidIsValid(author))
		author = GetUserId();	/* before 0.4.0: the owner, as the cache does */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (promote_to != NULL)
	{
		Oid			types[2] = {TEXTOID, TEXTOID};
		Datum		values[2] = {CStringGetTextDatum(model), CStringGetTextDatum(promote_to)};

		SPI_execute_with_args("SELECT 1 FROM mql_score.stages WHERE model OPERATOR(pg_catalog.=) $1 AND name OPERATOR(pg_catalog.=) $2",
							  2, types, values, NULL, true, 1);
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("promote_to of rule %lld names stage \"%s\", which model \"%s\" does not have",
							(long long) id, promote_to, model),
					 errhint("Add the stage to mql_score.stages first.")));
	}
	if (OidIsValid(source))
		validate_condition(condition, id, source, author);
	else if (condition != NULL)
	{
		Oid			types[2] = {TEXTOID, TEXTOID};
		Datum		values[2] = {CStringGetTextDatum(model), CStringGetTextDatum(event_type)};

		/* every table the model tracks that can hold events of this type */
		SPI_execute_with_args("SELECT t.activity FROM mql_score.tracked t, "
							  "mql_score._tracking_columns(t.id) c "
							  "WHERE t.model OPERATOR(pg_catalog.=) $1 AND (c.event_type IS NULL OR c.event_type OPERATOR(pg_catalog.=) $2) "
							  "ORDER BY t.id",
							  2, types, values, NULL, true, 0);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			Oid			relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
															   SPI_tuptable->tupdesc, 1, &isnull));

			validate_condition(condition, id, relid, author);
		}
	}
	SPI_finish();
	restore_user(&owner);
	return PointerGetDatum(row);
}

/* Whether some index of `rel` (or its partitioned index) leads with `attnum`. */
static bool
has_index_on(Relation rel, AttrNumber attnum)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	bool		found = false;

	foreach(lc, indexes)
	{
		HeapTuple	tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(lfirst_oid(lc)));

		if (HeapTupleIsValid(tuple))
		{
			Form_pg_index index = (Form_pg_index) GETSTRUCT(tuple);

			found |= index->indnatts > 0 && index->indkey.values[0] == attnum;
			ReleaseSysCache(tuple);
		}
	}
	list_free(indexes);
	return found;
}

/* A tracked column: it must exist and be a user column. */
static AttrNumber
tracked_column(Relation rel, Name column, const char *role)
{
	AttrNumber	attnum = get_attnum(RelationGetRelid(rel), NameStr(*column));

	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						NameStr(*column), RelationGetRelationName(rel)),
				 errhint("Name the table's %s column.", role)));
	return attnum;
}

/* _check_trackable(activity, model, lead_column, time_column, type_column, event_type) */
Datum
mql_check_trackable(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *model_name;
	Relation	rel;
	AttrNumber	lead,
				at;
	Oid			lead_type,
				time_type;
	LeadKind	kind;
	OwnerContext owner;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("activity, model, lead_column and time_column must not be NULL")));
	relid = PG_GETARG_OID(0);
	model_name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (PG_ARGISNULL(4) == PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("exactly one of type_column and event_type must be given"),
				 errhint("type_column names the column holding each row's event type; "
						 "event_type is the type of every row of a single-purpose table.")));
	if (!PG_ARGISNULL(5) && VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(5)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("event_type must not be empty")));

	rel = relation_open(relid, AccessShareLock);
	check_table_kind(rel, "track()");
	check_not_distributed(rel, "track()");

	lead = tracked_column(rel, PG_GETARG_NAME(2), "lead");
	lead_type = get_atttype(relid, lead);
	kind = lead_kind_of_type(lead_type);
	if (kind == LEAD_KIND_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("lead column \"%s\" has type %s", NameStr(*PG_GETARG_NAME(2)), format_type_be(lead_type)),
				 errhint("A lead column must be smallint, integer, bigint, uuid, text or varchar.")));

	at = tracked_column(rel, PG_GETARG_NAME(3), "event time");
	time_type = get_atttype(relid, at);
	if (time_type != TIMESTAMPTZOID && time_type != TIMESTAMPOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("time column \"%s\" has type %s", NameStr(*PG_GETARG_NAME(3)), format_type_be(time_type)),
				 errhint("An event time column must be timestamptz (or timestamp, read as UTC).")));

	if (!PG_ARGISNULL(4))
	{
		AttrNumber	type = tracked_column(rel, PG_GETARG_NAME(4), "event type");
		Oid			type_type = get_atttype(relid, type);

		if (type_type != TEXTOID && type_type != VARCHAROID &&
			!type_is_enum(type_type))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("type column \"%s\" has type %s", NameStr(*PG_GETARG_NAME(4)), format_type_be(type_type)),
					 errhint("An event type column must be text, varchar or an enum.")));
	}

	become_owner(&owner);
	config_acquire();
	PG_TRY();
	{
		ModelConfig *model = config_model(model_name, true);
		ListCell   *lc;

		if (model == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" does not exist", model_name),
					 errhint("Create it first: INSERT INTO mql_score.models (name) VALUES (%s);",
							 quote_literal_cstr(model_name))));
		foreach(lc, model->trackings)
		{
			TrackingConfig *tc = lfirst(lc);

			if (tc->relid == relid)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_OBJECT),
						 errmsg("table \"%s\" is already tracked by model \"%s\"",
								RelationGetRelationName(rel), model_name),
						 errhint("Call mql_score.untrack() first to track it differently.")));
		}
		if (model->lead_kind != LEAD_KIND_NONE && model->lead_kind != kind)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("lead column \"%s\" has type %s, but model \"%s\" identifies leads by %s values",
							NameStr(*PG_GETARG_NAME(2)), format_type_be(lead_type), model_name,
							lead_kind_name(model->lead_kind)),
					 errhint("All tables a model tracks must have comparable lead columns; use another model.")));
	}
	PG_FINALLY();
	{
		config_release();
		restore_user(&owner);
	}
	PG_END_TRY();

	if (!has_index_on(rel, lead))
		ereport(NOTICE,
				(errmsg("no index on lead column \"%s\" of \"%s\"",
						NameStr(*PG_GETARG_NAME(2)), RelationGetRelationName(rel)),
				 errdetail("Recomputing a lead (rescore, deletes of capped events, explain) reads its rows through one."),
				 errhint("CREATE INDEX ON %s (%s);",
						 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
													RelationGetRelationName(rel)),
						 quote_identifier(NameStr(*PG_GETARG_NAME(2))))));
	relation_close(rel, AccessShareLock);
	PG_RETURN_VOID();
}

/* _validate_rules_for(tracking): compile every applicable rule against the table. */
Datum
mql_validate_rules_for(PG_FUNCTION_ARGS)
{
	int			id = PG_GETARG_INT32(0);
	OwnerContext owner;

	become_owner(&owner);
	config_acquire();
	PG_TRY();
	{
		TrackingConfig *tc = config_tracking(id, false);
		Relation	rel = relation_open(tc->relid, AccessShareLock);

		(void) config_table_rules(tc, rel);
		relation_close(rel, AccessShareLock);
	}
	PG_FINALLY();
	{
		config_release();
		restore_user(&owner);
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}

/* _tracking_columns(tracking) → lead_column, time_column, type_column, event_type */
Datum
mql_tracking_columns(PG_FUNCTION_ARGS)
{
	int			id = PG_GETARG_INT32(0);
	TupleDesc	desc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	OwnerContext owner;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	become_owner(&owner);
	config_acquire();
	PG_TRY();
	{
		TrackingConfig *tc = config_tracking(id, true);

		if (tc == NULL)
			memset(nulls, true, sizeof(nulls));
		else
		{
			values[0] = DirectFunctionCall1(namein, CStringGetDatum(tc->lead_column));
			values[1] = DirectFunctionCall1(namein, CStringGetDatum(tc->time_column));
			nulls[2] = tc->type_column == NULL;
			values[2] = tc->type_column ? DirectFunctionCall1(namein, CStringGetDatum(tc->type_column)) : 0;
			nulls[3] = tc->event_type == NULL;
			values[3] = tc->event_type ? CStringGetTextDatum(tc->event_type) : 0;
		}
	}
	PG_FINALLY();
	{
		config_release();
		restore_user(&owner);
	}
	PG_END_TRY();
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/* BEFORE INSERT OR UPDATE on fit_rules: finite points, a condition that
 * compiles against the model's lead table (when it has one). */
Datum
mql_validate_fit_rule(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple	row;
	bool		isnull;
	int64		id;
	char	   *model;
	char	   *condition;
	double		points;
	Oid			author;
	OwnerContext owner;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("_validate_fit_rule() can only be called as a row trigger")));
	row = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	id = DatumGetInt64(row_required(td, row, "id"));
	model = TextDatumGetCString(row_required(td, row, "model"));
	condition = TextDatumGetCString(row_required(td, row, "condition"));
	points = DatumGetFloat8(row_required(td, row, "points"));

	if (isnan(points) || isinf(points))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("points of fit rule %lld must be a finite number, got %g", (long long) id, points)));
	check_points_range(points, "fit rule", id);
	if (condition[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("condition of fit rule %lld is empty", (long long) id)));
	author = condition_author(td, &row, "fit rule", id);

	become_owner(&owner);
	if (!OidIsValid(author))
		author = GetUserId();	/* before 0.4.0: the owner, as the cache does */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		Oid			types[1] = {TEXTOID};
		Datum		values[1] = {CStringGetTextDatum(model)};

		SPI_execute_with_args("SELECT leads FROM mql_score.tracked_leads WHERE model OPERATOR(pg_catalog.=) $1",
							  1, types, values, NULL, true, 1);
		if (SPI_processed > 0)
		{
			Oid			relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
															   SPI_tuptable->tupdesc, 1, &isnull));
			Relation	rel = relation_open(relid, AccessShareLock);

			(void) condition_compile(condition, psprintf("fit rule %lld", (long long) id),
									 rel, relid, author);
			relation_close(rel, AccessShareLock);
		}
	}
	SPI_finish();
	restore_user(&owner);
	return PointerGetDatum(row);
}

/* _check_lead_table(leads, id_column, model) */
Datum
mql_check_lead_table(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *model_name;
	Relation	rel;
	AttrNumber	id;
	Oid			id_type;
	LeadKind	kind;
	OwnerContext owner;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("leads, id_column and model must not be NULL")));
	relid = PG_GETARG_OID(0);
	model_name = text_to_cstring(PG_GETARG_TEXT_PP(2));
	rel = relation_open(relid, AccessShareLock);
	check_table_kind(rel, "track_leads()");
	check_not_distributed(rel, "track_leads()");
	id = tracked_column(rel, PG_GETARG_NAME(1), "lead id");
	id_type = get_atttype(relid, id);
	kind = lead_kind_of_type(id_type);
	if (kind == LEAD_KIND_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("lead id column \"%s\" has type %s", NameStr(*PG_GETARG_NAME(1)), format_type_be(id_type)),
				 errhint("A lead id column must be smallint, integer, bigint, uuid, text or varchar.")));

	become_owner(&owner);
	config_acquire();
	PG_TRY();
	{
		ModelConfig *model = config_model(model_name, true);

		if (model == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" does not exist", model_name)));
		if (model->fit != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("model \"%s\" already has a lead table, %s", model_name, get_rel_name(model->fit->relid)),
					 errhint("Call mql_score.untrack_leads(%s) first.", quote_literal_cstr(model_name))));
		if (model->lead_kind != LEAD_KIND_NONE && model->lead_kind != kind)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("lead id column \"%s\" has type %s, but model \"%s\" identifies leads by %s values",
							NameStr(*PG_GETARG_NAME(1)), format_type_be(id_type), model_name,
							lead_kind_name(model->lead_kind))));
	}
	PG_FINALLY();
	{
		config_release();
		restore_user(&owner);
	}
	PG_END_TRY();
	relation_close(rel, AccessShareLock);
	PG_RETURN_VOID();
}

/*
 * _ddl_touches_partitions(command pg_ddl_command): whether a DDL command
 * can change which partitions a table has (CREATE TABLE ... PARTITION OF,
 * ALTER TABLE ... ATTACH/DETACH PARTITION).  The event trigger reconciles
 * tracked tables only then — in particular not while pg_restore replays a
 * dump, which recreates the triggers itself.
 */
Datum
mql_ddl_touches_partitions(PG_FUNCTION_ARGS)
{
	CollectedCommand *cmd = (CollectedCommand *) PG_GETARG_POINTER(0);
	Node	   *tree = cmd->parsetree;

	if (tree && IsA(tree, CreateStmt))
		PG_RETURN_BOOL(((CreateStmt *) tree)->partbound != NULL);
	if (tree && IsA(tree, AlterTableStmt))
	{
		ListCell   *lc;

		foreach(lc, ((AlterTableStmt *) tree)->cmds)
		{
			AlterTableCmd *sub = lfirst(lc);

			if (sub->subtype == AT_AttachPartition || sub->subtype == AT_DetachPartition ||
				sub->subtype == AT_DetachPartitionFinalize)
				PG_RETURN_BOOL(true);
		}
	}
	PG_RETURN_BOOL(false);
}

/*
 * Event trigger at the start of DROP EXTENSION: a DROP EXTENSION mql_score
 * CASCADE takes mql_score's triggers off the tracked tables, but the
 * column views (mql_score.tracking_<id>, leads_<id>) are the user's
 * objects, not the extension's (pg_dump must keep them): drop them too, so
 * nothing of the extension stays behind to block the tables later.
 */
Datum
mql_on_drop_extension(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata = (EventTriggerData *) fcinfo->context;
	DropStmt   *drop;
	ListCell   *lc;
	bool		ours = false;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("_on_drop_extension() can only be called as an event trigger")));
	if (!IsA(trigdata->parsetree, DropStmt))
		PG_RETURN_VOID();
	drop = (DropStmt *) trigdata->parsetree;
	if (drop->removeType != OBJECT_EXTENSION || drop->behavior != DROP_CASCADE)
		PG_RETURN_VOID();
	foreach(lc, drop->objects)
		ours |= strcmp(strVal(lfirst(lc)), "mql_score") == 0;
	if (!ours)
		PG_RETURN_VOID();

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* forget the trackings first, so dropping their views rescores nothing */
	SPI_execute("DELETE FROM mql_score.tracked", false, 0);
	if (OidIsValid(get_relname_relid("tracked_leads", get_namespace_oid("mql_score", false))))
		SPI_execute("DELETE FROM mql_score.tracked_leads", false, 0);
	SPI_execute("SELECT pg_catalog.format('DROP VIEW mql_score.%I', c.relname) FROM pg_catalog.pg_class c "
				"WHERE c.relnamespace OPERATOR(pg_catalog.=) 'mql_score'::pg_catalog.regnamespace "
				"AND c.relkind OPERATOR(pg_catalog.=) 'v' AND c.relname OPERATOR(pg_catalog.~) '^(tracking|leads)_[0-9]+$'",
				true, 0);
	if (SPI_processed > 0)
	{
		SPITupleTable *views = SPI_tuptable;
		uint64		n = SPI_processed;

		for (uint64 i = 0; i < n; i++)
			SPI_execute(SPI_getvalue(views->vals[i], views->tupdesc, 1), false, 0);
	}
	SPI_finish();
	PG_RETURN_VOID();
}
