# Crash safety: a backend killed (-9) during a 1M-row COPY, and the server
# stopped in immediate mode during rescore(): after restart every lead
# equals a recomputation, no lock is left, and the interrupted run resumes.
use strict;
use warnings;
use lib 'test/t';
use lib_catalog;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf('postgresql.conf', "restart_after_crash = on\nmax_wal_size = 2GB\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION mql_score;
	INSERT INTO mql_score.models (name, half_life) VALUES ('m', '7 days');
	INSERT INTO mql_score.stages (model, name, position, min_score) VALUES ('m', 'lead', 1, 5), ('m', 'mql', 2, 50);
	INSERT INTO mql_score.rules (model, event_type, points, max_per_day, once) VALUES
		('m', 'visit', 1, 5, false), ('m', 'download', 10, NULL, false), ('m', 'webinar', 25, NULL, true);
	CREATE TABLE events (contact bigint, at timestamptz, kind text);
	CREATE INDEX ON events (contact);
	INSERT INTO events SELECT 1 + g % 5000, '2026-01-01'::timestamptz + (g * 7919 % 8000) * interval '1 hour',
		(ARRAY['visit', 'visit', 'visit', 'download', 'webinar'])[1 + g % 5] FROM generate_series(1, 50000) g;
	SELECT mql_score.track('events', 'contact', 'at', 'kind', model => 'm');
});
is(reference_mismatches($node, 'postgres', 'm', 'events'), '0', 'state equals recomputation before the crashes');

# 1M rows to COPY, in a file the server reads
my $file = PostgreSQL::Test::Utils::tempdir() . '/events.csv';
$node->safe_psql('postgres', qq{
	COPY (SELECT 1 + g % 100000, '2026-01-01'::timestamptz + (g::bigint * 104729 % 8000) * interval '1 hour',
	             (ARRAY['visit', 'visit', 'visit', 'download', 'webinar'])[1 + g % 5]
	      FROM generate_series(1, 1000000) g) TO '$file' (FORMAT csv)});

my ($out, $err) = ('', '');
my $copy = IPC::Run::start(
	[ 'psql', '-X', '-d', $node->connstr('postgres') . ' application_name=crash_copy', '-c',
	  "COPY events FROM '$file' (FORMAT csv)" ],
	'>', \$out, '2>', \$err);
# kill it once the COPY is under way (its rows are in, the trigger is working or about to)
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'crash_copy' AND query LIKE 'COPY%'", 't');
sleep 2;
my $pid = $node->safe_psql('postgres', "SELECT pid FROM pg_stat_activity WHERE application_name = 'crash_copy'");
ok($pid =~ /^\d+$/, "the COPY runs in backend $pid");
kill 'KILL', $pid;
$copy->finish;
$node->poll_query_until('postgres', 'SELECT 1', '1');
is($node->safe_psql('postgres', 'SELECT count(*) FROM events'), '50000', 'after the crash none of the COPY remains');
is(reference_mismatches($node, 'postgres', 'm', 'events'), '0', 'and the state still equals recomputation');

# stop the server in immediate mode in the middle of a rescore
$node->safe_psql('postgres', 'UPDATE mql_score.rules SET points = points * 2');
my $rescore = IPC::Run::start(
	[ 'psql', '-X', '-h', $node->host, '-p', $node->port, '-d', 'postgres', '-c',
	  "CALL mql_score.rescore('m', batch_size => 50)" ], '>', \$out, '2>', \$err);
$node->poll_query_until('postgres', "SELECT leads >= 1000 FROM mql_score.rescore_runs WHERE status = 'running'", 't');
$node->stop('immediate');
$rescore->finish;
$node->start;
my $left = $node->safe_psql('postgres', "SELECT count(*) FROM mql_score.rescore_queue");
ok($left > 0, "the interrupted run left $left leads queued");
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), '0', 'no lock survives the crash');
my ($ret, $stdout, $stderr) = $node->psql('postgres', "CALL mql_score.rescore('m')");
like($stderr, qr/resuming interrupted run/, 'the next rescore resumes the interrupted run');
is($node->safe_psql('postgres', "SELECT string_agg(status, ',' ORDER BY id) FROM mql_score.rescore_runs"),
	'interrupted,finished', 'the run log shows the interrupted run and the one that finished it');
is($node->safe_psql('postgres', "SELECT count(*) FROM mql_score.rescore_queue"), '0', 'nothing left queued');
is(reference_mismatches($node, 'postgres', 'm', 'events'), '0', 'every lead equals recomputation under the new rules');

$node->stop;
done_testing();
