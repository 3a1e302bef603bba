#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# detect-windows.t - the detectors' edges on synthetic logs with chosen
# event times (doc/detection.md, default settings): window edges (one
# failure short of the threshold, the threshold, failures spread just
# wider than the window, the long window catching a slow attack), the
# cooldown (a second burst updates the open alert, a later one opens a new
# alert), the learning period of login geography (no new_country before
# the account is learned by logins or by days, one after), impossible
# travel that is not (near places, slow journeys), time going backwards
# (an older line later in a file, a second server's file replayed after
# the first), a stale password (steady failures from a known address).
#
# Each scenario is replayed alone into its own key prefix, and its alerts
# (`fumidai alerts --json`) must be exactly those expected.  Then the
# scenarios, each in its own stretch of days, are joined into one log:
# replayed with batch_lines = 1, with the default batching, split into two
# files, and followed live by `fumidai run -f`, it must give the same
# alerts every time, and the union of the scenarios' own alerts (ids are
# made of kind, subject and event time, so they must match too).
#
# The log text uses documentation addresses only (192.0.2.0/24,
# 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32); a test GeoIP database
# written here places them, and FUMIDAI_GEO_ALLOW_LOOPBACK=1 lets fumidai
# look them up.  Nothing is sent anywhere.  No timing is asserted: every
# wait is bounded polling.
use strict;
use warnings;
use JSON::PP;
use POSIX qw(strftime floor);
use Test::More;
use Time::HiRes qw(sleep time);
use Time::Local qw(timegm);
use lib "$ENV{FM_SRCDIR}/t/lib";
use FM qw(fumidai run_cmd tmpdir write_file read_file write_config have_prog);

plan skip_all => 'redis-server is not installed' unless have_prog('redis-server');
plan skip_all => 'MaxMind::DB::Writer is not installed (libmaxmind-db-writer-perl)'
    unless eval { require MaxMind::DB::Writer::Tree; 1 };

$ENV{FUMIDAI_GEO_ALLOW_LOOPBACK} = 1;
my $dir = tmpdir();
my $json = JSON::PP->new->canonical;

# ---- the test GeoIP databases ---------------------------------------------
# city: 203.0.113.0/24 Tokyo, 198.51.100.0/24 New York, 192.0.2.0/24
# Philadelphia (about 130 km from New York), 2001:db8:1::/48 Berlin.
my %PLACE = (
	tokyo => [ '203.0.113.0/24', 'JP', 'Japan', 'Tokyo', 35.68, 139.69, 50, 64501 ],
	nyc   => [ '198.51.100.0/24', 'US', 'United States', 'New York', 40.71, -74.00, 20, 64502 ],
	phl   => [ '192.0.2.0/24', 'US', 'United States', 'Philadelphia', 39.95, -75.17, 10, 64506 ],
	ber   => [ '2001:db8:1::/48', 'DE', 'Germany', 'Berlin', 52.52, 13.40, 100, 64504 ],
);
sub write_mmdb {
	my %types = (
		country => 'map', city => 'map', location => 'map', names => 'map',
		iso_code => 'utf8_string', en => 'utf8_string',
		latitude => 'double', longitude => 'double',
		accuracy_radius => 'uint16',
		autonomous_system_number => 'uint32',
		autonomous_system_organization => 'utf8_string',
	);
	my $tree = sub {
		MaxMind::DB::Writer::Tree->new(ip_version => 6, record_size => 24,
		    database_type => $_[0], languages => ['en'],
		    description => { en => "fumidai detect-windows $_[0]" },
		    map_key_type_callback => sub { $types{ $_[0] } },
		    remove_reserved_networks => 0, alias_ipv6_to_ipv4 => 0);
	};
	my $city = $tree->('GeoLite2-City');
	my $asn = $tree->('GeoLite2-ASN');
	for my $p (values %PLACE) {
		my ($net, $cc, $cn, $ci, $lat, $lon, $acc, $as) = @$p;
		$city->insert_network($net, {
		    country => { iso_code => $cc, names => { en => $cn } },
		    city => { names => { en => $ci } },
		    location => { latitude => $lat, longitude => $lon,
			accuracy_radius => $acc } });
		$asn->insert_network($net, { autonomous_system_number => $as,
		    autonomous_system_organization => "$ci Test Net" });
	}
	for ([ $city, 'city.mmdb' ], [ $asn, 'asn.mmdb' ]) {
		open(my $fh, '>:raw', "$dir/$_->[1]") or die "$_->[1]: $!";
		$_->[0]->write_tree($fh);
		close $fh or die;
	}
}
write_mmdb();

# ---- log lines --------------------------------------------------------------
my $seq = 0;
sub sess { sprintf('T%015d', ++$seq) }
# ts(epoch[, offset hours]) - an RFC 3339 syslog time stamp
sub ts {
	my ($t, $off) = @_;
	$off //= 0;
	my $l = $t + 3600 * $off;
	my $us = sprintf('%06d', floor(($t - floor($t)) * 1e6 + 0.5));
	return strftime('%Y-%m-%dT%H:%M:%S', gmtime(floor($l))) . ".$us" .
	    sprintf('%s%02d:00', $off < 0 ? '-' : '+', abs($off));
}
sub iso { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(floor($_[0]))) }
# usec(epoch) - the time as `fumidai parse` prints it
sub usec {
	my ($t) = @_;
	return strftime('%Y-%m-%dT%H:%M:%S', gmtime(floor($t))) .
	    sprintf('.%06dZ', floor(($t - floor($t)) * 1e6 + 0.5));
}

# Each maker returns [ time, [lines], { the event fumidai must see } ].
sub ok_imap {
	my ($t, $u, $ip, %o) = @_;
	my $s = sess();
	my $h = $o{host} // 'mx1';
	return [ $t, [ ts($t, $o{off}) . " $h dovecot: imap-login: Login: " .
	    "user=<$u>, method=PLAIN, rip=$ip, lip=192.0.2.1, mpid=$seq, TLS, " .
	    "session=<$s>" ], { kind => 'login_ok', account => $u, ip => $ip,
	    time => $t } ];
}
sub fail_imap {
	my ($t, $u, $ip, %o) = @_;
	my $s = sess();
	my $h = $o{host} // 'mx1';
	return [ $t, [ ts($t, $o{off}) . " $h dovecot: imap-login: Disconnected: " .
	    "Connection closed (auth failed, 1 attempts in 2 secs): user=<$u>, " .
	    "method=PLAIN, rip=$ip, lip=192.0.2.1, TLS, session=<$s>" ],
	    { kind => 'login_fail', account => $u, ip => $ip, time => $t } ];
}
# a Postfix submission session with one failed SASL attempt
sub fail_smtp {
	my ($t, $u, $ip, %o) = @_;
	my $pid = 20000 + ++$seq;
	my $h = $o{host} // 'mx1';
	my $p = "$h postfix/submission/smtpd[$pid]:";
	return [ $t, [ ts($t, $o{off}) . " $p connect from unknown[$ip]",
	    ts($t + 0.5, $o{off}) . " $p warning: unknown[$ip]: SASL LOGIN " .
	    "authentication failed: UGFzc3dvcmQ6, sasl_username=$u",
	    ts($t + 0.5, $o{off}) . " $p disconnect from unknown[$ip] ehlo=1 " .
	    "auth=0/1 quit=1 commands=2/3" ],
	    { kind => 'login_fail', account => $u, ip => $ip, time => $t + 0.5 } ];
}

my $T0 = timegm(0, 0, 0, 1, 2, 2026);	# 2026-03-01T00:00:00Z
my $DAY = 86400;
my $HOUR = 3600;

# ---- the scenarios ----------------------------------------------------------
# Each has its own accounts and its own 20 days (slot), so that joined
# into one log they do not touch each other's windows.  expect: the exact
# alerts; fields given are compared, evidence fields too (numbers and
# strings exactly, [lo, hi] for a range).
my @scen;
sub scenario { push @scen, { slot => scalar(@scen), @_ } }
sub at { $T0 + 20 * $DAY * scalar(@scen) + 10 * $HOUR + $_[0] }

# window edges
{
	my @l = map { fail_imap(at(60 * $_), 'bf9@x.test', '203.0.113.11') } 0 .. 8;
	scenario(name => 'threshold - 1 failures within the window', lines => \@l,
	    expect => []);
}
{
	my @l = map { fail_imap(at(60 * $_), 'bf10@x.test', '203.0.113.12') } 0 .. 9;
	scenario(name => 'threshold failures within the window', lines => \@l,
	    expect => [ { kind => 'brute_force', severity => 'medium',
	    account => 'bf10@x.test', ip => '203.0.113.12', net => '',
	    count => 1, time => iso(at(540)), first => iso(at(0)),
	    last => iso(at(540)), until => iso(at(540 + 3600)),
	    evidence => { window => 600, failures => 10, threshold => 10,
	    known_ip => JSON::PP::false, min_interval => 60 } } ]);
}
{
	# 10 failures within 599 s: inside; 10 within 601 s: no 600 s holds 10
	my @in = (at(0), map({ at(300 + $_) } 1 .. 8), at(599));
	my @out = (at(2000), map({ at(2300 + $_) } 1 .. 8), at(2601));
	my @l = ((map { fail_smtp($_ - 0.5, 'edge-in@x.test', '203.0.113.13') } @in),
	    (map { fail_smtp($_ - 0.5, 'edge-out@x.test', '203.0.113.14') } @out));
	scenario(name => 'failures 599 s apart vs 601 s apart', lines => \@l,
	    expect => [ { kind => 'brute_force', account => 'edge-in@x.test',
	    ip => '203.0.113.13', count => 1, first => iso(at(0)),
	    time => iso(at(599)), evidence => { window => 600, failures => 10,
	    threshold => 10, min_interval => 1 } } ]);
}
{
	# one failure every 25 minutes: 50 within 73500 s (long window), 49
	my @l = ((map { fail_imap(at(1500 * $_), 'slow50@x.test', '203.0.113.15') } 0 .. 49),
	    (map { fail_imap(at(1500 * $_ + 7), 'slow49@x.test', '203.0.113.16') } 0 .. 48));
	scenario(name => 'slow attack in the long window', lines => \@l,
	    expect => [ { kind => 'brute_force', account => 'slow50@x.test',
	    ip => '203.0.113.15', count => 1, first => iso(at(0)),
	    time => iso(at(1500 * 49)), evidence => { window => 86400,
	    failures => 50, threshold => 50, min_interval => 1500 } } ]);
}

# cooldown: bursts of 10 failures 10 s apart at 0, 1800 (inside the
# cooldown of the first: same alert, count 2), 7200 (after: a new one)
{
	my @l = map { my $b = $_; map { fail_imap(at($b + 10 * $_), 'cool@x.test',
	    '203.0.113.17') } 0 .. 9 } 0, 1800, 7200;
	scenario(name => 'cooldown', lines => \@l, expect => [
	    { kind => 'brute_force', account => 'cool@x.test', ip => '203.0.113.17',
	      count => 2, time => iso(at(90)), last => iso(at(1890)),
	      until => iso(at(1890 + 3600)), evidence => { failures => 10 } },
	    { kind => 'brute_force', account => 'cool@x.test', ip => '203.0.113.17',
	      count => 1, time => iso(at(7290)), first => iso(at(7200)),
	      last => iso(at(7290)), evidence => { failures => 10 } } ]);
}

# stale password: a known address failing once a minute is a mail client
# with an old password; the same address failing every 5 s is not
{
	my @l = (ok_imap(at(0), 'stale@x.test', '198.51.100.20'),
	    (map { fail_imap(at($HOUR + 60 * $_), 'stale@x.test', '198.51.100.20') } 0 .. 9),
	    ok_imap(at(1), 'fast@x.test', '198.51.100.21'),
	    (map { fail_imap(at($HOUR + 5 * $_ + 3), 'fast@x.test', '198.51.100.21') } 0 .. 9));
	scenario(name => 'stale password', lines => \@l, expect => [
	    { kind => 'stale_password', severity => 'low', account => 'stale@x.test',
	      ip => '198.51.100.20', count => 1, first => iso(at($HOUR)),
	      evidence => { failures => 10, threshold => 10, window => 600,
	      known_ip => JSON::PP::true, min_interval => 60 } },
	    { kind => 'brute_force', account => 'fast@x.test', ip => '198.51.100.21',
	      count => 1, evidence => { failures => 10, known_ip => JSON::PP::true,
	      min_interval => 5 } } ]);
}

# time going backwards inside one file: nine failures a minute apart,
# then one older line; within the window of the others it completes the
# ten, 20 minutes older it does not
{
	my @l = ((map { fail_imap(at(60 * $_), 'back-in@x.test', '203.0.113.18') } 1 .. 9),
	    fail_imap(at(30), 'back-in@x.test', '203.0.113.18', host => 'mx2'),
	    (map { fail_imap(at(60 * $_ + 1), 'back-out@x.test', '203.0.113.19') } 1 .. 9),
	    fail_imap(at(-1200), 'back-out@x.test', '203.0.113.19', host => 'mx2'));
	scenario(name => 'older line later in the file', lines => \@l, sorted => 0,
	    expect => [ { kind => 'brute_force', account => 'back-in@x.test',
	    ip => '203.0.113.18', count => 1, first => iso(at(30)),
	    last => iso(at(540)), evidence => { failures => 10 } } ]);
}

# geography: learned by logins (25 logins from New York, then Berlin)
{
	my @l = ((map { ok_imap(at(2 * $HOUR * $_), 'geo-logins@x.test',
	    '198.51.100.30') } 0 .. 24), ok_imap(at(60 * $HOUR), 'geo-logins@x.test',
	    '2001:db8:1::30'));
	my %w = (account => 'geo-logins@x.test', ip => '2001:db8:1::30',
	    count => 1, time => iso(at(60 * $HOUR)));
	scenario(name => 'new country after learn_logins', lines => \@l, expect => [
	    { kind => 'new_country', severity => 'medium', %w, evidence => {
	      country => 'DE', country_name => 'Germany', city => 'Berlin',
	      asn => 64504, known => [ 'US' ], logins => [ 25, 26 ] } },
	    { kind => 'new_asn', severity => 'low', %w, evidence => {
	      asn => 64504, country => 'DE', known => [ 64502 ],
	      logins => [ 25, 26 ] } } ]);
}
# not learned: the second login, a day later, from Tokyo; learned by days:
# three logins over 15 days; a country seen while learning is not new
{
	my @l = (ok_imap(at(0), 'geo-young@x.test', '198.51.100.40'),
	    ok_imap(at($DAY), 'geo-young@x.test', '203.0.113.40'),
	    ok_imap(at(5), 'geo-days@x.test', '198.51.100.41'),
	    ok_imap(at(7 * $DAY), 'geo-days@x.test', '198.51.100.41'),
	    ok_imap(at(15 * $DAY), 'geo-days@x.test', '203.0.113.41'),
	    ok_imap(at(0), 'geo-known@x.test', '198.51.100.42'),
	    ok_imap(at($DAY), 'geo-known@x.test', '203.0.113.42'),
	    (map { ok_imap(at(2 * $DAY + 2 * $HOUR * $_), 'geo-known@x.test',
	      '198.51.100.42') } 0 .. 23),
	    ok_imap(at(5 * $DAY), 'geo-known@x.test', '203.0.113.42'));
	my %w = (account => 'geo-days@x.test', ip => '203.0.113.41',
	    count => 1, time => iso(at(15 * $DAY)));
	scenario(name => 'learning period', lines => \@l, expect => [
	    { kind => 'new_country', %w, evidence => { country => 'JP',
	      city => 'Tokyo', known => [ 'US' ], asn => 64501 } },
	    { kind => 'new_asn', %w, evidence => { asn => 64501,
	      known => [ 64502 ] } } ]);
}
# impossible travel: New York then Tokyo an hour later; New York then
# Philadelphia ten minutes later (too close to count); New York then Tokyo
# 20 hours later (about 540 km/h)
{
	my @l = (ok_imap(at(0), 'trav-fast@x.test', '198.51.100.50'),
	    ok_imap(at($HOUR), 'trav-fast@x.test', '203.0.113.50'),
	    ok_imap(at(0), 'trav-near@x.test', '198.51.100.51'),
	    ok_imap(at(600), 'trav-near@x.test', '192.0.2.51'),
	    ok_imap(at(0), 'trav-slow@x.test', '198.51.100.52'),
	    ok_imap(at(20 * $HOUR), 'trav-slow@x.test', '203.0.113.52'));
	scenario(name => 'impossible travel', lines => \@l, expect => [
	    { kind => 'impossible_travel', severity => 'high',
	      account => 'trav-fast@x.test', ip => '203.0.113.50', count => 1,
	      time => iso(at($HOUR)), evidence => {
	      from => { ip => '198.51.100.50', country => 'US', city => 'New York',
		accuracy_km => 20, time => iso(at(0)) },
	      to => { ip => '203.0.113.50', country => 'JP', city => 'Tokyo',
		accuracy_km => 50, time => iso(at($HOUR)) },
	      distance_km => [ 10000, 11000 ], hours => [ 0.99, 1.01 ],
	      speed_kmh => [ 10000, 11000 ], max_speed_kmh => 900 } } ]);
}

# time going backwards across servers: mx1's file, then mx2's (its clock
# in +09:00) holding an older failure; replayed in that order
my @two = (
	[ (map { fail_imap(at(60 * $_), 'two-in@x.test', '203.0.113.60') } 1 .. 9),
	  (map { fail_imap(at(60 * $_ + 1), 'two-out@x.test', '203.0.113.61') } 1 .. 9) ],
	[ fail_imap(at(30), 'two-in@x.test', '203.0.113.60', host => 'mx2', off => 9),
	  fail_imap(at(-1200), 'two-out@x.test', '203.0.113.61', host => 'mx2', off => 9) ],
);
scenario(name => 'second server\'s older file', files => \@two, expect => [
    { kind => 'brute_force', account => 'two-in@x.test', ip => '203.0.113.60',
      count => 1, first => iso(at(30)), last => iso(at(540)),
      evidence => { failures => 10 } } ]);

# ---- helpers ----------------------------------------------------------------
sub text_of {
	my ($l, $sorted) = @_;
	my @l = @$l;
	@l = sort { $a->[0] <=> $b->[0] } @l if $sorted // 1;
	return join('', map { map { "$_\n" } @{$_->[1]} } @l);
}
sub files_of {
	my ($s) = @_;
	return $s->{files} ? @{$s->{files}} : ($s->{lines});
}

my $redis = FM::start_redis($dir);
my $nconf = 0;
sub conf {
	my (%o) = @_;
	my $c = "$dir/c" . ++$nconf . '.conf';
	my $extra = "geoip = { city = \"$dir/city.mmdb\"; asn = \"$dir/asn.mmdb\"; };\n";
	# the synthetic logins have no logout lines: their sessions would all
	# stay open (concurrent_sessions has its own t/sessions-replay.t)
	$extra .= "detect = { concurrent_sessions = { enabled = 0; }; };\n";
	$extra .= "batch_lines = $o{batch};\n" if $o{batch};
	$extra .= "flush_interval = 20;\npoll_interval = 100;\n" if $o{inputs};
	return write_config($c, state_dir => "$dir/state$nconf", redis => $redis->sock,
	    prefix => $o{prefix}, instance => 'mx', inputs => $o{inputs},
	    extra => $extra);
}
sub replay {
	my ($conf, @files) = @_;
	my ($st, $out, $err) = run_cmd([ fumidai(), 'replay', '--no-progress',
	    '-c', $conf, @files ]);
	return ($st, $err);
}
# alerts(conf) - { id => record } from `fumidai alerts --json`
sub alerts {
	my ($conf) = @_;
	my ($st, $out, $err) = run_cmd([ fumidai(), 'alerts', '--json', '-c', $conf ]);
	is($st, 0, 'fumidai alerts --json exits 0') or diag $err;
	my %a;
	for (split /\n/, $out) {
		my $r = eval { decode_json($_) };
		ok($r, 'an alert line is JSON') or diag($_), next;
		ok(!exists $a{$r->{id}}, "alert $r->{id} listed once");
		$r->{_canon} = $json->encode($r);	# before any use of its values
		$a{$r->{id}} = $r;
	}
	return \%a;
}
sub brief {
	my ($r) = @_;
	return "$r->{kind} account=$r->{account} ip=$r->{ip} count=$r->{count} " .
	    "time=$r->{time} first=$r->{first} last=$r->{last} evidence=" .
	    $json->encode($r->{evidence} // {});
}
# matches(got, want) - '' when every field of want holds in got, else why
sub matches {
	my ($g, $w, $path) = @_;
	$path //= '';
	if (ref $w eq 'HASH') {
		return "$path: not an object" unless ref $g eq 'HASH';
		for my $k (sort keys %$w) {
			my $m = matches($g->{$k}, $w->{$k}, "$path.$k");
			return $m if $m ne '';
		}
		return '';
	}
	if (ref $w eq 'ARRAY' && $path =~ /\.(known|countries)$/) {
		return "$path: " . $json->encode($g) . ' != ' . $json->encode($w)
		    unless ref $g eq 'ARRAY' && join(',', sort map { "$_" } @$g) eq
		    join(',', sort map { "$_" } @$w);
		return '';
	}
	if (ref $w eq 'ARRAY') {
		return "$path: " . ($g // 'missing') . " not in [$w->[0], $w->[1]]"
		    unless defined $g && !ref $g && $g =~ /^-?[\d.eE+-]+$/ &&
		    $g >= $w->[0] && $g <= $w->[1];
		return '';
	}
	if (JSON::PP::is_bool($w)) {
		return "$path: " . ($g // 'missing') . " is not " . ($w ? 'true' : 'false')
		    unless JSON::PP::is_bool($g) && !!$g == !!$w;
		return '';
	}
	return "$path: " . ($g // 'missing') . " ne $w"
	    unless defined $g && !ref $g && "$g" eq "$w";
	return '';
}

# ---- 1: the lines parse into the events intended ---------------------------
for my $s (@scen) {
	my @want = sort { $a->{time} <=> $b->{time} || $a->{account} cmp $b->{account} }
	    map { $_->[2] } map { @$_ } files_of($s);
	my @got;
	for my $f (files_of($s)) {
		my $p = "$dir/parse.log";
		write_file($p, text_of($f, $s->{sorted}));
		my ($st, $out, $err) = run_cmd([ fumidai(), 'parse', $p ]);
		is($st, 0, "$s->{name}: fumidai parse exits 0") or diag $err;
		like($err, qr/\bunrecognized=0\b.*\bmalformed=0\b/,
		    "$s->{name}: every line understood") or diag $err;
		push @got, grep { $_->{kind} =~ /^login_/ } map { decode_json($_) }
		    split /\n/, $out;
	}
	my @gs = sort map { "$_->{kind} $_->{account} $_->{ip} $_->{time}" .
	    (($_->{attempts} // 1) == 1 ? '' : " x$_->{attempts}") } @got;
	my @ws = sort map { "$_->{kind} $_->{account} $_->{ip} " . usec($_->{time}) } @want;
	is_deeply(\@gs, \@ws, "$s->{name}: the log holds the logins intended")
	    or diag explain [ \@gs, \@ws ];
}

# ---- 2: each scenario alone -------------------------------------------------
my %union;
for my $s (@scen) {
	my $pfx = "s$s->{slot}:";
	my $conf = conf(prefix => $pfx);
	my @paths;
	my $i = 0;
	for my $f (files_of($s)) {
		my $p = "$dir/s$s->{slot}-" . ++$i . '.log';
		write_file($p, text_of($f, $s->{sorted}));
		push @paths, $p;
	}
	my ($st, $err) = replay($conf, @paths);
	is($st, 0, "$s->{name}: replay exits 0") or diag $err;
	unlike($err, qr/fatal|error|assert/i, "$s->{name}: nothing went wrong") or diag $err;
	my $got = alerts($conf);
	my @left = sort { $a->{time} cmp $b->{time} || $a->{kind} cmp $b->{kind} }
	    values %$got;
	for my $w (@{$s->{expect}}) {
		my ($hit, $why, $near);
		for my $i (0 .. $#left) {
			my $m = matches($left[$i], $w);
			if ($m ne '') {
				($near, $why) = ($i, $m) if !defined $near &&
				    $left[$i]{kind} eq $w->{kind} &&
				    $left[$i]{account} eq $w->{account};
				next;
			}
			$hit = splice(@left, $i, 1);
			last;
		}
		ok($hit, "$s->{name}: $w->{kind} $w->{account} $w->{ip}")
		    or diag($why // 'no such alert');
		# a near miss is reported above, not again as an extra alert
		splice(@left, $near, 1) if !$hit && defined $near;
		next unless $hit;
		like($hit->{id}, qr/^[0-9a-f]{16}$/, "$s->{name}: id is 16 hex digits");
	}
	is(scalar @left, 0, "$s->{name}: no other alert")
	    or diag(join("\n", map { brief($_) } @left));
	%union = (%union, %$got);
}

# ---- 3: all scenarios in one log, batched differently ---------------------
# one log, scenario after scenario (their slots are in time order), each
# as it was replayed alone: its deliberate disorder (sorted => 0, a second
# server's file after the first) kept
my @chunks = map { my $s = $_;
	[ $s, join('', map { text_of($_, $s->{sorted}) } files_of($s)) ] } @scen;
my $all = join('', map { $_->[1] } @chunks);
write_file("$dir/all.log", $all);
# split between two scenarios near the middle
my ($half, $acc) = (0, 0);
for my $i (0 .. $#chunks) {
	last if $acc + length($chunks[$i][1]) / 2 > length($all) / 2;
	$acc += length($chunks[$i][1]);
	$half = $i + 1;
}
write_file("$dir/part1.log", join('', map { $_->[1] } @chunks[0 .. $half - 1]));
write_file("$dir/part2.log", join('', map { $_->[1] } @chunks[$half .. $#chunks]));

sub same_alerts {
	my ($what, $got, $want) = @_;
	my $enc = sub { $_[0]{_canon} };
	my @ids = sort keys %{{ %$got, %$want }};
	my @diff = grep { !$got->{$_} || !$want->{$_} ||
	    $enc->($got->{$_}) ne $enc->($want->{$_}) } @ids;
	is(scalar @diff, 0, "$what: the same alerts (" . scalar(keys %$want) . ')')
	    or diag(join("\n", map { "$_:\n  got:  " . ($got->{$_} ?
	    brief($got->{$_}) : '(none)') . "\n  want: " . ($want->{$_} ?
	    brief($want->{$_}) : '(none)') } @diff[0 .. ($#diff < 5 ? $#diff : 5)]));
}

my %runs;
for my $r ([ 'default batching', [ "$dir/all.log" ], undef ],
    [ 'batch_lines = 1', [ "$dir/all.log" ], 1 ],
    [ 'batch_lines = 7', [ "$dir/all.log" ], 7 ],
    [ 'two files in one replay', [ "$dir/part1.log", "$dir/part2.log" ], undef ],
    [ 'two replays', [ "$dir/part1.log" ], undef, [ "$dir/part2.log" ] ]) {
	my ($what, $files, $batch, $more) = @$r;
	my $conf = conf(prefix => 'j' . scalar(keys %runs) . ':', batch => $batch);
	my ($st, $err) = replay($conf, @$files);
	is($st, 0, "joined log, $what: replay exits 0") or diag $err;
	if ($more) {
		($st, $err) = replay($conf, @$more);
		is($st, 0, "joined log, $what: second replay exits 0") or diag $err;
	}
	$runs{$what} = alerts($conf);
	next if $batch || $more || @$files > 1;
	# the same log again: every batch already applied, nothing changes
	($st, $err) = replay($conf, @$files);
	is($st, 0, "joined log, $what: replay again exits 0") or diag $err;
	$runs{"$what, replayed again"} = alerts($conf);
}
same_alerts('joined log, default batching vs the scenarios alone',
    $runs{'default batching'}, \%union);
same_alerts("joined log, $_ vs default batching", $runs{$_}, $runs{'default batching'})
    for grep { $_ ne 'default batching' } sort keys %runs;

# ---- 4: fumidai run following the log live ----------------------------------
{
	my $live = "$dir/live.log";
	write_file($live, '');
	my $conf = conf(prefix => 'live:', inputs => [ $live ], batch => 64);
	my $fpid = fork() // die "fork: $!";
	if ($fpid == 0) {
		open(STDOUT, '>>', "$dir/run.out");
		open(STDERR, '>>', "$dir/run.err");
		exec(fumidai(), 'run', '-f', '-c', $conf) or POSIX::_exit(127);
	}
	my $state = $dir . '/state' . $nconf;
	my $checkpoint = sub {
		my $c = read_file("$state/checkpoint") // return -1;
		my $sum = 0;
		for (split /\n/, $c) {
			my @f = split / /;
			$sum += $f[7] if $f[0] eq 'input';
		}
		return $sum;
	};
	# written one scenario at a time, each waited for, so that live
	# batches end where the replays' do not
	my ($n, $got) = (0, -1);
	for my $c (@chunks) {
		write_file($live, $c->[1], '>>');
		$n += () = $c->[1] =~ /\n/g;
		my $deadline = time + 60;
		while (time < $deadline) {
			$got = $checkpoint->();
			last if $got == $n;
			sleep 0.05;
		}
		last if $got != $n;
	}
	is($got, $n, "fumidai run: caught up ($n lines)")
	    or diag(read_file("$dir/run.err") // '');
	kill 'TERM', $fpid;
	waitpid($fpid, 0);
	is($? >> 8, 0, 'fumidai run: SIGTERM, exit 0');
	my @warn = grep { /^fumidai: (?:warning|fatal|error)/ }
	    split /\n/, read_file("$dir/run.err") // '';
	is(scalar @warn, 0, 'fumidai run: no warning') or diag join "\n", @warn;
	same_alerts('fumidai run (live) vs replay', alerts($conf), $runs{'default batching'});
}

$redis->stop;
done_testing();
