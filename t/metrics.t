#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# metrics.t - the Prometheus /metrics server (monitor/metrics.c) inside
# `fumidai run -f`, against the test's own redis-server, on 127.0.0.1.
#
# The page is fetched with a plain HTTP/1.0 client and read by a strict
# parser of the text exposition format 0.0.4 written here: every line is a
# # HELP, a # TYPE or a sample `name{labels} value`; names and label names
# are valid; a family's TYPE comes before its samples, once, and its
# samples are contiguous; counters end in _total; label values use only
# the three escapes; no sample repeats.  Then the values: lines read per
# input equal the lines written, skipped lines and events by kind are
# exact, the store applied what it was given, an input whose path holds a
# double quote and a newline is labelled with that path exactly.  Other
# paths get 404, other methods 405.  After a SIGHUP to a configuration with
# metrics.token, a request without the token or with a wrong one gets 401,
# the right one 200, and the counters go on from where they were.
#
# Alerts, notifications and audits: with detect.brute_force.threshold = 1
# each failing address opens one brute_force alert, counted by kind in
# fumidai_alerts_opened_total; an smtp audit of a closed loopback port
# (run at once: FUMIDAI_AUDIT_EVERY) could not run, so fumidai_audit_ok is
# 0, fumidai_audit_status 2, and its last run time is now.  The reload
# adds two pubsub notifiers (they start at the stream's end): the alert of
# the appended failure is sent by the one and skipped by the other (its
# kinds filter), each result counted exactly.
#
# Needs redis-server (skipped otherwise).  Every wait is bounded polling.
use strict;
use warnings;
use Cwd qw(abs_path);
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(sleep time);
use FM qw(run_cmd tmpdir write_file have_prog free_port);

my $bin = abs_path(FM::fumidai()) // '';
plan skip_all => 'fumidai binary not built' unless -x $bin;
plan skip_all => 'redis-server is not installed' unless have_prog('redis-server');

my $tmp = tmpdir();
my $redis = FM::start_redis($tmp);
my $log = "$tmp/mail.log";
my $odd = "$tmp/we\"ird\nname.log";
my $fpid;
END { if ($fpid) { kill 'KILL', $fpid; waitpid $fpid, 0 } }

my $T = '2026-11-24T10:00:%02d.000001+09:00 mx1';
sub login { sprintf("$T dovecot: imap-login: Login: user=<%s>, method=PLAIN, " .
    "rip=127.0.1.%d, lip=127.0.0.1, mpid=%d, TLS, session=<S%07dx>\n",
    $_[2], $_[0], $_[1], 10 + $_[2], $_[2]) }
sub failed { sprintf("$T postfix/submission/smtpd[5]: warning: " .
    "unknown[127.0.1.%d]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, " .
    "sasl_username=%s\n", $_[2], $_[0], $_[1]) }

# A free port on loopback (bound, noted, released).
my $port = free_port();
my $closed = free_port();	# nothing listens there: the audit fails
$ENV{FUMIDAI_AUDIT_EVERY} = 2;
my $t0 = time;

# libconfig string: backslash, double quote and newline escaped
sub cstr { my $s = shift; $s =~ s/\\/\\\\/g; $s =~ s/"/\\"/g; $s =~ s/\n/\\n/g; "\"$s\"" }

sub config {
	my ($token) = @_;
	my $tok = defined $token ? "  token = \"$token\";\n" : '';
	# the log's times are fixed: max_age must not filter them out
	my $nfy = defined $token ? 'notify = ( { name = "all"; plugin = "pubsub";
  max_age = 31536000; }, { name = "none"; plugin = "pubsub";
  max_age = 31536000; kinds = [ "no_such_kind" ]; } );' : '';
	write_file("$tmp/fumidai.conf", <<"EOF");
state_dir = "$tmp/state";
instance = "mx";
flush_interval = 20;
poll_interval = 100;
redis = { socket = "${\ $redis->sock }"; prefix = "fm:"; };
inputs = ( { path = ${\ cstr($log) }; }, { path = ${\ cstr($odd) }; } );
detect = { brute_force = { threshold = 1; }; };
audits = ( { name = "loop"; type = "smtp"; target = "127.0.0.1:$closed";
  every = 3600; timeout = 30; } );
metrics = {
  listen = "127.0.0.1:$port";
$tok};
$nfy
EOF
}

# http(method, path, headers) - (status, {headers}, body) or () on failure
sub http {
	my ($method, $path, %h) = @_;
	my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port,
	    Proto => 'tcp', Timeout => 10) or return ();
	my $req = "$method $path HTTP/1.0\r\nHost: 127.0.0.1:$port\r\n";
	$req .= "$_: $h{$_}\r\n" for sort keys %h;
	print $s "$req\r\n";
	local $/;
	my $resp = <$s> // '';
	close $s;
	my ($head, $body) = split /\r\n\r\n/, $resp, 2;
	return () unless defined $head && $head =~ m{^HTTP/1\.[01] (\d{3}) };
	my $st = $1;
	my %hdr;
	for (split /\r\n/, $head) {
		$hdr{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
	}
	return ($st, \%hdr, $body // '');
}

# parse_prom(text) - { name => { canonical labels => value } } or die
sub parse_prom {
	my ($text) = @_;
	my (%type, %help, %samples, %done, $cur);
	my $name_re = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
	my $lname_re = qr/[a-zA-Z_][a-zA-Z0-9_]*/;
	my $num_re = qr/[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN/;
	die "does not end with a newline\n" unless $text =~ /\n\z/;
	my $n = 0;
	for my $line (split /\n/, substr($text, 0, -1), -1) {
		$n++;
		die "line $n: empty line\n" if $line eq '';
		if ($line =~ /^#/) {
			if ($line =~ /^# TYPE ($name_re) (counter|gauge|histogram|summary|untyped)$/) {
				die "line $n: second TYPE for $1\n" if $type{$1};
				die "line $n: TYPE for $1 after its samples\n" if $samples{$1};
				$type{$1} = $2;
				die "line $n: counter $1 without _total\n"
				    if $2 eq 'counter' && $1 !~ /_total$/;
			} elsif ($line =~ /^# HELP ($name_re) (.*)$/) {
				die "line $n: second HELP for $1\n" if $help{$1}++;
				die "line $n: bad escape in HELP\n" if $2 =~ /\\[^\\n]/;
			} elsif ($line =~ /^# (?:HELP|TYPE)/) {
				die "line $n: malformed $line\n";
			}
			next;
		}
		$line =~ /^($name_re)(\{.*\})? ($num_re)(?: -?\d+)?$/
		    or die "line $n: not a sample: $line\n";
		my ($name, $lab, $val) = ($1, $2 // '', $3);
		die "line $n: $name has no TYPE before it\n" unless $type{$name};
		die "line $n: samples of $name are not together\n"
		    if $done{$name};
		$done{$cur} = 1 if defined $cur && $cur ne $name;
		$cur = $name;
		my @l;
		if ($lab ne '') {
			my $in = substr($lab, 1, -1);
			while ($in ne '') {
				$in =~ s/^($lname_re)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)//
				    or die "line $n: bad labels $lab\n";
				my ($k, $v) = ($1, $2);
				$v =~ s/\\(.)/$1 eq 'n' ? "\n" : $1/ge;
				push @l, [$k, $v];
			}
		}
		my $key = join "\0", map { "$_->[0]=$_->[1]" } sort { $a->[0] cmp $b->[0] } @l;
		die "line $n: repeated sample $name\n"
		    if exists $samples{$name}{$key};
		$samples{$name}{$key} = $val;
	}
	return \%samples;
}

sub start_fumidai {
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDOUT, '>>', "$tmp/fumidai.out");
		open(STDERR, '>>', "$tmp/fumidai.err");
		exec($bin, 'run', '-f', '-c', "$tmp/fumidai.conf") or POSIX::_exit(127);
	}
	return $pid;
}

# scrape(until, headers) - the parsed page once until->(page) holds
sub scrape {
	my ($until, %h) = @_;
	my ($st, $hdr, $body, $m);
	for (1 .. 600) {
		($st, $hdr, $body) = http('GET', '/metrics', %h);
		if (defined $st && $st == 200) {
			$m = eval { parse_prom($body) };
			return ($m, $hdr, $body) if $m && $until->($m);
		}
		sleep 0.05;
	}
	diag("last answer: " . ($st // 'none') . "\n" . ($body // ''));
	return ($m, $hdr, $body);
}

sub in { "input=$_[0]" }

# --- the log: 3 logins, 1 failure, 1 line without header; 1 login in the odd one
write_file($log, login('alice@example.jp', 1, 1) . login('bob@example.jp', 2, 2) .
    failed(3, 'carol@example.jp', 3) . "this line has no header at all\n");
write_file($odd, login('dan@example.jp', 4, 4));
config(undef);
$fpid = start_fumidai();

my ($m, $hdr, $body) = scrape(sub {
	my $m = shift;
	($m->{fumidai_input_lines_total}{in($log)} // 0) == 4 &&
	($m->{fumidai_input_lines_total}{in($odd)} // 0) == 1 &&
	($m->{fumidai_store_applied_total}{''} // 0) >= 1 &&
	($m->{fumidai_events_total}{'kind=login_ok'} // 0) +
	($m->{fumidai_events_total}{'kind=login_fail'} // 0) == 4 });
ok($m, 'the page parses as text format 0.0.4') or diag($@);
like($hdr->{'content-type'} // '', qr{^text/plain; version=0\.0\.4},
    'content type of the text format');
is($m->{fumidai_input_lines_total}{in($log)}, 4, 'lines read = lines written');
is($m->{fumidai_input_malformed_total}{in($log)}, 1, 'the headerless line is counted');
is($m->{fumidai_input_too_long_total}{in($log)}, 0, 'no long line');
is($m->{fumidai_input_bad_bytes_total}{in($log)}, 0, 'no bad bytes');
is($m->{fumidai_input_unrecognized_total}{in($log)}, 0, 'nothing unrecognized');
is($m->{fumidai_input_events_total}{in($log)}, 3, 'events of the first input');
is($m->{fumidai_input_lines_total}{in($odd)}, 1, 'odd path: exact label value');
is($m->{fumidai_input_events_total}{in($odd)}, 1, 'odd path: its event');
like($body, qr/\Q{input="$tmp\/we\"ird\nname.log"}\E/,
    'odd path: quote and newline escaped on the wire');
is($m->{fumidai_events_total}{'kind=login_ok'}, 3, 'events: login_ok');
is($m->{fumidai_events_total}{'kind=login_fail'}, 1, 'events: login_fail');
is($m->{fumidai_events_total}{'kind=msg_submit'}, 0, 'events: msg_submit');
is($m->{fumidai_redis_connected}{''}, 1, 'Redis connected');
is($m->{fumidai_redis_errors_total}{''}, 0, 'no Redis errors');
is($m->{fumidai_store_spooled_total}{''}, 0, 'nothing spooled');
is($m->{fumidai_spool_bytes}{''}, 0, 'spool empty');
ok(exists $m->{fumidai_alerts_total}{''}, 'alerts counter present');
ok(exists $m->{fumidai_redis_backlog_bytes}{''}, 'backlog gauge present');
ok(($m->{fumidai_redis_latency_seconds}{''} // -1) >= 0, 'latency gauge');
my $ps = $m->{process_start_time_seconds}{''} // 0;
ok($ps > 1.7e9 && $ps <= time() + 1, 'process start time in seconds');

my ($st) = http('GET', '/other');
is($st, 404, 'another path: 404');
($st) = http('GET', '/');
is($st, 404, '/: 404');
($st) = http('POST', '/metrics');
is($st, 405, 'POST: 405');

# parser self-test: it refuses what the format forbids
# alerts by kind, the audit's latest run
($m, $hdr, $body) = scrape(sub {
	exists $_[0]{fumidai_audit_status}{'audit=loop'} &&
	($_[0]{fumidai_alerts_opened_total}{'kind=brute_force'} // 0) == 1 });
is($m->{fumidai_alerts_opened_total}{'kind=brute_force'}, 1,
    'alerts opened by kind: one brute_force (one failing address)');
is_deeply($m->{fumidai_alerts_opened_total}, { 'kind=brute_force' => 1,
    'kind=posture' => 0 }, 'no other kind; no posture alert (the audit '
    . 'could not run: nothing to compare)');
is($m->{fumidai_audit_ok}{'audit=loop'}, 0, 'audit of a closed port: not ok');
is($m->{fumidai_audit_status}{'audit=loop'}, 2, '... status 2 (could not run)');
my $lr = $m->{fumidai_audit_last_run_timestamp_seconds}{'audit=loop'} // 0;
ok($lr >= int($t0) - 1 && $lr <= time() + 1, '... its last run is now');
like($body, qr/^# TYPE fumidai_audit_ok gauge$/m, 'audit_ok is a gauge');
ok(!exists $m->{fumidai_notifications_total},
    'no notifier configured: no notification series');

ok(!eval { parse_prom("x_total 1\n") }, 'parser: sample before TYPE refused');
ok(!eval { parse_prom("# TYPE x counter\nx 1\n") }, 'parser: counter without _total refused');
ok(!eval { parse_prom("# TYPE x gauge\nx{a=\"\\t\"} 1\n") }, 'parser: bad escape refused');
ok(!eval { parse_prom("# TYPE x gauge\nx{a=\"b\"} one\n") }, 'parser: bad value refused');

# --- reload with a token; counters go on
config('s3cr3t-Tok');
kill 'HUP', $fpid;
my $got = 0;
for (1 .. 600) {
	($st) = http('GET', '/metrics');
	last if defined $st && $st == 401 && ($got = 1);
	sleep 0.05;
}
ok($got, 'after reload with metrics.token: 401 without it');
# the new notifiers have set their cursors (at the stream's end)
my $cursors = 0;
for (1 .. 600) {
	$cursors = $redis->cli('EXISTS', 'fm:{g}:notify:all', 'fm:{g}:notify:none');
	last if $cursors =~ /^2/;
	sleep 0.05;
}
like($cursors, qr/^2/, 'the notifiers started');
($st) = http('GET', '/metrics', Authorization => 'Bearer wrong-token');
is($st, 401, 'wrong token: 401');
($st) = http('GET', '/metrics', Authorization => 'Bearer s3cr3t-To');
is($st, 401, 'token prefix: 401');
($st) = http('GET', '/metrics', Authorization => 'Bearer s3cr3t-Tok-more');
is($st, 401, 'token with more: 401');
($st) = http('GET', '/metrics', Authorization => 'Basic czNjcjN0LVRvaw==');
is($st, 401, 'another scheme: 401');
($st) = http('GET', '/nothing', Authorization => 'Bearer s3cr3t-Tok');
is($st, 404, 'with token, another path: 404');

write_file($log, login('erin@example.jp', 5, 5) . failed(6, 'frank@example.jp', 6), '>>');
($m) = scrape(sub { ($_[0]{fumidai_input_lines_total}{in($log)} // 0) == 6 &&
    ($_[0]{fumidai_events_total}{'kind=login_fail'} // 0) == 2 },
    Authorization => 'Bearer s3cr3t-Tok');
ok($m, 'with the token: 200 and a valid page');
($m) = scrape(sub {
	($_[0]{fumidai_notifications_total}{'notifier=all' . "\0" . 'result=sent'} // 0) == 1 &&
	($_[0]{fumidai_notifications_total}{'notifier=none' . "\0" . 'result=skipped'} // 0) == 1 },
    Authorization => 'Bearer s3cr3t-Tok');
my %nres;
for my $k (keys %{$m->{fumidai_notifications_total} // {}}) {
	my ($who, $res) = $k =~ /^notifier=(\w+)\0result=(\w+)$/ or next;
	$nres{"$who/$res"} = $m->{fumidai_notifications_total}{$k};
}
is_deeply(\%nres, { 'all/sent' => 1, 'all/failed' => 0, 'all/dropped' => 0,
    'all/skipped' => 0, 'none/sent' => 0, 'none/failed' => 0,
    'none/dropped' => 0, 'none/skipped' => 1 },
    'notifications by notifier and result: exact');
is($m->{fumidai_alerts_opened_total}{'kind=brute_force'}, 1,
    'the new failing address opened a brute_force alert (the store, made '
    . 'anew by the reload, counts from 0)');
is($m->{fumidai_input_lines_total}{in($log)}, 6, 'lines read go on after reload');
is($m->{fumidai_events_total}{'kind=login_ok'}, 4, 'login_ok after reload');
is($m->{fumidai_events_total}{'kind=login_fail'}, 2, 'login_fail after reload');

kill 'TERM', $fpid;
waitpid $fpid, 0;
is($? >> 8, 0, 'fumidai stops cleanly');
undef $fpid;

# --- configuration errors
write_file("$tmp/bad.conf", "metrics = { listen = \"localhost\"; };\n");
my ($rc, undef, $err) = run_cmd([$bin, 'check-config', '-c', "$tmp/bad.conf"]);
is($rc, 2, 'metrics.listen without a port is refused');
like($err, qr/metrics\.listen/, '... naming the setting');
write_file("$tmp/bad.conf", "metrics = { listen = \"127.0.0.1:1\"; token = \"a b\"; };\n");
($rc, undef, $err) = run_cmd([$bin, 'check-config', '-c', "$tmp/bad.conf"]);
is($rc, 2, 'a token with a space is refused');
write_file("$tmp/bad.conf", "metrics = { listen = \"127.0.0.1:1\"; token = \"abc\"; };\n");
(undef, my $out) = run_cmd([$bin, 'check-config', '-c', "$tmp/bad.conf"]);
unlike($out, qr/abc/, 'check-config does not print the token');

done_testing();
