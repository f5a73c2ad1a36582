/*
 * mql_score.c — module entry point.
 *
 * Each concern lives in its own file: decay_curves.c (the four curves),
 * decayed.c (the mergeable type), decayed_agg.c (its aggregates).
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;
