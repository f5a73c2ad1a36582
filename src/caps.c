/*
 * caps.c — the on-disk form of cap bookkeeping (lead_state.caps) and
 * lookups in it.  The format is a version byte followed by big-endian
 * entries of 24 bytes: rule id, day, count, latest counted time.
 */
#include "postgres.h"

#include "caps.h"
#include "compat.h"
#include "libpq/pqformat.h"

#define CAPS_FORMAT_VERSION 1
#define CAPS_ENTRY_BYTES 24

void
caps_decode(const bytea *data, CapSet *set)
{
	StringInfoData buf;
	int			nbytes;

	set->n = 0;
	set->size = 0;
	set->entries = NULL;
	if (data == NULL)
		return;
	nbytes = VARSIZE_ANY_EXHDR(data);
	if (nbytes == 0)
		return;
	if ((nbytes - 1) % CAPS_ENTRY_BYTES != 0 || ((const char *) VARDATA_ANY(data))[0] != CAPS_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("corrupt cap bookkeeping in mql_score.lead_state"),
				 errhint("Run CALL mql_score.rescore() to rebuild it.")));
	buf.data = (char *) VARDATA_ANY(data);
	buf.len = nbytes;
	buf.maxlen = nbytes;
	buf.cursor = 1;
	set->size = set->n = (nbytes - 1) / CAPS_ENTRY_BYTES;
	set->entries = palloc(sizeof(CapEntry) * set->size);
	for (int i = 0; i < set->n; i++)
	{
		set->entries[i].rule_id = pq_getmsgint64(&buf);
		set->entries[i].day = pq_getmsgint(&buf, 4);
		set->entries[i].count = pq_getmsgint(&buf, 4);
		set->entries[i].max_counted = pq_getmsgint64(&buf);
	}
}

bytea *
caps_encode(const CapSet *set)
{
	StringInfoData buf;
	int			live = 0;

	for (int i = 0; i < set->n; i++)
		live += set->entries[i].count > 0;
	if (live == 0)
		return NULL;
	pq_begintypsend(&buf);
	pq_sendbyte(&buf, CAPS_FORMAT_VERSION);
	for (int i = 0; i < set->n; i++)
	{
		if (set->entries[i].count <= 0)
			continue;
		pq_sendint64(&buf, set->entries[i].rule_id);
		pq_sendint32(&buf, set->entries[i].day);
		pq_sendint32(&buf, set->entries[i].count);
		pq_sendint64(&buf, set->entries[i].max_counted);
	}
	return pq_endtypsend(&buf);
}

static int
caps_compare(int64 rule_a, int32 day_a, int64 rule_b, int32 day_b)
{
	if (rule_a != rule_b)
		return rule_a < rule_b ? -1 : 1;
	return (day_a > day_b) - (day_a < day_b);
}

CapEntry *
caps_lookup(CapSet *set, int64 rule_id, int32 day, bool create)
{
	int			lo = 0,
				hi = set->n;

	/* first entry not below (rule_id, day) */
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (caps_compare(set->entries[mid].rule_id, set->entries[mid].day, rule_id, day) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < set->n && set->entries[lo].rule_id == rule_id && set->entries[lo].day == day)
		return &set->entries[lo];
	if (!create)
		return NULL;
	if (set->n == set->size)
	{
		set->size = Max(8, set->size * 2);
		set->entries = set->entries ? repalloc(set->entries, sizeof(CapEntry) * set->size)
			: palloc(sizeof(CapEntry) * set->size);
	}
	memmove(&set->entries[lo + 1], &set->entries[lo], sizeof(CapEntry) * (set->n - lo));
	set->n++;
	set->entries[lo].rule_id = rule_id;
	set->entries[lo].day = day;
	set->entries[lo].count = 0;
	set->entries[lo].max_counted = DT_NOBEGIN;
	return &set->entries[lo];
}
