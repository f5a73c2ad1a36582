/*
 * compat.h — every PostgreSQL version difference mql_score meets, in one file.
 *
 * Supported and tested: PostgreSQL 15, 17 and 18 (test/check.sh).  16 compiles
 * through the same guards but no suite runs on it.  No other file tests
 * PG_VERSION_NUM: a call whose signature changed between majors goes through
 * a compat_* helper below, named after the call it wraps.
 *
 *   16: varlena macros (VARSIZE_ANY, VARDATA_ANY, …) moved to varatt.h;
 *       ExecInitRangeTable takes RTEPermissionInfos; EvalPlanQualInit takes
 *       the result relations; ExecInsertIndexTuples takes onlySummarizing.
 *   17: getIdentitySequence takes a Relation instead of an Oid.
 *   18: ExecInitRangeTable takes the unpruned relations; index_beginscan takes
 *       instrumentation; RelationGetPrimaryKeyIndex says whether a DEFERRABLE
 *       primary key will do.
 */
#ifndef MQL_COMPAT_H
#define MQL_COMPAT_H

#include "postgres.h"

#include "access/genam.h"
#include "catalog/dependency.h"
#include "executor/executor.h"
#include "nodes/bitmapset.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#if PG_VERSION_NUM >= 160000
#include "parser/parse_relation.h"
#include "varatt.h"
#endif

/*
 * Set up `estate`'s range table for executor calls made without a plan
 * (ExecSimpleRelationInsert and friends).  From 16 each relation RTE needs an
 * RTEPermissionInfo (ExecGetUpdatedCols looks it up); none is checked, as in 15.
 */
static inline void
compat_init_range_table(EState *estate, List *rtes)
{
#if PG_VERSION_NUM >= 160000
	List	   *perminfos = NIL;
	ListCell   *lc;

	foreach(lc, rtes)
		addRTEPermissionInfo(&perminfos, lfirst_node(RangeTblEntry, lc));
#if PG_VERSION_NUM >= 180000
	ExecInitRangeTable(estate, rtes, perminfos, bms_add_range(NULL, 1, list_length(rtes)));
#else
	ExecInitRangeTable(estate, rtes, perminfos);
#endif
#else
	ExecInitRangeTable(estate, rtes);
#endif
}

/* An EPQState with no plan, for ExecSimpleRelationUpdate/Delete. */
static inline void
compat_epq_init(EPQState *epqstate, EState *estate)
{
#if PG_VERSION_NUM >= 160000
	EvalPlanQualInit(epqstate, estate, NULL, NIL, -1, NIL);
#else
	EvalPlanQualInit(epqstate, estate, NULL, NIL, -1);
#endif
}

/* Insert the index entries of a freshly inserted (not updated) tuple. */
static inline List *
compat_insert_index_tuples(ResultRelInfo *rri, TupleTableSlot *slot, EState *estate)
{
#if PG_VERSION_NUM >= 160000
	return ExecInsertIndexTuples(rri, slot, estate, false, false, NULL, NIL, false);
#else
	return ExecInsertIndexTuples(rri, slot, estate, false, false, NULL, NIL);
#endif
}

/* The primary key index of `rel`; InvalidOid without one or when it is DEFERRABLE (15's rule). */
static inline Oid
compat_primary_key_index(Relation rel)
{
#if PG_VERSION_NUM >= 180000
	return RelationGetPrimaryKeyIndex(rel, false);
#else
	return RelationGetPrimaryKeyIndex(rel);
#endif
}

/* index_beginscan without instrumentation. */
static inline IndexScanDesc
compat_index_beginscan(Relation heap, Relation index, Snapshot snapshot, int nkeys, int norderbys)
{
#if PG_VERSION_NUM >= 180000
	return index_beginscan(heap, index, snapshot, NULL, nkeys, norderbys);
#else
	return index_beginscan(heap, index, snapshot, nkeys, norderbys);
#endif
}

/*
 * The identity sequence of column `attnum` of relation `relid`.  From 17 the
 * call wants the relation (for partitions); the relcache entry will do, no lock
 * is taken, as 15's call took none.
 */
static inline Oid
compat_identity_sequence(Oid relid, AttrNumber attnum)
{
#if PG_VERSION_NUM >= 170000
	Relation	rel = RelationIdGetRelation(relid);
	Oid			seq;

	if (!RelationIsValid(rel))
		elog(ERROR, "could not open relation with OID %u", relid);
	seq = getIdentitySequence(rel, attnum, false);
	RelationClose(rel);
	return seq;
#else
	return getIdentitySequence(relid, attnum, false);
#endif
}

#endif							/* MQL_COMPAT_H */
