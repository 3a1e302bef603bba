#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# web-api.t - the dashboard server (`fumidai web`, monitor/web*.c) on
# 127.0.0.1 against the test's own redis-server.
#
# A small log written with the current time (so the overview's days see
# it): alice logs in twice over IMAP from 127.0.1.10 (JP in the test
# GeoIP databases, t/lib/mkmmdb.pl), bob once from 127.0.2.20 (US) and
# fails three times over submission from 127.0.3.30 (GB), and an account
# named <script>alert("x")</script>@example.jp fails once from there.
# Then, over HTTP (HTTP::Tiny, no redirects followed): the API refuses
# anonymous requests, answers the admin token and the password cookie with
# the exact accounts and counts; an owner link becomes a cookie that shows
# that owner's account and nothing else; expired and tampered links get
# 403 (made here with Digest::SHA from the test's secret); POSTs need the
# CSRF header; "this wasn't me" files an owner_report alert in the stream
# and marks the login; "this was me" teaches the place (the detector
# state's learned countries, read back with a Lua snippet); names come
# back JSON-escaped; traversal is refused; every answer carries the
# security headers; failed password logins are limited.  Then `fumidai
# run` with web.enabled starts the dashboard, starts it again when it is
# killed and stops it with itself (and anonymous_loopback answers only a
# loopback Host); without Redis the API answers 503 and the server stays
# up; bad web settings are refused naming them.
use strict;
use warnings;
use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha256 sha256);
use FindBin;
use lib "$FindBin::Bin/lib";
use HTTP::Tiny;
use IO::Socket::IP;
use JSON::PP;
use MIME::Base64 qw(encode_base64url);
use POSIX qw(strftime);
use Test::More;
use Time::HiRes qw(sleep time);
use FM qw(run_cmd tmpdir write_file have_prog spawn_fumidai stop_pid free_port);

my $bin = abs_path(FM::fumidai()) // '';
plan skip_all => 'fumidai binary not built' unless -x $bin;
plan skip_all => 'redis-server is not installed' unless have_prog('redis-server');

my $tmp = tmpdir();
my $redis = FM::start_redis($tmp);
my $wpid;
END { stop_pid($wpid) if $wpid }

# ---- GeoIP, config, log ----
mkdir "$tmp/geo";
my ($gst, undef, $gerr) = run_cmd([$^X, "$ENV{FM_SRCDIR}/t/lib/mkmmdb.pl",
    "$tmp/geo"]);
my $geo = $gst == 0;
diag("no GeoIP test databases: $gerr") unless $geo;
$ENV{FUMIDAI_GEO_ALLOW_LOOPBACK} = 1;
my $port = free_port();
my $base = "http://127.0.0.1:$port";
my $secret = 'web-api.t secret, 32 bytes long!';
my $geocf = $geo ? qq(geoip = { city = "$tmp/geo/city-maxmind.mmdb"; ) .
    qq(asn = "$tmp/geo/asn.mmdb"; };\n) : '';
my $conf = "$tmp/fm.conf";
write_file($conf, <<"EOF");
state_dir = "$tmp/state";
timezone = "UTC";
redis = { socket = "${\ $redis->sock }"; prefix = "fm:"; };
$geocf
web = {
  listen = "127.0.0.1:$port";
  admin_token = "adm1n-Token";
  admin_password = "pass word";
  secret = "$secret";
  base_url = "$base";
};
EOF

my $evil = '<script>alert("x")</script>@example.jp';
my $t = time - 120;
sub ts { strftime('%Y-%m-%dT%H:%M:%S.000001+00:00', gmtime($t++)) . ' mx1' }
sub login_ok {
	my ($who, $ip, $n) = @_;
	return ts() . " dovecot: imap-login: Login: user=<$who>, method=PLAIN, " .
	    "rip=$ip, lip=127.0.0.1, mpid=$n, TLS, session=<S000000${n}x>\n";
}
sub login_fail {
	my ($who, $ip) = @_;
	return ts() . " postfix/submission/smtpd[5]: warning: unknown[$ip]: " .
	    "SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=$who\n";
}
write_file("$tmp/mail.log", login_ok('alice@example.jp', '127.0.1.10', 1) .
    login_ok('alice@example.jp', '127.0.1.10', 2) .
    login_ok('bob@example.jp', '127.0.2.20', 3) .
    join('', map { login_fail('bob@example.jp', '127.0.3.30') } 1 .. 3) .
    login_fail($evil, '127.0.3.30'));
my ($st, $out, $err) = run_cmd([$bin, 'replay', '--no-progress', '-c', $conf,
    "$tmp/mail.log"]);
is($st, 0, 'replay of the log') or diag $err;

# ---- assets and the server ----
mkdir "$tmp/assets";
mkdir "$tmp/assets/assets";
write_file("$tmp/assets/index.html", "<!DOCTYPE html><title>admin</title>\n");
write_file("$tmp/assets/login.html", "<!DOCTYPE html><title>login</title>\n");
write_file("$tmp/assets/owner.html", "<!DOCTYPE html><title>owner</title>\n");
write_file("$tmp/assets/assets/app.js", "console.log(1);\n");
write_file("$tmp/secret.txt", "not to be served\n");
$ENV{FUMIDAI_WEB_DIR} = "$tmp/assets";
$wpid = spawn_fumidai(['web', '-c', $conf], "$tmp/web.out", "$tmp/web.err");
my $http = HTTP::Tiny->new(max_redirect => 0, timeout => 30);
my $up = 0;
for (1 .. 400) {
	my $r = $http->get("$base/healthz");
	last if ($up = $r->{status} == 200);
	sleep 0.05;
}
ok($up, 'fumidai web answers /healthz') or diag(FM::read_file("$tmp/web.err"));

my %admin = (Authorization => 'Bearer adm1n-Token');
sub get {
	my ($path, %h) = @_;
	return $http->get("$base$path", { headers => \%h });
}
sub post {
	my ($path, $body, %h) = @_;
	return $http->post("$base$path", { headers => \%h, content => $body });
}
sub json { my $r = shift; return eval { decode_json($r->{content}) } // {} }
sub hex_of { unpack('H*', shift) }

# ---- authentication ----
my $r = get('/api/overview');
is($r->{status}, 401, 'API without credentials: 401');
is($r->{content}, qq({"error":"authentication required"}\n), '... with the JSON error');
$r = get('/api/overview', Authorization => 'Bearer wrong');
is($r->{status}, 401, 'a wrong token: 401');
$r = get('/index.html');
is($r->{status}, 303, 'an admin page without credentials: 303');
is($r->{headers}{location}, '/login.html', '... to the login page');
$r = get('/login.html');
is($r->{status}, 200, 'the login page is public');

# security headers, on every kind of answer
for my $p ('/api/overview', '/login.html', '/assets/app.js', '/nothing') {
	$r = get($p);
	is($r->{headers}{'content-security-policy'}, "default-src 'self'; " .
	    "img-src 'self' data:; style-src 'self'; script-src 'self'; " .
	    "frame-ancestors 'none'", "$p: CSP");
	is($r->{headers}{'x-content-type-options'}, 'nosniff', "$p: nosniff");
}
is(get('/api/overview', %admin)->{headers}{'cache-control'}, 'no-store',
    'API answers are not cached');

# ---- admin API ----
$r = get('/api/overview?days=2', %admin);
is($r->{status}, 200, 'overview with the admin token');
like($r->{headers}{'content-type'}, qr{^application/json}, '... JSON');
my $o = json($r);
is_deeply($o->{totals}, { login_ok => 3, login_fail => 4, messages => 0,
    recipients => 0 }, 'overview totals');
my %tops = map { $_->{account}{name} => [$_->{fail}, $_->{ok}] }
    @{$o->{top_accounts} // []};
is_deeply(\%tops, { 'bob@example.jp' => [3, 1], $evil => [1, 0],
    'alice@example.jp' => [0, 2] }, 'top accounts: failures and logins');
is_deeply($o->{top_ips}, [{ ip => '127.0.3.30', fail => 4,
    cc => $geo ? 'GB' : '', asn => $geo ? 64503 : 0 }],
    'top attacking address, located');
my ($fail_sum, $ok_sum) = (0, 0);
$fail_sum += $_->{fail}, $ok_sum += $_->{ok} for @{$o->{timeline} // []};
is("$ok_sum/$fail_sum", '3/4', 'the hourly timeline adds up to the totals');
SKIP: {
	skip 'no GeoIP databases', 1 unless $geo;
	is_deeply([sort { $a->{cc} cmp $b->{cc} } @{$o->{countries} // []}],
	    [{ cc => 'GB', ok => 0, fail => 4 }, { cc => 'JP', ok => 2, fail => 0 },
	    { cc => 'US', ok => 1, fail => 0 }], 'logins by country');
}
is(get('/api/overview?days=99', %admin)->{status}, 400, 'days out of range: 400');

$r = get('/api/accounts', %admin);
is($r->{status}, 200, 'accounts');
is_deeply([map { $_->{account}{name} } @{json($r)->{accounts}}],
    [$evil, 'alice@example.jp', 'bob@example.jp'], 'the three accounts, sorted');
ok(index($r->{content}, '"name":"\u003cscript\u003ealert(\"x\")' .
    '\u003c/script\u003e@example.jp"') >= 0,
    'a name with <script> and quotes comes back JSON-escaped');
unlike($r->{content}, qr/<script>/, '... never as markup');
is_deeply([map { $_->{account}{name} } @{json(get('/api/accounts?q=ALI',
    %admin))->{accounts}}], ['alice@example.jp'], 'search by substring');

my $ahex = hex_of('alice@example.jp');
$r = get("/api/account?a=$ahex", %admin);
is($r->{status}, 200, 'one account');
my $acc = json($r);
is_deeply($acc->{account}, { name => 'alice@example.jp', hex => $ahex },
    '... name and hex');
my @roll = @{$acc->{logins} // []};
is(scalar @roll, 1, "alice: one day's roll-up");
is_deeply([$roll[0]{result}, $roll[0]{ip}, $roll[0]{service},
    $roll[0]{n} // $roll[0]{count}], ['ok', '127.0.1.10', 'imap', 2],
    '... two IMAP logins from one address');
is($roll[0]{key}, 'ok|127.0.1.10|imap', '... with its feedback key');

# Redis losing its scripts (SCRIPT FLUSH): at most one 503, then the
# dashboard reconnects, loads the archive script again and answers as before
$redis->cli('SCRIPT', 'FLUSH');
my $again = get("/api/account?a=$ahex", %admin);
$again = get("/api/account?a=$ahex", %admin) if $again->{status} == 503;
is($again->{status}, 200, 'after SCRIPT FLUSH the account page works again');
is_deeply(json($again)->{logins}, $acc->{logins}, '... with the same roll-ups');
is(get('/api/account?a=zz', %admin)->{status}, 400, 'a bad hex name: 400');
# times whose microseconds overflow 64 bits are refused, not wrapped around
for my $q ('since=-99999999999999w', 'until=99999999999999',
    'since=9999999999999999999') {
	is(get("/api/account?a=$ahex&$q", %admin)->{status}, 400,
	    "an absurd time ($q): 400");
}
is(get("/api/account?a=$ahex&since=-2w", %admin)->{status}, 200,
    '... a sane one: 200');
is(get('/api/nothing', %admin)->{status}, 404, 'an unknown API: 404');

# password login: a signed cookie
$r = post('/login', 'password=wrong', 'Content-Type' =>
    'application/x-www-form-urlencoded');
is($r->{status}, 303, 'a wrong password: 303');
is($r->{headers}{location}, '/login.html?failed=1', '... back to the form');
ok(!$r->{headers}{'set-cookie'}, '... without a cookie');
$r = post('/login', 'password=pass+word', 'Content-Type' =>
    'application/x-www-form-urlencoded');
is($r->{status}, 303, 'the password: 303');
my ($acookie) = ($r->{headers}{'set-cookie'} // '') =~ /^(fm_admin=[^;]+)/;
like($r->{headers}{'set-cookie'} // '', qr/HttpOnly; SameSite=Strict; Path=\//,
    '... an HttpOnly, SameSite=Strict cookie');
is(get('/api/alerts', Cookie => $acookie)->{status}, 200,
    'the admin cookie opens the API');
is(get('/index.html', Cookie => $acookie)->{status}, 200,
    '... and the admin page');
(my $bad = $acookie) =~ s/.$/$& eq 'A' ? 'B' : 'A'/e;
is(get('/api/alerts', Cookie => $bad)->{status}, 401, 'a tampered cookie: 401');

# ---- owner links ----
($st, $out, $err) = run_cmd([$bin, 'web-link', '-c', $conf, 'alice@example.jp']);
is($st, 0, 'fumidai web-link') or diag $err;
chomp $out;
like($out, qr{^\Q$base\E/o/[A-Za-z0-9_-]+\.\d+\.[A-Za-z0-9_-]{43}$}, '... a link');
my ($tok) = $out =~ m{/o/(.*)$};
$r = get("/o/$tok");
is($r->{status}, 303, 'the owner link: 303');
is($r->{headers}{location}, '/owner.html', '... to the owner page');
my ($ocookie) = ($r->{headers}{'set-cookie'} // '') =~ /^(fm_owner=[^;]+)/;
ok($ocookie, '... with the owner cookie');
# Lax: a Strict cookie would not go with the 303 of a link opened from webmail
like($r->{headers}{'set-cookie'} // '', qr/; HttpOnly; SameSite=Lax; Path=\//,
    '... HttpOnly, SameSite=Lax');

sub token {
	my ($acct, $exp) = @_;
	my $key = sha256($secret);
	return encode_base64url($acct) . ".$exp." .
	    encode_base64url(hmac_sha256("owner\0$acct\0$exp", $key));
}
is(token('alice@example.jp', ($tok =~ /\.(\d+)\./)[0]), $tok,
    'the token is the documented HMAC');
$r = get('/o/' . token('alice@example.jp', int(time) - 10));
is($r->{status}, 403, 'an expired link: 403');
like($r->{content}, qr/expired/, '... saying so');
(my $tampered = $tok) =~ s/^[A-Za-z0-9_-]+\./encode_base64url('bob@example.jp') . '.'/e;
is(get("/o/$tampered")->{status}, 403, 'a link with another account: 403');
is(get('/o/garbage')->{status}, 403, 'a malformed link: 403');

$r = get('/api/me', Cookie => $ocookie);
is($r->{status}, 200, '/api/me with the owner cookie');
my $me = json($r);
is_deeply($me->{account}, { name => 'alice@example.jp', hex => $ahex },
    '... is alice');
unlike($r->{content}, qr/bob|127\.0\.3\.30|script/, "... and holds nothing of the others'");
is(get('/owner.html', Cookie => $ocookie)->{status}, 200, 'the owner page');
is(get('/index.html', Cookie => $ocookie)->{status}, 303,
    'the owner cookie does not open the admin page');
is(get('/api/account?a=' . hex_of('bob@example.jp'), Cookie => $ocookie)->{status},
    401, "another account's data: refused");
is(get('/api/alerts', Cookie => $ocookie)->{status}, 401, 'admin API: refused');
is(get('/api/me', Cookie => "fm_owner=$tampered")->{status}, 401,
    'a tampered cookie: 401');

# ---- feedback ----
my $day = strftime('%Y%m%d', gmtime($t - 1));
my $fb = encode_json({ day => $day, key => 'ok|127.0.1.10|imap', verdict => 'notme' });
$r = post('/api/me/feedback', $fb, Cookie => $ocookie,
    'Content-Type' => 'application/json');
is($r->{status}, 403, 'a POST without the CSRF header: 403');
$r = post('/api/me/feedback', $fb, Cookie => $ocookie, 'X-Fumidai-CSRF' => '1',
    'Content-Type' => 'application/json');
is($r->{status}, 200, '"this wasn\'t me": 200') or diag $r->{content};
is($r->{content}, qq({"ok":true}\n), '... ok');
my $stream = $redis->cli('XRANGE', 'fm:{g}:alerts', '-', '+');
like($stream, qr/^owner_report$/m, 'an owner_report alert is in the stream');
my $al = json(get('/api/alerts?kind=owner_report', %admin))->{alerts} // [];
is(scalar @$al, 1, 'the admin sees one owner_report alert');
is_deeply([$al->[0]{severity}, $al->[0]{account}, $al->[0]{ip}],
    ['high', 'alice@example.jp', '127.0.1.10'], '... high, of alice, the address');
is($al->[0]{account_hex}, $ahex, '... with the account in hex');
post('/api/me/feedback', $fb, Cookie => $ocookie, 'X-Fumidai-CSRF' => '1');
is(scalar @{json(get('/api/alerts?kind=owner_report', %admin))->{alerts}}, 1,
    'reporting the same login again files no second alert');
my ($mroll) = @{json(get('/api/me', Cookie => $ocookie))->{logins} // []};
is($mroll->{mark}{verdict}, 'notme', 'the roll-up carries the mark');
$r = post('/api/me/feedback', encode_json({ day => $day,
    key => 'ok|127.0.9.9|imap', verdict => 'me' }), Cookie => $ocookie,
    'X-Fumidai-CSRF' => '1');
is($r->{status}, 404, 'a login not in the history: 404');
$r = post('/api/me/feedback', '{"day":"x"}', Cookie => $ocookie,
    'X-Fumidai-CSRF' => '1');
is($r->{status}, 400, 'a malformed verdict: 400');
is(post('/api/me/feedback', $fb, 'X-Fumidai-CSRF' => '1')->{status}, 401,
    'feedback without a cookie: 401');

SKIP: {
	skip 'no GeoIP databases', 4 unless $geo;
	# bob tried from GB (failures teach nothing); he says it was him
	my ($bst, $blink) = run_cmd([$bin, 'web-link', '-c', $conf, 'bob@example.jp']);
	chomp $blink;
	my ($btok) = $blink =~ m{/o/(.*)$};
	my $bc = "fm_owner=$btok";
	# the day as the roll-ups show it (YYYY-MM-DD) is taken too
	(my $dashed = $day) =~ s/^(\d{4})(\d\d)(\d\d)$/$1-$2-$3/;
	my $bme = encode_json({ day => $dashed, key => 'fail|127.0.3.30|submission',
	    verdict => 'me' });
	$r = post('/api/me/feedback', $bme, Cookie => $bc, 'X-Fumidai-CSRF' => '1');
	is($r->{content}, qq({"ok":true,"learned":["cc:GB","asn:64503"]}\n),
	    '"this was me": the place is learned');
	my $known = $redis->cli('EVAL', "local S = cmsgpack.unpack(redis.call('GET', " .
	    "KEYS[1])) return {S.cc['GB'] and 1 or 0, S.as['64503'] and 1 or 0, " .
	    "S.cc['US'] and 1 or 0}", 1, 'fm:{a:' . hex_of('bob@example.jp') . '}:det');
	is($known, "1\n1\n1\n", "... in the detector state, next to what it knew");
	$r = post('/api/me/feedback', $bme, Cookie => $bc, 'X-Fumidai-CSRF' => '1');
	is($r->{content}, qq({"ok":true,"learned":[]}\n), '... once');
	my ($mark) = grep { $_->{ip} eq '127.0.3.30' }
	    @{json(get('/api/me', Cookie => $bc))->{logins} // []};
	is($mark->{mark}{verdict}, 'me', '... and the login is marked');
}

# ---- static files ----
$r = get('/assets/app.js');
is($r->{status}, 200, 'an asset');
is($r->{headers}{'content-type'}, 'text/javascript; charset=utf-8', '... its type');
for my $p ('/assets/../../secret.txt', '/assets/%2e%2e/secret.txt',
    '/../secret.txt', '/assets/..%2fsecret.txt', '/secret.txt/.') {
	my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)
	    or die "connect: $@";
	print $s "GET $p HTTP/1.0\r\nAuthorization: Bearer adm1n-Token\r\n\r\n";
	local $/;
	my $resp = <$s> // '';
	like($resp, qr{^HTTP/1\.[01] 404 }, "traversal $p: 404");
	unlike($resp, qr/not to be served/, '... nothing leaks');
}

# failed password logins: at most 10 a minute, then even the right one waits
# (one failed above already)
my @codes = map { post('/login', 'password=nope')->{status} } 1 .. 9;
is_deeply(\@codes, [(303) x 9], 'ten failed logins are answered');
is(post('/login', 'password=pass+word')->{status}, 429,
    'then logins are refused for a while (429)');
is(get('/api/overview', %admin)->{status}, 200, '... the token still works');

is(stop_pid($wpid), 0, 'fumidai web stops on SIGTERM');
undef $wpid;

# ---- supervised by fumidai run ----
my $port2 = free_port();
write_file("$tmp/empty.log", '');
write_file("$tmp/run.conf", <<"EOF");
state_dir = "$tmp/state2";
inputs = ( { path = "$tmp/empty.log"; } );
redis = { socket = "${\ $redis->sock }"; prefix = "fm:"; };
web = { enabled = true; listen = "127.0.0.1:$port2"; anonymous_loopback = true; };
EOF
sub started_pids {
	my @p = (FM::read_file("$tmp/run.err") // '') =~
	    /service=web pid=(\d+) msg="dashboard started"/g;
	return @p;
}
sub healthz2 {
	for (1 .. 600) {
		my $r = $http->get("http://127.0.0.1:$port2/healthz");
		return 1 if $r->{status} == 200;
		sleep 0.05;
	}
	return 0;
}
my $rpid = spawn_fumidai(['run', '-f', '-c', "$tmp/run.conf"], "$tmp/run.out",
    "$tmp/run.err");
ok(healthz2(), 'fumidai run starts the dashboard (web.enabled)');
my @pids = started_pids();
is(scalar @pids, 1, '... as one child process');
# anonymous_loopback: no credentials from loopback, with a loopback Host
sub raw_get {
	my ($p, $path, $host) = @_;
	my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $p)
	    or die "connect: $@";
	print $s "GET $path HTTP/1.0\r\nHost: $host\r\n\r\n";
	local $/;
	my $resp = <$s> // '';
	return $resp =~ m{^HTTP/1\.[01] (\d{3})} ? $1 : 0;
}
is(raw_get($port2, '/api/overview', "127.0.0.1:$port2"), 200,
    'anonymous_loopback: the API without credentials from loopback');
is(raw_get($port2, '/api/overview', "localhost:$port2"), 200,
    '... Host localhost too');
is(raw_get($port2, '/api/overview', "evil.example:$port2"), 401,
    '... but not for another Host (DNS rebinding)');
# a reverse proxy on this machine connects from loopback for anyone
for my $h ('X-Forwarded-For: 192.0.2.1', 'Forwarded: for=192.0.2.1',
    'X-Real-IP: 192.0.2.1', 'X-Forwarded-Host: mail.example.org') {
	is(raw_get($port2, '/api/overview', "127.0.0.1:$port2\r\n$h"), 401,
	    "... nor through a proxy ($h)");
}
kill 'KILL', $pids[0];
for (1 .. 600) { last if started_pids() >= 2; sleep 0.05 }
@pids = started_pids();
is(scalar @pids, 2, 'a dashboard that dies is started again');
ok(healthz2(), '... and answers');
is(stop_pid($rpid), 0, 'fumidai run stops on SIGTERM');
ok(!kill(0, $pids[1]), '... and stops the dashboard with it');
like(FM::read_file("$tmp/run.err") // '', qr/dashboard exited; restarting in 1000 ms/,
    'the restart is logged with its pause');

# ---- Redis unreachable: 503, and the server stays up ----
my $port3 = free_port();
write_file("$tmp/down.conf", <<"EOF");
state_dir = "$tmp/state3";
redis = { socket = "$tmp/no-such.sock"; };
web = { listen = "127.0.0.1:$port3"; admin_token = "x-token";
  secret = "$secret"; admin_password = "a new password"; };
EOF
my $dpid = spawn_fumidai(['web', '-c', "$tmp/down.conf"], "$tmp/down.out",
    "$tmp/down.err");
my $dup = 0;
for (1 .. 400) {
	last if ($dup = $http->get("http://127.0.0.1:$port3/healthz")->{status} == 200);
	sleep 0.05;
}
ok($dup, 'without Redis the server starts');
for my $p ('/api/overview', '/api/accounts', '/api/alerts') {
	$r = $http->get("http://127.0.0.1:$port3$p",
	    { headers => { Authorization => 'Bearer x-token' } });
	is($r->{status}, 503, "$p without Redis: 503");
}
is($http->get("http://127.0.0.1:$port3/healthz")->{status}, 200,
    '... and it still answers');
# same key, another admin_password: the old password's cookie is over
is($http->get("http://127.0.0.1:$port3/api/alerts",
    { headers => { Cookie => $acookie } })->{status}, 401,
    "a new admin_password ends the old password's cookies");
my $ocode = $http->get("http://127.0.0.1:$port3/api/me",
    { headers => { Cookie => $ocookie } })->{status};
is($ocode, 503, "... not the owners' (same key): 503 without Redis");
is(stop_pid($dpid), 0, '... and stops cleanly');

# ---- out of descriptors: pause accepting, do not spin ----
# (without an error callback libevent retries accept() at once, forever,
# warning each time: a connection flood became a busy loop and a log flood)
my $port4 = free_port();
write_file("$tmp/fd.conf", <<"EOF");
state_dir = "$tmp/state3";
redis = { socket = "$tmp/no-such.sock"; };
web = { listen = "127.0.0.1:$port4"; admin_token = "x-token"; };
EOF
my $fpid = fork() // die "fork: $!";
if ($fpid == 0) {
	open(STDOUT, '>', "$tmp/fd.out");
	open(STDERR, '>', "$tmp/fd.err");
	exec('sh', '-c', 'ulimit -n 32 && exec "$@"', 'sh', $bin, 'web', '-c',
	    "$tmp/fd.conf") or POSIX::_exit(127);
}
my $fup = 0;
for (1 .. 400) {
	last if ($fup = $http->get("http://127.0.0.1:$port4/healthz")->{status} == 200);
	sleep 0.05;
}
ok($fup, 'a server with 32 descriptors starts');
my @flood;
for (1 .. 80) {
	my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port4)
	    or last;
	push @flood, $s;
}
sleep 0.5;
close $_ for @flood;
@flood = ();
my $fback = 0;
for (1 .. 400) {
	last if ($fback = $http->get("http://127.0.0.1:$port4/healthz")->{status} == 200);
	sleep 0.05;
}
ok($fback, '... answers again after a flood of 80 connections');
my @acc = (FM::read_file("$tmp/fd.err") // '') =~ /accept/gi;
is(scalar @acc, 1, '... having said once that it paused accepting');
is(stop_pid($fpid), 0, '... and stops cleanly');

# ---- configuration ----
write_file("$tmp/bad.conf", "web = { enabled = true; };\n");
my ($rc, undef, $cerr) = run_cmd([$bin, 'check-config', '-c', "$tmp/bad.conf"]);
is($rc, 2, 'web.enabled without a way to authenticate admins: exit 2');
like($cerr, qr/web\.enabled/, '... naming the setting');
write_file("$tmp/bad.conf", "web = { base_url = \"javascript:x\"; };\n");
($rc, undef, $cerr) = run_cmd([$bin, 'check-config', '-c', "$tmp/bad.conf"]);
is($rc, 2, 'a base_url that is not http(s): exit 2');
($rc, undef, $cerr) = run_cmd([$bin, 'web-link', '-c', "$tmp/down.conf", 'x']);
is($rc, 2, 'web-link without web.base_url: exit 2');
like($cerr, qr/web\.base_url/, '... naming the setting');
write_file("$tmp/bad.conf", "web = { anonymous_loopback = true; " .
    "base_url = \"https://mail.example.org\"; };\n");
($rc, undef, $cerr) = run_cmd([$bin, 'check-config', '-c', "$tmp/bad.conf"]);
is($rc, 2, 'anonymous_loopback with an https base_url (a proxy): exit 2');
like($cerr, qr/web\.anonymous_loopback/, '... naming the setting');

# the generated key: whole, mode 0600, reused; loose key files are refused
write_file("$tmp/key.conf", "state_dir = \"$tmp/state4\";\n" .
    "web = { base_url = \"$base\"; };\n");
my ($k1, $k2);
($rc, $k1, $cerr) = run_cmd([$bin, 'web-link', '-c', "$tmp/key.conf", '--ttl',
    '600', 'a@example.jp']);
is($rc, 0, 'web-link generates the key') or diag $cerr;
my @kst = stat("$tmp/state4/web.key");
is(sprintf('%o/%d', ($kst[2] // 0) & 07777, $kst[7] // -1), '600/32',
    '... 32 bytes, mode 0600');
is_deeply([grep { !/^web\.key$/ } map { s{.*/}{}r } glob("$tmp/state4/web.key*")],
    [], '... and no temporary file is left');
($rc, $k2) = run_cmd([$bin, 'web-link', '-c', "$tmp/key.conf", '--ttl', '600',
    'a@example.jp']);
my $sig = sub { ($_[0] // '') =~ m{/o/[^.]+\.\d+\.(.*)$} ? $1 : 'none' };
my ($e1, $e2) = map { m{\.(\d+)\.} ? $1 : 0 } $k1, $k2;
SKIP: {
	skip 'the two links straddle a second', 1 unless $e1 == $e2;
	is($sig->($k2), $sig->($k1), '... and is reused');
}
chmod 0644, "$tmp/state4/web.key";
($rc, undef, $cerr) = run_cmd([$bin, 'web-link', '-c', "$tmp/key.conf", 'a@x']);
is($rc, 2, 'a key file others can read: refused');
like($cerr, qr/web\.key: not a regular file of mode 0600/, '... saying why');
write_file("$tmp/secret.key", "0123456789abcdef0123456789\n");
chmod 0666, "$tmp/secret.key";
write_file("$tmp/key.conf", "state_dir = \"$tmp/state4\";\n" .
    "web = { base_url = \"$base\"; secret_file = \"$tmp/secret.key\"; };\n");
($rc) = run_cmd([$bin, 'web-link', '-c', "$tmp/key.conf", 'a@x']);
is($rc, 2, 'a world-writable secret_file: refused');
chmod 0640, "$tmp/secret.key";
($rc, undef, $cerr) = run_cmd([$bin, 'web-link', '-c', "$tmp/key.conf", 'a@x']);
is($rc, 0, '... mode 0640 is fine') or diag $cerr;

write_file("$tmp/bad.conf", "web = { admin_token = \"s3cret-tok\"; };\n");
(undef, $out) = run_cmd([$bin, 'check-config', '-c', "$tmp/bad.conf"]);
unlike($out, qr/s3cret-tok/, 'check-config does not print the admin token');

done_testing();
