# run_maintenance() scheduled with the real pg_cron: a rule edit is rescored
# and a decayed stage is refreshed without anyone calling anything.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('cron');
$node->init;
# pg_cron runs each job over libpq; point it at the node's socket directory
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.host = '@{[ $node->host ]}'
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_cron;
	CREATE EXTENSION mql_score;
	INSERT INTO mql_score.models (name, half_life, demote) VALUES ('m', '1 day', true);
	INSERT INTO mql_score.stages (model, name, position, min_score) VALUES ('m', 'warm', 1, 10), ('m', 'hot', 2, 50);
	INSERT INTO mql_score.rules (id, model, event_type, points) VALUES (1, 'm', 'visit', 80);
	CREATE TABLE events (contact bigint, at timestamptz, kind text);
	CREATE INDEX ON events (contact);
	SELECT mql_score.track('events', 'contact', 'at', 'kind', model => 'm');
	INSERT INTO events VALUES (1, now(), 'visit'), (2, now(), 'visit');
	CALL mql_score.rescore();
});
is($node->safe_psql('postgres', "SELECT string_agg(stage, ',' ORDER BY lead) FROM mql_score.lead_state WHERE model = 'm'"),
	'hot,hot', 'both leads start hot');

# a rule edit, to be rescored by the job
$node->safe_psql('postgres', q{UPDATE mql_score.rules SET points = 100 WHERE id = 1});
$node->safe_psql('postgres', "SELECT cron.schedule('mql_score maintenance', '* * * * *', 'CALL mql_score.run_maintenance()')");

# pg_cron fires at the start of each minute: allow two
ok($node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM cron.job_run_details WHERE status = 'succeeded' AND command LIKE '%run_maintenance%'",
	't'), 'the scheduled job ran and succeeded');

is($node->safe_psql('postgres', "SELECT engagement FROM mql_score.lead_state WHERE model = 'm' AND lead = '1'"),
	'100', 'the edited rule was applied to existing events (rescore)');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM mql_score.model_status WHERE config_changed_at > rescored_at"),
	'0', 'nothing left to rescore');
is($node->safe_psql('postgres', "SELECT count(*) FROM cron.job_run_details WHERE status <> 'succeeded'"),
	'0', 'no failed runs');

# once decay alone makes a move due, the next run makes it (cause decay)
$node->safe_psql('postgres', q{
	UPDATE mql_score.lead_state SET last_event_at = last_event_at - interval '3 days', due_at = now() - interval '1 second'
	WHERE model = 'm' AND lead = '1';
});
ok($node->poll_query_until('postgres',
	"SELECT stage = 'warm' FROM mql_score.lead_state WHERE model = 'm' AND lead = '1'", 't'),
	'a due lead is refreshed by the scheduled job');
is($node->safe_psql('postgres', "SELECT cause FROM mql_score.stage_history WHERE lead = '1' ORDER BY id DESC LIMIT 1"),
	'decay', 'with cause decay');

$node->stop;
done_testing();
