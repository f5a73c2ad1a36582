# Shared by the TAP tests: a textual fingerprint of everything the
# extension owns, and a check that every lead equals a recomputation.
package lib_catalog;
use strict;
use warnings;
use Exporter 'import';
our @EXPORT = qw(extension_catalog reference_mismatches);

# Every member object of mql_score with its definition, comment and
# privileges, one per line, sorted.
sub extension_catalog
{
	my ($node, $db) = @_;
	return $node->safe_psql($db, q{
		WITH members AS (
			SELECT d.classid, d.objid, pg_describe_object(d.classid, d.objid, 0) AS object
			FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'mql_score'
			WHERE d.deptype = 'e')
		SELECT object || ' | ' || COALESCE(definition, '') || ' | ' || COALESCE(comment, '') || ' | ' || COALESCE(acl, '')
		FROM members m
		LEFT JOIN LATERAL (
			SELECT CASE m.classid
				WHEN 'pg_proc'::regclass THEN (SELECT pg_get_functiondef(m.objid) || p.proacl::text FROM pg_proc p WHERE p.oid = m.objid AND p.prokind <> 'a')
				WHEN 'pg_class'::regclass THEN (
					SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
					                  || COALESCE(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '') || COALESCE(' -- ' || col_description(a.attrelid, a.attnum), ''), ', ' ORDER BY a.attnum)
					FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
					WHERE a.attrelid = m.objid AND a.attnum > 0 AND NOT a.attisdropped)
					|| COALESCE((SELECT string_agg(pg_get_constraintdef(c.oid), '; ' ORDER BY conname) FROM pg_constraint c WHERE c.conrelid = m.objid), '')
					|| COALESCE((SELECT string_agg(pg_get_indexdef(i.indexrelid), '; ' ORDER BY i.indexrelid::regclass::text) FROM pg_index i WHERE i.indrelid = m.objid), '')
					|| COALESCE((SELECT string_agg(pg_get_triggerdef(t.oid), '; ' ORDER BY tgname) FROM pg_trigger t WHERE t.tgrelid = m.objid AND NOT t.tgisinternal), '')
					|| COALESCE((SELECT pg_get_viewdef(m.objid) WHERE (SELECT relkind FROM pg_class WHERE oid = m.objid) = 'v'), '')
				WHEN 'pg_type'::regclass THEN (SELECT t.typlen || ' ' || t.typalign::text || ' ' || t.typinput::text || ' ' || t.typoutput::text FROM pg_type t WHERE t.oid = m.objid)
				WHEN 'pg_operator'::regclass THEN (SELECT o.oprcode::text || ' ' || o.oprcom::regoperator::text FROM pg_operator o WHERE o.oid = m.objid)
				WHEN 'pg_event_trigger'::regclass THEN (SELECT e.evtevent || ' ' || e.evtfoid::regproc::text || ' ' || COALESCE(e.evttags::text, '') FROM pg_event_trigger e WHERE e.oid = m.objid)
				ELSE NULL END AS definition,
			obj_description(m.objid, (SELECT relname FROM pg_class WHERE oid = m.classid)) AS comment,
			CASE WHEN m.classid = 'pg_class'::regclass THEN (SELECT relacl::text FROM pg_class WHERE oid = m.objid)
			     WHEN m.classid = 'pg_namespace'::regclass THEN (SELECT nspacl::text FROM pg_namespace WHERE oid = m.objid) END AS acl) x ON true
		UNION ALL
		SELECT 'config dump: ' || c::regclass::text FROM pg_extension e, unnest(e.extconfig) c WHERE e.extname = 'mql_score'
		ORDER BY 1});
}

# Leads of `model` whose state differs from a plain-SQL recomputation over
# `table` (columns contact, at, kind; caps and decay of the model's rules).
sub reference_mismatches
{
	my ($node, $db, $model, $table) = @_;
	return $node->safe_psql($db, qq{
		WITH m AS (SELECT extract(epoch FROM half_life)::float8 AS h FROM mql_score.models WHERE name = '$model'),
		scored AS (
			SELECT contact::text AS lead, at, kind FROM $table
			WHERE contact IS NOT NULL AND at IS NOT NULL AND kind IS NOT NULL AND isfinite(at)),
		last AS (SELECT lead, max(at) AS last_at, count(*) AS events FROM scored GROUP BY lead),
		matched AS (
			SELECT s.lead, s.at, r.points, r.max_per_day, r.once,
			       row_number() OVER (PARTITION BY s.lead, r.id,
			                          CASE WHEN r.once THEN NULL ELSE (s.at AT TIME ZONE 'UTC')::date END
			                          ORDER BY s.at) AS n
			FROM scored s JOIN mql_score.rules r ON r.model = '$model' AND r.enabled AND r.event_type = s.kind),
		counted AS (
			SELECT x.lead, sum(x.points * CASE WHEN m.h IS NULL THEN 1
			                  WHEN extract(epoch FROM l.last_at - x.at)::float8 / m.h > 1000 THEN 0
			                  ELSE power(0.5, extract(epoch FROM l.last_at - x.at)::float8 / m.h) END) AS engagement
			FROM matched x JOIN last l USING (lead), m
			WHERE (NOT x.once OR x.n = 1) AND (x.max_per_day IS NULL OR x.n <= x.max_per_day)
			GROUP BY x.lead),
		ref AS (SELECT l.lead, l.events, COALESCE(c.engagement, 0) AS engagement FROM last l LEFT JOIN counted c USING (lead))
		SELECT count(*) FROM ref r FULL JOIN (SELECT * FROM mql_score.lead_state WHERE model = '$model' AND events > 0) s ON s.lead = r.lead
		WHERE s.lead IS NULL OR r.lead IS NULL OR s.events <> r.events
		   OR abs(s.engagement - r.engagement) > 1e-9 * greatest(1, abs(s.engagement), abs(r.engagement))});
}

1;
