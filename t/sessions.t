#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# sessions.t - open sessions and concurrent_sessions on real logs.  Real
# Postfix and Dovecot on loopback (t/lib/MailStack.pm), followed live by
# `fumidai run`; the test GeoIP databases of t/lib/mkmmdb.pl place
# 127.0.1.0/24 in JP (AS64501) and 127.0.2.0/24 in US (AS64502).
#
#   - alice holds an IMAP, a POP3 and a submission session (which sent one
#     message) from Tokyo: `fumidai sessions alice` shows exactly those
#     three (session ids and smtpd pid as the log names them), the list
#     shows alice; no concurrent_sessions alert (one country, one AS).
#     She closes them: none left.
#   - bob holds an IMAP session from Tokyo, then another from New York:
#     exactly one concurrent_sessions alert, high, with both sessions as
#     evidence; then he closes both.
#   - carol logs in over IMAP from Tokyo and logs out, then from New York:
#     no concurrent_sessions alert.
# Then `fumidai replay` of the lines read into a fresh Redis raises the
# same alert with the same id.
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
use MIME::Base64 qw(encode_base64);
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(sleep time);
use FM qw(run_cmd tmpdir read_file write_file write_config have_prog
    spawn_fumidai stop_pid);
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

$ENV{FUMIDAI_GEO_ALLOW_LOOPBACK} = 1;

my $D = 'fumidai.test';
my ($ALICE, $BOB, $CAROL) = map { "$_\@$D" } qw(alice bob carol);
my %pw = map { $_ => (split /\@/)[0] . '-secret' } $ALICE, $BOB, $CAROL;

my $tmp = tmpdir();
mkdir "$tmp/geo" or die "$tmp/geo: $!";
my ($gst, undef, $gerr) = run_cmd([ $^X, "$FindBin::Bin/lib/mkmmdb.pl",
    "$tmp/geo" ]);
is($gst, 0, 'the test GeoIP databases') or BAIL_OUT($gerr);
my $extra = "geoip = { city = \"$tmp/geo/city-maxmind.mmdb\"; " .
    "asn = \"$tmp/geo/asn.mmdb\"; };\n";

my $ms = MailStack->new(users => [ map { [ $_, $pw{$_} ] } sort keys %pw ]);
my $live = $ms->log_path;
my $redis = FM::start_redis($tmp);
my $conf = write_config("$tmp/fumidai.conf", state_dir => "$tmp/state",
    redis => $redis->sock, instance => 'mx', inputs => [ $live ],
    extra => "flush_interval = 20;\npoll_interval = 100;\n$extra");
my $fpid = spawn_fumidai([ 'run', '-f', '-c', $conf ], "$tmp/fumidai.out",
    "$tmp/fumidai.err");
END { if ($fpid) { kill 'KILL', $fpid; waitpid $fpid, 0 } }

$ms->start;
caught_up('the servers\' start-up lines');

# ---- alice: three sessions from Tokyo ---------------------------------------

my $since = $ms->log_size;
my $ai = imap_open('127.0.1.10', $ALICE);
my $ap = pop3_open('127.0.1.11', $ALICE);
my $as = smtp_open('127.0.1.12', $ALICE);
my @a_login = (
    login_line(imap => $ALICE, '127.0.1.10', $since),
    login_line(pop3 => $ALICE, '127.0.1.11', $since));
my $a_client = $ms->wait_for_log(qr{ postfix/submission/smtpd\[\d+\]: \w+: }
    . qr{client=unknown\[127\.0\.1\.12\], sasl_method=PLAIN, }
    . qr{sasl_username=\Q$ALICE\E$}, undef, $since);
ok($a_client, 'the log: alice\'s message on submission') or BAIL_OUT('no log');
my ($a_pid) = $a_client =~ /smtpd\[(\d+)\]/;
my ($a_host) = $a_client =~ /^\S+\s+\d+\s+\S+\s+(\S+)\s/;
$ms->wait_log_quiet;
caught_up('alice\'s three logins');

my $want_alice = [
    sess(imap => '127.0.1.10', 'JP', 64501, '', $a_login[0]),
    sess(pop3 => '127.0.1.11', 'JP', 64501, '', $a_login[1]),
    sess(submission => '127.0.1.12', 'JP', 64501, $a_host, $a_pid) ];
sessions_are($ALICE, $want_alice, 'alice holds IMAP, POP3 and submission ' .
    'sessions');
my ($lst, $lout) = run_cmd([ $bin, 'sessions', '-c', $conf, '--json' ]);
my $list = eval { decode_json($lout) } // {};
is_deeply([ map { [ $_->{account}, $_->{sessions}, $_->{countries} ] }
    @{$list->{accounts} // []} ], [ [ $ALICE, 3, 'JP' ] ],
    'fumidai sessions: alice, with three sessions from JP') or diag $lout;
my ($tst, $tout) = run_cmd([ $bin, 'sessions', '-c', $conf, $ALICE ]);
is($tst, 0, 'fumidai sessions alice (table): exit 0');
is(scalar(grep { /\b127\.0\.1\.1[012]\s+JP\s+64501\b/ } split /\n/, $tout),
    3, 'the table: three rows') or diag $tout;

$since = $ms->log_size;
imap_close($ai);
pop3_close($ap);
smtp_close($as);
logout_line(imap => $ALICE, $a_login[0], $since);
logout_line(pop3 => $ALICE, $a_login[1], $since);
$ms->wait_for_log(qr{ smtpd\[$a_pid\]: disconnect from }
    . qr{unknown\[127\.0\.1\.12\]}, undef, $since);
$ms->wait_log_quiet;
caught_up('alice\'s three logouts');
sessions_are($ALICE, [], 'alice closed all three');

# ---- bob: Tokyo and New York at once ---------------------------------------

$since = $ms->log_size;
my $b1 = imap_open('127.0.1.20', $BOB);
my $b1_id = login_line(imap => $BOB, '127.0.1.20', $since);
my $b2 = imap_open('127.0.2.20', $BOB);
my $b2_id = login_line(imap => $BOB, '127.0.2.20', $since);
$ms->wait_log_quiet;
caught_up('bob\'s two logins');
my @bob = (sess(imap => '127.0.1.20', 'JP', 64501, '', $b1_id),
    sess(imap => '127.0.2.20', 'US', 64502, '', $b2_id));
sessions_are($BOB, \@bob, 'bob holds sessions from Tokyo and New York');
$since = $ms->log_size;
imap_close($b1);
imap_close($b2);
logout_line(imap => $BOB, $_, $since) for $b1_id, $b2_id;

# ---- carol: Tokyo, then New York ---------------------------------------------

ok($ms->imap_login('127.0.1.30', $CAROL, $pw{$CAROL}),
    'carol from Tokyo: login and logout');
logout_line(imap => $CAROL, '[^>]+', 0, 1);
ok($ms->imap_login('127.0.2.30', $CAROL, $pw{$CAROL}),
    'carol from New York: login and logout');
logout_line(imap => $CAROL, '[^>]+', 0, 2);
$ms->wait_log_quiet;
caught_up('everything');
sessions_are($BOB, [], 'bob closed both');
sessions_are($CAROL, [], 'carol holds no session');

my @cs = cs_alerts($conf);
is(scalar @cs, 1, 'exactly one concurrent_sessions alert') or
    diag explain \@cs;
my $al = $cs[0] // {};
is_deeply([ @$al{qw(account severity ip)} ], [ $BOB, 'high', '127.0.2.20' ],
    'for bob, high, from the New York session');
my $ev = $al->{evidence} // {};
my @f = qw(ip cc asn service session host mech);
is_deeply([ sort { $a->{ip} cmp $b->{ip} }
    map { pick($_) } @{$ev->{sessions} // []} ], [ map { pick($_) } @bob ],
    'evidence: both of bob\'s sessions') or diag explain $ev;
is_deeply([ $ev->{countries}, $ev->{asns} ], [ [ 'JP', 'US' ],
    [ 64501, 64502 ] ], 'evidence: countries JP, US; AS64501, AS64502');
is($al->{first}, substr($ev->{sessions}[0]{start} // '', 0, 19) . 'Z',
    'first: the first session\'s start');

my ($sst) = stop_pid($fpid);
undef $fpid;
is($sst, 0, 'fumidai run: SIGTERM, exit 0');
my @warn = grep { /^fumidai: (?:warning|fatal|error)/ }
    split /\n/, read_file("$tmp/fumidai.err") // '';
is(scalar @warn, 0, 'fumidai run: no warning') or diag join "\n", @warn;
my $read = "$tmp/read.log";
write_file($read, read_file($live));
$ms->stop;
undef $ms;

# ---- the same lines replayed -------------------------------------------

mkdir "$tmp/replay" or die "$tmp/replay: $!";
my $r2 = FM::start_redis("$tmp/replay");
my $conf2 = write_config("$tmp/replay/fumidai.conf", state_dir =>
    "$tmp/replay/state", redis => $r2->sock, extra => $extra);
my ($rst, undef, $rerr) = run_cmd([ $bin, 'replay', '--no-progress', '-c',
    $conf2, $read ]);
is($rst, 0, 'fumidai replay of the same lines: exit 0') or diag $rerr;
my @rcs = cs_alerts($conf2);
is_deeply([ map { $_->{id} } @rcs ], [ map { $_->{id} } @cs ],
    'replay: the same concurrent_sessions alert, the same id');
sessions_are($_, [], "replay: $_ holds no session", $conf2)
    for $ALICE, $BOB, $CAROL;
$r2->stop;
done_testing;

# ---- helpers -------------------------------------------------------------

# pick - the fields @f of a session
sub pick {
	my ($s) = @_;
	return { map { $_ => $s->{$_} } @f };
}

# sess - an expected session (start is checked for form only)
sub sess {
	my ($svc, $ip, $cc, $asn, $host, $id) = @_;
	return { service => $svc, ip => $ip, cc => $cc, asn => $asn,
	    host => $host, mech => 'PLAIN', session => $id };
}

# sessions_are - `fumidai sessions --json ACCOUNT` holds exactly @$want
sub sessions_are {
	my ($acct, $want, $what, $c) = @_;
	my ($st, $out, $err) = run_cmd([ $bin, 'sessions', '-c', $c // $conf,
	    '--json', $acct ]);
	is($st, @$want ? 0 : 1, "$what: exit status") or diag $err;
	my $j = eval { decode_json($out) } // {};
	my @got = @{$j->{sessions} // []};
	my $bad = grep { ($_->{start} // '') !~
	    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/ } @got;
	delete $_->{start} for @got;
	# (the log's times are whole seconds: the order of one second's
	# sessions is their ids')
	is_deeply([ sort { $a->{ip} cmp $b->{ip} } @got ],
	    [ sort { $a->{ip} cmp $b->{ip} } @$want ], $what) or diag $out;
	is($bad, 0, "$what: start times in ISO 8601");
}

# logout_line - wait for the end of $user's $svc session $id (a pattern
# when $n is given: the $n-th such line from $since)
sub logout_line {
	my ($svc, $user, $id, $since, $n) = @_;
	$id = quotemeta $id unless defined $n;
	my @l = $ms->wait_for_log(qr{ $svc\(\Q$user\E\)<\d+><$id>: Info: }
	    . qr{Disconnected}, undef, $since, $n // 1);
	ok(@l, "the log: $user\'s $svc session ended") or BAIL_OUT('no log');
}

# login_line - the Dovecot session id of $user's login from $ip
sub login_line {
	my ($svc, $user, $ip, $since) = @_;
	my $l = $ms->wait_for_log(qr{ $svc-login: Info: Login: }
	    . qr{user=<\Q$user\E>, method=PLAIN, rip=\Q$ip\E,.* }
	    . qr{session=<([^>]+)>}, undef, $since);
	ok($l, "the log: $user\'s $svc login from $ip") or BAIL_OUT('no log');
	return $l =~ /session=<([^>]+)>/ ? $1 : '';
}

sub imap_open {
	my ($ip, $user) = @_;
	my $s = $ms->_connect($ip, 'imap');
	MailStack::_getline($s);
	my $n = 0;
	my $cmd = sub {
		my $tag = 'a' . ++$n;
		print {$s} "$tag $_[0]\r\n";
		while (defined(my $l = MailStack::_getline($s))) {
			return $l if $l =~ /^\Q$tag\E /;
		}
		return '';
	};
	like($cmd->("LOGIN \"$user\" \"$pw{$user}\""), qr/^a1 OK/,
	    "$user: IMAP login from $ip, held open");
	$cmd->('SELECT INBOX');
	return { s => $s, cmd => $cmd };
}

sub imap_close {
	my ($c) = @_;
	$c->{cmd}->('LOGOUT');
	close $c->{s};
}

sub pop3_open {
	my ($ip, $user) = @_;
	my $s = $ms->_connect($ip, 'pop3');
	MailStack::_getline($s);
	print {$s} "USER $user\r\n";
	MailStack::_getline($s);
	print {$s} "PASS $pw{$user}\r\n";
	like(MailStack::_getline($s) // '', qr/^\+OK/,
	    "$user: POP3 login from $ip, held open");
	return $s;
}

sub pop3_close {
	my ($s) = @_;
	print {$s} "QUIT\r\n";
	MailStack::_getline($s);
	close $s;
}

# smtp_open - AUTH on submission and one message, the session held open
sub smtp_open {
	my ($ip, $user) = @_;
	my $s = $ms->_connect($ip, 'submission');
	my $cmd = sub {
		print {$s} "$_[0]\r\n" if defined $_[0];
		return (MailStack::_smtp_reply($s))[0];
	};
	$cmd->(undef);
	$cmd->('EHLO client.example.org');
	is($cmd->('AUTH PLAIN ' . encode_base64("\0$user\0$pw{$user}", '')),
	    235, "$user: SMTP AUTH from $ip");
	$cmd->("MAIL FROM:<$user>");
	$cmd->('RCPT TO:<news@discard.test>');
	$cmd->('DATA');
	print {$s} "Subject: test\r\n\r\nhello\r\n.\r\n";
	is($cmd->(undef), 250, "$user: one message sent, the session held open");
	return $s;
}

sub smtp_close {
	my ($s) = @_;
	print {$s} "QUIT\r\n";
	MailStack::_smtp_reply($s);
	close $s;
}

# cs_alerts - the concurrent_sessions alerts of a config
sub cs_alerts {
	my ($c) = @_;
	my ($st, $out, $err) = run_cmd([ $bin, 'alerts', '-c', $c, '--json' ]);
	diag $err if $st > 1;
	return grep { $_->{kind} eq 'concurrent_sessions' }
	    map { decode_json($_) } split /\n/, $out;
}

# checkpoint - (lines, offset) fumidai's checkpoint accounts for
sub checkpoint { FM::checkpoint("$tmp/state") }

# caught_up - wait until the checkpoint covers every line of the live log
sub caught_up {
	FM::wait_caught_up($_[0], "$tmp/state", sub { (read_file($live) // '') =~ tr/\n// },
	    \$fpid, "$tmp/fumidai.err");
}
