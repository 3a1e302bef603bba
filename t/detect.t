#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# detect.t - the detectors on real logs.  Real Postfix and Dovecot on
# loopback (t/lib/MailStack.pm) serve ordinary users and a set of attacks,
# each from its own 127.x addresses, which a test GeoIP database (written
# here with Debian's libmaxmind-db-writer-perl) places in countries:
#
#   127.0.1.0/24  JP Tokyo     35.68, 139.69  ~20 km    AS64500  the users' home
#   127.0.2.0/24  US New York  40.71, -74.00  ~20 km    AS64501
#   127.0.3.0/24  KR Seoul     37.57, 126.98  ~1000 km  AS64502
#   127.0.4.0/24  NL Amsterdam 52.37,   4.90  ~50 km    AS64503
#   127.0.5.0/24  BR Sao Paulo -23.55, -46.63 ~50 km    AS64504
#   127.0.6.0/24, 127.0.7.0/24, 127.0.8.0/24: not in the databases
#
# What happens (thresholds of the test's config: 8 for every count):
#   - alice, bob, carol, dave log in (IMAP, POP3, SMTP AUTH) and send a few
#     messages from home, alice once with a typo, later from another home
#     address too: no alert;
#   - tom logs in 4 times from home, then from New York a second later:
#     new_country, new_asn, impossible_travel (~10,850 km);
#   - frank: 10 failures from 127.0.8.1: brute_force;
#   - gina: one failure from each of 127.0.5.1 .. 127.0.5.10: distributed;
#   - erin: 10 failures from 127.0.4.1, then the right password from there
#     (most often in the same second of the log): brute_force (known_ip
#     false: the address logged in only after) and success_after_failures
#     (her first login: nothing learned, no geography alert);
#   - 127.0.6.1 fails once for each of s01 .. s10 (they exist): spray; then
#     logs in as s07: success_from_sprayer;
#   - 127.0.7.1 fails once for each of ghost01 .. ghost10 (they do not
#     exist): spray and unknown_users;
#   - kate, learned at home, logs in from Seoul (1,150 km from Tokyo, but
#     within the ~1000 km accuracy: no impossible_travel), then sends 150
#     messages in two SMTP sessions: new_country, new_asn and one critical
#     send_volume that names the new-place login.
# Failed logins run in parallel: Dovecot delays each failure by 0.5 s.
#
# The servers' log must show what was done (`fumidai parse`); `fumidai run`
# following it live must raise exactly the expected alerts (`fumidai alerts
# --json`), and `fumidai replay` of the same lines into a fresh Redis the
# same alerts with the same ids.
#
# Needs root, postfix, dovecot-core, dovecot-imapd, dovecot-pop3d,
# redis-server and libmaxmind-db-writer-perl (skipped otherwise).  Only
# loopback traffic; no timing is asserted.
use strict;
use warnings;
use Cwd qw(abs_path);
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(sleep time);
use Time::Local qw(timegm);
use FM qw(run_cmd tmpdir read_file write_file write_config have_prog spawn_fumidai stop_pid);
use MailStack;

my $bin = abs_path(FM::fumidai()) // '';
plan skip_all => 'fumidai binary not built' unless -x $bin;
my $why = MailStack->skip_reason;
plan skip_all => $why if defined $why;
plan skip_all => 'redis-server is not installed'
    unless have_prog('redis-server');
plan skip_all => 'MaxMind::DB::Writer is not installed ' .
    '(libmaxmind-db-writer-perl)'
    unless eval { require MaxMind::DB::Writer::Tree; 1 };

# the test databases place loopback addresses
$ENV{FUMIDAI_GEO_ALLOW_LOOPBACK} = 1;

my $THRESHOLD = 8;	# every count threshold of the config below
my $CEILING = 50;	# detect.send.messages
my $LEARN = 3;		# detect.geo.learn_logins
my $N = 10;		# failures (or addresses, accounts) of each attack
my $D = 'fumidai.test';
my %pw;
my @normal = map { "$_\@$D" } qw(alice bob carol dave);
my ($TOM, $KATE, $FRANK, $ERIN, $GINA) = map { "$_\@$D" }
    qw(tom kate frank erin gina);
my @sprayed = map { sprintf "s%02d\@$D", $_ } 1 .. $N;
my @ghosts = map { sprintf "ghost%02d\@$D", $_ } 1 .. $N;
$pw{$_} = (split /\@/, $_)[0] . '-pw-' . length($_)
    for @normal, $TOM, $KATE, $FRANK, $ERIN, $GINA, @sprayed;

# the test GeoIP databases: network, country, its name, city, latitude,
# longitude, accuracy radius (km), AS number, AS organisation
my @PLACES = (
    [ '127.0.1.0/24', 'JP', 'Japan', 'Tokyo', 35.68, 139.69, 20,
      64500, 'Tokyo Test Net' ],
    [ '127.0.2.0/24', 'US', 'United States', 'New York', 40.71, -74.0,
      20, 64501, 'New York Test Net' ],
    [ '127.0.3.0/24', 'KR', 'South Korea', 'Seoul', 37.57, 126.98,
      1000, 64502, 'Seoul Test Net' ],
    [ '127.0.4.0/24', 'NL', 'Netherlands', 'Amsterdam', 52.37, 4.90,
      50, 64503, 'Amsterdam Test Net' ],
    [ '127.0.5.0/24', 'BR', 'Brazil', 'Sao Paulo', -23.55, -46.63, 50,
      64504, 'Sao Paulo Test Net' ],
);

my $tmp = tmpdir();
my $geo = write_geoip("$tmp/geo");
my $detect = <<"EOF";
geoip = { city = "$geo->{city}"; asn = "$geo->{asn}"; };
detect = {
  brute_force = { threshold = $THRESHOLD; };
  distributed = { ips = $THRESHOLD; };
  success = { failures = $THRESHOLD; };
  spray = { accounts = $THRESHOLD; };
  unknown_users = { users = $THRESHOLD; };
  geo = { learn_logins = $LEARN; };
  send = { messages = $CEILING; min_messages = 100000; };
};
EOF

my $ms = MailStack->new(users => [ map { [ $_, $pw{$_} ] } sort keys %pw ]);
my $live = $ms->log_path;
my $redis = FM::start_redis($tmp);
my $conf = write_config("$tmp/fumidai.conf", state_dir => "$tmp/state",
    redis => $redis->sock, instance => 'mx', inputs => [ $live ],
    extra => "flush_interval = 20;\npoll_interval = 100;\n$detect");
my ($cst, $cout, $cerr) = run_cmd([ $bin, 'check-config', '-c', $conf ]);
is($cst, 0, 'fumidai check-config accepts the geoip and detect settings')
    or diag $cerr . $cout;
my $fpid = start_fumidai();
END { if ($fpid) { kill 'KILL', $fpid; waitpid $fpid, 0 } }

$ms->start;
caught_up('the servers\' start-up lines');

# what the scenario did: every login attempt and every message
my (@att, @msg);
my $t0 = time;
scenario();
my $t1 = time;
ok(1, sprintf 'the scenario ran (%.1f s)', $t1 - $t0);

caught_up('the scenario');
is(stop_fumidai(), 0, 'fumidai run: SIGTERM, exit 0');
my @warn = grep { /^fumidai: (?:warning|fatal|error)/ }
    split /\n/, read_file("$tmp/fumidai.err") // '';
is(scalar @warn, 0, 'fumidai run: no warning') or diag join "\n", @warn;
my $read = "$tmp/read.log";
save_read_part($read);
$ms->stop;
undef $ms;

check_raw($read);
check_log($read);
my $alerts = check_alerts($conf, 'fumidai run');
is($redis->cli('XLEN', 'fm:{g}:alerts'), (my @n = expected()) . "\n",
    'the alert stream has one entry per alert');
check_geo($redis);
check_replay($alerts);
done_testing;

# ---- the scenario ------------------------------------------------------------

# try - one login attempt (imap, pop3, submission: AUTH then QUIT) or, for
# "send", AUTH and one message to $rcpts; records what the log must show
# and returns the code that does it (true when the server said what the
# password deserves)
sub try {
	my ($svc, $ip, $user, $pass, @rcpts) = @_;
	my $good = defined $pw{$user} && $pass eq $pw{$user};
	push @att, { account => $user, ip => $ip, ok => $good,
	    service => $svc eq 'send' ? 'submission' : $svc };
	if ($svc eq 'send') {
		die "a message needs the right password\n" unless $good;
		@rcpts = ('news@discard.test') unless @rcpts;
		push @msg, { account => $user, ip => $ip, n => 1,
		    rcpts => scalar @rcpts };
		return sub { $ms->smtp_auth_send($ip, $user, $pass, $user,
		    \@rcpts, 'hello')->{sent} };
	}
	return sub { !$ms->imap_login($ip, $user, $pass) == !$good }
	    if $svc eq 'imap';
	return sub { !$ms->pop3_login($ip, $user, $pass) == !$good }
	    if $svc eq 'pop3';
	return sub { my $r = $ms->smtp_auth_fail($ip, $user, $pass);
	    ($r->{auth} // 0) == ($good ? 235 : 535) };
}

# seq, par - run attempts one after the other, or all at once; then let
# the log settle
sub seq {
	my ($what, @code) = @_;
	my $bad = grep { !$_->() } @code;
	is($bad, 0, "$what: every server answer as expected");
	$ms->wait_log_quiet;
}

sub par {
	my ($what, @code) = @_;
	par_now($what, @code);
	$ms->wait_log_quiet;
}

# par_now - par without waiting for the log to settle afterwards
sub par_now {
	my ($what, @code) = @_;
	is($ms->parallel(@code), 0, "$what: every server answer as expected " .
	    '(' . scalar(@code) . ' clients at once)');
}

# next_second - sleep until just after the wall clock's next whole second
sub next_second { sleep 1.02 - (time - int time) }

sub home { "127.0.1.$_[0]" }

sub scenario {
	my ($alice, $bob, $carol, $dave) = @normal;
	seq('ordinary users at home, learning',
	    try(imap => home(10), $alice, $pw{$alice}),
	    try(send => home(10), $alice, $pw{$alice}, $bob, $carol),
	    try(pop3 => home(11), $bob, $pw{$bob}),
	    try(send => home(11), $bob, $pw{$bob}, 'friend@example.net'),
	    try(imap => home(12), $carol, $pw{$carol}),
	    try(imap => home(13), $dave, $pw{$dave}),
	    try(pop3 => home(13), $dave, $pw{$dave}),
	    try(imap => home(10), $alice, 'alice-typo'),
	    try(imap => home(10), $alice, $pw{$alice}),
	    try(send => home(12), $carol, $pw{$carol}, $dave),
	    try(imap => home(20), $TOM, $pw{$TOM}),
	    try(pop3 => home(20), $TOM, $pw{$TOM}),
	    try(imap => home(30), $KATE, $pw{$KATE}),
	    try(send => home(30), $KATE, $pw{$KATE}, $alice),
	    try(imap => home(12), $carol, $pw{$carol}),
	    try(imap => home(20), $TOM, $pw{$TOM}),
	    try(send => home(20), $TOM, $pw{$TOM}, $bob),
	    try(pop3 => home(30), $KATE, $pw{$KATE}),
	    try(send => home(30), $KATE, $pw{$KATE}, 'mum@example.net'),
	    try(send => home(13), $dave, $pw{$dave}, $alice),
	    try(pop3 => home(12), $carol, $pw{$carol}));

	# tom in New York a second after his last login in Tokyo
	sleep 1.1;
	seq('tom from New York', try(imap => '127.0.2.20', $TOM, $pw{$TOM}));

	my @svc = qw(imap pop3 submission);
	par('brute force on frank from 127.0.8.1', map {
	    try($svc[$_ % 3] => '127.0.8.1', $FRANK, "frank$_") } 1 .. $N);
	par('distributed attack on gina from 127.0.5.1-10', map {
	    try($svc[$_ % 3] => "127.0.5.$_", $GINA, 'gina2024') } 1 .. $N);
	# erin's failures (0.5 s each, at once) and her success, all at the
	# start of a second: most often they share the log's timestamp, and
	# the success must still not make the failures' address "known"
	next_second();
	par_now('brute force on erin from 127.0.4.1', map {
	    try($svc[$_ % 3] => '127.0.4.1', $ERIN, "erin$_") } 1 .. $N);
	seq('erin: the right password from 127.0.4.1 right after',
	    try(imap => '127.0.4.1', $ERIN, $pw{$ERIN}));
	par('spray from 127.0.6.1 over s01..s10', map {
	    try($svc[$_ % 3] => '127.0.6.1', $sprayed[$_], 'Spring2024!') }
	    0 .. $#sprayed);
	seq('127.0.6.1 logs in as s07',
	    try(imap => '127.0.6.1', $sprayed[6], $pw{$sprayed[6]}));
	par('spray from 127.0.7.1 over unknown ghost01..ghost10', map {
	    try($svc[$_ % 3] => '127.0.7.1', $ghosts[$_], 'Spring2024!') }
	    0 .. $#ghosts);

	# kate's password is stolen: a login from Seoul, then bulk mail
	seq('kate from Seoul', try(imap => '127.0.3.30', $KATE, $pw{$KATE}));
	for my $n (1 .. 2) {
		my @rc = ('a@discard.test', 'b@discard.test');
		my $r = $ms->smtp_bulk_send('127.0.3.30', $KATE, $pw{$KATE},
		    $KATE, 75, rcpts => \@rc);
		is($r->{sent}, 75, "kate from Seoul: bulk session $n sent 75 " .
		    'messages');
		# one login per SMTP session, however many messages
		push @att, { account => $KATE, ip => '127.0.3.30', ok => 1,
		    service => 'submission' };
		push @msg, map { { account => $KATE, ip => '127.0.3.30',
		    n => 1, rcpts => 2 } } 1 .. $r->{sent};
	}
	$ms->wait_log_quiet;

	seq('ordinary users at home again, learned',
	    try(imap => home(10), $alice, $pw{$alice}),
	    try(imap => home(14), $alice, $pw{$alice}),
	    try(send => home(14), $alice, $pw{$alice}, 'x@example.net'),
	    try(pop3 => home(11), $bob, $pw{$bob}),
	    try(imap => home(12), $carol, $pw{$carol}),
	    try(send => home(13), $dave, $pw{$dave}, $carol));
	ok($ms->wait_queue_empty(60), 'the queue drained');
	$ms->wait_log_quiet;
}

# ---- the log -------------------------------------------------------------

# check_raw - the servers' own words, read without fumidai: one Dovecot
# auth line per failed attempt ("Password mismatch" for an account that
# exists, "unknown user" for one that does not), one Login line per IMAP
# and POP3 login, one client= line with sasl_username per message
sub check_raw {
	my ($log) = @_;
	my (%want, %got);
	for my $a (@att) {
		my $k = "$a->{account} $a->{ip}";
		if (!$a->{ok}) {
			$want{"$k " . ($pw{$a->{account}} ? 'Password mismatch' :
			    'unknown user')}++;
		} elsif ($a->{service} ne 'submission') {
			$want{"$k $a->{service} Login"}++;
		}
	}
	$want{"$_->{account} $_->{ip} client="}++ for @msg;
	my $auth = qr{ auth:\ Info:\ passwd-file\(([^,]+),([\d.]+)
	    (?:,<[^>]+>)?\):\ (Password\ mismatch|unknown\ user)$}x;
	my $login = qr{ (imap|pop3)-login:\ Info:\ Login:\ user=<([^>]+)>,
	    \ method=\w+,\ rip=([\d.]+),\ }x;
	my $client = qr{ postfix/submission/smtpd\[\d+\]:\ \w+:
	    \ client=unknown\[([\d.]+)\],\ sasl_method=PLAIN,
	    \ sasl_username=(\S+)$}x;
	for (split /\n/, read_file($log)) {
		if (/$auth/) {
			$got{"$1 $2 $3"}++;
		} elsif (/$login/) {
			$got{"$2 $3 $1 Login"}++;
		} elsif (/$client/) {
			$got{"$2 $1 client="}++;
		}
	}
	is_deeply(\%got, \%want, 'the raw log: one Dovecot auth failure line ' .
	    'per failed attempt, one Login line per IMAP/POP3 login, one ' .
	    'client= line per message, each with the right account and ' .
	    'address') or diag explain { got => \%got, want => \%want };
}

# check_log - `fumidai parse` of the log: per account and address, the
# logins ok and failed and the messages the scenario made
sub check_log {
	my ($log) = @_;
	my ($st, $out, $err) = run_cmd([ $bin, 'parse', $log ]);
	is($st, 0, 'fumidai parse exits 0') or diag $err;
	like($err, qr/\bunrecognized=0\b/, 'no unrecognized line') or diag $err;
	my (%want, %got);
	for my $a (@att) {
		$want{"$a->{account} $a->{ip} $a->{service} " .
		    ($a->{ok} ? 'ok' : 'fail')}++;
	}
	for my $m (@msg) {
		$want{"$m->{account} $m->{ip} messages"}++;
		$want{"$m->{account} $m->{ip} rcpts"} += $m->{rcpts};
	}
	for my $e (map { decode_json($_) } split /\n/, $out) {
		my $k = $e->{kind};
		my $who = ($e->{account} // '(none)') . ' ' . ($e->{ip} // '-');
		if ($k eq 'login_ok') {
			$got{"$who $e->{service} ok"}++;
		} elsif ($k eq 'login_fail') {
			$got{"$who $e->{service} fail"} += $e->{attempts} // 1;
		} elsif ($k eq 'msg_queued' && defined $e->{account}) {
			$got{"$who messages"}++;
			$got{"$who rcpts"} += $e->{nrcpt};
		}
	}
	is_deeply(\%got, \%want, 'the log: logins ok and failed by account, ' .
	    'address and service; messages and recipients by account and ' .
	    'address (' . scalar(@att) . ' attempts, ' . scalar(@msg) .
	    ' messages)') or diag explain { got => \%got, want => \%want };
}

# ---- the alerts ------------------------------------------------------------

# expected - the alerts the scenario must raise: kind, account, ip,
# severity and a check of the evidence each
sub expected {
	my $n_kate = grep { $_->{account} eq $KATE } @msg;
	my $r_kate = 0;
	$r_kate += $_->{rcpts} for grep { $_->{account} eq $KATE } @msg;
	my $tom_jp = grep { $_->{account} eq $TOM && $_->{ok} &&
	    $_->{ip} =~ /^127\.0\.1\./ } @att;
	my $kate_jp = grep { $_->{account} eq $KATE && $_->{ok} &&
	    $_->{ip} =~ /^127\.0\.1\./ } @att;
	my $bf = sub {
		my ($n) = @_;
		return sub {
			my ($e) = @_;
			ev_is($e, { window => 600, failures => $n,
			    threshold => $THRESHOLD, known_ip => JSON::PP::false });
			ok($e->{min_interval} >= 0, 'min_interval >= 0 (' .
			    ($e->{min_interval} // 'undef') . ')');
		};
	};
	return (
	    [ brute_force => $FRANK, '127.0.8.1', medium => $bf->($N) ],
	    [ distributed => $GINA, '', high => sub {
		ev_is($_[0], { window => 3600, ips => $N, failures => $N,
		    threshold => $THRESHOLD }) } ],
	    [ brute_force => $ERIN, '127.0.4.1', medium => $bf->($N) ],
	    [ success_after_failures => $ERIN, '127.0.4.1', critical => sub {
		ev_is($_[0], { window => 3600, failures => $N, ips => 1,
		    threshold => $THRESHOLD, service => 'imap' }) } ],
	    [ spray => '', '127.0.6.1', high => sub {
		ev_is($_[0], { window => 600, accounts => $N, failures => $N,
		    threshold => $THRESHOLD }) } ],
	    [ success_from_sprayer => $sprayed[6], '127.0.6.1', critical => sub {
		ev_is($_[0], { window => 600, accounts => $N,
		    threshold => $THRESHOLD, scope => 'ip',
		    service => 'imap' }) } ],
	    [ spray => '', '127.0.7.1', high => sub {
		ev_is($_[0], { window => 600, accounts => $N, failures => $N,
		    threshold => $THRESHOLD }) } ],
	    [ unknown_users => '', '127.0.7.1', medium => sub {
		ev_is($_[0], { window => 3600, users => $N,
		    threshold => $THRESHOLD }) } ],
	    [ new_country => $TOM, '127.0.2.20', medium => sub {
		ev_is($_[0], { country => 'US', country_name => 'United States',
		    city => 'New York', asn => 64501, known => [ 'JP' ] });
		logins_ok($_[0], $tom_jp) } ],
	    [ new_asn => $TOM, '127.0.2.20', low => sub {
		ev_is($_[0], { asn => 64501, org => 'New York Test Net',
		    country => 'US', known => [ 64500 ] });
		logins_ok($_[0], $tom_jp) } ],
	    [ impossible_travel => $TOM, '127.0.2.20', high => \&travel_ok ],
	    [ new_country => $KATE, '127.0.3.30', medium => sub {
		ev_is($_[0], { country => 'KR', country_name => 'South Korea',
		    city => 'Seoul', asn => 64502, known => [ 'JP' ] });
		logins_ok($_[0], $kate_jp) } ],
	    [ new_asn => $KATE, '127.0.3.30', low => sub {
		ev_is($_[0], { asn => 64502, org => 'Seoul Test Net',
		    country => 'KR', known => [ 64500 ] });
		logins_ok($_[0], $kate_jp) } ],
	    [ send_volume => $KATE, '', critical => sub {
		my ($e) = @_;
		ev_is($e, { window => 3600, messages => $n_kate,
		    recipients => $r_kate, reason => 'ceiling',
		    ceiling_messages => $CEILING, ceiling_recipients => 1000 });
		# kate's earlier hours: none, or this hour's start (two messages)
		ok(defined $e->{baseline_messages} && $e->{baseline_messages} >= 0
		    && defined $e->{max_messages} && $e->{max_messages} >= 0 &&
		    $e->{max_messages} <= 2, 'evidence: baseline_messages ' .
		    "($e->{baseline_messages}), max_messages ($e->{max_messages})");
		my $al = $e->{after_login} // {};
		like($al->{kind} // '', qr/\Anew_(?:country|asn)\z/,
		    'after_login: kind (' . ($al->{kind} // 'none') . ')');
		is_deeply([ @$al{qw(ip country asn)} ],
		    [ '127.0.3.30', 'KR', 64502 ],
		    'after_login: the Seoul login') or diag explain $al;
		ok(iso($al->{time}), 'after_login: time') } ],
	);
}

# ev_is - evidence fields equal to these (numbers as numbers)
sub ev_is {
	my ($e, $want) = @_;
	my %got = map { $_ => $e->{$_} } keys %$want;
	is_deeply(\%got, $want, 'evidence: ' . join ' ', map {
	    "$_=" . (ref $want->{$_} eq 'ARRAY' ? '[' .
	    join(',', @{$want->{$_}}) . ']' : $want->{$_}) } sort keys %$want)
	    or diag explain $e;
}

# logins_ok - the logins learned before the new place: all from home
sub logins_ok {
	my ($e, $n) = @_;
	is($e->{logins}, $n, "evidence: logins $n (learned: at least $LEARN)");
}

# place_is - an impossible_travel end: the address, its country, city,
# coordinates (to 0.01 degree) and accuracy radius from @PLACES
sub place_is {
	my ($g, $ip, $what) = @_;
	my $p = place($ip);
	my $near = sub { defined $_[0] && abs($_[0] - $_[1]) < 0.01 };
	ok(($g->{ip} // '') eq $ip && ($g->{country} // '') eq $p->[1] &&
	    ($g->{city} // '') eq $p->[3] && $near->($g->{lat}, $p->[4]) &&
	    $near->($g->{lon}, $p->[5]) && ($g->{accuracy_km} // -1) == $p->[6],
	    "impossible_travel: $what ($ip $p->[1] $p->[3] $p->[4],$p->[5] " .
	    "~$p->[6] km)") or diag explain $g;
}

# epoch - seconds of an ISO 8601 UTC time (0 when it is not one)
sub epoch {
	my ($t) = @_;
	return 0 unless iso($t);
	my @f = $t =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)/;
	return timegm($f[5], $f[4], $f[3], $f[2], $f[1] - 1, $f[0]);
}

sub iso { defined $_[0] && $_[0] =~
    /\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\z/ }

# travel_ok - tom: Tokyo to New York, ~10,850 km great circle (less both
# accuracy radii), far too fast
sub travel_ok {
	my ($e) = @_;
	my ($f, $t) = ($e->{from} // {}, $e->{to} // {});
	place_is($f, '127.0.1.20', 'from Tokyo');
	place_is($t, '127.0.2.20', 'to New York');
	# the log's whole seconds: tom flew at least one second
	my $secs = epoch($t->{time}) - epoch($f->{time});
	ok($secs >= 1, "impossible_travel: times in order ($f->{time}, " .
	    "$t->{time})");
	my $d = $e->{distance_km} // 0;
	ok($d >= 10800 && $d <= 10900, "distance_km ~10,850 ($d)");
	ok(abs(($e->{hours} // -1) - $secs / 3600) < 0.001,
	    "hours: $secs s ($e->{hours})");
	# the speed counts the distance less both accuracy radii
	my $v = ($d - 40) * 3600 / ($secs || 1);
	ok(abs(($e->{speed_kmh} // 0) - $v) <= $v / 100 && $v > 900,
	    sprintf 'speed_kmh ~%.0f (%s)', $v, $e->{speed_kmh} // 'none');
	is($e->{max_speed_kmh}, 900, 'max_speed_kmh 900');
}

# check_alerts - `fumidai alerts --json`: exactly the expected alerts, each
# with its evidence; returns { "kind account ip" => record }
sub check_alerts {
	my ($conf, $who) = @_;
	my ($st, $out, $err) = run_cmd([ $bin, 'alerts', '--json', '-c', $conf ]);
	is($st, 0, "$who: fumidai alerts --json exits 0") or diag $err;
	my (%got, @bad);
	for my $l (split /\n/, $out) {
		my $r = eval { decode_json($l) };
		push(@bad, $l), next unless ref $r eq 'HASH';
		my $k = join ' ', map { $r->{$_} // '?' } qw(kind account ip);
		push @bad, "twice: $l" if $got{$k};
		$got{$k} = $r;
	}
	is(scalar @bad, 0, "$who: one JSON record per line, one per (kind, " .
	    'account, ip)') or diag join "\n", @bad;
	my @exp = expected();
	my %exp = map { join(' ', @$_[0 .. 2]) => $_ } @exp;
	is_deeply([ sort keys %got ], [ sort keys %exp ],
	    "$who: exactly the expected alerts (" . scalar(@exp) . ')')
	    or diag explain { got => [ sort keys %got ],
	    want => [ sort keys %exp ] };
	for my $k (sort keys %exp) {
		my $r = $got{$k} or next;
		my ($kind, $acct, $ip, $sev, $check) = @{$exp{$k}};
		note "$who: " . JSON::PP->new->canonical->encode($r);
		is($r->{severity}, $sev, "$k: severity $sev");
		like($r->{id} // '', qr/\A[0-9a-f]{16}\z/, "$k: id");
		is($r->{net}, '', "$k: net ''");
		ok(iso($r->{$_}), "$k: $_ is ISO 8601 UTC") for qw(time first
		    last until);
		ok($r->{first} le $r->{last} && $r->{time} le $r->{until},
		    "$k: first <= last, time <= until");
		ok(($r->{count} // 0) >= 1, "$k: count >= 1");
		ok(length($r->{summary} // '') > 0, "$k: summary");
		$check->($r->{evidence} // {});
	}
	my @normal_alerts = grep { my $a = $_->{account};
	    grep { $_ eq $a } @normal } values %got;
	is(scalar @normal_alerts, 0, "$who: no alert names an ordinary user");
	return \%got;
}

# place - the @PLACES entry of an address, or undef (unlocated)
sub place {
	my ($ip) = @_;
	my ($net) = $ip =~ /^(\d+\.\d+\.\d+)\.\d+$/ or return undef;
	my ($p) = grep { $_->[0] eq "$net.0/24" } @PLACES;
	return $p;
}

# check_geo - each account's login geography in Redis (the :geo hash):
# per country, AS and city the successful logins from there, first and
# last seen, the name; unlocated addresses leave nothing
sub check_geo {
	my ($r) = @_;
	my %want;
	for my $a (grep { $_->{ok} } @att) {
		my $p = place($a->{ip}) or next;
		my $w = $want{$a->{account}} //= {};
		$w->{"cc:$p->[1]"}{n}++;
		$w->{"cc:$p->[1]"}{name} = $p->[2];
		$w->{"asn:$p->[7]"}{n}++;
		$w->{"asn:$p->[7]"}{name} = $p->[8];
		$w->{"city:$p->[1]:$p->[3]"}{n}++;
		$w->{"city:$p->[1]:$p->[3]"}{name} = '';
	}
	for my $acct (sort keys %pw) {
		my $key = 'fm:{a:' . unpack('H*', $acct) . '}:geo';
		my %h = split /\n/, $r->cli('HGETALL', $key);
		my (%got, @bad);
		for my $f (keys %h) {
			my ($n, $first, $last, $name) = split /\|/, $h{$f}, 4;
			push @bad, "$f: $h{$f}" unless iso($first) && iso($last) &&
			    $first le $last;
			$got{$f} = { n => $n, name => $name };
		}
		is_deeply(\%got, $want{$acct} // {}, "$acct: login geography " .
		    '(' . join(' ', sort keys %{$want{$acct} // {}}) . ')')
		    or diag explain \%h;
		is(scalar @bad, 0, "$acct: geography first/last seen")
		    or diag join "\n", @bad;
	}
}

# check_replay - `fumidai replay` of the lines fumidai run read, into a
# fresh redis-server: the same alerts, the same ids
sub check_replay {
	my ($live) = @_;
	my $dir = "$tmp/replay";
	mkdir $dir or die "$dir: $!";
	my $r2 = FM::start_redis($dir);
	my $conf2 = write_config("$dir/fumidai.conf", state_dir =>
	    "$dir/state", redis => $r2->sock, extra => $detect);
	my ($st, $out, $err) = run_cmd([ $bin, 'replay', '--no-progress',
	    '-c', $conf2, $read ]);
	is($st, 0, 'fumidai replay of the same lines: exit 0') or diag $err;
	my $rep = check_alerts($conf2, 'fumidai replay');
	my @f = qw(id kind severity account ip net time first last until
	    evidence);
	for my $k (sort keys %$live) {
		my ($a, $b) = ($live->{$k}, $rep->{$k} // {});
		is_deeply({ map { $_ => $b->{$_} } @f },
		    { map { $_ => $a->{$_} } @f },
		    "$k: replay and live run agree (id $a->{id})")
		    or diag explain { run => $a, replay => $b };
		is($b->{count}, $a->{count}, "$k: the same count")
		    or diag 'count differs: run ' . $a->{count} .
		    ', replay ' . ($b->{count} // 'none');
	}
	$r2->stop;
}

# ---- GeoIP test databases --------------------------------------------------

# write_geoip - a GeoLite2-City and a GeoLite2-ASN layout database for the
# test ranges into $dir; returns { city => path, asn => path }
sub write_geoip {
	my ($dir) = @_;
	mkdir $dir or die "$dir: $!";
	my %types = (country => 'map', city => 'map', location => 'map',
	    names => 'map', iso_code => 'utf8_string', en => 'utf8_string',
	    latitude => 'double', longitude => 'double',
	    accuracy_radius => 'uint16',
	    autonomous_system_number => 'uint32',
	    autonomous_system_organization => 'utf8_string');
	my $tree = sub {
		MaxMind::DB::Writer::Tree->new(ip_version => 6,
		    record_size => 24, database_type => $_[0],
		    languages => [ 'en' ],
		    description => { en => "fumidai detect.t $_[0]" },
		    map_key_type_callback => sub { $types{$_[0]} },
		    remove_reserved_networks => 0, alias_ipv6_to_ipv4 => 0);
	};
	my ($city, $asn) = ($tree->('GeoLite2-City'), $tree->('GeoLite2-ASN'));
	for my $p (@PLACES) {
		my ($net, $cc, $cn, $ci, $lat, $lon, $acc, $as, $org) = @$p;
		$city->insert_network($net, {
		    country => { iso_code => $cc, names => { en => $cn } },
		    city => { names => { en => $ci } },
		    location => { latitude => $lat, longitude => $lon,
		        accuracy_radius => $acc } });
		$asn->insert_network($net, { autonomous_system_number => $as,
		    autonomous_system_organization => $org });
	}
	my %path = (city => "$dir/city.mmdb", asn => "$dir/asn.mmdb");
	for ([ $city, $path{city} ], [ $asn, $path{asn} ]) {
		open my $fh, '>:raw', $_->[1] or die "$_->[1]: $!";
		$_->[0]->write_tree($fh);
		close $fh or die "$_->[1]: $!";
	}
	return \%path;
}

# ---- fumidai run -------------------------------------------------------------

sub start_fumidai {
	return spawn_fumidai([ 'run', '-f', '-c', $conf ], "$tmp/fumidai.out",
	    "$tmp/fumidai.err");
}

# stop_fumidai - SIGTERM; its exit status (-1: it had to be killed)
sub stop_fumidai {
	my $st = stop_pid($fpid);
	undef $fpid;
	diag 'fumidai run did not exit on SIGTERM or died of a signal'
	    if $st == -1;
	return $st;
}

# checkpoint - (lines, offset) fumidai's checkpoint accounts for
sub checkpoint { FM::checkpoint("$tmp/state") }

# caught_up - wait until the checkpoint covers every line of the live log
sub caught_up {
	FM::wait_caught_up($_[0], "$tmp/state", sub { (read_file($live) // '') =~ tr/\n// },
	    \$fpid, "$tmp/fumidai.err");
}

# save_read_part - the part of the live log the final checkpoint covers
sub save_read_part {
	my ($path) = @_;
	my ($lines, $off) = checkpoint();
	my $data = substr(read_file($live) // '', 0, $off < 0 ? 0 : $off);
	write_file($path, $data);
	is($data =~ tr/\n//, $lines, "the final checkpoint: $lines lines");
}
