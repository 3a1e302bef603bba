#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# detect-shared.t - several mail servers, one Redis, one view of each
# account.  Two `fumidai run` instances (own state_dir and instance name,
# one log each: mx1's and imap1's) write to one Redis while an attacker
# spreads a brute force over both servers, each seeing fewer failures than
# the threshold, and a spray whose accounts are split between them.  The
# detectors' windows live in Redis, so exactly one brute_force and one
# spray alert must come out, with the evidence of both servers together;
# and a replay of both logs into a fresh Redis must give the same alerts.
#
# The logs are synthetic, timestamped "now" (RFC 3339), documentation
# addresses only; nothing is sent anywhere.  No timing is asserted.
use strict;
use warnings;
use JSON::PP;
use POSIX qw(strftime);
use Test::More;
use Time::HiRes qw(sleep time);
use lib "$ENV{FM_SRCDIR}/t/lib";
use FM qw(fumidai run_cmd tmpdir write_file read_file write_config have_prog);

plan skip_all => 'redis-server is not installed' unless have_prog('redis-server');

my $dir = tmpdir();
my $redis = FM::start_redis($dir);
my $t0 = int(time) - 600;	# ten minutes ago: recent, inside every window

sub ts { strftime('%Y-%m-%dT%H:%M:%S.000000+00:00', gmtime($t0 + $_[0])) }

my $n = 0;
sub fail_imap {
	my ($s, $host, $user, $ip) = @_;
	$n++;
	return ts($s) . " $host dovecot: imap-login: Disconnected: Aborted login "
	    . "by logging out (auth failed, 1 attempts in 1 secs): user=<$user>, "
	    . "method=PLAIN, rip=$ip, lip=192.0.2.250, session=<sh$n>\n";
}

# mx1 sees failures 0, 2, 4, ... and imap1 1, 3, 5, ...: 6 each, 12 in all
# (threshold 10 within 600 s); the spray tries 12 accounts, 6 per server.
my (@mx1, @imap1);
for my $i (0 .. 11) {
	my $l = fail_imap(10 * $i, $i % 2 ? 'imap1' : 'mx1', 'victim@example.org',
	    '203.0.113.77');
	push @{ $i % 2 ? \@imap1 : \@mx1 }, $l;
}
for my $i (0 .. 11) {
	my $l = fail_imap(200 + $i, $i % 2 ? 'imap1' : 'mx1',
	    "user$i\@example.org", '198.51.100.99');
	push @{ $i % 2 ? \@imap1 : \@mx1 }, $l;
}

my %want = (
	brute_force => { account => 'victim@example.org', ip => '203.0.113.77',
	    failures => 12 },
	spray => { account => '', ip => '198.51.100.99', accounts => 12 },
);

my $json = JSON::PP->new;
sub alerts {
	my ($conf) = @_;
	my ($st, $out, $err) = run_cmd([fumidai(), 'alerts', '-c', $conf, '--json']);
	is($st, 0, 'fumidai alerts: exit 0') or diag $err;
	return map { $json->decode($_) } grep { /\S/ } split /\n/, $out;
}

sub check {
	my ($what, @a) = @_;
	is(scalar @a, 2, "$what: two alerts") or diag explain \@a;
	my %by = map { $_->{kind} => $_ } @a;
	for my $k (sort keys %want) {
		my $a = $by{$k};
		ok($a, "$what: $k") or next;
		is($a->{account}, $want{$k}{account}, "$what: $k account");
		is($a->{ip}, $want{$k}{ip}, "$what: $k ip");
		is($a->{evidence}{failures}, $want{$k}{failures},
		    "$what: $k counts both servers' failures")
		    if $want{$k}{failures};
		is($a->{evidence}{accounts}, $want{$k}{accounts},
		    "$what: $k counts both servers' accounts")
		    if $want{$k}{accounts};
	}
	note "$what: $_->{kind} $_->{id} time=$_->{time} first=$_->{first} "
	    . "last=$_->{last} count=$_->{count}" for @a;
	my $c = JSON::PP->new->canonical;
	return map { $_->{kind} => join(' ', $_->{account}, $_->{ip},
	    $_->{first}, $_->{last}, $c->encode($_->{evidence})) } @a;
}

# ---- two live instances -------------------------------------------------
my @run;
for my $srv (qw(mx1 imap1)) {
	my $sd = "$dir/state-$srv";
	mkdir $sd;
	write_file("$dir/$srv.log", '');
	my $conf = write_config("$dir/$srv.conf", state_dir => $sd,
	    instance => $srv, redis => $redis->sock,
	    inputs => [ "$dir/$srv.log" ]);
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDOUT, '>', "$dir/$srv.out");
		open(STDERR, '>', "$dir/$srv.err");
		exec(fumidai(), 'run', '-f', '-c', $conf) or POSIX::_exit(127);
	}
	push @run, { srv => $srv, pid => $pid, conf => $conf };
}
# interleave the appends, a line at a time, so both instances write the
# same subjects while the other does
for my $i (0 .. $#mx1) {
	for my $r ([ 'mx1', \@mx1 ], [ 'imap1', \@imap1 ]) {
		open(my $fh, '>>', "$dir/$r->[0].log") or die;
		print $fh $r->[1][$i];
		close $fh;
	}
	sleep 0.05;
}
# wait until both instances have applied everything (bounded polling)
my @live;
for (1 .. 400) {
	@live = grep { /\S/ } split /\n/, $redis->cli('XRANGE',
	    'fm:{g}:alerts', '-', '+');
	my $h = $redis->cli('HGET', 'fm:{ip:198.51.100.99}:c:' .
	    strftime('%Y%m%d', gmtime($t0 + 211)), 'login_fail');
	my $v = $redis->cli('HGET', 'fm:{a:' . unpack('H*', 'victim@example.org')
	    . '}:c:' . strftime('%Y%m%d', gmtime($t0 + 110)), 'login_fail');
	last if ($h // '') =~ /^12/ && ($v // '') =~ /^12/;
	sleep 0.05;
}
for my $r (@run) {
	kill 'TERM', $r->{pid};
	waitpid($r->{pid}, 0);
	is($? >> 8, 0, "fumidai run ($r->{srv}) exits 0 on SIGTERM")
	    or diag read_file("$dir/$r->{srv}.err");
}
my %live = check('two servers, live', alerts($run[0]{conf}));

# ---- replays into a fresh Redis ------------------------------------------
# Replay takes its files one after the other, or merged in time order: the
# same alerts, with the same subjects, first and last times and evidence.
# (Their ids may differ: an alert opens when its threshold is crossed by
# the events Redis has seen so far, and here events reach it out of time
# order - doc/detection.md.)
sub replay {
	my ($what, @files) = @_;
	$redis->cli('FLUSHALL');
	my $sd = "$dir/state-" . scalar(@files) . "-" . int(rand(1e9));
	mkdir $sd;
	my $rconf = write_config("$dir/replay.conf", state_dir => $sd,
	    redis => $redis->sock);
	my ($st, undef, $err) = run_cmd([fumidai(), 'replay', '-c', $rconf,
	    '--no-progress', @files]);
	is($st, 0, "$what: exit 0") or diag $err;
	return check($what, alerts($rconf));
}
my %seq = replay('replay of both logs, one after the other', "$dir/mx1.log",
    "$dir/imap1.log");
is_deeply(\%seq, \%live, 'that replay gives the alerts of the live run');
my @merged;
push @merged, $mx1[$_], $imap1[$_] for 0 .. $#mx1;
write_file("$dir/merged.log", join('', @merged));
my %rep = replay('replay of both logs merged in time order', "$dir/merged.log");
is_deeply(\%rep, \%live, 'so does the merged replay');

done_testing();
