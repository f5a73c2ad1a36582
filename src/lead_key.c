/*
 * lead_key.c — conversions between lead column values and lead keys.
 */
#include "postgres.h"

#include <ctype.h>

#include "catalog/pg_type.h"
#include "lead_key.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

/* The kind of a lead column type, LEAD_KIND_NONE if unsupported. */
LeadKind
lead_kind_of_type(Oid typid)
{
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			return LEAD_KIND_INTEGER;
		case UUIDOID:
			return LEAD_KIND_UUID;
		case TEXTOID:
		case VARCHAROID:
			return LEAD_KIND_TEXT;
		default:
			return LEAD_KIND_NONE;
	}
}

/* A printable name for a kind. */
const char *
lead_kind_name(LeadKind kind)
{
	switch (kind)
	{
		case LEAD_KIND_INTEGER:
			return "integer (smallint, integer, bigint)";
		case LEAD_KIND_UUID:
			return "uuid";
		case LEAD_KIND_TEXT:
			return "text (text, varchar)";
		default:
			return "none";
	}
}

/* The canonical lower-case text of a uuid, as uuid_out writes it. */
static void
uuid_key(const pg_uuid_t *uuid, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	char	   *p = buf;

	for (int i = 0; i < UUID_LEN; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[uuid->data[i] >> 4];
		*p++ = hex[uuid->data[i] & 0x0F];
	}
	*p = '\0';
}

/* The key of a (non-NULL) lead datum; text keys point into the datum. */
void
lead_key_from_datum(Datum value, Oid typid, LeadKey *key)
{
	switch (typid)
	{
		case INT2OID:
			key->len = pg_ltoa(DatumGetInt16(value), key->buf);
			key->data = key->buf;
			break;
		case INT4OID:
			key->len = pg_ltoa(DatumGetInt32(value), key->buf);
			key->data = key->buf;
			break;
		case INT8OID:
			key->len = pg_lltoa(DatumGetInt64(value), key->buf);
			key->data = key->buf;
			break;
		case UUIDOID:
			uuid_key(DatumGetUUIDP(value), key->buf);
			key->len = 36;
			key->data = key->buf;
			break;
		default:
			{
				text	   *t = DatumGetTextPP(value);

				key->data = VARDATA_ANY(t);
				key->len = VARSIZE_ANY_EXHDR(t);
				break;
			}
	}
}

char *
lead_key_argument(FunctionCallInfo fcinfo, int argno)
{
	Oid			type = get_fn_expr_argtype(fcinfo->flinfo, argno);
	LeadKey		key;

	if (type == UNKNOWNOID)
		return text_to_cstring((text *) PG_GETARG_DATUM(argno));
	if (lead_kind_of_type(type) == LEAD_KIND_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("a lead cannot be of type %s", format_type_be(type)),
				 errhint("Pass the lead's id as smallint, integer, bigint, uuid or text.")));
	lead_key_from_datum(PG_GETARG_DATUM(argno), type, &key);
	return pnstrdup(key.data, key.len);
}

/* The datum of type `typid` whose key is `key`; false if there is none. */
bool
lead_key_to_datum(const char *key, Oid typid, Datum *value)
{
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			{
				char	   *end;
				long long	v;

				errno = 0;
				if (*key == '\0' || isspace((unsigned char) *key))
					return false;
				v = strtoll(key, &end, 10);
				if (errno != 0 || *end != '\0')
					return false;
				if (typid == INT2OID && (v < PG_INT16_MIN || v > PG_INT16_MAX))
					return false;
				if (typid == INT4OID && (v < PG_INT32_MIN || v > PG_INT32_MAX))
					return false;
				*value = typid == INT2OID ? Int16GetDatum((int16) v) :
					typid == INT4OID ? Int32GetDatum((int32) v) : Int64GetDatum((int64) v);
				return true;
			}
		case UUIDOID:
			{
				pg_uuid_t  *uuid = palloc(sizeof(pg_uuid_t));
				int			hexdigits = 0;

				for (const char *p = key; *p; p++)
				{
					int			nibble;

					if (*p == '-')
						continue;
					if (!isxdigit((unsigned char) *p) || hexdigits >= 2 * UUID_LEN)
						return false;
					nibble = isdigit((unsigned char) *p) ? *p - '0' : tolower((unsigned char) *p) - 'a' + 10;
					if (hexdigits % 2 == 0)
						uuid->data[hexdigits / 2] = nibble << 4;
					else
						uuid->data[hexdigits / 2] |= nibble;
					hexdigits++;
				}
				if (hexdigits != 2 * UUID_LEN)
					return false;
				*value = UUIDPGetDatum(uuid);
				return true;
			}
		default:
			*value = CStringGetTextDatum(key);
			return true;
	}
}
