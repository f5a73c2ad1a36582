# NOTIFY mql_score on stage moves: the JSON payload, delivery at commit
# only, the per-statement limit with its summary, and models that opt out.
use strict;
use warnings;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('notify');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION mql_score;
	INSERT INTO mql_score.models (name, half_life) VALUES ('m', NULL), ('quiet', NULL);
	UPDATE mql_score.models SET notify = false WHERE name = 'quiet';
	INSERT INTO mql_score.stages (model, name, position, min_score) VALUES
		('m', 'lead', 1, 10), ('m', 'mql', 2, 100), ('quiet', 'lead', 1, 10);
	INSERT INTO mql_score.rules (model, event_type, points) VALUES
		('m', 'visit', 10), ('m', 'webinar', 100), ('quiet', 'visit', 10);
	CREATE TABLE events (contact bigint, at timestamptz, kind text);
	CREATE INDEX ON events (contact);
	SELECT mql_score.track('events', 'contact', 'at', 'kind', model => 'm');
});

# Run SQL in one session that LISTENs, return the payloads it received.
sub notifications
{
	my ($sql) = @_;
	my ($out, $err) = ('', '');
	$node->psql('postgres', "LISTEN mql_score; $sql", stdout => \$out, stderr => \$err);
	die "psql failed: $err" if $err =~ /ERROR/;
	my @payloads = $out =~ /Asynchronous notification "mql_score" with payload "(.*)" received/g;
	return map { decode_json($_) } @payloads;
}

my @n = notifications("INSERT INTO events VALUES (1, '2026-01-01', 'visit');");
is(scalar @n, 1, 'one move, one notification');
is($n[0]{model}, 'm', 'payload names the model');
is($n[0]{lead}, '1', 'payload names the lead');
ok(!defined $n[0]{from}, 'from is null for a first stage');
is($n[0]{to}, 'lead', 'payload names the new stage');
is($n[0]{score}, 10, 'payload carries the score');
is($n[0]{cause}, 'event', 'payload carries the cause');
like($n[0]{at}, qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/, 'payload carries the time of the move');

@n = notifications("INSERT INTO events VALUES (1, '2026-01-02', 'webinar');");
is_deeply([ map { [ $_->{from}, $_->{to} ] } @n ], [ [ 'lead', 'mql' ] ], 'a second move names both stages');

@n = notifications("INSERT INTO events VALUES (1, '2026-01-03', 'visit');");
is(scalar @n, 0, 'no move, no notification');

@n = notifications("BEGIN; INSERT INTO events VALUES (2, '2026-01-01', 'webinar'); ROLLBACK;");
is(scalar @n, 0, 'a rolled-back move sends nothing');

# 250 leads move in one statement: 100 notifications, then one summary
@n = notifications("INSERT INTO events SELECT g, '2026-01-01', 'visit' FROM generate_series(1000, 1249) g;");
my @single = grep { !exists $_->{summary} } @n;
my @summary = grep { exists $_->{summary} } @n;
is(scalar @single, 100, 'individual notifications stop at mql_score.notify_limit');
is(scalar @summary, 1, 'then one summary');
is($summary[0]{moves}, 250, 'the summary counts every move');
is($summary[0]{see}, 'mql_score.stage_history', 'the summary points to the history');
is($node->safe_psql('postgres', "SELECT count(*) FROM mql_score.stage_history WHERE lead::int BETWEEN 1000 AND 1249"),
	'250', 'every move is in stage_history');

@n = notifications("SET mql_score.notify_limit = 3; INSERT INTO events SELECT g, '2026-01-01', 'visit' FROM generate_series(2000, 2009) g;");
is(scalar(grep { !exists $_->{summary} } @n), 3, 'the limit is a setting');

# a model with notify = false moves silently
$node->safe_psql('postgres', "SELECT mql_score.track('events', 'contact', 'at', 'kind', model => 'quiet')");
@n = notifications("INSERT INTO events VALUES (3000, '2026-01-01', 'visit');");
is(scalar(grep { $_->{model} eq 'quiet' } @n), 0, 'notify = false sends nothing');
is(scalar(grep { $_->{model} eq 'm' } @n), 1, 'while the other model still notifies');

$node->stop;
done_testing();
