#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# blocklist.t - acting on alerts from the command line and contrib/, on a
# Redis filled by hand in the layout the post script writes
# (monitor/scripts.c): <prefix>{g}:flags (escaped name -> alert record),
# <prefix>{g}:blocklist (member -> expiry, Unix time) and
# <prefix>{g}:blockwhy (member -> alert record).
#
# `fumidai release`: the flag is removed and its kind, id and time printed,
# exit 0; not flagged, exit 1; a binary name by --hex; Redis unreachable,
# exit 2.  `fumidai blocklist`: the entries not yet expired with their
# reason, as a table (escaped) and as --json.  contrib/blocklist-nftables:
# the nft commands of --dry-run (timeouts from the expiry, a network inside
# another left out, an entry that is no address skipped), and the sets
# really loaded in a private network namespace (unshare -n) when this host
# allows it.  contrib/fail2ban/fumidai-fail2ban-feed: one line per new
# entry, none twice, one again when its expiry moves; the lines match the
# shipped filter when fail2ban-regex is installed.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use lib "$ENV{FM_SRCDIR}/t/lib";
use FM qw(fumidai run_cmd tmpdir write_file read_file have_prog);

plan skip_all => 'redis-server is not installed' unless have_prog('redis-server');
plan skip_all => 'redis-cli is not installed' unless have_prog('redis-cli');

my $src = $ENV{FM_SRCDIR} // '.';
my $dir = tmpdir();
my $r = FM::start_redis($dir);
my $conf = "$dir/fumidai.conf";
write_file($conf, "state_dir = \"$dir/state\";\nredis = { socket = \"" .
    $r->sock . "\"; prefix = \"fm:\"; };\n");
my $G = 'fm:{g}';
my $now = (split /\n/, $r->cli('TIME'))[0];
like($now, qr/^\d+$/, "Redis's clock: $now");

sub record {
	my (%o) = @_;
	my $j = JSON::PP->new->canonical;
	return '{"id":' . $j->encode($o{id}) . ',"kind":' . $j->encode($o{kind}) .
	    ',"severity":"high","account":' . $j->encode($o{account} // '') .
	    ',"ip":' . $j->encode($o{ip} // '') . ',"net":' . $j->encode($o{net} // '') .
	    ',"time":"2026-11-25T10:00:00Z","first":"2026-11-25T09:50:00Z",' .
	    '"last":"2026-11-25T10:05:00Z","until":"2026-11-25T11:05:00Z",' .
	    '"count":2,"summary":' . $j->encode($o{summary} // 'x') . ',"evidence":{}}';
}

# ---- fumidai release ---------------------------------------------------------
$r->cli('HSET', "$G:flags", 'alice@example.org', record(id => '00000000000000a1',
    kind => 'success_after_failures', account => 'alice@example.org'));
# CR, ESC and a non-UTF-8 byte: the field is the name as the alerts escape it
my $evil = "ev\r\e[31mil\xff";
$r->cli('HSET', "$G:flags", 'ev\r\u001b[31mil\u00ff', record(id => '00000000000000a2',
    kind => 'send_volume', account => 'ev\r\u001b[31mil\u00ff'));

my ($st, $out, $err) = run_cmd([fumidai(), 'release', '-c', $conf, 'alice@example.org']);
is($st, 0, 'release alice: exit 0') or diag $err;
like($out, qr/\Areleased alice\@example\.org: it was flagged by a success_after_failures alert \(id 00000000000000a1, last event 2026-11-25T10:05:00Z\)\n\z/,
    '... says which alert flagged it and when');
is($r->cli('HEXISTS', "$G:flags", 'alice@example.org'), "0\n", '... the flag is gone');
($st, $out) = run_cmd([fumidai(), 'release', '-c', $conf, 'alice@example.org']);
is($st, 1, 'release alice again: exit 1');
like($out, qr/alice\@example\.org was not flagged/, '... not flagged');

($st, $out) = run_cmd([fumidai(), 'release', '-c', $conf, '--hex',
    unpack('H*', $evil)]);
is($st, 0, 'release --hex of a name with CR, ESC and a non-UTF-8 byte: exit 0');
like($out, qr/send_volume/, '... its alert kind');
unlike($out, qr/[\r\e\xff]/, '... printed without control or invalid bytes');
is($r->cli('HLEN', "$G:flags"), "0\n", '... no flag left');
($st, $out, $err) = run_cmd([fumidai(), 'release', '-c', $conf, '--hex', 'zz']);
is($st, 2, 'release --hex of no hex: exit 2');
($st, $out, $err) = run_cmd([fumidai(), 'release', '-c', $conf]);
is($st, 2, 'release without a name: exit 2');

write_file("$dir/down.conf", "state_dir = \"$dir/state\";\nredis = { socket = " .
    "\"$dir/nothing.sock\"; connect_timeout = 500; };\n");
($st, $out, $err) = run_cmd([fumidai(), 'release', '-c', "$dir/down.conf", 'bob']);
is($st, 2, 'release with Redis unreachable: exit 2');
like($err, qr/nothing\.sock/, '... saying where it looked');

# ---- fumidai blocklist -------------------------------------------------------
($st, $out) = run_cmd([fumidai(), 'blocklist', '-c', $conf]);
is($st, 0, 'blocklist, empty: exit 0');
is($out, "no blocked addresses\n", '... says so');
($st, $out) = run_cmd([fumidai(), 'blocklist', '-c', $conf, '--json']);
is($out, '', '... --json prints nothing');

my %E = (
	'192.0.2.7' => [ 3600, 'brute_force', '12 failed logins' ],
	'198.51.100.0/24' => [ 1800, 'spray_net', "25 accounts \e[2J\r\n" ],
	'198.51.100.128/25' => [ 900, 'spray_net', 'inside' ],
	'2001:db8::/64' => [ 600, 'spray_net', 'v6 net' ],
	'2001:db8:1::5' => [ 300, 'unknown_users', 'v6 address' ],
);
for my $m (sort keys %E) {
	$r->cli('ZADD', "$G:blocklist", $now + $E{$m}[0], $m);
	$r->cli('HSET', "$G:blockwhy", $m, record(id => 'b' x 16, kind => $E{$m}[1],
	    ($m =~ m{/} ? (net => $m) : (ip => $m)), summary => $E{$m}[2]));
}
$r->cli('ZADD', "$G:blocklist", $now - 5, '192.0.2.99');	# expired
$r->cli('ZADD', "$G:blocklist", $now + 100, "1.2.3.4; flush ruleset");
$r->cli('ZADD', "$G:blocklist", $now + 100, "192.0.2.300");

($st, $out) = run_cmd([fumidai(), 'blocklist', '-c', $conf]);
is($st, 0, 'blocklist: exit 0');
my @rows = split /\n/, $out;
like($rows[0], qr/^ADDRESS\s+EXPIRES\s+KIND\s+SUMMARY$/, '... a header');
is(scalar @rows, 8, '... and the seven entries not expired');
like($out, qr/^192\.0\.2\.7\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+brute_force\s+12 failed logins$/m,
    '... address, expiry, kind and summary');
unlike($out, qr/192\.0\.2\.99/, '... not the expired one');
unlike($out, qr/[\e\r]/, '... escaped');
like($rows[1], qr/^1\.2\.3\.4; flush ruleset|^192\.0\.2\.300/, '... soonest to expire first');

($st, $out) = run_cmd([fumidai(), 'blocklist', '-c', $conf, '--json']);
my @j = map { decode_json($_) } split /\n/, $out;
is(scalar @j, 7, 'blocklist --json: one object per entry');
my ($e) = grep { $_->{address} eq '198.51.100.0/24' } @j;
is($e->{kind}, 'spray_net', '... kind');
is($e->{summary}, "25 accounts \e[2J\r\n", '... summary (JSON-escaped)');
is($e->{expires_unix}, $now + 1800, '... expires_unix');
like($e->{expires}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, '... expires');

# ---- contrib/blocklist-nftables ------------------------------------------------
my $nft = "$src/contrib/blocklist-nftables";
($st, $out, $err) = run_cmd(['sh', $nft, '--socket', $r->sock, '--dry-run']);
is($st, 0, 'blocklist-nftables --dry-run: exit 0') or diag $err;
like($out, qr/^table inet fumidai \{\n\tset blocked4 \{ type ipv4_addr; flags timeout; \}/m,
    '... declares the table and sets');
like($out, qr/^add rule inet fumidai input ip saddr \@blocked4 drop$/m, '... the drop rules');
for my $m ('192.0.2.7', '198.51.100.0/24', '2001:db8::/64', '2001:db8:1::5') {
	my ($t) = $out =~ /\Q$m\E timeout (\d+)s/;
	ok(defined $t && $t <= $E{$m}[0] && $t >= $E{$m}[0] - 60,
	    "... $m with the time it has left") or diag $out;
}
unlike($out, qr/198\.51\.100\.128/, '... a network inside another is left out');
unlike($out, qr/192\.0\.2\.99|flush ruleset|192\.0\.2\.300/,
    '... neither the expired entry nor those that are no address');
like($err, qr/skipping "1\.2\.3\.4; flush ruleset"/, '... which are named on stderr');
like($err, qr/addresses=2 networks=2 covered=1 skipped=2/, '... summary');
($st, $out) = run_cmd(['sh', $nft, '--socket', $r->sock, '--dry-run',
    '--sets-only', '--table', 'mine']);
unlike($out, qr/chain|rule/, '--sets-only: no chain, no rule');
like($out, qr/^add element inet mine blocked4 \{ 192\.0\.2\.7 timeout \d+s \}$/m,
    '--table: the table named');
($st, $out, $err) = run_cmd(['sh', $nft, '--socket', "$dir/nothing.sock", '--dry-run']);
is($st, 1, 'Redis unreachable: exit 1');

SKIP: {
	skip 'nft is not installed', 3 unless have_prog('nft');
	my ($ok) = run_cmd(['unshare', '-n', 'nft', 'list', 'ruleset']);
	skip 'no private network namespace here (unshare -n)', 3 if $ok != 0;
	($st, $out, $err) = run_cmd(['unshare', '-n', 'sh', '-c',
	    "sh '$nft' -q --socket '" . $r->sock . "' && sh '$nft' -q --socket '" .
	    $r->sock . "' && nft list table inet fumidai"]);
	is($st, 0, 'loaded twice into nftables in a private namespace') or diag $err;
	like($out, qr/elements = \{ 192\.0\.2\.7 timeout/, '... the address set');
	is(scalar(() = $out =~ /saddr \@blocked4 drop/g), 1, '... the rules once');
}

# ---- contrib/fail2ban ------------------------------------------------------
my $feed = "$src/contrib/fail2ban/fumidai-fail2ban-feed";
my @fo = ('--socket', $r->sock, '--log', "$dir/f2b.log", '--state', "$dir/f2b.state");
($st, $out, $err) = run_cmd(['sh', $feed, @fo]);
is($st, 0, 'fumidai-fail2ban-feed: exit 0') or diag $err;
my @l = split /\n/, read_file("$dir/f2b.log") // '';
is(scalar @l, 5, '... one line per valid active entry');
like($l[0], qr/^\d+ fumidai-blocklist: block \S+ for \d+s$/, '... in the filter\'s format');
ok(!grep({ /flush|192\.0\.2\.(99|300)/ } @l), '... nothing expired or malformed');
run_cmd(['sh', $feed, @fo]);
is(scalar(split /\n/, read_file("$dir/f2b.log")), 5, 'a second run adds nothing');
$r->cli('ZADD', "$G:blocklist", $now + 7200, '192.0.2.7');
run_cmd(['sh', $feed, @fo]);
@l = split /\n/, read_file("$dir/f2b.log");
like($l[-1], qr/block 192\.0\.2\.7 for \d+s$/, 'an extended block is written again');
SKIP: {
	my $f2b = have_prog('fail2ban-regex');
	skip 'fail2ban-regex is not installed', 1 unless $f2b;
	($st, $out) = run_cmd([$f2b, "$dir/f2b.log",
	    "$src/contrib/fail2ban/filter.d/fumidai-blocklist.conf"]);
	like($out, qr/Lines: 6 lines, 0 ignored, 6 matched, 0 missed/,
	    'the shipped fail2ban filter matches every line');
}

done_testing;
