# Events inserted and deleted by pgbench while rescore() and
# refresh_stages() run are neither lost nor counted twice: afterwards every
# lead equals a recomputation from its rows.  Each pgbench transaction
# touches one lead, or several in one statement: the jobs skip leads that
# applications hold, so nothing can deadlock.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('rescore');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 40\n");
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION mql_score;
	INSERT INTO mql_score.models (name, half_life) VALUES ('m', NULL);
	INSERT INTO mql_score.stages (model, name, position, min_score) VALUES ('m', 'lead', 1, 10), ('m', 'mql', 2, 100);
	INSERT INTO mql_score.rules (model, event_type, points, max_per_day, once) VALUES
		('m', 'visit', 1, 3, false), ('m', 'download', 7, NULL, false), ('m', 'webinar', 20, NULL, true),
		('m', 'unsubscribe', -15, NULL, false);
	CREATE TABLE events (id bigserial PRIMARY KEY, contact bigint, at timestamptz, kind text);
	CREATE INDEX ON events (contact);
	INSERT INTO events (contact, at, kind)
	SELECT 1 + (g * 7) % 100, '2026-01-01'::timestamptz + (g * 7919 % 5000) * interval '1 hour',
	       (ARRAY['visit', 'visit', 'visit', 'download', 'webinar', 'unsubscribe'])[1 + g % 6]
	FROM generate_series(1, 20000) g;
	SELECT mql_score.track('events', 'contact', 'at', 'kind', model => 'm');
	CREATE VIEW reference AS
	WITH matched AS (
		SELECT e.contact::text AS lead, e.at, r.id, r.points, r.max_per_day, r.once,
		       row_number() OVER (PARTITION BY e.contact, r.id,
		                          CASE WHEN r.once THEN NULL ELSE (e.at AT TIME ZONE 'UTC')::date END
		                          ORDER BY e.at) AS n
		FROM events e JOIN mql_score.rules r ON r.model = 'm' AND r.enabled AND r.event_type = e.kind
		WHERE e.contact IS NOT NULL)
	SELECT c.lead,
	       COALESCE((SELECT sum(points) FROM matched m WHERE m.lead = c.lead AND (NOT once OR n = 1)
	                 AND (max_per_day IS NULL OR n <= max_per_day)), 0) AS engagement,
	       (SELECT count(*) FROM events e WHERE e.contact::text = c.lead) AS events
	FROM (SELECT DISTINCT contact::text AS lead FROM events WHERE contact IS NOT NULL) c;
});

my $script = PostgreSQL::Test::Utils::tempdir() . '/events.sql';
PostgreSQL::Test::Utils::append_to_file($script, q{
\set c random(1, 100)
\set k random(1, 6)
\set h random(0, 5000)
BEGIN;
INSERT INTO events (contact, at, kind) VALUES (:c, '2026-01-01'::timestamptz + :h * interval '1 hour',
	(ARRAY['visit', 'visit', 'visit', 'download', 'webinar', 'unsubscribe'])[:k]);
DELETE FROM events WHERE id = (SELECT id FROM events WHERE contact = :c ORDER BY random() LIMIT 1);
COMMIT;
INSERT INTO events (contact, at, kind) VALUES (:c, '2026-01-01'::timestamptz + :h * interval '1 hour', 'visit'),
	(:c % 100 + 1, '2026-01-01'::timestamptz + (:h + 1) * interval '1 hour', 'webinar');
});

my ($out, $err) = ('', '');
my $pgbench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '6', '-j', '2', '-T', '20', '-f', $script, '-h', $node->host, '-p', $node->port, 'postgres' ],
	'>', \$out, '2>', \$err);

# rescore in small batches, and refresh stages, while pgbench runs
my $runs = 0;
for (1 .. 3)
{
	$node->safe_psql('postgres', "CALL mql_score.rescore('m', batch_size => 7)");
	$node->safe_psql('postgres', "CALL mql_score.refresh_stages()");
	$runs++;
}
$pgbench->finish;
like($out, qr/number of failed transactions: 0/, 'pgbench: no failed transactions (no deadlock, no error)')
	or diag($out . $err);
my ($committed) = $out =~ /number of transactions actually processed: (\d+)/;
ok($committed > 100, "pgbench committed $committed transactions while $runs rescores ran");

is($node->safe_psql('postgres', q{
	SELECT count(*) FROM reference r FULL JOIN mql_score.lead_state s ON s.model = 'm' AND s.lead = r.lead
	WHERE s.lead IS NULL OR r.lead IS NULL OR abs(s.engagement - r.engagement) > 1e-9 OR s.events <> r.events}),
	'0', 'every lead equals its recomputation');
is($node->safe_psql('postgres', "SELECT count(*) FROM mql_score.rescore_runs WHERE status = 'finished'"),
	$runs, 'every rescore run finished and is logged');
is($node->safe_psql('postgres', "SELECT count(*) FROM mql_score.rescore_queue"), '0', 'the queue is empty');

# a lead an application holds is skipped and retried on a second lap over
# the queue; two rescores never overlap: hold the first queued lead in
# another session so the first rescore ends up waiting on it, then start a
# second one
my ($in, $hold_out) = ('', '');
my $holder = IPC::Run::start(
	[ 'psql', '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres' ],
	'<', \$in, '>', \$hold_out, '2>', \$hold_out);
$in .= "BEGIN; SELECT lead FROM mql_score.lead_state WHERE model = 'm' AND lead = '1' FOR UPDATE;\n";
$holder->pump until $hold_out =~ /\b1\b/;
my $first = IPC::Run::start(
	[ 'psql', '-X', '-h', $node->host, '-p', $node->port, '-d', 'postgres', '-c',
	  "CALL mql_score.rescore('m', batch_size => 10)" ], '>', \my $o1, '2>', \my $e1);
ok($node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted", 't'),
	'the first rescore waits for the lead an application holds');
is($node->safe_psql('postgres', "SELECT string_agg(lead, ',') FROM mql_score.rescore_queue WHERE model = 'm'"),
	'1', 'it waits only once every other lead is done: the held lead was skipped, then retried');
my ($ret, $stdout, $stderr) = $node->psql('postgres', "CALL mql_score.rescore('m')");
like($stderr, qr/another rescore is running/, 'a concurrent rescore is refused with a notice');
$in .= "COMMIT;\n";
$holder->finish;
$first->finish;
is($node->safe_psql('postgres', "SELECT count(*) FROM mql_score.rescore_runs WHERE status = 'running'"),
	'0', 'and the first one finishes once the lead is released');

$node->stop;
done_testing();
