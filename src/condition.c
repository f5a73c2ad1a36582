/*
 * condition.c — compile rule conditions the way PostgreSQL compiles CHECK
 * constraints: parse once, analyze against the relation so Vars carry
 * attribute numbers, plan, and let the executor evaluate the tree per row
 * without SPI.
 *
 * Conditions are analyzed with search_path = pg_catalog, pg_temp, so what
 * they call cannot be redirected by a session's search_path: functions and
 * types of other schemas must be schema-qualified.  Only immutable
 * functions are allowed, because rescoring re-evaluates conditions later
 * and must reach the same answer.
 */
#include "postgres.h"

#include "condition.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

/* The single expression of a parsed condition, or a syntax error. */
static Node *
condition_parse(const char *condition)
{
	List	   *raw = raw_parser(condition, RAW_PARSE_PLPGSQL_EXPR);
	SelectStmt *select;
	ResTarget  *target;

	if (list_length(raw) == 1 && IsA(linitial(raw), RawStmt) &&
		IsA(((RawStmt *) linitial(raw))->stmt, SelectStmt))
	{
		select = (SelectStmt *) ((RawStmt *) linitial(raw))->stmt;
		if (list_length(select->targetList) == 1 &&
			select->distinctClause == NIL && select->fromClause == NIL &&
			select->whereClause == NULL && select->groupClause == NIL &&
			select->havingClause == NULL && select->windowClause == NIL &&
			select->sortClause == NIL && select->limitCount == NULL &&
			select->limitOffset == NULL && select->lockingClause == NIL &&
			select->withClause == NULL && select->intoClause == NULL)
		{
			target = linitial_node(ResTarget, select->targetList);
			if (target->name == NULL)
				return target->val;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 errmsg("condition is not a single SQL expression")));
	return NULL;				/* keep compiler quiet */
}

/* Analyze, type-check and plan a parsed condition against `rel`. */
static Expr *
condition_analyze(Node *raw, const char *condition, Relation rel)
{
	ParseState *pstate = make_parsestate(NULL);
	ParseNamespaceItem *nsitem;
	Node	   *expr;

	pstate->p_sourcetext = condition;
	nsitem = addRangeTableEntryForRelation(pstate, rel, AccessShareLock,
										   NULL, false, false);
	addNSItemToQuery(pstate, nsitem, true, true, true);

	expr = transformExpr(pstate, raw, EXPR_KIND_WHERE);
	if (exprType(expr) != BOOLOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("condition must be a boolean expression, not type %s",
						format_type_be(exprType(expr)))));
	if (pstate->p_hasSubLinks)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("condition cannot contain a subquery"),
				 errhint("A condition sees only the columns of the activity row.")));
	assign_expr_collations(pstate, expr);
	if (contain_mutable_functions(expr))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("condition must use only immutable functions"),
				 errhint("Rescoring re-evaluates conditions and must reach the same answer; "
						 "for example use (created_at AT TIME ZONE 'UTC')::date instead of created_at::date.")));
	free_parsestate(pstate);
	return expression_planner((Expr *) expr);
}

/* Compile `condition` against `rel`; errors name `what` and the relation. */
Expr *
condition_compile(const char *condition, const char *what, Relation rel)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	/* parse state and analysis garbage stay out of the caller's (cache) context */
	MemoryContext work_cxt = AllocSetContextCreate(caller_cxt, "mql_score condition",
												   ALLOCSET_DEFAULT_SIZES);
	int			guc_level = NewGUCNestLevel();
	Expr	   *result = NULL;

	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	PG_TRY();
	{
		MemoryContextSwitchTo(work_cxt);
		result = condition_analyze(condition_parse(condition), condition, rel);
		MemoryContextSwitchTo(caller_cxt);
		result = copyObject(result);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(caller_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		MemoryContextDelete(work_cxt);
		AtEOXact_GUC(false, guc_level);
		edata->message = psprintf("%s: %s", what, edata->message);
		edata->cursorpos = 0;
		edata->internalpos = 0;
		if (edata->hint == NULL)
			edata->hint = psprintf("Conditions are SQL boolean expressions over the columns of %s, "
								   "e.g. duration_s >= 30 or props->>'path' LIKE '/pricing%%'.",
								   RelationGetRelationName(rel));
		edata->context = psprintf("condition: %s\nchecked against table %s.%s",
								  condition,
								  get_namespace_name(RelationGetNamespace(rel)),
								  RelationGetRelationName(rel));
		ReThrowError(edata);
	}
	PG_END_TRY();
	MemoryContextDelete(work_cxt);
	AtEOXact_GUC(true, guc_level);
	return result;
}
