#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# web-ui.t - the dashboard (web/, doc/dashboard.md) in Debian's headless
# Chromium, driven by playwright-core (t/lib/webui.cjs), against a real
# `fumidai web` on 127.0.0.1 with the test's own redis-server.
#
# A small log, timed a minute before now, is replayed first; the test GeoIP
# databases (t/lib/mkmmdb.pl) place 127.0.1.0/24 in Japan and 127.0.2.0/24
# in the United States:
#   - alice@fumidai.test logs in over IMAP from 127.0.1.10 (JP) four times
#     and sends one message (SMTP AUTH; its Subject, logged by
#     header_checks, holds markup) to two recipients at example.net, one
#     delivered, one deferred; then 127.0.2.66 (US) fails twice for her
#     and 127.0.2.67 (US) logs in as her: the login she will say was not
#     her;
#   - bob@fumidai.test logs in from 127.0.1.11 (JP);
#   - frank@fumidai.test fails 8 times from 127.0.2.66 (US): brute_force
#     (threshold 5 in this configuration);
#   - an account named with markup (a <script> and an <img onerror>) fails
#     3 times from 127.0.2.66.
# Over plain HTTP: unauthenticated API requests get 401 and pages a redirect
# to the login page; the token opens the API; pages carry the CSP; owner
# links with another account's name or a moved expiry get 403; the built
# files name no other host; the sources (web/src) use no innerHTML-like
# sink and have no inline script, style or handler.  Then, in the browser: the login page refuses
# a wrong password (and says so) and takes the right one; the overview
# lists the accounts, the brute_force alert, shades Japan and the United
# States on the map and draws failures on the timeline; the search finds
# alice and opens her page (logins, the message and both recipients); the
# markup account's name renders as text and runs no script; logging out
# ends the session; alice's signed link (`fumidai web-link`) opens her page
# and nothing of bob's or frank's, the owner cookie does not open the admin
# API, feedback without the CSRF header is refused, "This was me" and "This
# wasn't me" are accepted and show as marks after a reload, and the latter
# files one high-severity owner_report alert (checked with `fumidai alerts
# --json`); the owner page is Japanese for a Japanese browser; an expired
# link and a tampered one get 403, no cookie and no /api/me.  Every page
# must load without console errors, failed requests or requests to another
# origin.
#
# Screenshots of each view go to $FM_SCREENSHOTS when set (the PNGs in
# doc/img/ were made with FM_SCREENSHOTS=doc/img), else to the test's
# temporary directory.
#
# Needs chromium (Debian's, /usr/bin/chromium or $CHROMIUM), node, the
# dashboard built (web/dist and web/node_modules of the build, i.e. npm was
# there at build time), redis-server and libmaxmind-db-writer-perl: skipped
# otherwise, with the reason.  Only loopback; every wait is for an element,
# a response or a bounded poll of the server's health, never a fixed sleep.
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
use Time::HiRes qw(sleep);
use FM qw(run_cmd tmpdir write_file read_file have_prog spawn_fumidai stop_pid free_port);

my $bin = abs_path(FM::fumidai()) // '';
plan skip_all => 'fumidai binary not built' unless -x $bin;
my $chromium = $ENV{CHROMIUM} // have_prog('chromium');
plan skip_all => 'chromium is not installed (apt-get install chromium)'
    unless $chromium && -x $chromium;
my $node = have_prog('node');
plan skip_all => 'node is not installed' unless $node;
my $web = abs_path(FM::builddir() . '/web') // '';
my $dist = $ENV{FUMIDAI_WEB_DIR} // "$web/dist";
plan skip_all => 'the dashboard is not built (configure found no npm, or ' .
    '--disable-dashboard)'
    unless -f "$dist/index.html" && -d "$web/node_modules/playwright-core";
plan skip_all => 'redis-server is not installed' unless have_prog('redis-server');

my $tmp = tmpdir();
mkdir "$tmp/geo" or die "$tmp/geo: $!";
my ($gst, $gout, $gerr) = run_cmd([ $^X, FM::srcdir() . '/t/lib/mkmmdb.pl',
    "$tmp/geo" ]);
plan skip_all => 'MaxMind::DB::Writer is not installed ' .
    '(libmaxmind-db-writer-perl)' if $gst == 2 && $gerr =~ /not installed/;
die "mkmmdb.pl: $gerr" if $gst;
$ENV{FUMIDAI_GEO_ALLOW_LOOPBACK} = 1;
$ENV{FUMIDAI_WEB_DIR} = $dist;

my $D = 'fumidai.test';
my ($ALICE, $BOB, $FRANK) = map { "$_\@$D" } qw(alice bob frank);
my $XSS = "<script>window.fmXss=1</script><img/src=x/onerror=window.fmXss=2>\@$D";
my $SUBJECT = 'Invoice <img src=x onerror=window.fmSubj=1> & report';
my $SECRET = 'web-ui-test-secret-0123456789';
my $PASSWORD = 'admin-pw-web-ui';
my $TOKEN = 'admin-token-web-ui';

# ---- the log: ISO times, one second apart, ending a minute or so before
# now (never before today's UTC midnight: the overview shows today)
my $now = time;
my $t = $now - 100;
$t = $now - $now % 86400 if $t < $now - $now % 86400;
my @log;
sub at { strftime('%Y-%m-%dT%H:%M:%S.000000+00:00', gmtime($t++)) . ' mx1 ' . $_[0] . "\n" }
my $sess = 0;
sub imap_ok {
	my ($user, $ip) = @_;
	$sess++;
	push @log, at("dovecot: imap-login: Login: user=<$user>, method=PLAIN, " .
	    "rip=$ip, lip=127.0.0.1, mpid=${\ (1000 + $sess)}, TLS, session=<W${sess}xyzAb>");
}
sub smtp_fail {
	my ($user, $ip) = @_;
	push @log, at("postfix/submission/smtpd[2001]: warning: unknown[$ip]: " .
	    "SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=$user");
}
imap_ok($ALICE, '127.0.1.10') for 1 .. 4;
imap_ok($BOB, '127.0.1.11');
push @log,
    at("postfix/submission/smtpd[2002]: connect from unknown[127.0.1.10]"),
    at("postfix/submission/smtpd[2002]: 4A1B2C3D4E: client=unknown[127.0.1.10], " .
	"sasl_method=PLAIN, sasl_username=$ALICE"),
    at("postfix/cleanup[2003]: 4A1B2C3D4E: message-id=<web-ui-1\@$D>"),
    at("postfix/cleanup[2003]: 4A1B2C3D4E: info: header Subject: $SUBJECT " .
	"from unknown[127.0.1.10]; from=<$ALICE> to=<friend\@example.net> " .
	"proto=ESMTP helo=<client.example.org>"),
    at("postfix/qmgr[2004]: 4A1B2C3D4E: from=<$ALICE>, size=1234, nrcpt=2 (queue active)"),
    at("postfix/submission/smtpd[2002]: disconnect from unknown[127.0.1.10] " .
	"ehlo=1 auth=1 mail=1 rcpt=2 data=1 quit=1 commands=7"),
    at("postfix/smtp[2005]: 4A1B2C3D4E: to=<friend\@example.net>, " .
	"relay=mx.example.net[127.0.0.1]:25, delay=0.1, delays=0/0/0.05/0.05, " .
	"dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 1234)"),
    at("postfix/smtp[2005]: 4A1B2C3D4E: to=<later\@example.net>, " .
	"relay=none, delay=0.1, delays=0/0/0.1/0, dsn=4.4.1, " .
	"status=deferred (connect to example.net[127.0.0.1]:25: Connection refused)");
smtp_fail($ALICE, '127.0.2.66') for 1 .. 2;
imap_ok($ALICE, '127.0.2.67');
smtp_fail($FRANK, '127.0.2.66') for 1 .. 8;
smtp_fail($XSS, '127.0.2.66') for 1 .. 3;
write_file("$tmp/mail.log", join('', @log));

# ---- fumidai: redis, config, replay
my $port = free_port();
my $base = "http://127.0.0.1:$port";
my $redis = FM::start_redis($tmp);
my $conf = "$tmp/fumidai.conf";
write_file($conf, <<"EOF");
state_dir = "$tmp/state";
instance = "mx1";
redis = { socket = "${\ $redis->sock }"; prefix = "fm:"; };
inputs = ( { path = "$tmp/mail.log"; } );
geoip = { city = "$tmp/geo/city-maxmind.mmdb"; asn = "$tmp/geo/asn.mmdb"; };
detect = { brute_force = { threshold = 5; }; };
web = {
  listen = "127.0.0.1:$port";
  admin_token = "$TOKEN";
  admin_password = "$PASSWORD";
  secret = "$SECRET";
  base_url = "$base";
  owner_login = "imap://127.0.0.1:1";	# closed: the form shows, logins get 503
};
EOF
my ($st, $out, $err) = run_cmd([ $bin, 'replay', '--no-progress', '-c', $conf,
    "$tmp/mail.log" ]);
is($st, 0, 'replay of the test log') or diag $err;

my $wpid = spawn_fumidai([ 'web', '-c', $conf ], "$tmp/web.out", "$tmp/web.err");
END { stop_pid($wpid) if $wpid }
my $http = HTTP::Tiny->new(max_redirect => 0, timeout => 30);
my $up;
for (1 .. 400) {
	my $r = $http->get("$base/healthz");
	if ($r->{status} == 200) { $up = 1; last }
	last if waitpid($wpid, POSIX::WNOHANG()) == $wpid;
	sleep 0.05;
}
ok($up, 'fumidai web answers /healthz') or do {
	diag(read_file("$tmp/web.err") // '');
	undef $wpid;
	done_testing();
	exit;
};

# ---- plain HTTP: authentication and headers
my $r = $http->get("$base/api/overview");
is($r->{status}, 401, 'API without authentication: 401');
like($r->{content}, qr/"error"\s*:\s*"authentication required"/, '... with the JSON error');
$r = $http->get("$base/");
ok($r->{status} == 303 && ($r->{headers}{location} // '') =~ m{/login\.html$},
    'admin page without authentication: to the login page')
    or diag "$r->{status} " . ($r->{headers}{location} // '');
$r = $http->get("$base/api/overview", { headers => { Authorization => "Bearer $TOKEN" } });
is($r->{status}, 200, 'API with the admin token: 200');
$r = $http->get("$base/login.html");
like($r->{headers}{'content-security-policy'} // '', qr/script-src 'self'/,
    'pages carry the Content-Security-Policy');

# ---- owner links: a real one; expired and tampered ones
($st, $out, $err) = run_cmd([ $bin, 'web-link', '-c', $conf, $ALICE ]);
is($st, 0, 'fumidai web-link') or diag $err;
my ($link) = $out =~ m{^(\Q$base\E/o/\S+)$}m;
ok($link, 'web-link prints a link under base_url') or diag $out;
$link //= "$base/o/none";
my ($tok) = $link =~ m{/o/(.*)$};
my ($tacct, $texp, $tmac) = split /\./, $tok;

# link(account, expiry) - a token made as the contract says, with the key
# derived from web.secret (SHA-256 of it, weblink.c)
sub link_for {
	my ($acct, $exp) = @_;
	my $mac = hmac_sha256("owner\0$acct\0$exp", sha256($SECRET));
	return "$base/o/" . encode_base64url($acct) . ".$exp." . encode_base64url($mac);
}
my $fresh = link_for($ALICE, $now + 3600);
$r = $http->get($fresh);
is($r->{status}, 303, 'a link made here as the contract says is accepted (so the expired one below is only expired)');
my $expired = link_for($ALICE, $now - 60);
(my $badmac = $tmac) =~ s/^(.)/$1 eq 'A' ? 'B' : 'A'/e;
my $tampered = "$base/o/$tacct.$texp.$badmac";
my $swapped = "$base/o/" . encode_base64url($BOB) . ".$texp.$tmac";
$r = $http->get($swapped);
is($r->{status}, 403, "alice's signature on bob's name: 403");
$r = $http->get("$base/o/" . encode_base64url($ALICE) . '.' . ($texp + 1000) . ".$tmac");
is($r->{status}, 403, 'a link with its expiry moved: 403');

# ---- the built files name no other host (the map and the country names
# are bundled; the SVG namespace is a name, not a fetch)
my @urls;
for my $f (glob("$dist/*.html $dist/assets/*")) {
	my $d = read_file($f) // '';
	push @urls, map { "$f: $_" } grep { $_ ne 'http://www.w3.org/2000/svg' }
	    $d =~ m{((?:https?:)?//[A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z]{2,}[^\s"'()]*)}g;
}
is(join("\n", @urls), '', 'the dashboard files refer to no other host');

# ---- the sources: no HTML parsing of data, no inline script or style
# (the CSP would block them; the browser part below checks the result)
my @bad;
my @src = (glob(FM::srcdir() . '/web/src/*/*.js'), glob(FM::srcdir() . '/web/src/html/*.html'));
for my $f (@src) {
	my $d = read_file($f) // '';
	$d =~ s{^\s*//.*$}{}mg;	# comments
	push @bad, "$f: $1" while $d =~ /(\.(?:inner|outer)HTML\b|insertAdjacentHTML|document\.write|\beval\s*\(|new\s+Function\b)/g;
	push @bad, "$f: $1" while $f =~ /\.html$/ &&
	    $d =~ /(<script(?![^>]*\ssrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=)/gi;
}
ok(@src > 10, 'the dashboard sources are there');
is(join("\n", @bad), '', 'no innerHTML-like sinks, inline scripts, styles or handlers in the sources');

# ---- the browser
my $shots = $ENV{FM_SCREENSHOTS} ? abs_path($ENV{FM_SCREENSHOTS}) : "$tmp/shots";
mkdir $shots unless -d $shots;
my $spec = {
	base => $base, password => $PASSWORD, modules => "$web/node_modules",
	chromium => $chromium, shots => $shots,
	accounts => [ $FRANK, $XSS ], alert_kinds => [ 'brute_force' ],
	countries => [ 'JP', 'US' ],
	search => 'alic', search_name => $ALICE,
	account => { name => $ALICE, hex => unpack('H*', $ALICE),
	    messages => [ 'friend@example.net', 'later@example.net', $SUBJECT ] },
	xss => { name => $XSS, hex => unpack('H*', $XSS) },
	owner => { link => $link, name => $ALICE, others => [ $BOB, $FRANK, 'fmXss' ],
	    messages => [ 'friend@example.net' ], notme => '127.0.2.67',
	    me => '127.0.1.10' },
	expired => $expired, tampered => $tampered,
};
write_file("$tmp/spec.json", JSON::PP->new->canonical->encode($spec));
my $driver = FM::srcdir() . '/t/lib/webui.cjs';
{
	# Chromium writes its profile and NSS files under HOME: the test's own
	mkdir "$tmp/home";
	local $ENV{HOME} = "$tmp/home";
	($st, $out, $err) = run_cmd([ $node, $driver, "$tmp/spec.json" ]);
}
my $checks = 0;
for my $line (split /\n/, $out) {
	my $c = eval { decode_json($line) };
	unless ($c) {
		diag "webui.cjs: $line";
		next;
	}
	$checks++;
	ok($c->{ok}, $c->{name}) or diag $c->{diag};
}
ok($checks >= 40, "the browser ran its checks ($checks)") or diag $err;
is($st, 0, 'webui.cjs exit status') or diag $err;
ok(-s "$shots/$_.png", "screenshot $_.png") for qw(login admin account owner owner-ja);

# ---- "This wasn't me" (on the login from 127.0.2.67) filed a high-severity
# owner_report for alice
($st, $out, $err) = run_cmd([ $bin, 'alerts', '-c', $conf, '--json',
    '--kind', 'owner_report' ]);
my @rep = grep { $_->{account} eq $ALICE } map { decode_json($_) }
    grep { /^\{/ } split /\n/, $out;
is(scalar @rep, 1, "one owner_report alert for alice") or diag "$out$err";
is($rep[0]{severity}, 'high', '... of high severity') if @rep;
like($out, qr/127\.0\.2\.67/, '... naming the address of the login');

is(stop_pid($wpid), 0, 'fumidai web stops on SIGTERM');
undef $wpid;
done_testing();
