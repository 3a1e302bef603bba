#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# policy.t - fumidai's Postfix policy server (monitor/policy.c) inside
# `fumidai run -f`, against the test's own redis-server.
#
# Part 1, over a raw unix socket: the socket replaces a stale one and gets
# mode 0660, a file that is not a socket is refused; a flagged
# sasl_username (a record put into <prefix>{g}:flags with redis-cli, under
# the name escaped as the alert records escape it) gets DEFER with the
# configured text, anyone else DUNNO (so does a flag that is no record); several requests on one connection
# are answered in order, a request split across writes too; a line without
# '=', an over-long line and an over-long request drop the connection; a
# name with CR and invalid UTF-8 is looked up exactly and never echoed, and
# a LF in the stream cannot inject an answer; Redis stopped (no answer
# within policy.timeout) or gone gives DUNNO, and answers come back when
# it does.
#
# Part 2, a real Postfix (t/lib/MailStack.pm) whose submission service asks
# the policy server (now on inet 127.0.0.1, switched by SIGHUP) at RCPT: a
# flagged account's submission gets 450 4.7.1, an unflagged one is
# accepted; an account that fails IMAP logins from one address and then
# logs in from another raises success_after_failures from the live log,
# which flags it, and its next submission is deferred; with action REJECT
# the flagged account gets 554 5.7.1; `fumidai release` lifts the flag and
# the next submission goes through; with fumidai stopped, mail still flows
# (check_policy_service { ..., default_action=DUNNO }).
#
# Needs redis-server and redis-cli; part 2 also root and Postfix + Dovecot
# (skipped otherwise).  Loopback only; every wait is bounded polling.
use strict;
use warnings;
use Cwd qw(abs_path);
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Select;
use IO::Socket::IP;
use IO::Socket::UNIX;
use POSIX qw(:sys_wait_h);
use Socket qw(SOCK_STREAM);
use Test::More;
use Time::HiRes qw(sleep time);
use FM qw(run_cmd tmpdir write_file read_file have_prog);

my $bin = abs_path(FM::fumidai()) // '';
plan skip_all => 'fumidai binary not built' unless -x $bin;
plan skip_all => 'redis-server is not installed' unless have_prog('redis-server');
plan skip_all => 'redis-cli is not installed' unless have_prog('redis-cli');

$SIG{PIPE} = 'IGNORE';		# the server drops clients on purpose
my $tmp = tmpdir();
# unix socket paths must stay short
my $sdir = File::Temp::tempdir('fm-pol-XXXXXX', DIR => '/tmp',
    CLEANUP => !$ENV{FM_KEEP});
my $redis = FM::start_redis($tmp);
my $G = 'fm:{g}';
my $psock = "$sdir/policy.sock";
my $fpid;
END { if ($fpid) { kill 'KILL', $fpid; waitpid $fpid, 0 } }

# record(kind, account) - an alert record as the post script stores it
sub record {
	my ($kind, $acct) = @_;
	return qq({"id":"00000000000000c1","kind":"$kind","severity":"critical",) .
	    qq("account":"$acct","ip":"127.0.5.1","net":"",) .
	    qq("time":"2026-11-25T10:00:00Z","first":"2026-11-25T10:00:00Z",) .
	    qq("last":"2026-11-25T10:00:00Z","until":"2026-11-25T11:00:00Z",) .
	    qq("count":1,"summary":"test","evidence":{}});
}

sub flag { $redis->cli('HSET', "$G:flags", $_[0], record($_[1] //
    'success_after_failures', $_[0])) }

# config(listen, action, inputs...) - the configuration file
sub config {
	my ($listen, $action, @inputs) = @_;
	my $in = join ",\n", map { "  { path = \"$_\"; }" } @inputs;
	write_file("$tmp/fumidai.conf", <<"EOF");
state_dir = "$tmp/state";
instance = "mx";
flush_interval = 20;
poll_interval = 100;
redis = { socket = "${\ $redis->sock }"; prefix = "fm:"; retry_max = 300; };
inputs = (
$in
);
detect = { success = { failures = 3; }; };
policy = {
  listen = "$listen";
  action = "$action";
  text = "4.7.1 Account suspended (%k): contact postmaster\@fumidai.test";
  timeout = 300;
};
EOF
	return "$tmp/fumidai.conf";
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

sub stop_fumidai {
	return -1 unless $fpid;
	kill 'TERM', $fpid;
	my $end = time + 30;
	while (waitpid($fpid, WNOHANG) == 0) {
		if (time > $end) {
			kill 'KILL', $fpid;
			waitpid $fpid, 0;
			undef $fpid;
			return -1;
		}
		sleep 0.05;
	}
	my $st = $?;
	undef $fpid;
	return $st >> 8;
}

sub errlog { read_file("$tmp/fumidai.err") // '' }

# pconnect(where) - a connection to the policy server: a port or a path
sub pconnect {
	my ($where) = @_;
	return $where =~ /^\d+$/
	    ? IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $where,
		Proto => 'tcp')
	    : IO::Socket::UNIX->new(Peer => $where, Type => SOCK_STREAM);
}

# wait_up(where, since) - the server answers (a policy server started
# line after byte offset since of the log); true once it does
sub wait_up {
	my ($where, $since) = @_;
	my $end = time + 30;
	while (time < $end) {
		my $log = errlog();
		if (length($log) > $since &&
		    substr($log, $since) =~ /policy server started/) {
			my $s = pconnect($where);
			if ($s) { close $s; return 1 }
		}
		return 0 if $fpid && waitpid($fpid, WNOHANG) != 0;
		sleep 0.05;
	}
	return 0;
}

# answers(sock, n) - read n answers ("...\n\n"); fewer when the server
# closed the connection; (answers, closed)
sub answers {
	my ($s, $n) = @_;
	my ($buf, @a) = ('');
	my $sel = IO::Select->new($s);
	my $end = time + 10;
	while (@a < $n && time < $end) {
		while ($buf =~ s/\A(.*?\n)\n//s) { push @a, $1 }
		last if @a >= $n;
		next unless $sel->can_read(0.2);
		my $r = sysread($s, $buf, 4096, length $buf);
		last if !$r;
	}
	while (@a < $n && $buf =~ s/\A(.*?\n)\n//s) { push @a, $1 }
	return (\@a, $buf);
}

# closed(sock) - true when the server closed the connection (bounded wait)
sub closed {
	my ($s) = @_;
	my $sel = IO::Select->new($s);
	my $end = time + 10;
	while (time < $end) {
		next unless $sel->can_read(0.2);
		my $r = sysread($s, my $junk, 4096);
		return 1 if defined $r && $r == 0;
		return 1 if !defined $r;
	}
	return 0;
}

sub req {
	my (%a) = (request => 'smtpd_access_policy', protocol_state => 'RCPT',
	    client_address => '127.0.0.9', @_);
	return join('', map { "$_=$a{$_}\n" } sort keys %a) . "\n";
}

# ask(where, request...) - one connection, the requests in one write
sub ask {
	my ($where, @reqs) = @_;
	my $s = pconnect($where) or return ();
	print {$s} join '', @reqs;
	my ($a) = answers($s, scalar @reqs);
	close $s;
	return @$a;
}

my $DEFER = qr/\Aaction=DEFER 4\.7\.1 Account suspended \(success_after_failures\): contact postmaster\@fumidai\.test\n\z/;
my $DUNNO = "action=DUNNO\n";

# ---- part 1: the protocol over a unix socket ---------------------------------
write_file("$tmp/empty.log", '');
config("unix:$psock", 'DEFER', "$tmp/empty.log");

# a regular file where the socket goes is refused
write_file($psock, 'not a socket');
my ($st, $out, $err) = run_cmd([$bin, 'run', '-f', '-c', "$tmp/fumidai.conf"]);
is($st, 1, 'a file that is not a socket at policy.listen: exit 1');
like($err, qr/exists and is not a socket/, '... saying why');
is(read_file($psock), 'not a socket', '... and the file is untouched');
unlink $psock;

# a stale socket (nobody listens) is replaced
{
	my $s = IO::Socket::UNIX->new(Local => $psock, Type => SOCK_STREAM,
	    Listen => 1) or die "stale socket: $!";
	close $s;
	ok(-S $psock, 'a stale socket is left behind');
}
$fpid = start_fumidai();
ok(wait_up($psock, 0), 'fumidai run: policy server up on the unix socket')
    or BAIL_OUT('policy server did not start: ' . errlog());
is((stat $psock)[2] & 07777, 0660, 'the socket has mode 0660');

flag('alice@fumidai.test');
like((ask($psock, req(sasl_username => 'alice@fumidai.test')))[0] // '',
    $DEFER, 'flagged account: DEFER with the configured text and kind');
is((ask($psock, req(sasl_username => 'bob@fumidai.test')))[0], $DUNNO,
    'unflagged account: DUNNO');
is((ask($psock, req()))[0], $DUNNO, 'no sasl_username: DUNNO');
is((ask($psock, req(sasl_username => '')))[0], $DUNNO,
    'empty sasl_username: DUNNO');
$redis->cli('HSET', "$G:flags", 'odd@fumidai.test', 'not a record');
is((ask($psock, req(sasl_username => 'odd@fumidai.test')))[0], $DUNNO,
    'a flag that is no alert record: DUNNO');
is((ask($psock, req(request => 'other', sasl_username =>
    'alice@fumidai.test')))[0], $DUNNO, 'not an smtpd_access_policy request: DUNNO');

# several requests on one connection, sent at once
{
	my @a = ask($psock, req(sasl_username => 'alice@fumidai.test'),
	    req(sasl_username => 'bob@fumidai.test'), req(),
	    req(sasl_username => 'alice@fumidai.test'));
	is(scalar @a, 4, 'four pipelined requests: four answers');
	like($a[0] // '', $DEFER, '... 1: DEFER');
	is($a[1], $DUNNO, '... 2: DUNNO');
	is($a[2], $DUNNO, '... 3: DUNNO');
	like($a[3] // '', $DEFER, '... 4: DEFER');
}

# one connection reused, requests split across writes
{
	my $s = pconnect($psock);
	my $r = req(sasl_username => 'alice@fumidai.test');
	my $cut = index($r, 'sasl_user') + 4;
	for my $part (substr($r, 0, $cut), substr($r, $cut, 10),
	    substr($r, $cut + 10, -1), "\n") {
		print {$s} $part;
		$s->flush;
		sleep 0.05;
	}
	my ($a) = answers($s, 1);
	like($a->[0] // '', $DEFER, 'a request split across four writes');
	print {$s} req(sasl_username => 'bob@fumidai.test');
	($a) = answers($s, 1);
	is($a->[0], $DUNNO, '... the same connection serves the next one');
	close $s;
}

# junk and over-long input drops the connection; the server goes on
for my $case (["a line without '='", "request=smtpd_access_policy\nhello\n\n"],
    ['an over-long line', 'x=' . ('a' x 5000)],
    ['an over-long request', join('', map { "a$_=" . ('b' x 300) . "\n" } 1 .. 300)],
    ['a NUL byte', "request=smtpd_access_policy\nsasl_username=a\0b\n\n"]) {
	my $s = pconnect($psock);
	print {$s} $case->[1];
	ok(closed($s), "$case->[0]: connection dropped");
	close $s;
}
like((ask($psock, req(sasl_username => 'alice@fumidai.test')))[0] // '',
    $DEFER, 'the server still answers after dropping those');

# binary names: CR and invalid UTF-8 looked up as the alerts escape them
{
	my $name = "ev\ril\xffx\@fumidai.test";
	flag('ev\ril\u00ffx@fumidai.test');
	my @a = ask($psock, req(sasl_username => $name));
	like($a[0] // '', $DEFER, 'a name with CR and a non-UTF-8 byte: flagged');
	unlike($a[0] // '', qr/\r|\xff|ev.il/, '... the name is not echoed');
	is((ask($psock, req(sasl_username => "ev\ril\xfex\@fumidai.test")))[0],
	    $DUNNO, '... another byte there is another account');
	# a LF ends the value: what follows is one more attribute, no answer
	my $s = pconnect($psock);
	print {$s} "request=smtpd_access_policy\nsasl_username=bob\naction=OK\n\n";
	my ($ans, $rest) = answers($s, 2);
	is_deeply($ans, [ $DUNNO ], 'an injected "action=OK" line is only an ' .
	    'attribute: one DUNNO');
	is($rest, '', '... and nothing else');
	close $s;
	my $log = errlog();
	like($log, qr/account="ev\\x0dil\\xffx\@fumidai\.test"/,
	    'the refusal is logged with the name escaped');
	unlike($log, qr/ev\ril/, '... never raw');
}

# Redis not answering within policy.timeout, then gone: DUNNO
{
	kill 'STOP', $redis->{pid};
	my @a = ask($psock, req(sasl_username => 'alice@fumidai.test'),
	    req(sasl_username => 'alice@fumidai.test'));
	kill 'CONT', $redis->{pid};
	is_deeply(\@a, [ $DUNNO, $DUNNO ], 'Redis stopped: DUNNO after ' .
	    'policy.timeout, for each request');
	like(errlog(), qr/Redis did not answer in time; answering DUNNO/,
	    '... logged');
	$redis->stop;
	is((ask($psock, req(sasl_username => 'alice@fumidai.test')))[0],
	    $DUNNO, 'Redis gone: DUNNO');
	$redis->start;
	flag('alice@fumidai.test');
	my ($ok, $end) = (0, time + 30);
	while (!$ok && time < $end) {
		my @b = ask($psock, req(sasl_username => 'alice@fumidai.test'));
		$ok = ($b[0] // '') =~ $DEFER;
		sleep 0.1 unless $ok;
	}
	ok($ok, 'Redis back: the flag counts again');
}

# ---- part 2: a real Postfix asks the policy server ---------------------------
SKIP: {
	my $why = eval { require MailStack; MailStack->skip_reason };
	$why //= $@ if $@;
	skip "real Postfix: $why", 16 if defined $why;
	postfix_part();
}

is(stop_fumidai(), 0, 'fumidai run: SIGTERM, exit 0') if $fpid;
my @warn = grep { /^fumidai: (?:fatal|error)/ } split /\n/, errlog();
is(scalar @warn, 0, 'no error in fumidai\'s log') or diag join "\n", @warn;
done_testing;

# rcpt(result) - the RCPT reply of an smtp_session result ("450 4.7.1 ...")
sub rcpt {
	my ($r) = @_;
	for my $x (@{$r->{replies}}) {
		return $x->[2] if $x->[0] =~ /^RCPT/;
	}
	return 'no RCPT';
}

# reload(listen, action, inputs...) - new configuration, SIGHUP, wait
sub reload {
	my ($listen, @rest) = @_;
	config($listen, @rest);
	my $since = length errlog();
	kill 'HUP', $fpid;
	my $end = time + 30;
	while (time < $end) {
		last if substr(errlog(), $since) =~ /configuration reloaded/;
		sleep 0.05;
	}
	return wait_up($listen =~ /:(\d+)\z/ ? $1 : $listen, $since);
}

sub postfix_part {
	my $ms = MailStack->new;
	my $port = MailStack::_free_port();
	$ms->postfix_tweak(
	    main => {
		smtpd_restriction_classes => 'fumidai_policy',
		fumidai_policy => "check_policy_service { inet:127.0.0.1:$port, " .
		    'timeout=10s, default_action=DUNNO }',
	    },
	    submission => { smtpd_recipient_restrictions =>
		'fumidai_policy,permit_sasl_authenticated,reject_unauth_destination' });
	ok(reload("inet:127.0.0.1:$port", 'DEFER', $ms->log_path),
	    'SIGHUP: the policy server moves to inet 127.0.0.1') or return;
	ok(!-e $psock, '... and removed its unix socket');
	$ms->start;
	my %pw = map { @$_ } $ms->users;
	my $send = sub {
		my ($who, $ip) = @_;
		return $ms->smtp_auth_send($ip // '127.0.0.1', $who, $pw{$who},
		    $who, 'dave@fumidai.test', "from $who");
	};
	my $r = $send->('alice@fumidai.test');
	like(rcpt($r), qr/\A450 4\.7\.1 .*Account suspended \(success_after_failures\)/,
	    'Postfix: the flagged account gets 450 4.7.1') or diag explain $r->{replies};
	ok(!$r->{sent}, '... and its message is not accepted');
	$r = $send->('bob@fumidai.test');
	ok($r->{sent}, 'Postfix: an unflagged account sends') or diag explain $r->{replies};

	# a real detector alert flags carol: IMAP failures from one address,
	# then a login from another (success_after_failures, threshold 3)
	ok(!$ms->imap_login('127.0.5.1', 'carol@fumidai.test', [ 'bad1', 'bad2' ]) &&
	    !$ms->imap_login('127.0.5.1', 'carol@fumidai.test', [ 'bad3', 'bad4' ]),
	    'carol: four failed IMAP logins from 127.0.5.1');
	ok($ms->imap_login('127.0.6.1', 'carol@fumidai.test',
	    $pw{'carol@fumidai.test'}), 'carol: a good login from 127.0.6.1');
	my ($flag, $end) = ('', time + 30);
	while ($flag eq '' && time < $end) {
		$flag = $redis->cli('HGET', "$G:flags", 'carol@fumidai.test');
		$flag =~ s/\n\z//;
		sleep 0.1 if $flag eq '';
	}
	like($flag, qr/"kind":"success_after_failures"/,
	    'the live log raised success_after_failures and flagged carol');
	like(rcpt($send->('carol@fumidai.test')), qr/\A450 4\.7\.1 /,
	    '... and her next submission is deferred');

	ok(reload("inet:127.0.0.1:$port", 'REJECT', $ms->log_path),
	    'SIGHUP: action REJECT');
	like(rcpt($send->('alice@fumidai.test')), qr/\A554 5\.7\.1 .*Account suspended/,
	    'Postfix: with REJECT the flagged account gets 554 5.7.1');

	($st, $out) = run_cmd([$bin, 'release', '-c', "$tmp/fumidai.conf",
	    'alice@fumidai.test']);
	is($st, 0, 'fumidai release alice: exit 0');
	ok($send->('alice@fumidai.test')->{sent},
	    'Postfix: after release alice sends again');

	is(stop_fumidai(), 0, 'fumidai stopped');
	flag('alice@fumidai.test');
	$r = $send->('alice@fumidai.test');
	ok($r->{sent}, 'with fumidai stopped, mail still flows (default_action=DUNNO)')
	    or diag explain $r->{replies};
	ok($ms->wait_for_log(qr/warning: .*127\.0\.0\.1:$port/, 10),
	    '... Postfix logged that the policy server was away');
	$ms->stop;
}
