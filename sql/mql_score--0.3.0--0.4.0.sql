-- mql_score 0.3.0 → 0.4.0 — security and robustness: conditions run with
-- the rights of the role that wrote them; delegation to marketing
-- operations by GRANTs alone.
\echo Use "ALTER EXTENSION mql_score UPDATE TO '0.4.0'" to load this file. \quit
