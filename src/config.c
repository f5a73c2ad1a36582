/*
 * config.c — build, look up and invalidate the per-backend configuration
 * cache (see config.h).
 *
 * The cache lives in its own memory context under CacheMemoryContext and is
 * rebuilt lazily.  Invalidation follows pg_cron's pattern: a statement
 * trigger on every configuration table calls config_invalidate_all(),
 * which queues a relcache invalidation of mql_score.tracked; the relcache
 * callback here marks the cache stale in every backend when that commits.
 * ALTERs of a tracked table (renames, dropped columns) invalidate its
 * relcache entry too, and so does any change to a function (conditions
 * may call it): both mark the cache stale as well.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "compat.h"
#include "condition.h"
#include "config.h"
#include "decayed.h"
#include "executor/spi.h"
#include "lead_key.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteHandler.h"
#include "rewrite/rewriteSupport.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#define EXTENSION_NAME "mql_score"

typedef struct ConfigCache
{
	MemoryContext cxt;
	ExtensionObjects objects;
	int			nmodels;
	ModelConfig **models;
	List	   *trackings;		/* TrackingConfig * */
	int			nrelids;		/* relations whose invalidation matters */
	Oid		   *relids;
	int			refcount;		/* holders of this version */
	uint64		generation;		/* builds so far in this backend */
	bool		in_parallel;	/* built in parallel mode, from the query's snapshot */
} ConfigCache;

/*
 * `cache` is the current version.  A version someone still holds stays
 * alive after a newer one replaces it (config_refresh), and is freed when
 * its last holder lets go.  Holders nest, so a stack records what each
 * config_acquire() took, and above it what config_refresh() took for the
 * same holder: config_release() lets go of both.
 */
#define MAX_HOLDS 64

typedef struct ConfigHold
{
	ConfigCache *version;
	bool		by_refresh;
} ConfigHold;

static ConfigCache *cache = NULL;
static bool cache_stale = true;
static uint64 generations = 0;
static ConfigHold held[MAX_HOLDS];
static int	nheld = 0;

static void check_fed_by(Relation rel, Oid root, const char *what, int id);
static void config_free(ConfigCache *version);
static Query *view_query(Oid view);

/* Mark stale when a relation that shapes the cache changes. */
static void
config_relcache_callback(Datum arg, Oid relid)
{
	if (cache == NULL || cache_stale)
		return;
	if (relid == InvalidOid || relid == cache->objects.tracked)
	{
		cache_stale = true;
		return;
	}
	for (int i = 0; i < cache->nrelids; i++)
		if (cache->relids[i] == relid)
		{
			cache_stale = true;
			return;
		}
}

/* Any function change may alter a compiled condition. */
static void
config_syscache_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	cache_stale = true;
}

/* Holds do not survive the transaction that took them. */
static void
config_xact_callback(XactEvent event, void *arg)
{
	if (event != XACT_EVENT_ABORT && event != XACT_EVENT_COMMIT &&
		event != XACT_EVENT_PARALLEL_ABORT && event != XACT_EVENT_PARALLEL_COMMIT)
		return;
	while (nheld > 0)
	{
		ConfigCache *version = held[--nheld].version;

		if (--version->refcount == 0 && version != cache)
			config_free(version);
	}
}

void
config_init(void)
{
	CacheRegisterRelcacheCallback(config_relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(PROCOID, config_syscache_callback, (Datum) 0);
	RegisterXactCallback(config_xact_callback, NULL);
}

/* The owner of the extension, read from pg_extension. */
static Oid
extension_owner(void)
{
	Relation	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			owner = InvalidOid;

	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum(EXTENSION_NAME));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		owner = ((Form_pg_extension) GETSTRUCT(tuple))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"%s\" is not installed in this database", EXTENSION_NAME),
				 errhint("Run CREATE EXTENSION mql_score, or drop the triggers left on tracked tables.")));
	return owner;
}

/* Run as the extension owner, keeping the security context flags. */
void
become_owner(OwnerContext *ctx)
{
	GetUserIdAndSecContext(&ctx->saved_user, &ctx->saved_sec_context);
	SetUserIdAndSecContext(cache != NULL && !cache_stale ? cache->objects.owner : extension_owner(),
						   ctx->saved_sec_context | SECURITY_LOCAL_USERID_CHANGE);
}

void
restore_user(const OwnerContext *ctx)
{
	SetUserIdAndSecContext(ctx->saved_user, ctx->saved_sec_context);
}

/* A relation of the extension's schema, which must exist. */
static Oid
extension_relid(Oid namespace, const char *name)
{
	Oid			relid = get_relname_relid(name, namespace);

	if (!OidIsValid(relid))
		elog(ERROR, "mql_score relation \"%s\" is missing", name);
	return relid;
}

/* Look the extension's own objects up. */
static void
load_objects(ExtensionObjects *objects)
{
	objects->extension = get_extension_oid(EXTENSION_NAME, false);
	objects->namespace = get_namespace_oid(EXTENSION_NAME, false);
	objects->owner = extension_owner();
	objects->lead_state = extension_relid(objects->namespace, "lead_state");
	objects->stage_history = extension_relid(objects->namespace, "stage_history");
	objects->skipped = extension_relid(objects->namespace, "skipped");
	objects->tracked = extension_relid(objects->namespace, "tracked");
	/* before 0.4.0 conditions ran as the owner: the library serves every version */
	objects->has_authors = get_attnum(extension_relid(objects->namespace, "rules"),
									  "written_by") != InvalidAttrNumber;
	/* looked up once: getIdentitySequence scans pg_depend */
	objects->stage_history_ids = compat_identity_sequence(objects->stage_history,
														  get_attnum(objects->stage_history, "id"));
	objects->skipped_ids = compat_identity_sequence(objects->skipped,
													get_attnum(objects->skipped, "id"));
}

/* Run a query; SPI leaves its own context current, so return to the cache's. */
static void
spi_run(const char *query)
{
	if (SPI_execute(query, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", query);
	MemoryContextSwitchTo(cache->cxt);
}

/* SPI value helpers, copying into the cache context. */
static char *
spi_text(HeapTuple tuple, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, desc, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static Datum
spi_value(HeapTuple tuple, TupleDesc desc, int col, bool *isnull)
{
	return SPI_getbinval(tuple, desc, col, isnull);
}

/* A written_by column; NULL (a database before 0.4.0) is the owner. */
static Oid
spi_author(HeapTuple tuple, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, desc, col, &isnull);

	return isnull ? cache->objects.owner : DatumGetObjectId(d);
}

/*
 * A column the table declares NOT NULL.  It cannot be NULL unless someone
 * altered the extension's tables; then say so instead of reading garbage.
 */
static Datum
spi_required(HeapTuple tuple, TupleDesc desc, int col, const char *table)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, desc, col, &isnull);

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("column \"%s\" of mql_score.%s is NULL in a row", SPI_fname(desc, col), table),
				 errhint("The column is declared NOT NULL; restore the constraint and fix the row.")));
	return d;
}

static char *
spi_required_text(HeapTuple tuple, TupleDesc desc, int col, const char *table)
{
	return TextDatumGetCString(spi_required(tuple, desc, col, table));
}

/* Names the model whose settings were being read when an error is raised. */
static void
model_error_context(void *arg)
{
	errcontext("reading model \"%s\" from mql_score.models", (const char *) arg);
}

static ModelConfig *
find_model(const char *name)
{
	for (int i = 0; i < cache->nmodels; i++)
		if (strcmp(cache->models[i]->name, name) == 0)
			return cache->models[i];
	return NULL;
}

/* Models and their settings. */
static void
load_models(void)
{
	spi_run("SELECT name, half_life, demote, notify, on_error OPERATOR(pg_catalog.=) 'skip' "
				"FROM mql_score.models ORDER BY name");
	cache->nmodels = SPI_processed;
	cache->models = palloc0(sizeof(ModelConfig *) * Max(1, SPI_processed));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		ModelConfig *m = palloc0(sizeof(ModelConfig));
		bool		isnull;
		Datum		hl;
		ErrorContextCallback context;

		m->generation = cache->generation;
		m->name = spi_required_text(t, d, 1, "models");
		context.callback = model_error_context;
		context.arg = m->name;
		context.previous = error_context_stack;
		error_context_stack = &context;
		hl = spi_value(t, d, 2, &isnull);
		/* a half-life beyond int64 microseconds fails here with 22008, naming the model */
		m->half_life = isnull ? 0 : interval_to_usecs(DatumGetIntervalP(hl));
		error_context_stack = context.previous;
		m->demote = DatumGetBool(spi_required(t, d, 3, "models"));
		m->notify = DatumGetBool(spi_required(t, d, 4, "models"));
		m->skip_errors = DatumGetBool(spi_required(t, d, 5, "models"));
		cache->models[i] = m;
	}
}

/* Stages, ordered by position within each model. */
static void
load_stages(void)
{
	spi_run("SELECT model, name, position, min_score FROM mql_score.stages "
				"ORDER BY model, position");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		char	   *model_name = spi_required_text(t, d, 1, "stages");
		ModelConfig *m = find_model(model_name);
		StageConfig *s;
		bool		isnull;
		Datum		min_score;

		if (m == NULL)
			continue;
		if (m->stages == NULL)
			m->stages = palloc0(sizeof(StageConfig) * SPI_processed);
		s = &m->stages[m->nstages++];
		s->name = spi_required_text(t, d, 2, "stages");
		s->position = DatumGetInt32(spi_required(t, d, 3, "stages"));
		min_score = spi_value(t, d, 4, &isnull);
		s->automatic = !isnull;
		s->min_score = isnull ? 0.0 : DatumGetFloat8(min_score);
	}
}

/* Index of a stage in its model, -1 if there is none. */
static int
stage_position(ModelConfig *m, const char *name)
{
	for (int i = 0; i < m->nstages; i++)
		if (strcmp(m->stages[i].name, name) == 0)
			return i;
	return -1;
}

/* Enabled rules of every model. */
static void
load_rules(void)
{
	spi_run(cache->objects.has_authors ?
			"SELECT id, model, source, event_type, points, condition, "
			"max_per_day, once, promote_to, written_by FROM mql_score.rules "
			"WHERE enabled ORDER BY model, id" :
			"SELECT id, model, source, event_type, points, condition, "
			"max_per_day, once, promote_to, NULL::pg_catalog.regrole FROM mql_score.rules "
			"WHERE enabled ORDER BY model, id");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		ModelConfig *m = find_model(spi_required_text(t, d, 2, "rules"));
		RuleConfig *r;
		bool		isnull;
		Datum		v;
		char	   *promote_to;

		if (m == NULL)
			continue;
		if (m->rules == NULL)
			m->rules = palloc0(sizeof(RuleConfig) * SPI_processed);
		r = &m->rules[m->nrules];
		r->index = m->nrules++;
		r->id = DatumGetInt64(spi_required(t, d, 1, "rules"));
		v = spi_value(t, d, 3, &isnull);
		r->source = isnull ? InvalidOid : DatumGetObjectId(v);
		r->event_type = spi_required_text(t, d, 4, "rules");
		r->event_type_len = strlen(r->event_type);
		r->points = DatumGetFloat8(spi_required(t, d, 5, "rules"));
		r->condition = spi_text(t, d, 6);
		v = spi_value(t, d, 7, &isnull);
		r->cap = isnull ? 0 : DatumGetInt32(v);
		r->once = DatumGetBool(spi_required(t, d, 8, "rules"));
		if (r->once)
			r->cap = 1;
		promote_to = spi_text(t, d, 9);
		r->promote_idx = promote_to ? stage_position(m, promote_to) : -1;
		r->author = spi_author(t, d, 10);
	}
}

/* Fit rules of every model. */
static void
load_fit_rules(void)
{
	spi_run(cache->objects.has_authors ?
			"SELECT id, model, condition, points, written_by FROM mql_score.fit_rules ORDER BY model, id" :
			"SELECT id, model, condition, points, NULL::pg_catalog.regrole FROM mql_score.fit_rules ORDER BY model, id");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		ModelConfig *m = find_model(spi_required_text(t, d, 2, "fit_rules"));
		FitRuleConfig *r;

		if (m == NULL)
			continue;
		if (m->fit_rules == NULL)
			m->fit_rules = palloc0(sizeof(FitRuleConfig) * SPI_processed);
		r = &m->fit_rules[m->nfit_rules++];
		r->id = DatumGetInt64(spi_required(t, d, 1, "fit_rules"));
		r->condition = spi_required_text(t, d, 3, "fit_rules");
		r->points = DatumGetFloat8(spi_required(t, d, 4, "fit_rules"));
		r->author = spi_author(t, d, 5);
	}
}

/*
 * A column view that is not what track() or track_leads() created: the
 * rows of tracked and tracked_leads were written by hand.
 */
static void
malformed_view(Oid view, Oid relid, const char *what, int id)
{
	char	   *view_name = get_rel_name(view);
	char	   *rel_name = get_rel_name(relid);

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
			 errmsg("column view %s of mql_score %s %d does not select the columns of %s",
					view_name ? view_name : "(dropped)", what, id, rel_name ? rel_name : "(dropped)"),
			 errhint("Rows of mql_score.tracked and mql_score.tracked_leads are written by track() and track_leads(); "
					 "untrack the table and track it again.")));
}

/*
 * Entry `index` of a column view's target list: a plain column of `relid`,
 * which the view must select from.  NULL if it is a constant.
 */
static Var *
view_column(Query *query, int index, Oid view, Oid relid, const char *what, int id)
{
	TargetEntry *te;
	Var		   *var;
	RangeTblEntry *rte;

	if (list_length(query->targetList) <= index)
		malformed_view(view, relid, what, id);
	te = list_nth_node(TargetEntry, query->targetList, index);
	if (IsA(te->expr, Const))
		return NULL;
	if (!IsA(te->expr, Var))
		malformed_view(view, relid, what, id);
	var = (Var *) te->expr;
	if (var->varlevelsup != 0 || var->varattno <= 0 ||
		var->varno < 1 || var->varno > list_length(query->rtable))
		malformed_view(view, relid, what, id);
	rte = rt_fetch(var->varno, query->rtable);
	if (rte->rtekind != RTE_RELATION || rte->relid != relid)
		malformed_view(view, relid, what, id);
	return var;
}

/* The name of the column a view's Var reads; the view was checked against relid. */
static char *
column_of_var(Oid view, Oid relid, Var *var, const char *what, int id)
{
	char	   *name = get_attname(relid, var->varattno, true);

	if (name == NULL)
		malformed_view(view, relid, what, id);
	return name;
}

/* The column a lead table's column view selects; NULL if the view is gone. */
static Var *
view_first_var(Oid view_relid, Oid relid, const char *what, int id)
{
	Query	   *query = view_query(view_relid);
	Var		   *var;

	if (query == NULL)
		return NULL;
	var = view_column(query, 0, view_relid, relid, what, id);
	if (var == NULL)
		malformed_view(view_relid, relid, what, id);
	return var;
}

/* Each model's lead table. */
static void
load_lead_tables(void)
{
	spi_run("SELECT id, model, leads, columns FROM mql_score.tracked_leads "
			"WHERE columns IS NOT NULL ORDER BY id");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		ModelConfig *m = find_model(spi_required_text(t, d, 2, "tracked_leads"));
		FitConfig  *fit;
		Var		   *var;

		if (m == NULL)
			continue;
		fit = palloc0(sizeof(FitConfig));
		fit->id = DatumGetInt32(spi_required(t, d, 1, "tracked_leads"));
		fit->relid = DatumGetObjectId(spi_required(t, d, 3, "tracked_leads"));
		fit->columns_view = DatumGetObjectId(spi_required(t, d, 4, "tracked_leads"));
		if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(fit->relid)) ||
			(var = view_first_var(fit->columns_view, fit->relid, "lead table", fit->id)) == NULL)
			continue;
		fit->id_column = column_of_var(fit->columns_view, fit->relid, var, "lead table", fit->id);
		fit->id_type = var->vartype;
		m->fit = fit;
		cache->relids = repalloc(cache->relids, sizeof(Oid) * (cache->nrelids + 2));
		cache->relids[cache->nrelids++] = fit->relid;
		cache->relids[cache->nrelids++] = fit->columns_view;
	}
}

/*
 * The query of a view, read from pg_rewrite without locking the view: a
 * concurrent untrack() may be dropping it, and the cache must neither wait
 * for that nor fail on it (it is invalidated when the drop commits).
 * NULL if the view is gone.
 */
static Query *
view_query(Oid view)
{
	HeapTuple	tuple = SearchSysCache2(RULERELNAME, ObjectIdGetDatum(view),
										CStringGetDatum(ViewSelectRuleName));
	bool		isnull;
	Datum		action;
	List	   *actions;

	if (!HeapTupleIsValid(tuple))
		return NULL;
	action = SysCacheGetAttr(RULERELNAME, tuple, Anum_pg_rewrite_ev_action, &isnull);
	actions = (List *) stringToNode(TextDatumGetCString(action));
	ReleaseSysCache(tuple);
	return linitial_node(Query, actions);
}

/* Read lead, time and type columns off a tracking's column view; false if it is gone. */
static bool
load_tracking_columns(TrackingConfig *tc)
{
	Query	   *query = view_query(tc->columns_view);
	Var		   *lead,
			   *at,
			   *type;

	if (query == NULL)
		return false;
	lead = view_column(query, 0, tc->columns_view, tc->relid, "tracking", tc->id);
	at = view_column(query, 1, tc->columns_view, tc->relid, "tracking", tc->id);
	type = view_column(query, 2, tc->columns_view, tc->relid, "tracking", tc->id);
	if (lead == NULL || at == NULL || list_length(query->targetList) != 3)
		malformed_view(tc->columns_view, tc->relid, "tracking", tc->id);
	tc->lead_column = column_of_var(tc->columns_view, tc->relid, lead, "tracking", tc->id);
	tc->time_column = column_of_var(tc->columns_view, tc->relid, at, "tracking", tc->id);
	tc->lead_type = lead->vartype;
	if (type != NULL)
		tc->type_column = column_of_var(tc->columns_view, tc->relid, type, "tracking", tc->id);
	else
	{
		Const	   *c = castNode(Const, list_nth_node(TargetEntry, query->targetList, 2)->expr);

		if (c->constisnull || c->consttype != TEXTOID)
			malformed_view(tc->columns_view, tc->relid, "tracking", tc->id);
		tc->event_type = TextDatumGetCString(c->constvalue);
	}
	return true;
}

/* Tracked tables, with the relations whose changes must drop the cache. */
static void
load_trackings(void)
{
	spi_run("SELECT t.id, t.model, t.activity, t.columns FROM mql_score.tracked t "
				"WHERE t.columns IS NOT NULL ORDER BY t.id");
	cache->relids = palloc(sizeof(Oid) * (SPI_processed * 2 + 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		TrackingConfig *tc = palloc0(sizeof(TrackingConfig));
		LeadKind	kind;

		tc->id = DatumGetInt32(spi_required(t, d, 1, "tracked"));
		tc->model = find_model(spi_required_text(t, d, 2, "tracked"));
		tc->relid = DatumGetObjectId(spi_required(t, d, 3, "tracked"));
		tc->columns_view = DatumGetObjectId(spi_required(t, d, 4, "tracked"));
		if (tc->model == NULL || !SearchSysCacheExists1(RELOID, ObjectIdGetDatum(tc->relid)) ||
			!load_tracking_columns(tc))
			continue;
		kind = lead_kind_of_type(tc->lead_type);
		if (tc->model->lead_kind == LEAD_KIND_NONE)
			tc->model->lead_kind = kind;
		tc->model->trackings = lappend(tc->model->trackings, tc);
		cache->trackings = lappend(cache->trackings, tc);
		cache->relids[cache->nrelids++] = tc->relid;
		cache->relids[cache->nrelids++] = tc->columns_view;
	}
}

/* Build a fresh version from the configuration tables and make it current. */
static void
config_build(void)
{
	MemoryContext cxt = AllocSetContextCreate(CacheMemoryContext, "mql_score config",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	ConfigCache *previous = cache;
	ConfigCache *fresh = palloc0(sizeof(ConfigCache));

	fresh->cxt = cxt;
	fresh->generation = ++generations;
	load_objects(&fresh->objects);
	cache = fresh;
	cache_stale = false;

	/*
	 * Read the latest committed configuration, not the transaction's
	 * snapshot: a REPEATABLE READ transaction must not pin old rules into a
	 * cache its session keeps.  A parallel query (score_of in a BI query's
	 * parallel plan) may take no new snapshot: it reads with the query's,
	 * and the next acquire outside parallel mode builds afresh.
	 */
	fresh->in_parallel = IsInParallelMode();
	PushActiveSnapshot(fresh->in_parallel ? GetActiveSnapshot() : GetLatestSnapshot());
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		/* SPI allocates results in its own context: copy what we keep */
		MemoryContextSwitchTo(cxt);
		load_models();
		load_stages();
		load_rules();
		load_trackings();
		/* a database still on 0.2.0 has no fit tables: the library serves every version */
		if (OidIsValid(get_relname_relid("tracked_leads", fresh->objects.namespace)))
		{
			load_fit_rules();
			load_lead_tables();
		}
		SPI_finish();
	}
	PG_CATCH();
	{
		cache = previous;
		cache_stale = true;
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	PopActiveSnapshot();
	MemoryContextSwitchTo(old);
	if (previous != NULL && previous->refcount == 0)
		config_free(previous);
}

/* Free a version nobody holds any more (and its cached plans). */
static void
config_free(ConfigCache *version)
{
	ListCell   *lc;

	Assert(version->refcount == 0);
	foreach(lc, version->trackings)
	{
		TrackingConfig *tc = lfirst(lc);

		if (tc->rows_of_lead)
			SPI_freeplan(tc->rows_of_lead);
	}
	for (int i = 0; i < version->nmodels; i++)
		if (version->models[i]->fit && version->models[i]->fit->row_of_lead)
			SPI_freeplan(version->models[i]->fit->row_of_lead);
	MemoryContextDelete(version->cxt);
}

static void
hold_current(bool by_refresh)
{
	if (nheld >= MAX_HOLDS)
		elog(ERROR, "mql_score configuration held too deeply");
	cache->refcount++;
	held[nheld].version = cache;
	held[nheld].by_refresh = by_refresh;
	nheld++;
}

void
config_acquire(void)
{
	if (cache == NULL || cache_stale || (cache->in_parallel && !IsInParallelMode()))
		config_build();
	hold_current(false);
}

void
config_release(void)
{
	while (nheld > 0)
	{
		ConfigHold	hold = held[--nheld];

		if (--hold.version->refcount == 0 && hold.version != cache)
			config_free(hold.version);
		if (!hold.by_refresh)
			break;				/* the holder's own config_acquire() */
	}
}

ModelConfig *
config_refresh(ModelConfig *model)
{
	AcceptInvalidationMessages();
	if (cache_stale)
		config_build();
	if (model->generation == cache->generation)
		return model;

	/*
	 * The caller will use the current version: hold it, or the next rebuild
	 * (another invalidation, e.g. a sinval reset) would free it under them.
	 * One hold is enough; the caller's config_release() ends it.
	 */
	if (cache->refcount == 0)
		hold_current(true);
	return config_model(model->name, true);
}

const ExtensionObjects *
config_objects(void)
{
	Assert(cache != NULL);
	return &cache->objects;
}

ModelConfig *
config_model(const char *name, bool missing_ok)
{
	ModelConfig *m;

	Assert(cache != NULL);
	m = find_model(name);
	if (m == NULL && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errhint("Models are rows of mql_score.models.")));
	return m;
}

List *
config_models(void)
{
	List	   *models = NIL;

	Assert(cache != NULL);
	for (int i = 0; i < cache->nmodels; i++)
		models = lappend(models, cache->models[i]);
	return models;
}

TrackingConfig *
config_tracking(int id, bool missing_ok)
{
	ListCell   *lc;

	Assert(cache != NULL);
	foreach(lc, cache->trackings)
	{
		TrackingConfig *tc = lfirst(lc);

		if (tc->id == id)
			return tc;
	}
	if (!missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("mql_score tracking %d does not exist", id),
				 errhint("Trackings are the rows of mql_score.tracked.")));
	return NULL;
}

/* Bytewise order of event types, as binary search needs it. */
static int
compare_type(const char *a, int alen, const char *b, int blen)
{
	int			c = memcmp(a, b, Min(alen, blen));

	return c != 0 ? c : (alen > blen) - (alen < blen);
}

static int
compare_rule_type(const void *a, const void *b)
{
	const RuleConfig *ra = *(RuleConfig *const *) a;
	const RuleConfig *rb = *(RuleConfig *const *) b;
	int			c = compare_type(ra->event_type, ra->event_type_len,
								 rb->event_type, rb->event_type_len);

	return c != 0 ? c : (ra->id > rb->id) - (ra->id < rb->id);
}

/* Column of `rel` named like the tracking's column, checked. */
static AttrNumber
resolve_column(Relation rel, const char *name)
{
	AttrNumber	attnum = InvalidAttrNumber;

	for (int i = 0; i < RelationGetDescr(rel)->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			attnum = att->attnum;
	}
	if (attnum == InvalidAttrNumber)
		elog(ERROR, "column \"%s\" of tracked relation \"%s\" is missing",
			 name, RelationGetRelationName(rel));
	return attnum;
}

/* Primary key columns of `rel`, for identifying skipped rows. */
static List *
primary_key_attnums(Relation rel)
{
	Oid			pk = compat_primary_key_index(rel);
	List	   *attnums = NIL;

	if (OidIsValid(pk))
	{
		Relation	index = index_open(pk, AccessShareLock);

		for (int i = 0; i < index->rd_index->indnkeyatts; i++)
			attnums = lappend_int(attnums, index->rd_index->indkey.values[i]);
		index_close(index, AccessShareLock);
	}
	return attnums;
}

/* Compile the rules that apply to a tracking for one relation. */
static TableRules *
compile_table_rules(TrackingConfig *tc, Relation rel)
{
	ModelConfig *m = tc->model;
	TableRules *tr = palloc0(sizeof(TableRules));
	RuleConfig **applicable = palloc(sizeof(RuleConfig *) * Max(1, m->nrules));
	int			napplicable = 0;
	TupleDesc	desc = RelationGetDescr(rel);

	tr->tracking = tc;
	tr->relid = RelationGetRelid(rel);
	tr->lead_attnum = resolve_column(rel, tc->lead_column);
	tr->time_attnum = resolve_column(rel, tc->time_column);
	tr->lead_type = TupleDescAttr(desc, tr->lead_attnum - 1)->atttypid;
	tr->time_type = TupleDescAttr(desc, tr->time_attnum - 1)->atttypid;
	if (tc->type_column)
	{
		Oid			typoutput;
		bool		varlena;

		tr->type_attnum = resolve_column(rel, tc->type_column);
		tr->type_type = TupleDescAttr(desc, tr->type_attnum - 1)->atttypid;
		getTypeOutputInfo(tr->type_type, &typoutput, &varlena);
		fmgr_info_cxt(typoutput, &tr->type_out, CurrentMemoryContext);
	}
	tr->pk_attnums = primary_key_attnums(rel);

	for (int i = 0; i < m->nrules; i++)
	{
		RuleConfig *r = &m->rules[i];

		if (OidIsValid(r->source) && r->source != tc->relid)
			continue;
		if (tc->event_type && strcmp(tc->event_type, r->event_type) != 0)
			continue;
		applicable[napplicable++] = r;
	}
	qsort(applicable, napplicable, sizeof(RuleConfig *), compare_rule_type);

	tr->types = palloc0(sizeof(TypeRules) * Max(1, napplicable));
	for (int i = 0; i < napplicable; i++)
	{
		RuleConfig *r = applicable[i];
		TypeRules  *type;
		CompiledRule *cr;

		if (tr->ntypes == 0 ||
			compare_type(tr->types[tr->ntypes - 1].event_type, tr->types[tr->ntypes - 1].event_type_len,
						 r->event_type, r->event_type_len) != 0)
		{
			type = &tr->types[tr->ntypes++];
			type->event_type = r->event_type;
			type->event_type_len = r->event_type_len;
			type->rules = palloc0(sizeof(CompiledRule) * napplicable);
		}
		type = &tr->types[tr->ntypes - 1];
		cr = &type->rules[type->nrules++];
		cr->rule = r;
		if (r->condition)
		{
			char	   *what = psprintf("rule %lld", (long long) r->id);

			cr->qual = condition_compile(r->condition, what, rel, tc->relid, r->author);
			tr->has_conditions = true;
		}
	}
	if (tc->event_type)
		tr->constant_type = table_rules_for_type(tr, tc->event_type, strlen(tc->event_type));
	return tr;
}

TableRules *
config_table_rules(TrackingConfig *tc, Relation rel)
{
	ListCell   *lc;
	MemoryContext old;
	TableRules *tr;
	Oid			relid = RelationGetRelid(rel);

	foreach(lc, tc->compiled)
	{
		tr = lfirst(lc);
		if (tr->relid == relid)
			return tr;
	}
	/* only the tracked table and its partitions feed the tracking */
	check_fed_by(rel, tc->relid, "tracking", tc->id);
	old = MemoryContextSwitchTo(cache->cxt);
	tr = compile_table_rules(tc, rel);
	tc->compiled = lappend(tc->compiled, tr);
	/* a partition's ALTERs must drop the cache too */
	if (relid != tc->relid)
	{
		Oid		   *grown = repalloc(cache->relids, sizeof(Oid) * (cache->nrelids + 1));

		grown[cache->nrelids] = relid;
		cache->relids = grown;
		cache->nrelids++;
	}
	MemoryContextSwitchTo(old);
	return tr;
}

ModelConfig *
config_fit_tracking(int id)
{
	Assert(cache != NULL);
	for (int i = 0; i < cache->nmodels; i++)
		if (cache->models[i]->fit && cache->models[i]->fit->id == id)
			return cache->models[i];
	return NULL;
}

/* Refuse relations that are neither `root` nor one of its partitions. */
static void
check_fed_by(Relation rel, Oid root, const char *what, int id)
{
	Oid			relid = RelationGetRelid(rel);

	if (relid != root && !list_member_oid(get_partition_ancestors(relid), root))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("relation \"%s\" is not tracked by mql_score %s %d",
						RelationGetRelationName(rel), what, id),
				 errhint("Only mql_score.track() and mql_score.track_leads() attach mql_score's triggers.")));
}

FitTable *
config_fit_table(ModelConfig *model, Relation rel)
{
	FitConfig  *fit = model->fit;
	Oid			relid = RelationGetRelid(rel);
	ListCell   *lc;
	FitTable   *ft;
	MemoryContext old;

	foreach(lc, fit->compiled)
	{
		ft = lfirst(lc);
		if (ft->relid == relid)
			return ft;
	}
	check_fed_by(rel, fit->relid, "lead table", fit->id);
	old = MemoryContextSwitchTo(cache->cxt);
	ft = palloc0(sizeof(FitTable));
	ft->relid = relid;
	ft->id_attnum = resolve_column(rel, fit->id_column);
	ft->id_type = TupleDescAttr(RelationGetDescr(rel), ft->id_attnum - 1)->atttypid;
	ft->quals = palloc0(sizeof(ExprState *) * Max(1, model->nfit_rules));
	for (int i = 0; i < model->nfit_rules; i++)
	{
		char	   *what = psprintf("fit rule %lld", (long long) model->fit_rules[i].id);

		ft->quals[i] = condition_compile(model->fit_rules[i].condition, what, rel,
										 fit->relid, model->fit_rules[i].author);
	}
	fit->compiled = lappend(fit->compiled, ft);
	if (relid != fit->relid)
	{
		cache->relids = repalloc(cache->relids, sizeof(Oid) * (cache->nrelids + 1));
		cache->relids[cache->nrelids++] = relid;
	}
	MemoryContextSwitchTo(old);
	return ft;
}

TypeRules *
table_rules_for_type(TableRules *tr, const char *type, int len)
{
	int			lo = 0,
				hi = tr->ntypes - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = compare_type(tr->types[mid].event_type, tr->types[mid].event_type_len, type, len);

		if (c == 0)
			return &tr->types[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

void
config_invalidate_all(void)
{
	Oid			namespace = get_namespace_oid(EXTENSION_NAME, false);

	CacheInvalidateRelcacheByRelid(extension_relid(namespace, "tracked"));
}
