/*
 * config.h — the per-backend cache of mql_score's configuration: models,
 * their stages and rules, and the tracked tables with their compiled rule
 * conditions.
 *
 * The cache is built lazily from the configuration tables and dropped when
 * any of them changes (a statement trigger invalidates the relcache entry
 * of mql_score.tracked; see config.c), so edits reach every session at
 * commit, transactionally.  Users hold it with config_acquire() /
 * config_release(): an invalidation that arrives meanwhile only marks it
 * stale, and the next acquire rebuilds it.
 */
#ifndef MQL_CONFIG_H
#define MQL_CONFIG_H

#include "postgres.h"

#include "executor/executor.h"
#include "executor/spi.h"
#include "nodes/execnodes.h"
#include "utils/relcache.h"

/* How a model identifies leads across its tables. */
typedef enum LeadKind
{
	LEAD_KIND_NONE = 0,			/* no table tracked yet */
	LEAD_KIND_INTEGER,			/* smallint, integer, bigint */
	LEAD_KIND_UUID,
	LEAD_KIND_TEXT				/* text, varchar */
} LeadKind;

typedef struct StageConfig
{
	char	   *name;
	int			position;
	bool		automatic;		/* has a min_score */
	double		min_score;
} StageConfig;

typedef struct RuleConfig
{
	int64		id;
	int			index;			/* position in ModelConfig.rules */
	char	   *event_type;
	int			event_type_len;
	Oid			source;			/* InvalidOid: every tracked table */
	double		points;
	char	   *condition;		/* NULL: always */
	int			cap;			/* events counted per UTC day (once: 1 ever); 0 = no cap */
	bool		once;
	int			promote_idx;	/* stage index, -1 if none */
	Oid			author;			/* written_by: the condition runs with its rights */
} RuleConfig;

typedef struct TrackingConfig TrackingConfig;

typedef struct FitRuleConfig
{
	int64		id;
	double		points;
	char	   *condition;
	Oid			author;			/* written_by: the condition runs with its rights */
} FitRuleConfig;

/* A model's lead table, with its fit rules compiled per relation. */
typedef struct FitTable
{
	Oid			relid;
	AttrNumber	id_attnum;
	Oid			id_type;
	ExprState **quals;			/* one per fit rule */
} FitTable;

typedef struct FitConfig
{
	int			id;				/* tracked_leads.id */
	Oid			relid;			/* the lead table */
	Oid			columns_view;	/* mql_score.leads_<id> */
	char	   *id_column;
	Oid			id_type;
	List	   *compiled;		/* FitTable *, one per relation seen */
	SPIPlanPtr	row_of_lead;	/* SELECT t FROM leads t WHERE id = $1 */
} FitConfig;

typedef struct ModelConfig
{
	char	   *name;
	int64		half_life;		/* microseconds; 0 = no decay */
	bool		demote;
	bool		notify;
	bool		skip_errors;	/* on_error = 'skip' */
	int			nstages;
	StageConfig *stages;		/* sorted by position */
	int			nrules;
	RuleConfig *rules;			/* enabled rules, by id */
	List	   *trackings;		/* TrackingConfig * */
	LeadKind	lead_kind;
	int			nfit_rules;
	FitRuleConfig *fit_rules;	/* by id */
	FitConfig  *fit;			/* NULL: no lead table */
	uint64		generation;		/* of the cache version it belongs to */
} ModelConfig;

/* The rules of one event type, compiled for one relation. */
typedef struct CompiledRule
{
	RuleConfig *rule;
	ExprState  *qual;			/* NULL when the rule has no condition */
} CompiledRule;

typedef struct TypeRules
{
	const char *event_type;
	int			event_type_len;
	int			nrules;
	CompiledRule *rules;
} TypeRules;

/* A tracking compiled for one relation: the table itself or a partition. */
typedef struct TableRules
{
	TrackingConfig *tracking;
	Oid			relid;
	AttrNumber	lead_attnum;
	AttrNumber	time_attnum;
	AttrNumber	type_attnum;	/* 0: constant event type */
	Oid			lead_type;
	Oid			time_type;
	Oid			type_type;
	FmgrInfo	type_out;		/* for enum (non-text) type columns */
	int			ntypes;
	TypeRules  *types;			/* sorted by event type (bytewise) */
	TypeRules  *constant_type;	/* when the tracking has a constant event type */
	List	   *pk_attnums;		/* primary key columns, for skipped.row_identity */
	bool		has_conditions; /* some rule has a condition */
} TableRules;

struct TrackingConfig
{
	int			id;
	ModelConfig *model;
	Oid			relid;			/* the tracked table (a partitioned parent, maybe) */
	Oid			columns_view;	/* mql_score.tracking_<id> */
	char	   *lead_column;
	char	   *time_column;
	char	   *type_column;	/* NULL: constant event type */
	char	   *event_type;		/* the constant event type */
	Oid			lead_type;
	List	   *compiled;		/* TableRules *, one per relation seen */
	SPIPlanPtr	rows_of_lead;	/* SELECT t FROM table t WHERE lead = $1 */
};

/* Extension objects, looked up once per cache build. */
typedef struct ExtensionObjects
{
	Oid			extension;
	Oid			namespace;
	Oid			owner;
	Oid			lead_state;
	Oid			stage_history;
	Oid			skipped;
	Oid			tracked;
	Oid			stage_history_ids;	/* identity sequences of their id columns */
	Oid			skipped_ids;
	bool		has_authors;	/* rules.written_by exists (0.4.0 on) */
} ExtensionObjects;

/* Take and drop a hold on the current cache version (rebuilt if stale). */
extern void config_acquire(void);
extern void config_release(void);

/*
 * After waiting on a lock, the configuration may have changed: process
 * invalidations and, if the cache went stale, build a current version
 * (the held one stays valid for its holders, and the current one is held
 * too, until the caller's config_release()).  Returns `model` as the
 * current version knows it, NULL if it no longer exists.
 */
extern ModelConfig *config_refresh(ModelConfig *model);

extern const ExtensionObjects *config_objects(void);
extern ModelConfig *config_model(const char *name, bool missing_ok);
extern List *config_models(void);	/* every model, by name */
extern TrackingConfig *config_tracking(int id, bool missing_ok);

/* The rules of a tracking compiled for `rel` (the table or a partition). */
extern TableRules *config_table_rules(TrackingConfig *tracking, Relation rel);

/* The model whose lead table is tracked as `id`; NULL if none. */
extern ModelConfig *config_fit_tracking(int id);

/* The fit rules of a model compiled for `rel` (its lead table or a partition). */
extern FitTable *config_fit_table(ModelConfig *model, Relation rel);

/* Rules of `tr` for an event type given as bytes; NULL if none. */
extern TypeRules *table_rules_for_type(TableRules *tr, const char *type, int len);

/* Mark every backend's cache stale at commit. */
extern void config_invalidate_all(void);

/* Install the invalidation callbacks (from _PG_init). */
extern void config_init(void);

/* Run as the extension owner: config and state are not the caller's. */
typedef struct OwnerContext
{
	Oid			saved_user;
	int			saved_sec_context;
} OwnerContext;

extern void become_owner(OwnerContext *ctx);
extern void restore_user(const OwnerContext *ctx);

#endif							/* MQL_CONFIG_H */
