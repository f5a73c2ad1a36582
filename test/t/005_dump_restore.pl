# pg_dump -Fc / pg_restore into a fresh database: configuration, state,
# history and triggers come back intact (the default model not doubled),
# and scoring continues exactly as in the original.
use strict;
use warnings;
use lib 'test/t';
use lib_catalog;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
	CREATE EXTENSION mql_score;
	-- a customized default model and a second model with fit
	UPDATE mql_score.models SET half_life = '14 days', demote = true, description = 'ours' WHERE name = 'default';
	SELECT mql_score.install_example_model('b2b');
	INSERT INTO mql_score.stages (model, name, position, min_score) VALUES ('default', 'warm', 1, 5), ('default', 'hot', 2, 40);
	CREATE SCHEMA crm;
	CREATE TABLE crm.contacts (id bigint PRIMARY KEY, title text, employees int);
	CREATE TABLE crm.web (id bigserial PRIMARY KEY, contact bigint, at timestamptz, kind text, path text);
	CREATE INDEX ON crm.web (contact);
	CREATE TABLE crm.forms (contact bigint, at timestamptz NOT NULL, form text) PARTITION BY RANGE (at);
	CREATE TABLE crm.forms_2026 PARTITION OF crm.forms FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
	CREATE INDEX ON crm.forms (contact);
	INSERT INTO mql_score.rules (model, source, event_type, points, condition, max_per_day) VALUES
		('default', 'crm.web', 'page_view', 2, 'path LIKE ''/pricing%''', 3),
		('default', NULL, 'form_fill', 30, NULL, NULL),
		('b2b', 'crm.web', 'page_view', 5, 'path LIKE ''/docs%''', NULL);
	INSERT INTO mql_score.fit_rules (model, condition, points) VALUES ('b2b', 'employees >= 100', 20), ('b2b', 'title ~ ''VP''', 15);
	INSERT INTO crm.contacts SELECT g, CASE WHEN g % 3 = 0 THEN 'VP Sales' ELSE 'Analyst' END, g * 10 FROM generate_series(1, 50) g;
	INSERT INTO crm.web (contact, at, kind, path)
	SELECT 1 + g % 50, now() - (g % 30) * interval '1 day', (ARRAY['page_view', 'page_view', 'webinar', 'demo_request'])[1 + g % 4],
	       (ARRAY['/pricing', '/docs/a', '/blog'])[1 + g % 3]
	FROM generate_series(1, 2000) g;
	INSERT INTO crm.forms SELECT 1 + g % 50, '2026-03-01'::timestamptz + g * interval '1 hour', 'contact' FROM generate_series(1, 200) g;
	SELECT mql_score.track('crm.web', 'contact', 'at', 'kind');
	SELECT mql_score.track('crm.forms', 'contact', 'at', event_type => 'form_fill');
	SELECT mql_score.track('crm.web', 'contact', 'at', 'kind', model => 'b2b');
	SELECT mql_score.track_leads('crm.contacts', 'id', model => 'b2b');
	SELECT mql_score.set_stage(7::bigint, 'customer', 'b2b', 'signed');
	INSERT INTO crm.web (contact, at, kind) VALUES (NULL, now(), 'page_view'), (3, NULL, 'page_view');
});

my $tables = q{SELECT format('%s %s', t, (SELECT count(*) FROM mql_score.lead_state)) FROM (VALUES (1)) v(t)};
my %snapshot = (
	'models' => "SELECT string_agg(format('%s|%s|%s|%s|%s', name, half_life, demote, notify, description), ',' ORDER BY name) FROM mql_score.models",
	'rules' => "SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s', id, model, source, event_type, points, condition, max_per_day), ',' ORDER BY id) FROM mql_score.rules",
	'stages' => "SELECT string_agg(format('%s|%s|%s|%s', model, name, position, min_score), ',' ORDER BY model, position) FROM mql_score.stages",
	'fit' => "SELECT string_agg(format('%s|%s|%s', id, condition, points), ',' ORDER BY id) FROM mql_score.fit_rules",
	'tracked' => "SELECT string_agg(format('%s|%s|%s|%s|%s|%s', model, activity, lead_column, time_column, type_column, event_type), ',' ORDER BY tracking) FROM mql_score.tracked_tables",
	'state' => "SELECT md5(string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s', model, lead, engagement, last_event_at, events, fit, stage, due_at, caps), ',' ORDER BY model, lead)) FROM mql_score.lead_state",
	'history' => "SELECT md5(string_agg(format('%s|%s|%s|%s|%s|%s|%s', id, model, lead, from_stage, to_stage, score, cause), ',' ORDER BY id)) FROM mql_score.stage_history",
	'skipped' => "SELECT count(*) FROM mql_score.skipped",
	'triggers' => "SELECT string_agg(tgrelid::regclass || ':' || tgname, ',' ORDER BY tgrelid::regclass::text, tgname) FROM pg_trigger WHERE tgname LIKE 'mql_score%'",
	'sequences' => "SELECT nextval('mql_score.rules_id_seq') || '/' || nextval('mql_score.stage_history_id_seq')",
);

my $dump = PostgreSQL::Test::Utils::tempdir() . '/src.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('src') ], 'pg_dump -Fc');
my %before = map { $_ => $node->safe_psql('src', $snapshot{$_}) } keys %snapshot;
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ], 'pg_restore into a fresh database');

for my $what (sort keys %snapshot)
{
	is($node->safe_psql('dst', $snapshot{$what}), $before{$what}, "$what restored intact");
}
is($node->safe_psql('dst', "SELECT count(*) FROM mql_score.models WHERE name = 'default'"), '1', 'one default model');

# the same new events in both databases give the same state
my $more = q{
	INSERT INTO crm.web (contact, at, kind, path) VALUES (1, '2030-01-01', 'page_view', '/pricing'),
		(60, '2030-01-01', 'demo_request', NULL), (2, '2029-11-01', 'webinar', NULL);
	INSERT INTO crm.forms VALUES (5, '2026-06-01', 'contact');
	UPDATE crm.contacts SET employees = 5 WHERE id = 9;
	DELETE FROM crm.web WHERE id IN (SELECT id FROM crm.web WHERE contact = 4 ORDER BY at DESC LIMIT 3);
};
$node->safe_psql($_, $more) for ('src', 'dst');
my $rows = "SELECT string_agg(format('%s|%s|%s|%s|%s|%s', model, lead, round(engagement::numeric, 9), events, fit, stage), E'\\n' ORDER BY model, lead) FROM mql_score.lead_state";
is($node->safe_psql('dst', $rows), $node->safe_psql('src', $rows), 'scoring continues identically after the restore');
my $restored = $node->safe_psql('dst', $rows);
$node->safe_psql('dst', 'CALL mql_score.rescore()');
is($node->safe_psql('dst', $rows), $restored, 'restored state equals recomputation (a rescore changes nothing)');
is(extension_catalog($node, 'dst'), extension_catalog($node, 'src'), 'the extension catalog is the same');

$node->stop;
done_testing();
