#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# audit-sched.t - scheduled audits in `fumidai run`, against two real
# Postfix instances on loopback (t/lib/MailStack.pm), one closed and one an
# open relay with AUTH in plaintext (as in audit-relay.t).  The daemon
# audits the closed one (relay, smtp) and an op25b target where nothing
# listens; then the configuration points the same audits at the open one
# and SIGHUP reloads it.  Each audit's history must hold both results,
# `fumidai audits` must show them, and each audit that got worse must have
# filed exactly one `posture` alert with the standard fields and the two
# results as evidence.  An audit that cannot run is recorded, never
# alerted on.  FUMIDAI_AUDIT_EVERY=2 makes the audits run every 2 s (the
# configuration's minimum is 60 s).
use strict;
use warnings;
use Test::More;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);
use lib "$ENV{FM_SRCDIR}/t/lib";
use FM qw(fumidai tmpdir write_file read_file write_config have_prog
    run_cmd);
use MailStack;

my $why = MailStack->skip_reason;
plan skip_all => $why if defined $why;
plan skip_all => 'redis-server is not installed'
    unless have_prog('redis-server');
plan skip_all => 'needs /usr/bin/openssl (package openssl)'
    unless -x '/usr/bin/openssl';

my ($closed, $open) = MailStack->relay_pair;
$closed->start;
$open->start;

my $dir = tmpdir();
my $redis = FM::start_redis($dir);
my $conf = "$dir/fumidai.conf";
write_file("$dir/mail.log", '');
my $nobody = MailStack::_free_port();	# nothing listens there
my $dead = MailStack::_free_port();

# config - the audits pointed at one Postfix ($mx) and op25b at $gw
sub config {
	my ($mx, $gw) = @_;
	my $t = '127.0.0.1:' . $mx->port('smtp');
	write_config($conf, state_dir => "$dir/state", redis => $redis->sock,
	    instance => 'mx1', inputs => ["$dir/mail.log"], extra => <<"EOF");
audits = (
  { name = "mx-relay"; type = "relay"; target = "$t";
    args = [ "--timeout", "5000" ]; every = 60; timeout = 60; },
  { name = "mx-smtp"; type = "smtp"; target = "$t"; every = 600; },
  { name = "gw"; type = "op25b"; targets = [ "127.0.0.1:$gw" ];
    args = [ "--timeout", "2000" ]; at = "04:30"; },
  { name = "dead"; type = "relay"; target = "127.0.0.1:$dead";
    args = [ "--timeout", "2000" ]; every = 3600; timeout = 30; }
);
EOF
}

sub latest { $redis->cli('HGET', "fm:{g}:audit:$_[0]", $_[1]) =~ s/\n\z//r }
sub history {
	map { decode_json($_) } grep { length }
	    split /\n/, $redis->cli('LRANGE', "fm:{g}:audit_hist:$_[0]", 0, -1);
}
# wait_for - until the sub is true (a minute at most: no timing asserted)
sub wait_for {
	my ($what, $cond) = @_;
	my $deadline = time + 60;
	while (time < $deadline) {
		return pass($what) if $cond->();
		sleep 0.2;
	}
	fail($what);
}
# runs_with - history entries of an audit with this verdict
sub runs_with { scalar grep { $_->{verdict} eq $_[1] } history($_[0]) }

config($closed, $nobody);
$ENV{FUMIDAI_AUDIT_EVERY} = 2;
my $pid = fork() // die;
if ($pid == 0) {
	open(STDERR, '>', "$dir/err");
	exec(fumidai(), 'run', '-f', '-c', $conf) or POSIX::_exit(127);
}
END { if ($pid) { kill('KILL', $pid); waitpid($pid, 0) } }
delete $ENV{FUMIDAI_AUDIT_EVERY};

wait_for('closed relay audited', sub { runs_with('mx-relay', 'closed') });
wait_for('closed MX posture audited', sub { runs_with('mx-smtp', 'pass') });
wait_for('op25b audited (nothing reachable)',
    sub { runs_with('gw', 'inconclusive') });
wait_for('dead target recorded', sub { runs_with('dead', 'inconclusive') });
is(latest('mx-relay', 'status'), '0', 'closed relay: exit status 0');

# The same audits now look at the open relay.
config($open, $open->port('smtp'));
kill('HUP', $pid);
wait_for('open relay audited twice', sub { runs_with('mx-relay', 'open') >= 2 });
wait_for('open MX posture audited twice',
    sub { runs_with('mx-smtp', 'findings') >= 2 });
wait_for('op25b: port 25 open, twice', sub { runs_with('gw', 'fail') >= 2 });
kill('TERM', $pid);
waitpid($pid, 0);
is($? >> 8, 0, 'fumidai run exits 0');
$pid = 0;
my $err = read_file("$dir/err");

# ---- history in Redis ------------------------------------------------------
my @h = history('mx-relay');
is($h[0]{verdict}, 'open', 'history: newest first');
is($h[-1]{verdict}, 'closed', 'history: the first run is kept');
ok((grep { $_->{verdict} eq 'open' && $_->{status} == 1 &&
    grep { /^relays: / } @{$_->{findings}} } @h),
    'history: open runs with their findings');
is(latest('mx-relay', 'verdict'), 'open', 'latest verdict');
like(latest('mx-relay', 'time'), qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    'latest time');
is(decode_json(latest('mx-relay', 'json'))->{verdict}, 'open',
    'latest: the audit\'s whole output');
ok((grep { $_->{status} == 2 && $_->{error} } history('dead')),
    'could not run: exit 2 and the error recorded');
cmp_ok($redis->cli('TTL', 'fm:{g}:audit_hist:mx-relay'), '>', 86400,
    'history has the retention TTL');

# ---- fumidai audits ------------------------------------------------------
my ($rc, $out) = run_cmd([fumidai(), 'audits', '--json', '-n', '0', '-c',
    $conf]);
is($rc, 0, 'audits --json: exit 0');
my %a = map { my $j = decode_json($_); ($j->{name} => $j) } split /\n/, $out;
is_deeply([sort keys %a], [qw(dead gw mx-relay mx-smtp)], 'one line per audit');
my $r = $a{'mx-relay'};
is($r->{type}, 'relay', 'audits: type');
is($r->{target}, '127.0.0.1:' . $open->port('smtp'), 'audits: target');
is_deeply($r->{schedule}, { every => 60 }, 'audits: schedule');
is($r->{latest}{verdict}, 'open', 'audits: latest');
ok((grep { $_->{verdict} eq 'closed' } @{$r->{history}}) &&
    (grep { $_->{verdict} eq 'open' } @{$r->{history}}),
    'audits: history has both results');
is($r->{output}{verdict}, 'open', 'audits: the latest output');
is_deeply($a{gw}{schedule}, { at => '04:30' }, 'audits: daily schedule');
($rc, $out) = run_cmd([fumidai(), 'audits', '-c', $conf, 'mx-relay']);
is($rc, 0, 'audits NAME: exit 0');
like($out, qr/^mx-relay \(relay 127\.0\.0\.1:\d+, every 60 s\)$/m,
    'table: heading');
like($out, qr/^  \S+Z\s+open\s+exit 1\s+relays: /m, 'table: open run');
like($out, qr/^  \S+Z\s+closed\s+exit 0\s*$/m, 'table: closed run');
($rc) = run_cmd([fumidai(), 'audits', '-c', $conf, 'nosuch']);
is($rc, 1, 'audits NAME: unknown name, exit 1');

# ---- alerts ----------------------------------------------------------------
($rc, $out) = run_cmd([fumidai(), 'alerts', '--json', '-c', $conf]);
is($rc, 0, 'alerts --json: exit 0');
my @p = grep { $_->{kind} eq 'posture' } map { decode_json($_) }
    split /\n/, $out;
is_deeply([sort map { $_->{audit} } @p], [qw(gw mx-relay mx-smtp)],
    'one posture alert per audit that got worse, none for a dead target')
    or diag $out;
my ($pa) = grep { $_->{audit} eq 'mx-relay' } @p;
for my $f (qw(id kind severity account ip net time first last until count
    summary evidence)) {
	ok(exists $pa->{$f}, "alert has \"$f\"");
}
like($pa->{id}, qr/^[0-9a-f]{16}$/, 'alert id');
is($pa->{severity}, 'high', 'severity high');
is($pa->{target}, '127.0.0.1:' . $open->port('smtp'), 'alert target');
my $ev = $pa->{evidence};
is($ev->{audit}, 'mx-relay', 'evidence: audit');
is($ev->{type}, 'relay', 'evidence: type');
is($ev->{previous}{verdict}, 'closed', 'evidence: previous verdict');
is($ev->{current}{verdict}, 'open', 'evidence: new verdict');
ok(@{$ev->{new_findings}} > 0, 'evidence: what relayed');
like($pa->{summary}, qr/closed -> open/, 'summary');
my ($ps) = grep { $_->{audit} eq 'mx-smtp' } @p;
ok((grep { $_ eq 'auth-before-tls' } @{$ps->{evidence}{new_findings}}),
    'smtp: AUTH in plaintext is a new finding');
my ($pg) = grep { $_->{audit} eq 'gw' } @p;
is_deeply($pg->{evidence}{new_findings},
    ['port 25 open: 127.0.0.1:' . $open->port('smtp')],
    'op25b: port 25 newly open');
($rc, $out) = run_cmd([fumidai(), 'alerts', '--kind', 'posture', '-c', $conf]);
like($out, qr/posture.*relay audit mx-relay/, 'alerts table shows it');

like($err, qr/audit=mx-relay .*posture got worse/, 'logged: worse');
like($err, qr/audit=dead .*could not run/, 'logged: could not run');

# ---- Redis away ------------------------------------------------------------
write_config("$dir/away.conf", state_dir => "$dir/state",
    redis => "$dir/no-such.sock");
($rc) = run_cmd([fumidai(), 'audits', '-c', "$dir/away.conf"]);
is($rc, 2, 'audits: Redis unreachable, exit 2');

is(scalar($open->sink_messages) + scalar($closed->sink_messages), 0,
    'nothing was relayed');
$open->stop;
$closed->stop;
$redis->stop;
done_testing;
