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
 *
 * Whose code is this, and whose rights does it run with?  A condition is
 * its author's code (rules.written_by, fit_rules.written_by), so it is
 * compiled — constant folding runs functions — and evaluated with the
 * author's rights, inside a security-restricted operation with search_path
 * pinned, as PostgreSQL runs index expressions as the table's owner.  The
 * author must be able to read the columns it looks at and execute the
 * functions it calls.  A function replaced later still runs as the author:
 * nobody gains rights by writing a condition or a function it calls.
 */
#include "postgres.h"

#include "access/sysattr.h"
#include "catalog/pg_authid.h"
#include "condition.h"
#include "executor/executor.h"
#include "miscadmin.h"
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
#include "utils/acl.h"
#include "utils/rel.h"
#include "utils/syscache.h"

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

/* Refuse a condition that reads columns of `acl_relid` its author may not read. */
static void
condition_check_columns(Node *expr, Relation rel, Oid acl_relid, Oid author)
{
	Bitmapset  *attnos = NULL;
	int			k = -1;
	char	   *table;

	if (pg_class_aclcheck(acl_relid, author, ACL_SELECT) == ACLCHECK_OK)
		return;
	table = quote_qualified_identifier(get_namespace_name(get_rel_namespace(acl_relid)),
									   get_rel_name(acl_relid));
	pull_varattnos(expr, 1, &attnos);
	while ((k = bms_next_member(attnos, k)) >= 0)
	{
		AttrNumber	attnum = k + FirstLowInvalidHeapAttributeNumber;
		/* the tracked table's own number for the column (rel may be a partition) */
		char	   *name = attnum > 0 ? get_attname(RelationGetRelid(rel), attnum, false) : NULL;
		AttrNumber	acl_attnum = name ? get_attnum(acl_relid, name) : InvalidAttrNumber;

		if (acl_attnum > 0 &&
			pg_attribute_aclcheck(acl_relid, acl_attnum, author, ACL_SELECT) == ACLCHECK_OK)
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for %s of table %s",
						name ? psprintf("column %s", quote_identifier(name)) : "the whole row",
						get_rel_name(acl_relid)),
				 errdetail("A condition reads the row with the rights of the role that wrote it, %s.",
						   GetUserNameFromId(author, false)),
				 errhint("GRANT SELECT%s ON %s TO %s;",
						 name ? psprintf(" (%s)", quote_identifier(name)) : "",
						 table,
						 quote_identifier(GetUserNameFromId(author, false)))));
	}
}

/* Compile `condition` against `rel` as `author`; errors name `what` and the relation. */
ExprState *
condition_compile(const char *condition, const char *what, Relation rel,
				  Oid acl_relid, Oid author)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	/* parse state and analysis garbage stay out of the caller's (cache) context */
	MemoryContext work_cxt = AllocSetContextCreate(caller_cxt, "mql_score condition",
												   ALLOCSET_DEFAULT_SIZES);
	int			guc_level = condition_pin_search_path();
	Oid			saved_user;
	int			saved_sec_context;
	ExprState  *result = NULL;

	GetUserIdAndSecContext(&saved_user, &saved_sec_context);
	PG_TRY();
	{
		Expr	   *expr;

		if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(author)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("the role that wrote it no longer exists"),
					 errdetail("written_by holds OID %u.", author),
					 errhint("A role that may edit the configuration takes it over by writing it: "
							 "an UPDATE of the row, of any column.")));
		SetUserIdAndSecContext(author, saved_sec_context | SECURITY_LOCAL_USERID_CHANGE |
							   SECURITY_RESTRICTED_OPERATION);
		MemoryContextSwitchTo(work_cxt);
		expr = condition_analyze(condition_parse(condition), condition, rel);
		condition_check_columns((Node *) expr, rel, acl_relid, author);
		MemoryContextSwitchTo(caller_cxt);
		/* ExecInitExpr checks EXECUTE on every function, as the author */
		result = ExecInitExpr(copyObject(expr), NULL);
		SetUserIdAndSecContext(saved_user, saved_sec_context);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		SetUserIdAndSecContext(saved_user, saved_sec_context);
		MemoryContextSwitchTo(caller_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		MemoryContextDelete(work_cxt);
		condition_unpin_search_path(guc_level);
		edata->message = psprintf("%s: %s", what, edata->message);
		edata->cursorpos = 0;
		edata->internalpos = 0;
		if (edata->hint == NULL && edata->sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE &&
			GetUserNameFromId(author, true) != NULL)
			edata->hint = psprintf("The condition runs with the rights of role %s, which wrote it: "
								   "grant it what the condition needs, or have a role that has it write the rule.",
								   quote_identifier(GetUserNameFromId(author, true)));
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
	condition_unpin_search_path(guc_level);
	return result;
}

/* Evaluate as the author; the caller's identity is back before any error propagates. */
bool
condition_holds(ExprState *qual, Oid author, ExprContext *econtext)
{
	Oid			saved_user;
	int			saved_sec_context;
	volatile Datum result = (Datum) 0;
	volatile bool isnull = true;

	GetUserIdAndSecContext(&saved_user, &saved_sec_context);
	SetUserIdAndSecContext(author, saved_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		bool		null;

		result = ExecEvalExprSwitchContext(qual, econtext, &null);
		isnull = null;
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(saved_user, saved_sec_context);
	}
	PG_END_TRY();
	return !isnull && DatumGetBool(result);
}

int
condition_pin_search_path(void)
{
	int			guc_level = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return guc_level;
}

void
condition_unpin_search_path(int guc_level)
{
	AtEOXact_GUC(true, guc_level);
}
