# Upgrades: install the oldest version, update step by step with data in
# place, and end with the same catalog as a fresh install — and scoring
# that carries on.
use strict;
use warnings;
use lib 'test/t';
use lib_catalog;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;

my @versions = split /\n/, $node->safe_psql('postgres',
	"SELECT version FROM pg_available_extension_versions WHERE name = 'mql_score' ORDER BY string_to_array(version, '.')::int[]");
my $default = $node->safe_psql('postgres', "SELECT default_version FROM pg_available_extensions WHERE name = 'mql_score'");
ok(@versions >= 3, 'versions available: ' . join(', ', @versions));
is($versions[-1], $default, 'the newest version is the default');

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('postgres', 'CREATE DATABASE upgraded');
$node->safe_psql('fresh', 'CREATE EXTENSION mql_score');

# the oldest version, with data that uses it
$node->safe_psql('upgraded', qq{
	CREATE EXTENSION mql_score VERSION '$versions[0]';
	CREATE TABLE rollup (week date, d mql_score.decayed);
	INSERT INTO rollup SELECT date '2026-01-05' + 7 * g, mql_score.decayed(g, '2026-01-05'::date + 7 * g, '30 days')
	FROM generate_series(1, 10) g;
});
my $rollup = $node->safe_psql('upgraded', "SELECT mql_score.value_at(mql_score.decayed_union(d), '2026-06-01') FROM rollup");

for my $v (@versions[ 1 .. $#versions ])
{
	$node->safe_psql('upgraded', "ALTER EXTENSION mql_score UPDATE TO '$v'");
	is($node->safe_psql('upgraded', "SELECT extversion FROM pg_extension WHERE extname = 'mql_score'"), $v, "updated to $v");
	if ($v eq '0.2.0')
	{
		# a tracked table and scores made under 0.2.0 must survive the next step
		$node->safe_psql('upgraded', q{
			SELECT mql_score.install_example_model();
			CREATE TABLE events (contact bigint, at timestamptz, kind text);
			CREATE INDEX ON events (contact);
			INSERT INTO events VALUES (1, now() - interval '1 day', 'webinar'), (1, now(), 'page_view');
			SELECT mql_score.track('events', 'contact', 'at', 'kind');
		});
	}
}

is($node->safe_psql('upgraded', "SELECT mql_score.value_at(mql_score.decayed_union(d), '2026-06-01') FROM rollup"),
	$rollup, 'decayed values stored under the oldest version read the same');
is(extension_catalog($node, 'upgraded'), extension_catalog($node, 'fresh'),
	'the updated catalog equals a fresh install (objects, definitions, comments, privileges, dumped tables)');

# scoring carries on across the update
$node->safe_psql('upgraded', "INSERT INTO events VALUES (1, now(), 'demo_request')");
is($node->safe_psql('upgraded', "SELECT mql_score.stage_of(1::bigint)"),
	'sql', 'an event after the update still promotes');
is(reference_mismatches($node, 'upgraded', 'default', 'events'), '0', 'state equals recomputation after the update');
$node->safe_psql('upgraded', "CALL mql_score.rescore()");
is(reference_mismatches($node, 'upgraded', 'default', 'events'), '0', 'and after a rescore (a feature of the newest version)');

$node->stop;
done_testing();
