/*
 * jobs.h — recomputing sets of leads: what track(), untrack(), TRUNCATE
 * and the maintenance jobs share.
 */
#ifndef MQL_JOBS_H
#define MQL_JOBS_H

#include "postgres.h"

#include "config.h"
#include "utils/array.h"

/* Distinct lead keys present in a relation's lead column. */
extern List *leads_of_relation(Oid relid, const char *lead_column);

/* A text[] of a List of char * (lead keys). */
extern ArrayType *text_array_of_list(List *strings);

/* Recompute the given leads of a model (a List of char *); returns how many. */
extern int64 recompute_leads(ModelConfig *model, List *leads, const char *cause);

#endif							/* MQL_JOBS_H */
