# Concurrency soak: pgbench with 8 clients writes events for 100
# overlapping leads (single-row and multi-row inserts, COPY-sized batches,
# updates, deletes) while another session edits rules and runs rescore()
# and refresh_stages().  No deadlock, no error, and afterwards every lead
# equals a recomputation.  SOAK_SECONDS makes it longer (bench/soak.sh).
# The workload's multi-row UPDATEs and DELETEs lock their events rows in id
# order: without that, an UPDATE taking a lead's rows in index order and a
# DELETE taking them latest first can deadlock on the events table alone,
# before any trigger runs, which is not what this test is about (a deadlock
# was seen once on PostgreSQL 18, its log lost; this is the one cycle the
# workload itself could form).
use strict;
use warnings;
use lib 'test/t';
use lib_catalog;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $seconds = $ENV{SOAK_SECONDS} || 30;
my $node = PostgreSQL::Test::Cluster->new('soak');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 40\nlog_lock_waits = on\ndeadlock_timeout = 100ms\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION mql_score;
	INSERT INTO mql_score.models (name, half_life, demote) VALUES ('m', '3 days', true);
	INSERT INTO mql_score.stages (model, name, position, min_score) VALUES ('m', 'cold', 1, 0), ('m', 'warm', 2, 20), ('m', 'hot', 3, 60);
	INSERT INTO mql_score.rules (id, model, event_type, points, max_per_day, once) VALUES
		(1, 'm', 'visit', 1, 4, false), (2, 'm', 'download', 8, NULL, false), (3, 'm', 'webinar', 25, NULL, true),
		(4, 'm', 'unsubscribe', -20, NULL, false), (5, 'm', 'visit', 2, 1, false);
	CREATE TABLE events (id bigserial PRIMARY KEY, contact bigint, at timestamptz, kind text);
	CREATE INDEX ON events (contact);
	SELECT mql_score.track('events', 'contact', 'at', 'kind', model => 'm');
});

my $script = PostgreSQL::Test::Utils::tempdir() . '/soak.sql';
PostgreSQL::Test::Utils::append_to_file($script, q{
\set c random(1, 100)
\set k random(1, 5)
\set h random(0, 2000)
\set op random(1, 10)
\if :op <= 4
INSERT INTO events (contact, at, kind) VALUES (:c, now() - :h * interval '1 hour',
	(ARRAY['visit', 'visit', 'download', 'webinar', 'unsubscribe'])[:k]);
\elif :op <= 6
INSERT INTO events (contact, at, kind)
SELECT 1 + (:c + g * 37) % 100, now() - ((:h + g * 13) % 2000) * interval '1 hour',
       (ARRAY['visit', 'visit', 'download', 'webinar', 'unsubscribe'])[1 + (:k + g) % 5]
FROM generate_series(1, 20) g;
\elif :op <= 7
UPDATE events SET at = at - interval '1 hour' WHERE id IN (SELECT id FROM events WHERE contact = :c ORDER BY id LIMIT 3 FOR UPDATE);
\elif :op <= 8
UPDATE events SET contact = 1 + (:c + 1) % 100 WHERE id = (SELECT id FROM events WHERE contact = :c LIMIT 1);
\else
DELETE FROM events WHERE id IN (SELECT id FROM (SELECT id, at FROM events WHERE contact = :c ORDER BY id FOR UPDATE) r ORDER BY at DESC LIMIT 2);
\endif
});

my ($out, $err) = ('', '');
my $pgbench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '8', '-j', '2', '-T', $seconds, '-f', $script, '-h', $node->host, '-p', $node->port, 'postgres' ],
	'>', \$out, '2>', \$err);

# meanwhile: edit rules, rescore, refresh stages — until pgbench is done,
# ending with a rescore after the last edit
my ($edits, $rescores) = (0, 0);
my $until = time + $seconds - 5;
while (time < $until)
{
	$edits++;
	$node->safe_psql('postgres', "UPDATE mql_score.rules SET points = 1 + $edits % 3, max_per_day = 2 + $edits % 4 WHERE id = 1");
	$node->safe_psql('postgres', "CALL mql_score.rescore('m', batch_size => 25)");
	$node->safe_psql('postgres', "CALL mql_score.refresh_stages()");
	$rescores++;
}
$pgbench->finish;

my ($done) = $out =~ /number of transactions actually processed: (\d+)/;
like($out, qr/number of failed transactions: 0 /, "pgbench: $done transactions, none failed") or diag($out . $err);
my $log = slurp_file($node->logfile);
my $deadlocks = () = $log =~ /deadlock detected/g;
is($deadlocks, 0, 'no deadlock');
my @errors = grep { !/canceling statement due to user request/ } ($log =~ /^.*ERROR:.*$/mg);
is(scalar @errors, 0, 'no error in the server log') or diag(join "\n", @errors[0 .. ($#errors < 9 ? $#errors : 9)]);
ok($edits > 0 && $rescores > 0, "$edits rule edits and $rescores rescores ran meanwhile");
my $events = $node->safe_psql('postgres', 'SELECT count(*) FROM events');
my $leads = $node->safe_psql('postgres', "SELECT count(*) FROM mql_score.lead_state WHERE model = 'm'");
is(reference_mismatches($node, 'postgres', 'm', 'events'), '0', "all $leads leads equal recomputation over $events events");
is($node->safe_psql('postgres', "SELECT count(*) FROM mql_score.rescore_runs WHERE status <> 'finished'"), '0',
	'every rescore finished');

$node->stop;
done_testing();
