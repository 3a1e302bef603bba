#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# web-owner-login.t - owners log in to the dashboard with their mail
# password (monitor/web_owner.c): `fumidai web` with web.owner_login on
# the real Dovecot of t/lib/MailStack.pm (IMAP on 127.0.0.1, passwd-file
# users with known passwords, auth_failure_delay = 0) and the test's own
# redis-server.
#
# alice and bob log in over IMAP first (from 127.0.1.10 and 127.0.2.20)
# and the mail log is replayed into Redis, so each has a history.  Then,
# over HTTP from several 127.0.0.x client addresses (the limits count per
# address): the right password gives 200 and an fm_owner cookie that
# opens /api/me for alice only; a wrong password and an unknown account
# both give the same 401 and no cookie; no CSRF header, 403; a bad body,
# 400; an account holding CR, LF and quotes with a LOGIN command inside
# gives 401 and Dovecot logs no login it would have made; the sixth
# failure from one address, and for one account, gets 429 (without asking
# Dovecot); successes do not count; fumidai's log names the attempts,
# never the passwords.  A server that is down gives 503; without
# web.owner_login the API is 404; check-config refuses plain IMAP to a
# non-loopback address.
use strict;
use warnings;
use Cwd qw(abs_path);
use FindBin;
use lib "$FindBin::Bin/lib";
use HTTP::Tiny;
use IO::Socket::IP;
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep);
use FM qw(run_cmd tmpdir write_file have_prog spawn_fumidai stop_pid free_port);
use MailStack;

my $bin = abs_path(FM::fumidai()) // '';
plan skip_all => 'fumidai binary not built' unless -x $bin;
my $why = MailStack->skip_reason;
plan skip_all => $why if defined $why;
plan skip_all => 'redis-server is not installed'
    unless have_prog('redis-server');

my $D = 'fumidai.test';
my ($ALICE, $BOB, $CAROL, $DAVE) = map { "$_\@$D" } qw(alice bob carol dave);
my %pw = map { $_ => (split /\@/)[0] . '-secret' } $ALICE, $BOB, $CAROL, $DAVE;

my $tmp = tmpdir();
diag("tmp: $tmp") if $ENV{FM_KEEP};
my $ms = MailStack->new(users => [ map { [ $_, $pw{$_} ] } sort keys %pw ]);
# TLS for this Dovecot: a self-signed certificate for 127.0.0.1, imaps on
# a port of its own and STARTTLS on the IMAP port
my ($cst, undef, $cerr) = run_cmd(['openssl', 'req', '-x509', '-newkey',
    'rsa:2048', '-nodes', '-keyout', "$tmp/key.pem", '-out', "$tmp/cert.pem",
    '-days', '2', '-subj', '/CN=127.0.0.1', '-addext',
    'subjectAltName=IP:127.0.0.1']);
is($cst, 0, 'a self-signed certificate for 127.0.0.1') or diag $cerr;
my $imaps = MailStack::_free_port();
open my $dc, '>>', $ms->dovecot_config or die "dovecot.conf: $!";
print {$dc} <<"EOF";
# web-owner-login.t: TLS
ssl = yes
ssl_cert = <$tmp/cert.pem
ssl_key = <$tmp/key.pem
service imap-login {
  inet_listener imaps {
    address = 127.0.0.1
    port = $imaps
  }
}
EOF
close $dc or die "dovecot.conf: $!";
$ms->start;
my $redis = FM::start_redis($tmp);
my @pids;
END { stop_pid($_) for grep { $_ } @pids }

# ---- history for alice and bob ----
ok($ms->imap_login('127.0.1.10', $ALICE, $pw{$ALICE}), 'alice logs in over IMAP');
ok($ms->imap_login('127.0.2.20', $BOB, $pw{$BOB}), 'bob logs in over IMAP');
$ms->wait_for_log(qr{imap\(\Q$BOB\E\)<\d+><[^>]*>: .*Logged out}, 20);

# ---- the servers ----
mkdir "$tmp/assets";
write_file("$tmp/assets/owner.html", "<!DOCTYPE html><title>owner</title>\n");
write_file("$tmp/assets/login.html", "<!DOCTYPE html><title>login</title>\n");
$ENV{FUMIDAI_WEB_DIR} = "$tmp/assets";
my $imap = $ms->port('imap');
sub config {
	my ($name, $port, $owner) = @_;
	my $path = "$tmp/$name.conf";
	write_file($path, <<"EOF");
state_dir = "$tmp/state";
timezone = "UTC";
redis = { socket = "${\ $redis->sock }"; prefix = "fm:"; };
web = {
  listen = "127.0.0.1:$port";
  admin_token = "adm1n-Token";
  secret = "web-owner-login.t secret, 32 bytes";
$owner
};
EOF
	return $path;
}
sub serve {
	my ($name, $conf, $port) = @_;
	my $pid = spawn_fumidai(['web', '-c', $conf], "$tmp/$name.out",
	    "$tmp/$name.err");
	push @pids, $pid;
	my $http = HTTP::Tiny->new(timeout => 30);
	for (1 .. 400) {
		return 1 if $http->get("http://127.0.0.1:$port/healthz")->{status}
		    == 200;
		sleep 0.05;
	}
	diag(FM::read_file("$tmp/$name.err"));
	return 0;
}
my $port = free_port();
my $conf = config('web', $port,
    qq(  owner_login = "imap://127.0.0.1:$imap";));
my ($st, $out, $err) = run_cmd([$bin, 'replay', '--no-progress', '-c', $conf,
    $ms->log_path]);
is($st, 0, 'the mail log replayed into Redis') or diag $err;
ok(serve('web', $conf, $port), 'fumidai web with owner_login answers /healthz');

# HTTP from a given 127.0.0.x address
my %ua;
sub req {
	my ($from, $method, $path, $body, %h) = @_;
	$ua{$from} //= HTTP::Tiny->new(max_redirect => 0, timeout => 30,
	    local_address => $from);
	return $ua{$from}->request($method, "http://127.0.0.1:$port$path",
	    { headers => \%h, defined $body ? (content => $body) : () });
}
sub login {
	my ($from, $acct, $pass, %h) = @_;
	return req($from, 'POST', '/api/owner/login',
	    encode_json({ account => $acct, password => $pass }),
	    'Content-Type' => 'application/json', 'X-Fumidai-CSRF' => '1', %h);
}
my $FAILED = qq({"error":"login failed"}\n);

# ---- logging in ----
my $r = req('127.0.0.2', 'GET', '/api/owner/login');
is($r->{status}, 200, 'GET /api/owner/login: on');
is($r->{content}, qq({"enabled":true}\n), '... says so');
$r = req('127.0.0.2', 'POST', '/api/owner/login',
    encode_json({ account => $ALICE, password => $pw{$ALICE} }),
    'Content-Type' => 'application/json');
is($r->{status}, 403, 'no X-Fumidai-CSRF header: 403');
ok(!$r->{headers}{'set-cookie'}, '... and no cookie');
$r = login('127.0.0.2', $ALICE, $pw{$ALICE});
is($r->{status}, 200, 'the right password: 200') or diag $r->{content};
is($r->{content}, qq({"ok":true}\n), '... {"ok":true}');
my $sc = $r->{headers}{'set-cookie'} // '';
my ($cookie) = $sc =~ /^(fm_owner=[^;]+)/;
ok($cookie, '... with the owner cookie');
like($sc, qr/; HttpOnly; SameSite=Lax; Path=\/; Max-Age=604800$/,
    '... HttpOnly, SameSite=Lax, web.link_ttl long');
is($r->{headers}{'content-security-policy'} ? 1 : 0, 1,
    '... with the security headers');
$r = req('127.0.0.2', 'GET', '/api/me', undef, Cookie => $cookie);
is($r->{status}, 200, 'the cookie opens /api/me');
my $me = eval { decode_json($r->{content}) } // {};
is($me->{account}{name}, $ALICE, "... alice's account");
like($r->{content}, qr/127\.0\.1\.10/, "... with alice's login");
unlike($r->{content}, qr/bob|127\.0\.2\.20/, "... and nothing of bob's");
is(req('127.0.0.2', 'GET', '/owner.html', undef, Cookie => $cookie)->{status},
    200, '... and the owner page');
is(req('127.0.0.2', 'GET', '/api/overview', undef, Cookie => $cookie)->{status},
    401, '... but not the admin API');
$ms->wait_for_log(qr{imap-login: Info: Login: user=<\Q$ALICE\E>.*rip=127\.0\.0\.1,}, 20);

$r = login('127.0.0.3', $ALICE, 'not-her-password');
is($r->{status}, 401, 'a wrong password: 401');
is($r->{content}, $FAILED, '... "login failed"');
ok(!$r->{headers}{'set-cookie'}, '... and no cookie');
$r = login('127.0.0.4', "nobody\@$D", 'whatever');
is($r->{status}, 401, 'an unknown account: 401');
is($r->{content}, $FAILED, '... the same answer');
ok(!$r->{headers}{'set-cookie'}, '... and no cookie');
$r = req('127.0.0.4', 'POST', '/api/owner/login', '{"account":"x"}',
    'X-Fumidai-CSRF' => '1');
is($r->{status}, 400, 'no password in the body: 400');
$r = login('127.0.0.4', "a\0b", 'x');
is($r->{status}, 400, 'a NUL in the account: 400');

# ---- an account name that tries to smuggle an IMAP command ----
sub count_logins {
	open my $fh, '<', $ms->log_path or return 0;
	return scalar grep { /imap-login: Info: Login: user=<\Q$ALICE\E>/ } <$fh>;
}
my $before = count_logins();
my $evil = qq(x" "y"\r\na9 LOGIN $ALICE $pw{$ALICE}\r\nb9 LOGIN "$ALICE" "$pw{$ALICE}"\n);
$r = login('127.0.0.5', $evil, $pw{$ALICE});
is($r->{status}, 401, 'an account with CR, LF, quotes and a command: 401');
is($r->{content}, $FAILED, '... "login failed"');
ok(!$r->{headers}{'set-cookie'}, '... and no cookie');
$r = login('127.0.0.5', $ALICE, qq(x"\r\na9 LOGOUT\r\n));
is($r->{status}, 401, 'a password with CR, LF and quotes: 401');
# a marker: a later login, so Dovecot has logged everything before it
ok($ms->imap_login('127.0.3.30', $CAROL, $pw{$CAROL}), 'carol logs in');
$ms->wait_for_log(qr{imap-login: Info: Login: user=<\Q$CAROL\E>}, 20);
is(count_logins(), $before, 'Dovecot logged no login of alice from them');
like(FM::read_file($ms->log_path), qr/auth: Info: plain\(\?,127\.0\.0\.1,[^)]*\): .*\(username: x" "y"\?\?a9 LOGIN \Q$ALICE\E \S+\?\?b9 LOGIN /,
    '... it reached Dovecot as one user name, refused whole');

# ---- limits ----
for my $i (1 .. 5) {
	is(login('127.0.0.6', "nobody$i\@$D", 'x')->{status}, 401,
	    "failure $i from one address: 401");
}
$r = login('127.0.0.6', $CAROL, $pw{$CAROL});
is($r->{status}, 429, 'the sixth from that address: 429, even the right password');
like($r->{content}, qr/too many/, '... saying why');
for my $i (1 .. 5) {
	is(login("127.0.0.1$i", $DAVE, 'wrong')->{status}, 401,
	    "failure $i for dave from 127.0.0.1$i: 401");
}
$ms->wait_for_log(qr/Disconnected: .*user=<\Q$DAVE\E>/, 20, 0, 5);
my $dave_fails = () = FM::read_file($ms->log_path) =~ /\Q$DAVE\E/g;
$r = login('127.0.0.20', $DAVE, $pw{$DAVE});
is($r->{status}, 429, "the sixth for dave, from a new address: 429");
ok(!$r->{headers}{'set-cookie'}, '... no cookie');
is(login('127.0.0.21', $BOB, $pw{$BOB})->{status}, 200,
    'another account from another address still logs in');
my $ok6 = grep { login('127.0.0.22', $ALICE, $pw{$ALICE})->{status} == 200 }
    1 .. 6;
is($ok6, 6, 'six successes in a row are not failures');

# ---- fumidai's log ----
my $log = FM::read_file("$tmp/web.err") . FM::read_file("$tmp/web.out");
like($log, qr/owner_login=ok account="\Q$ALICE\E" client=127\.0\.0\.2\b/,
    'a success is logged');
like($log, qr/owner_login=failed account="nobody\@\Q$D\E" client=127\.0\.0\.4\b/,
    'a failure is logged');
like($log, qr/owner_login=limited account="\Q$DAVE\E" client=127\.0\.0\.20\b/,
    'a refusal is logged');
like($log, qr/owner_login=failed account="x\\x22 \\x22y\\x22\\x0d\\x0aa9 LOGIN /,
    '... with the account escaped') or diag(join "\n", grep { /x22/ } split /\n/, $log);
unlike($log, qr/not-her-password|whatever|LOGOUT|wrong|carol-secret|dave-secret/,
    'no password in the log');
my $dave_after = () = FM::read_file($ms->log_path) =~ /\Q$DAVE\E/g;
is($dave_after, $dave_fails, 'the refused attempt never reached Dovecot');

# ---- TLS: imaps and STARTTLS, the certificate checked or not; a name ----
my $n = 0;
for my $case (
    ["imaps://127.0.0.1:$imaps", 'owner_login_verify = 0;', undef, 200,
	'imaps, not verified'],
    ["imaps://127.0.0.1:$imaps", '', undef, 503,
	'imaps, a self-signed certificate not trusted'],
    ["imaps://127.0.0.1:$imaps", '', "$tmp/cert.pem", 200,
	'imaps, the certificate trusted (SSL_CERT_FILE) and its address checked'],
    ["imap://127.0.0.1:$imap", 'owner_login_tls = "starttls";',
	"$tmp/cert.pem", 200, 'STARTTLS, verified'],
    ["imap://127.0.0.1:$imap", 'owner_login_tls = "starttls";', undef, 503,
	'STARTTLS, a self-signed certificate not trusted'],
    ["imap://localhost:$imap", '', undef, 200, 'a host name (localhost)']) {
	my ($u, $x, $ca, $want, $name) = @$case;
	my $pt = free_port();
	my $c = config('tls' . ++$n, $pt, qq(  owner_login = "$u"; $x));
	local $ENV{SSL_CERT_FILE} = $ca // "$tmp/none.pem";
	ok(serve("tls$n", $c, $pt), "fumidai web: $name");
	$r = HTTP::Tiny->new(timeout => 30)->post(
	    "http://127.0.0.1:$pt/api/owner/login", { headers =>
	    { 'X-Fumidai-CSRF' => '1' }, content => encode_json({
	    account => $ALICE, password => $pw{$ALICE} }) });
	is($r->{status}, $want, "$name: $want") or
	    diag(FM::read_file("$tmp/tls$n.err"));
	is(!!$r->{headers}{'set-cookie'}, $want == 200, '... cookie or none');
}

# ---- a server that is down; the option unset; bad settings ----
my $p2 = free_port();
my $dead = free_port();
my $c2 = config('down', $p2, qq(  owner_login = "imap://127.0.0.1:$dead";));
ok(serve('down', $c2, $p2), 'fumidai web with a dead IMAP server');
$r = HTTP::Tiny->new(timeout => 30)->post("http://127.0.0.1:$p2/api/owner/login",
    { headers => { 'X-Fumidai-CSRF' => '1' },
    content => encode_json({ account => $ALICE, password => $pw{$ALICE} }) });
is($r->{status}, 503, 'IMAP server unreachable: 503');
my $p3 = free_port();
my $c3 = config('off', $p3, '');
ok(serve('off', $c3, $p3), 'fumidai web without owner_login');
my $h3 = HTTP::Tiny->new(timeout => 30);
is($h3->post("http://127.0.0.1:$p3/api/owner/login", { headers =>
    { 'X-Fumidai-CSRF' => '1' }, content => '{}' })->{status}, 404,
    'owner_login unset: POST 404');
$r = $h3->get("http://127.0.0.1:$p3/api/owner/login");
is("$r->{status} $r->{content}", qq(200 {"enabled":false}\n),
    '... GET says it is off (the login page hides the form)');

for my $case (['imap://192.0.2.1:143', '', qr/loopback/],
    ['imap://127.0.0.1:143', 'owner_login_tls = "sometimes";', qr/starttls/],
    ['imaps://mail.example.net', 'owner_login_tls = "starttls";', qr/imaps/],
    ['pop3://127.0.0.1:110', '', qr/imap:\/\/HOST:PORT/],
    ['imap://[::1', '', qr/imap:\/\/HOST:PORT/]) {
	my ($u, $x, $re) = @$case;
	my $c = config('bad', 1, qq(  owner_login = "$u"; $x));
	my ($rc, undef, $e) = run_cmd([$bin, 'check-config', '-c', $c]);
	isnt($rc, 0, "check-config refuses owner_login $u $x");
	like($e, qr/web\.owner_login.*$re/, '... naming the setting');
}
for my $u ('imap://[::1]:143', 'imap://localhost:143',
    'imap://mail.example.net:143";  owner_login_tls = "starttls',
    'imaps://mail.example.net:993";  owner_login_verify = 0; #') {
	my ($rc, undef, $e) = run_cmd([$bin, 'check-config', '-c',
	    config('good', 1, qq(  owner_login = "$u";))]);
	is($rc, 0, "check-config accepts owner_login $u") or diag $e;
}

$ms->stop;
done_testing();
