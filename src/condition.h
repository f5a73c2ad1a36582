/*
 * condition.h — rule and fit conditions: SQL boolean expressions over the
 * columns of a row, compiled like CHECK constraints.
 */
#ifndef MQL_CONDITION_H
#define MQL_CONDITION_H

#include "postgres.h"

#include "nodes/execnodes.h"
#include "nodes/primnodes.h"
#include "utils/relcache.h"

/*
 * Parse, analyze and plan `condition` against `rel` (its Vars are varno 1)
 * with the rights of role `author`, and return it ready to evaluate.
 * Errors (unknown column 42703, not boolean 42804, mutable function 42P17,
 * subquery 0A000, syntax 42601, no SELECT on a column of `acl_relid` or no
 * EXECUTE on a function 42501, unknown author 42704) name the rule `what`
 * and the relation.  `acl_relid` is the tracked table, which `rel` may be
 * a partition of: privileges are the ones granted on it.
 */
extern ExprState *condition_compile(const char *condition, const char *what, Relation rel,
									Oid acl_relid, Oid author);

/*
 * Whether a compiled condition holds for the row in econtext's scan
 * tuple, evaluated as `author` in a security-restricted operation (NULL
 * is false).
 */
extern bool condition_holds(ExprState *qual, Oid author, ExprContext *econtext);

/*
 * Pin search_path to pg_catalog, pg_temp while conditions are evaluated,
 * so the session's search_path cannot redirect what the functions they
 * call look up; returns the GUC nest level to pass to the unpin.
 */
extern int	condition_pin_search_path(void);
extern void condition_unpin_search_path(int guc_level);

#endif							/* MQL_CONDITION_H */
