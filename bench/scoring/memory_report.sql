-- bench/scoring/memory_report.sql — this backend's "mql_score config"
-- memory context and its descendants (pg_backend_memory_contexts lists
-- contexts depth first, so a context's descendants follow it until the
-- level drops back).
WITH c AS (
	SELECT row_number() OVER () AS n, name, ident, level, total_bytes, used_bytes
	FROM pg_backend_memory_contexts
), root AS (
	SELECT n, level FROM c WHERE name = 'mql_score config'
), subtree AS (
	SELECT c.* FROM c, root
	WHERE c.n >= root.n
	  AND c.n < coalesce((SELECT min(x.n) FROM c x WHERE x.n > root.n AND x.level <= root.level), 1e18)
)
SELECT (SELECT count(*) FROM mql_score.rules) AS rules,
       count(*) AS contexts,
       sum(total_bytes) AS total_bytes,
       pg_size_pretty(sum(total_bytes)) AS total,
       pg_size_pretty(sum(used_bytes)) AS used,
       pg_size_pretty((SELECT sum(total_bytes) FROM pg_backend_memory_contexts)) AS whole_backend
FROM subtree;
