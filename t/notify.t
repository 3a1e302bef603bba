#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# notify.t - the notification core (monitor/notify.c) and the webhook,
# pubsub and syslog notifiers inside `fumidai run -f`, against the test's
# own redis-server and a test HTTP receiver (a forked Perl process on
# 127.0.0.1 that records every request to a file, then answers 200, or
# 400 under /drop).
#
# - check-config: good notifiers pass; an unknown setting, a bad url, an
#   unknown plugin, a bad facility exit 2 naming the notifier; so does
#   `fumidai run`.
# - A fresh install starts at the stream's end: an alert filed before
#   fumidai first ran is never sent.
# - A brute force in the followed log gives one brute_force alert: the
#   receiver gets it once, with the record as body, X-Fumidai-Alert-Id and
#   a valid HMAC-SHA256 X-Fumidai-Signature; `redis-cli SUBSCRIBE` gets it
#   on the pubsub channel.  Filters: kinds, min_severity, max_age and
#   per_account (synthetic alerts added to the stream with redis-cli); a
#   4xx answer drops the alert and the cursor moves on.
# - Receiver down: the alert is retried and arrives once it is back.
# - Receiver down and fumidai restarted with an alert pending: it arrives
#   after the restart, once; nothing sent before is sent again.
# - https (openssl s_server as the receiver, its certificate trusted via
#   SSL_CERT_FILE): a signed request arrives; a certificate that does not
#   name the URL's address is refused and retried.
#
# Loopback only; every wait is bounded polling, no timing is asserted.
use strict;
use warnings;
use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha256_hex);
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use IPC::Open2;
use JSON::PP;
use POSIX qw(:sys_wait_h strftime);
use Test::More;
use Time::HiRes qw(sleep time);
use FM qw(run_cmd tmpdir write_file read_file have_prog free_port);

my $bin = abs_path(FM::fumidai()) // '';
plan skip_all => 'fumidai binary not built' unless -x $bin;
plan skip_all => 'redis-server is not installed' unless have_prog('redis-server');
plan skip_all => 'redis-cli is not installed' unless have_prog('redis-cli');

$SIG{PIPE} = 'IGNORE';
my $tmp = tmpdir();
my $redis = FM::start_redis($tmp);
my $G = 'fm:{g}';
my $SECRET = "s3cr\xc3\xa9t";
my ($fpid, $rpid, $spid, $port);
END {
	local $?;
	for my $p ($fpid, $rpid, $spid) {
		next unless $p;
		kill 'KILL', $p;
		waitpid $p, 0;
	}
}

# ---- the HTTP receiver -----------------------------------------------------
mkdir "$tmp/recv" or die;
my $nreq = 0;

# serve(socket) - the child: each request into recv/<n>.req, then an answer
sub serve {
	my ($srv) = @_;
	my $n = 0;
	while (1) {
		my $c = $srv->accept or next;
		local $/ = "\r\n";
		my $line = <$c> // next;
		my %h;
		while (defined(my $l = <$c>)) {
			last if $l eq "\r\n";
			$l =~ s/\r\n\z//;
			my ($k, $v) = split /:\s*/, $l, 2;
			$h{lc $k} = $v;
		}
		my $body = '';
		my $len = $h{'content-length'} // 0;
		while (length($body) < $len) {
			last unless read($c, $body, $len - length($body), length($body));
		}
		my ($path) = $line =~ m{^POST (\S+) HTTP/};
		$path //= '?';
		my $f = "$tmp/recv/" . sprintf('%d-%04d', $$, ++$n);
		write_file("$f.tmp", JSON::PP->new->canonical->encode({
		    path => $path, headers => \%h, body => $body }));
		rename "$f.tmp", "$f.req";
		my $code = $path =~ m{^/drop} ? '400 Bad Request' : '200 OK';
		print $c "HTTP/1.1 $code\r\nContent-Length: 2\r\n" .
		    "Connection: close\r\n\r\nok";
		close $c;
	}
}

sub start_receiver {
	my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
	    LocalPort => $port // 0, Listen => 16, ReuseAddr => 1,
	    Proto => 'tcp') or die "listen: $!";
	$port = $srv->sockport;
	$rpid = fork() // die "fork: $!";
	if ($rpid == 0) {
		serve($srv);
		POSIX::_exit(0);
	}
	close $srv;
}

sub stop_receiver {
	kill 'KILL', $rpid;
	waitpid $rpid, 0;
	undef $rpid;
}

# requests() - every request received so far, oldest first
sub requests {
	opendir(my $d, "$tmp/recv") or die;
	my @f = sort grep { /\.req\z/ } readdir $d;
	return map { decode_json(read_file("$tmp/recv/$_")) } @f;
}
sub reqs_for { my ($path) = @_; grep { $_->{path} eq $path } requests() }

sub wait_for {
	my ($what, $cond, $secs) = @_;
	my $end = time + ($secs // 30);
	while (time < $end) {
		return 1 if $cond->();
		sleep 0.1;
	}
	diag("timed out waiting for $what");
	return 0;
}

# tls_server(n, port) - openssl s_server on 127.0.0.(n+1):port for one
# connection: the request into tls<n>.req, then a 200 answer
sub tls_server {
	my ($n, $p) = @_;
	my $pid = fork() // die "fork: $!";
	return $pid if $pid;
	my $sp = open2(my $out, my $in, 'openssl', 's_server', '-accept',
	    '127.0.0.' . ($n + 1) . ":$p", '-cert', "$tmp/cert.pem", '-key',
	    "$tmp/key.pem", '-quiet', '-naccept', '1');
	my ($buf, $len) = ('');
	while (sysread($out, my $chunk, 4096)) {
		$buf .= $chunk;
		($len) = $buf =~ /^content-length:\s*(\d+)/mi
		    if !defined $len && $buf =~ /\r\n\r\n/;
		last if defined $len &&
		    length($buf) >= index($buf, "\r\n\r\n") + 4 + $len;
	}
	write_file("$tmp/tls$n.tmp", $buf);
	rename "$tmp/tls$n.tmp", "$tmp/tls$n.req";
	print $in "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	close $in;
	waitpid $sp, 0;
	POSIX::_exit(0);
}

# ---- fumidai ----------------------------------------------------------------
my $log = "$tmp/mail.log";
write_file($log, '');

sub notifiers {
	my $u = "http://127.0.0.1:$port";
	return <<"EOF";
notify = (
  { name = "hook"; plugin = "webhook"; url = "$u/hook";
    secret = "$SECRET"; headers = [ "X-Test: yes" ]; timeout = 10; },
  { name = "kinds"; plugin = "webhook"; url = "$u/kinds";
    kinds = [ "new_country", "spray" ]; },
  { name = "sev"; plugin = "webhook"; url = "$u/sev"; min_severity = "high"; },
  { name = "rate"; plugin = "webhook"; url = "$u/rate"; per_account = 3600;
    kinds = [ "new_asn" ]; },
  { name = "drop"; plugin = "webhook"; url = "$u/drop?x=1"; },
  { name = "ps"; plugin = "pubsub"; channel = "test-alerts"; },
  { name = "sl"; plugin = "syslog"; facility = "local5"; ident = "fm-test"; }
);
EOF
}

sub config {
	my ($extra) = @_;
	write_file("$tmp/fumidai.conf", <<"EOF");
state_dir = "$tmp/state";
instance = "mx";
flush_interval = 20;
poll_interval = 100;
redis = { socket = "${\ $redis->sock }"; prefix = "fm:"; retry_max = 300; };
inputs = ( { path = "$log"; } );
$extra
EOF
	return "$tmp/fumidai.conf";
}

sub start_fumidai {
	$fpid = fork() // die "fork: $!";
	if ($fpid == 0) {
		open(STDOUT, '>>', "$tmp/fumidai.out");
		open(STDERR, '>>', "$tmp/fumidai.err");
		exec($bin, 'run', '-f', '-c', "$tmp/fumidai.conf") or POSIX::_exit(127);
	}
}

sub stop_fumidai {
	kill 'TERM', $fpid;
	my $end = time + 30;
	while (waitpid($fpid, WNOHANG) == 0) {
		if (time > $end) {
			kill 'KILL', $fpid;
			waitpid $fpid, 0;
			last;
		}
		sleep 0.05;
	}
	my $st = $? >> 8;
	undef $fpid;
	return $st;
}

sub errlog { read_file("$tmp/fumidai.err") // '' }

# ---- alerts -----------------------------------------------------------------
sub iso { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime($_[0])) }
my $idn = 0;
# synth(kind, severity, account, last) - an alert filed as the post script
# files one: a stream entry and its latest record; returns the id
sub synth {
	my ($kind, $sev, $acct, $last) = @_;
	my $id = sprintf('%016x', 0xa1e7000 + ++$idn);
	my $t = iso($last // time);
	my $json = qq({"id":"$id","kind":"$kind","severity":"$sev",) .
	    qq("account":"$acct","ip":"192.0.2.9","net":"","time":"$t",) .
	    qq("first":"$t","last":"$t","until":"$t","count":1,) .
	    qq("summary":"synthetic $kind","evidence":{}});
	$redis->cli('HSET', "$G:alert:$id", 'json', $json, 'version', 1);
	$redis->cli('XADD', "$G:alerts", '*', 'id', $id, 'kind', $kind,
	    'json', $json);
	return $id;
}

my $seq = 0;
# brute(account, ip) - ten failed IMAP logins within the last minutes
sub brute {
	my ($acct, $ip) = @_;
	my $t0 = time - 120;
	my $l = '';
	for my $i (0 .. 9) {
		$seq++;
		$l .= iso($t0 + 5 * $i) . " mx1 dovecot: imap-login: Disconnected: " .
		    "Connection closed (auth failed, 1 attempts in 2 secs): " .
		    "user=<$acct>, method=PLAIN, rip=$ip, lip=192.0.2.1, TLS, " .
		    "session=<S$seq>\n";
	}
	write_file($log, $l, '>>');
}

sub cursor { my $c = $redis->cli('GET', "$G:notify:$_[0]"); chomp $c; $c }
sub stream_last {
	my @r = split /\n/, $redis->cli('XREVRANGE', "$G:alerts", '+', '-',
	    'COUNT', '1');
	return $r[0] // '';
}
sub ids_of { map { decode_json($_->{body})->{id} } @_ }

# ---- check-config -------------------------------------------------------------
start_receiver();
{
	my ($st, $out, $err) = run_cmd([ $bin, 'check-config', '-q', '-c',
	    config(notifiers()) ]);
	is($st, 0, 'check-config accepts the notifiers') or diag($err);
	my @bad = (
	    [ 'unknown setting', '{ name = "w1"; plugin = "webhook"; ' .
		'url = "http://127.0.0.1:1/"; colour = "red"; }',
		qr/notifier "w1": unknown setting "colour"/ ],
	    [ 'bad url', '{ name = "w2"; plugin = "webhook"; url = "ftp://x/"; }',
		qr/notifier "w2".*url/ ],
	    [ 'no url', '{ name = "w3"; plugin = "webhook"; }',
		qr/notifier "w3".*url/ ],
	    [ 'header with a bad name', '{ name = "w4"; plugin = "webhook"; ' .
		'url = "http://127.0.0.1:1/"; headers = [ "X Y: z" ]; }',
		qr/notifier "w4".*headers/ ],
	    [ 'unknown plugin', '{ name = "n5"; plugin = "nosuch"; }',
		qr/notifier "n5".*notify_nosuch\.so/ ],
	    [ 'bad facility', '{ name = "s6"; plugin = "syslog"; ' .
		'facility = "kern"; }', qr/notifier "s6".*facility/ ],
	    [ 'bad timeout', '{ name = "w7"; plugin = "webhook"; ' .
		'url = "http://127.0.0.1:1/"; timeout = 0; }',
		qr/notifier "w7".*timeout/ ],
	);
	for my $b (@bad) {
		my ($st, $out, $err) = run_cmd([ $bin, 'check-config', '-q', '-c',
		    config("notify = ( $b->[1] );") ]);
		is($st, 2, "check-config: $b->[0]: exit 2");
		like($err, $b->[2], "check-config: $b->[0]: named");
	}
	($st, $out, $err) = run_cmd([ $bin, 'run', '-f', '-c', config('notify = ' .
	    '( { name = "w8"; plugin = "webhook"; url = "x"; } );') ]);
	isnt($st, 0, 'run refuses a bad notifier');
	like($err, qr/notifier "w8"/, 'run names it');
}

# ---- first start: history is not sent ----------------------------------------
my $old = synth('spray', 'high', '', time - 60);
config(notifiers());
start_fumidai();
ok(wait_for('cursors', sub { !grep { cursor($_) eq '' }
    qw(hook kinds sev rate drop ps sl) }), 'every notifier has a cursor');
is(cursor('hook'), stream_last(), 'a new notifier starts at the stream end');
my $cttl = $redis->cli('TTL', "$G:notify:hook");
chomp $cttl;
ok($cttl > 86400, 'the cursor has the retention TTL');

# the subscriber (redis-cli prints each message's channel and payload)
$spid = fork() // die;
if ($spid == 0) {
	open(STDOUT, '>', "$tmp/sub.out");
	open(STDERR, '>', '/dev/null');
	exec('redis-cli', '--raw', '-s', $redis->sock, 'SUBSCRIBE',
	    'test-alerts') or POSIX::_exit(127);
}
ok(wait_for('the subscriber', sub { $redis->cli('PUBSUB', 'NUMSUB',
    'test-alerts') =~ /\n1\n?\z/ }), 'subscriber ready');

# ---- a brute force in the log ---------------------------------------------------
brute('alice@example.org', '192.0.2.7');
ok(wait_for('brute_force at the receiver', sub { reqs_for('/hook') >= 1 }),
    'the webhook got an alert');
my @h = reqs_for('/hook');
is(scalar(@h), 1, 'once');
my $r = $h[0];
my $a = eval { decode_json($r->{body}) } // {};
is($a->{kind}, 'brute_force', 'body is the alert record');
is($a->{account}, 'alice@example.org', 'with its account');
like($a->{id} // '', qr/\A[0-9a-f]{16}\z/, 'and its id');
is($r->{headers}{'x-fumidai-alert-id'}, $a->{id}, 'X-Fumidai-Alert-Id');
is($r->{headers}{'x-fumidai-signature'}, 'sha256=' .
    hmac_sha256_hex($r->{body}, $SECRET), 'X-Fumidai-Signature is the HMAC');
is($r->{headers}{'content-type'}, 'application/json', 'Content-Type');
is($r->{headers}{'x-test'}, 'yes', 'configured header');
my $stored = $redis->cli('HGET', "$G:alert:$a->{id}", 'json');
chomp $stored;
is($r->{body}, $stored, 'the body is the stored record, byte for byte');
my $bf = $a->{id};

ok(wait_for('pubsub', sub { (read_file("$tmp/sub.out") // '') =~ /"id":"$bf"/ }),
    'the subscriber got it on test-alerts');
ok(wait_for('drop', sub { reqs_for('/drop?x=1') >= 1 }), 'the 4xx receiver got it');
ok(wait_for('drop cursor', sub { cursor('drop') eq stream_last() }),
    'after a 4xx the cursor moved on');
like(errlog(), qr/notifier=drop alert=$bf kind=brute_force status=drop/,
    'the drop is logged');
ok(wait_for('syslog cursor', sub { cursor('sl') eq stream_last() }),
    'the syslog notifier delivered it');

# ---- filters ------------------------------------------------------------------
my $nc = synth('new_country', 'medium', 'bob@example.org');
my $cr = synth('success_after_failures', 'critical', 'bob@example.org');
my $stale = synth('impossible_travel', 'high', 'carol@example.org',
    time - 3 * 86400);
my $asn1 = synth('new_asn', 'low', 'dave\r\n@example.org');
my $asn2 = synth('new_asn', 'low', 'dave\r\n@example.org');
my $asn3 = synth('new_asn', 'low', 'erin@example.org');
my $end = stream_last();
ok(wait_for('filters', sub { !grep { cursor($_) ne $end }
    qw(hook kinds sev rate drop ps) }), 'every notifier went through them');
is_deeply([ ids_of(reqs_for('/kinds')) ], [ $nc ], 'kinds: only new_country');
is_deeply([ ids_of(reqs_for('/sev')) ], [ $cr ],
    'min_severity high: the critical one (not brute_force, not the stale one)');
is_deeply([ ids_of(reqs_for('/rate')) ], [ $asn1, $asn3 ],
    'per_account: one per account');
is_deeply([ ids_of(reqs_for('/hook')) ], [ $bf, $nc, $cr, $asn1, $asn2, $asn3 ],
    'hook: all but the stale one and the history');
my $dave = decode_json((reqs_for('/rate'))[0]{body})->{account};
is($dave, "dave\r\n\@example.org", 'account with CR LF as JSON escapes');
my $ttl = $redis->cli('TTL', "$G:notify:rate:rate");
chomp $ttl;
ok($ttl > 0 && $ttl <= 3600, 'the rate hash expires');
is($redis->cli('HEXISTS', "$G:notify:rate:rate", 'dave\r\n@example.org'),
    "1\n", 'keyed by the escaped account');
ok(!grep({ $_ eq $old } map { ids_of(reqs_for($_)) } qw(/hook /kinds /sev)),
    'the alert filed before the first start was not sent');

# ---- receiver down: retry ---------------------------------------------------------
stop_receiver();
my $mark = length(errlog());
my $r1 = synth('spray', 'high', '');
ok(wait_for('a retry', sub { substr(errlog(), $mark) =~
    /notifier=hook alert=$r1 .*status=retry.*retry_in=2/ }),
    'receiver down: retried with a growing pause');
start_receiver();
ok(wait_for('the retried alert', sub { grep { $_ eq $r1 } ids_of(reqs_for('/hook')) },
    30), 'receiver back: the alert arrives');
ok(wait_for('hook cursor', sub { cursor('hook') eq stream_last() }), 'cursor saved');

# ---- restart with an alert pending ----------------------------------------------------
stop_receiver();
$mark = length(errlog());
my $r2 = synth('spray_net', 'high', '');
ok(wait_for('a retry', sub { substr(errlog(), $mark) =~
    /notifier=hook alert=$r2 .*status=retry/ }), 'pending alert retried');
is(stop_fumidai(), 0, 'fumidai stops with a delivery pending');
isnt(cursor('hook'), stream_last(), 'its cursor stayed before it');
$redis->cli('SET', "$G:notify:kinds", "garbage\r\n");
start_receiver();
start_fumidai();
ok(wait_for('a cursor replaced', sub { cursor('kinds') eq stream_last() }),
    'an unreadable cursor is replaced by the stream end');
like(errlog(), qr/notifier=kinds msg="cursor unreadable/, 'and logged');
ok(wait_for('the pending alert', sub { grep { $_ eq $r2 } ids_of(reqs_for('/hook')) },
    30), 'after the restart the pending alert arrives');
ok(wait_for('hook cursor', sub { cursor('hook') eq stream_last() }), 'cursor saved');
brute('frank@example.org', '192.0.2.8');
ok(wait_for('a new brute force', sub { grep { decode_json($_->{body})->{account}
    eq 'frank@example.org' } reqs_for('/hook') }), 'live alerts after the restart');
sleep 1.5;	# a second poll: nothing more may come
my %n;
$n{"$_->{path} " . decode_json($_->{body})->{id}}++ for requests();
is_deeply([ grep { $n{$_} != 1 } sort keys %n ], [], 'every alert arrived once');
is(scalar(grep { /^\/hook / } keys %n), 9, 'hook: nine alerts in all');
is(stop_fumidai(), 0, 'fumidai stops');

# ---- https --------------------------------------------------------------------------
# openssl s_server as the receiver (one connection each); its certificate
# (IP 127.0.0.1 only) is made trusted with SSL_CERT_FILE.  A server on
# 127.0.0.2 with the same certificate does not match its URL.
SKIP: {
	skip 'openssl is not installed', 5 unless have_prog('openssl');
	my ($st) = run_cmd([ 'openssl', 'req', '-x509', '-newkey', 'ec',
	    '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout',
	    "$tmp/key.pem", '-out', "$tmp/cert.pem", '-days', '2', '-subj',
	    '/CN=fumidai test', '-addext', 'subjectAltName=IP:127.0.0.1' ]);
	skip 'openssl cannot make a certificate', 5 if $st;
	my @tport = map { free_port($_) } '127.0.0.1', '127.0.0.2';
	my @tls = map { tls_server($_, $tport[$_]) } 0, 1;
	config(<<"EOF");
notify = (
  { name = "tls"; plugin = "webhook"; url = "https://127.0.0.1:$tport[0]/t";
    secret = "$SECRET"; },
  { name = "tlsname"; plugin = "webhook"; url = "https://127.0.0.2:$tport[1]/t"; }
);
EOF
	$mark = length(errlog());
	{
		local $ENV{SSL_CERT_FILE} = "$tmp/cert.pem";
		start_fumidai();
	}
	ok(wait_for('cursors', sub { cursor('tls') ne '' && cursor('tlsname') ne '' }),
	    'https notifiers started');
	my $id = synth('distributed', 'high', 'gina@example.org');
	ok(wait_for('the https request', sub { -s "$tmp/tls0.req" }),
	    'https: the receiver got a request');
	my $req = read_file("$tmp/tls0.req") // '';
	my ($hdr, $body) = split /\r\n\r\n/, $req, 2;
	like($hdr // '', qr/^X-Fumidai-Alert-Id: $id\r?$/mi, 'https: the alert');
	my $sig = hmac_sha256_hex($body // '', $SECRET);
	like($hdr // '', qr/^X-Fumidai-Signature: sha256=$sig\r?$/mi,
	    'https: signed body');
	ok(wait_for('a TLS failure', sub { substr(errlog(), $mark) =~
	    /notifier=tlsname alert=$id .*status=retry.*certificate verify failed/ }),
	    'https: a certificate for another address is refused (retry)');
	stop_fumidai();
	for (@tls) { kill 'KILL', $_; waitpid $_, 0 }
}
unlike(errlog(), qr/ERROR|Sanitizer|runtime error/, 'no errors logged');

done_testing();
