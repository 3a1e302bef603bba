#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# sessions-replay.t - open sessions (doc/sessions.md) and the
# concurrent_sessions detector on synthetic logs with chosen event times:
# overlapping sessions from two countries (one high alert, exact evidence),
# the same two one after the other (none), two networks of one country
# (one low alert), an IMAP session overlapped by an SMTP AUTH session
# (started by its message's client= line, ended by smtpd's disconnect), a
# session whose end was never logged (dropped past sessions.max_age, kept
# within a longer one), the detector turned off, and one batch per line.
# `fumidai sessions` must show exactly the sessions left open.
#
# Each scenario is replayed alone into its own key prefix.  The addresses
# are loopback ones that the test GeoIP databases of t/lib/mkmmdb.pl place
# (FUMIDAI_GEO_ALLOW_LOOPBACK=1): 127.0.1.0/24 JP AS64501, 127.0.2.0/24 US
# AS64502, 127.0.3.0/24 GB AS64503, 127.0.4.0/24 no country, AS64505.
use strict;
use warnings;
use JSON::PP;
use POSIX qw(strftime);
use Test::More;
use lib "$ENV{FM_SRCDIR}/t/lib";
use FM qw(fumidai run_cmd tmpdir write_file read_file write_config have_prog);

plan skip_all => 'fumidai binary not built' unless -x fumidai();
plan skip_all => 'redis-server is not installed'
    unless have_prog('redis-server');
plan skip_all => 'MaxMind::DB::Writer is not installed ' .
    '(libmaxmind-db-writer-perl)' unless eval { require MaxMind::DB::Writer::Tree; 1 };

$ENV{FUMIDAI_GEO_ALLOW_LOOPBACK} = 1;
my $dir = tmpdir();
my $json = JSON::PP->new->canonical;
mkdir "$dir/geo" or die "$dir/geo: $!";
my ($st, $out, $err) = run_cmd([ $^X, "$ENV{FM_SRCDIR}/t/lib/mkmmdb.pl",
    "$dir/geo" ]);
is($st, 0, 'the test GeoIP databases') or BAIL_OUT($err);
my $redis = FM::start_redis($dir);

my $T0 = 1795168800;	# 2026-11-20T10:00:00Z
my $D = 'x.test';
my %PLACE = (JP => [ 'JP', 64501 ], US => [ 'US', 64502 ],
    GB => [ 'GB', 64503 ], NC => [ '', 64505 ]);
my %NET = (JP => 1, US => 2, GB => 3, NC => 4);

sub iso { strftime('%Y-%m-%dT%H:%M:%S+00:00', gmtime $_[0]) }
sub stored { strftime('%Y-%m-%dT%H:%M:%S.000000Z', gmtime $_[0]) }
sub ip { "127.0.$NET{$_[0]}.$_[1]" }

# login / logout - a Dovecot session's two lines
sub login {
	my ($t, $user, $ip, $sess, $svc) = @_;
	$svc //= 'imap';
	return iso($t) . " mx dovecot[100]: $svc-login: Login: " .
	    "user=<$user\@$D>, method=PLAIN, rip=$ip, lip=127.0.0.1, " .
	    "mpid=200, session=<$sess>";
}

sub logout {
	my ($t, $user, $sess, $svc) = @_;
	$svc //= 'imap';
	return iso($t) . " mx dovecot[100]: $svc($user\@$D)<200><$sess>: " .
	    'Disconnected: Logged out in=10 out=20';
}

# smtp - an SMTP AUTH session of pid that sends one message at t and
# disconnects at $end (undef: stays open)
sub smtp {
	my ($t, $end, $pid, $user, $ip, $qid) = @_;
	my $p = "mx postfix/submission/smtpd[$pid]:";
	my @l = (iso($t) . " $p connect from unknown[$ip]",
	    iso($t) . " $p $qid: client=unknown[$ip], sasl_method=PLAIN, " .
	    "sasl_username=$user\@$D");
	push @l, iso($end) . " $p disconnect from unknown[$ip] ehlo=1 " .
	    'auth=1 mail=1 rcpt=1 data=1 quit=1 commands=6' if defined $end;
	return @l;
}

# rec - a session as `fumidai sessions --json` prints it
sub rec {
	my ($t, $where, $n, $sess, $svc) = @_;
	return { start => stored($t), service => $svc // 'imap',
	    ip => ip($where, $n), cc => $PLACE{$where}[0],
	    asn => $PLACE{$where}[1], host => 'mx', mech => 'PLAIN',
	    session => $sess };
}

# ev - a session as the alert's evidence holds it (the stored record)
sub ev {
	my ($t, $where, $n, $sess, $svc) = @_;
	my $r = rec(@_);
	$r->{t} = $t;
	return $r;
}

my $JP1 = 'AAAAAAAAAAAAAAAA';
my $US1 = 'BBBBBBBBBBBBBBBB';
my $NC1 = 'CCCCCCCCCCCCCCCC';

my @scenarios = (
    { name => 'overlap: JP, then US while JP is open',
      log => [ login($T0, 'alice', ip(JP => 10), $JP1),
	       login($T0 + 60, 'alice', ip(US => 10), $US1),
	       logout($T0 + 120, 'alice', $JP1),
	       logout($T0 + 180, 'alice', $US1) ],
      alerts => [ { severity => 'high', account => "alice\@$D",
	ip => ip(US => 10), time => $T0 + 60, first => $T0,
	last => $T0 + 60, count => 1,
	summary => '2 sessions open at the same time from 2 countries ' .
	    '(JP, US)',
	evidence => { sessions => [ ev($T0, JP => 10, $JP1),
	    ev($T0 + 60, US => 10, $US1) ], countries => [ 'JP', 'US' ],
	    asns => [ 64501, 64502 ], threshold_countries => 2,
	    threshold_asns => 2 } } ],
      open => { alice => [] } },
    { name => 'sequential: JP ends before US starts',
      log => [ login($T0, 'bob', ip(JP => 20), $JP1),
	       logout($T0 + 30, 'bob', $JP1),
	       login($T0 + 60, 'bob', ip(US => 20), $US1, 'pop3'),
	       logout($T0 + 90, 'bob', $US1, 'pop3') ],
      alerts => [], open => { bob => [] } },
    { name => 'two networks of one country: low',
      log => [ login($T0, 'carol', ip(JP => 30), $JP1),
	       login($T0 + 10, 'carol', ip(NC => 30), $NC1) ],
      alerts => [ { severity => 'low', account => "carol\@$D",
	ip => ip(NC => 30), time => $T0 + 10, first => $T0,
	last => $T0 + 10, count => 1,
	summary => '2 sessions open at the same time from 2 networks ' .
	    '(AS64501, AS64505)',
	evidence => { sessions => [ ev($T0, JP => 30, $JP1),
	    ev($T0 + 10, NC => 30, $NC1) ], countries => [ 'JP' ],
	    asns => [ 64501, 64505 ], threshold_countries => 2,
	    threshold_asns => 2 } } ],
      open => { carol => [ rec($T0, JP => 30, $JP1),
	rec($T0 + 10, NC => 30, $NC1) ] } },
    { name => 'IMAP in JP, SMTP AUTH from GB meanwhile',
      log => [ login($T0, 'dave', ip(JP => 40), $JP1),
	       smtp($T0 + 20, $T0 + 30, 4242, 'dave', ip(GB => 40),
		   '8C03FA72A66') ],
      alerts => [ { severity => 'high', account => "dave\@$D",
	ip => ip(GB => 40), time => $T0 + 20, first => $T0,
	last => $T0 + 20, count => 1,
	summary => '2 sessions open at the same time from 2 countries ' .
	    '(GB, JP)',
	evidence => { sessions => [ ev($T0, JP => 40, $JP1),
	    ev($T0 + 20, GB => 40, '4242', 'submission') ],
	    countries => [ 'GB', 'JP' ], asns => [ 64501, 64503 ],
	    threshold_countries => 2, threshold_asns => 2 } } ],
      open => { dave => [ rec($T0, JP => 40, $JP1) ] } },
    { name => 'an end never logged: dropped past max_age',
      log => [ login($T0, 'erin', ip(JP => 50), $JP1),
	       login($T0 + 86401, 'erin', ip(US => 50), $US1) ],
      alerts => [], open => { erin => [ rec($T0 + 86401, US => 50, $US1) ] } },
    { name => 'an end never logged: kept within a longer max_age',
      extra => "sessions = { max_age = 172800; };\n",
      log => [ login($T0, 'erin', ip(JP => 50), $JP1),
	       login($T0 + 86401, 'erin', ip(US => 50), $US1) ],
      alerts => [ { severity => 'high', account => "erin\@$D",
	ip => ip(US => 50), time => $T0 + 86401, first => $T0,
	last => $T0 + 86401, count => 1,
	summary => '2 sessions open at the same time from 2 countries ' .
	    '(JP, US)',
	evidence => { sessions => [ ev($T0, JP => 50, $JP1),
	    ev($T0 + 86401, US => 50, $US1) ], countries => [ 'JP', 'US' ],
	    asns => [ 64501, 64502 ], threshold_countries => 2,
	    threshold_asns => 2 } } ],
      open => { erin => [ rec($T0, JP => 50, $JP1),
	rec($T0 + 86401, US => 50, $US1) ] } },
    { name => 'detector off: sessions kept, no alert',
      extra => "detect = { concurrent_sessions = { enabled = 0; }; };\n",
      log => [ login($T0, 'frank', ip(JP => 60), $JP1),
	       login($T0 + 60, 'frank', ip(US => 60), $US1) ],
      alerts => [], open => { frank => [ rec($T0, JP => 60, $JP1),
	rec($T0 + 60, US => 60, $US1) ] } },
);
# two servers: mx2's file, replayed after mx's, holds an SMTP session
# that started while an IMAP session on mx was open, though that one has
# ended by the time mx2's file is read; and the two files merged in time
# order, as `fumidai run` following both would apply them
my @mx = (login($T0, 'gina', ip(JP => 70), $JP1),
    logout($T0 + 1800, 'gina', $JP1));
my @mx2 = map { s/ mx / mx2 /r } smtp($T0 + 600, $T0 + 660, 777, 'gina',
    ip(GB => 70), '9D14FA72A66');
my $gina = { severity => 'high', account => "gina\@$D",
    ip => ip(GB => 70), time => $T0 + 600, first => $T0,
    last => $T0 + 600, count => 1,
    summary => '2 sessions open at the same time from 2 countries ' .
	'(GB, JP)',
    evidence => { sessions => [ ev($T0, JP => 70, $JP1),
	{ %{ev($T0 + 600, GB => 70, '777', 'submission')}, host => 'mx2' } ],
	countries => [ 'GB', 'JP' ], asns => [ 64501, 64503 ],
	threshold_countries => 2, threshold_asns => 2 } };
push @scenarios, { name => 'two servers, merged in time order',
    log => [ $mx[0], @mx2[0, 1, 2], $mx[1] ], alerts => [ $gina ],
    open => { gina => [] } };
push @scenarios, { name => 'two servers, the second file read after',
    files => [ \@mx, \@mx2 ], same_as => $#scenarios,
    alerts => [ { %$gina, evidence => { %{$gina->{evidence}},
	sessions => [ { %{$gina->{evidence}{sessions}[0]},
	end => stored($T0 + 1800), te => $T0 + 1800 },
	$gina->{evidence}{sessions}[1] ] } } ],
    open => { gina => [] } };
# the first scenario again, one line per batch: the same alert, same id
push @scenarios, { %{$scenarios[0]}, name => 'overlap, one batch per line',
    extra => "batch_lines = 1;\n", same_as => 0 };

my $n = 0;
my @ids;
for my $s (@scenarios) {
	my $prefix = 's' . ++$n . ':';
	my $conf = write_config("$dir/$n.conf", state_dir => "$dir/state$n",
	    redis => $redis->sock, prefix => $prefix,
	    extra => "geoip = { city = \"$dir/geo/city-maxmind.mmdb\"; " .
	    "asn = \"$dir/geo/asn.mmdb\"; };\n" . ($s->{extra} // ''));
	my @files;
	for my $f ($s->{files} ? @{$s->{files}} : $s->{log}) {
		push @files, "$dir/$n." . scalar(@files) . '.log';
		write_file($files[-1], join("\n", @$f) . "\n");
	}
	my ($rst, undef, $rerr) = run_cmd([ fumidai(), 'replay',
	    '--no-progress', '-c', $conf, @files ]);
	is($rst, 0, "$s->{name}: replay exits 0") or diag $rerr;
	unlike($rerr, qr/warning|error/, "$s->{name}: no warning")
	    or diag $rerr;
	my @got = alerts($conf);
	is_deeply(\@got, $s->{alerts}, "$s->{name}: the concurrent_sessions " .
	    'alerts') or diag explain \@got;
	$ids[$n - 1] = [ map { $_->{id} } alerts($conf, 1) ];
	is_deeply($ids[$n - 1], $ids[$s->{same_as}],
	    "$s->{name}: the same alert ids as '$scenarios[$s->{same_as}]{name}'")
	    if defined $s->{same_as};
	for my $user (sort keys %{$s->{open}}) {
		my $want = $s->{open}{$user};
		my ($sst, $sout, $serr) = run_cmd([ fumidai(), 'sessions', '-c',
		    $conf, '--json', "$user\@$D" ]);
		is($sst, @$want ? 0 : 1, "$s->{name}: fumidai sessions $user " .
		    'exit status') or diag $serr;
		my $j = eval { decode_json($sout) } // {};
		is_deeply($j, { account => "$user\@$D", sessions => $want },
		    "$s->{name}: $user\'s open sessions") or diag $sout;
		list_ok($conf, $s, $user, $want);
	}
}
done_testing;

# alerts - the concurrent_sessions alerts of conf, without ids (with $ids:
# only the ids), times as Unix seconds
sub alerts {
	my ($conf, $ids) = @_;
	my ($ast, $aout, $aerr) = run_cmd([ fumidai(), 'alerts', '-c', $conf,
	    '--json' ]);
	die "fumidai alerts: $aerr" if $ast > 1;
	my @a;
	for my $l (split /\n/, $aout) {
		my $r = decode_json($l);
		next unless $r->{kind} eq 'concurrent_sessions';
		if ($ids) {
			push @a, $r;
			next;
		}
		push @a, { severity => $r->{severity},
		    account => $r->{account}, ip => $r->{ip},
		    time => epoch($r->{time}), first => epoch($r->{first}),
		    last => epoch($r->{last}), count => $r->{count},
		    summary => $r->{summary}, evidence => $r->{evidence} };
	}
	return @a;
}

sub epoch {
	my ($y, $mo, $d, $h, $mi, $s) = $_[0] =~
	    /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)Z$/ or return $_[0];
	require Time::Local;
	return Time::Local::timegm($s, $mi, $h, $d, $mo - 1, $y);
}

# list_ok - `fumidai sessions --json` without an account lists user with
# its sessions and countries when it holds any, else not at all
sub list_ok {
	my ($conf, $s, $user, $want) = @_;
	my ($lst, $lout, $lerr) = run_cmd([ fumidai(), 'sessions', '-c', $conf,
	    '--json' ]);
	is($lst, 0, "$s->{name}: fumidai sessions (all) exits 0") or diag $lerr;
	my $j = eval { decode_json($lout) } // {};
	my %cc;
	my @cc = grep { $_ ne '' && !$cc{$_}++ } map { $_->{cc} } @$want;
	my $exp = !@$want ? [] : [ { account => "$user\@$D",
	    hex => unpack('H*', "$user\@$D"), sessions => scalar @$want,
	    last_start => $want->[-1]{start}, countries => join(',', @cc) } ];
	is_deeply($j, { accounts => $exp, truncated => JSON::PP::false },
	    "$s->{name}: fumidai sessions lists the accounts with open " .
	    'sessions') or diag $lout;
}
