/*
 * condition.h — rule and fit conditions: SQL boolean expressions over the
 * columns of a row, compiled like CHECK constraints.
 */
#ifndef MQL_CONDITION_H
#define MQL_CONDITION_H

#include "postgres.h"

#include "nodes/primnodes.h"
#include "utils/relcache.h"

/*
 * Parse and analyze `condition` against `rel` (its Vars are varno 1) and
 * return it planned, ready for ExecInitExpr.  Errors (unknown column 42703,
 * not boolean 42804, mutable function 42P17, subquery 0A000, syntax 42601)
 * name the rule `what` and the relation.
 */
extern Expr *condition_compile(const char *condition, const char *what, Relation rel);

#endif							/* MQL_CONDITION_H */
