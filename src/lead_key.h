/*
 * lead_key.h — a lead's identity as text.
 *
 * A model identifies a lead by its value across all the tables it tracks,
 * whose lead columns may be smallint, integer or bigint (compared as
 * integers), uuid, or text/varchar.  The canonical key is the value's text
 * form (decimal digits, lower-case uuid, the text itself), which is also
 * what `lead::text` gives, so SQL can join on it.
 */
#ifndef MQL_LEAD_KEY_H
#define MQL_LEAD_KEY_H

#include "postgres.h"

#include "config.h"
#include "fmgr.h"

/* Longest text lead scored (an index key must stay well below a page). */
#define LEAD_KEY_MAX 1000

/* Room for the longest integer (20 digits and a sign) or uuid (36) key. */
#define LEAD_KEY_BUFLEN 40

typedef struct LeadKey
{
	const char *data;			/* not NUL-terminated for text keys */
	int			len;
	char		buf[LEAD_KEY_BUFLEN];
} LeadKey;

/* The kind of a lead column type, LEAD_KIND_NONE if unsupported. */
extern LeadKind lead_kind_of_type(Oid typid);

/* A printable name for a kind, for error messages. */
extern const char *lead_kind_name(LeadKind kind);

/* The key of a (non-NULL) lead datum of type `typid`. */
extern void lead_key_from_datum(Datum value, Oid typid, LeadKey *key);

/* The key of a SQL function's `anyelement` lead argument (42804 for other types). */
extern char *lead_key_argument(FunctionCallInfo fcinfo, int argno);

/* The datum of type `typid` for a key; false if no value of that type has it. */
extern bool lead_key_to_datum(const char *key, Oid typid, Datum *value);

#endif							/* MQL_LEAD_KEY_H */
