#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# notify-mail.t - owner notifications and admin mail, end to end, on real
# servers.  Real Postfix and Dovecot on loopback (t/lib/MailStack.pm; its
# smtp service offers STARTTLS with a throw-away certificate), `fumidai run`
# following their log with a test GeoIP database (t/lib/mkmmdb.pl:
# 127.0.1.0/24 is Tokyo, JP; 127.0.2.0/24 New York, US), and two notifiers
# that submit to that Postfix:
#
#   owners  plugin "owner": new_country and impossible_travel to the
#           account's owner; English by default, Japanese for bob, times in
#           Asia/Tokyo; carol's owner comes from a map file (dave's mailbox)
#   admins  plugin "mail": brute_force alerts to admin@fumidai.test,
#           through Postfix's sendmail(1) (-C the test instance)
#
# alice, bob and carol log in over IMAP four times from Tokyo, then once
# from New York: each owner's Maildir (Postfix virtual delivery) must get
# one mail per alert, and the test parses them: From/To, the (RFC 2047)
# subject, Date, Message-ID, MIME headers, and in the base64 body the
# place, the address and the login time in the owner's zone.
#
# An account name with a CR in it ("eve\rBcc: ...") cannot come from the
# servers (both sanitize what they log), so crafted Dovecot lines with the
# current time are appended to the live log: logins from Tokyo then New
# York (the owner notifier finds no address for such a name and drops the
# alert) and failed logins (the admins' brute_force mail shows the name
# escaped in an encoded subject).  No message may carry a header the name
# tried to make.
#
# Needs root, postfix, dovecot-core, dovecot-imapd, dovecot-pop3d,
# redis-server, openssl and libmaxmind-db-writer-perl (skipped otherwise).
# Loopback only; no timing is asserted (waits have generous deadlines).
use strict;
use warnings;
use Cwd qw(abs_path);
use Encode qw(decode);
use FindBin;
use lib "$FindBin::Bin/lib";
use MIME::Base64 qw(decode_base64);
use POSIX qw(:sys_wait_h strftime);
use Test::More;
use Time::HiRes qw(sleep time);
use Time::Local qw(timelocal);
use FM qw(run_cmd tmpdir read_file write_file write_config have_prog spawn_fumidai stop_pid);
use MailStack;

my $bin = abs_path(FM::fumidai()) // '';
plan skip_all => 'fumidai binary not built' unless -x $bin;
my $why = MailStack->skip_reason;
plan skip_all => $why if defined $why;
plan skip_all => 'redis-server is not installed'
    unless have_prog('redis-server');
plan skip_all => 'openssl is not installed' unless -x '/usr/bin/openssl';
my $plugins = $ENV{FUMIDAI_PLUGIN_DIR} // FM::builddir() . '/plugins/.libs';
plan skip_all => 'the mail notifier plugins are not built'
    unless -e "$plugins/notify_owner.so" && -e "$plugins/notify_mail.so";

$ENV{FUMIDAI_GEO_ALLOW_LOOPBACK} = 1;
my $D = 'fumidai.test';
my %pw = map { ("$_\@$D" => "$_-pw-7") } qw(alice bob carol dave admin);
my $EVE = "eve\rBcc: evil\@example.net";
my @owners = map { "$_\@$D" } qw(alice bob carol);

my $tmp = tmpdir();
mkdir "$tmp/geo" or die "$tmp/geo: $!";
my ($gst, $gout, $gerr) = run_cmd([ $^X, FM::srcdir() . '/t/lib/mkmmdb.pl',
    "$tmp/geo" ]);
plan skip_all => 'MaxMind::DB::Writer is not installed ' .
    '(libmaxmind-db-writer-perl)' if $gst == 2 && $gerr =~ /not installed/;
die "mkmmdb.pl: $gerr" if $gst;

my $ms = MailStack->new(users => [ map { [ $_, $pw{$_} ] } sort keys %pw ]);
my ($key, $crt) = $ms->self_signed('mx.fumidai.test');
$ms->postfix_tweak(smtp => { smtpd_tls_security_level => 'may',
    smtpd_tls_cert_file => $crt, smtpd_tls_key_file => $key,
    smtpd_tls_loglevel => 1 });
my $live = $ms->log_path;
my $relay = '127.0.0.1:' . $ms->port('smtp');
my $templates = FM::srcdir() . '/etc/templates';
write_file("$tmp/owners", "# account owner-address\n" .
    "carol\@$D dave\@$D\n");
# Postfix's own sendmail(1), pointed at the test instance
write_file("$tmp/sendmail", "#!/bin/sh\nexec /usr/sbin/sendmail -C " .
    $ms->postfix_config_dir . ' "$@"' . "\n");
chmod 0755, "$tmp/sendmail" or die "$tmp/sendmail: $!";
my $redis = FM::start_redis($tmp);
my $conf = write_config("$tmp/fumidai.conf", state_dir => "$tmp/state",
    redis => $redis->sock, instance => 'mx', inputs => [ $live ],
    extra => <<"EOF");
flush_interval = 20;
poll_interval = 100;
geoip = { city = "$tmp/geo/city-maxmind.mmdb"; asn = "$tmp/geo/asn.mmdb"; };
web = { base_url = "http://127.0.0.1:9"; secret = "notify-mail.t key, long enough"; };
detect = {
  brute_force = { threshold = 3; };
  geo = { learn_logins = 3; };
};
notify = (
  { name = "owners"; plugin = "owner";
    kinds = [ "new_country", "impossible_travel" ];
    relay = "$relay";
    from = "security\@$D";
    admin = "postmaster\@$D";
    timezone = "Asia/Tokyo";
    language = "en";
    languages = [ "bob\@$D:ja" ];
    templates = "$templates";
    map = "$tmp/owners"; },
  { name = "admins"; plugin = "mail";
    kinds = [ "brute_force" ];
    sendmail = "$tmp/sendmail";
    from = "fumidai\@$D";
    to = [ "admin\@$D" ]; }
);
EOF
my ($cst, $cout, $cerr) = run_cmd([ $bin, 'check-config', '-c', $conf ]);
is($cst, 0, 'fumidai check-config accepts both notifiers') or diag $cerr . $cout;

my $fpid = start_fumidai();
END { if ($fpid) { kill 'KILL', $fpid; waitpid $fpid, 0 } }
$ms->start;
caught_up('the servers\' start-up lines');
wait_for_err(qr/notifier=owners .*msg="reading alerts"/,
    'the owners notifier reads the alert stream');
wait_for_err(qr/notifier=admins .*msg="reading alerts"/,
    'the admins notifier reads the alert stream');

# ---- the scenario -------------------------------------------------------------

my %us_time;		# owner account -> epoch of the New York login
for my $i (0 .. $#owners) {
	my $u = $owners[$i];
	my $bad = grep { !$ms->imap_login("127.0.1." . (10 + $_), $u, $pw{$u}) }
	    1 .. 4;
	ok(!$bad && $ms->imap_login("127.0.2." . (10 + $i), $u, $pw{$u}),
	    "$u: 4 logins from Tokyo, then one from New York");
}
$ms->wait_log_quiet;
for my $l ($ms->log_lines) {
	next unless $l =~ /^(\w{3} +\d+ \d\d:\d\d:\d\d) imap-login: Info: Login: user=<([^>]+)>.*rip=127\.0\.2\./;
	$us_time{$2} = log_epoch($1);
}
is(scalar(keys %us_time), 3, 'the log shows the three New York logins');

# eve: crafted lines (the servers never log a CR in a name)
my $now = strftime('%b %d %H:%M:%S', localtime);
my @craft;
push @craft, "$now imap-login: Info: Login: user=<$EVE>, method=PLAIN, " .
    "rip=127.0.1.9$_, lip=127.0.0.1, mpid=4242$_, session=<crafted$_>"
    for 1 .. 4;
push @craft, "$now imap-login: Info: Login: user=<$EVE>, method=PLAIN, " .
    'rip=127.0.2.99, lip=127.0.0.1, mpid=42425, session=<crafted5>';
push @craft, "$now auth: Info: passwd-file($EVE,127.0.8.1,<craftf$_>): " .
    'Password mismatch', "$now imap-login: Info: Disconnected: Aborted " .
    'login by logging out (auth failed, 1 attempts in 0 secs): ' .
    "user=<$EVE>, method=PLAIN, rip=127.0.8.1, lip=127.0.0.1, " .
    "session=<craftf$_>" for 1 .. 4;
open my $lf, '>>', $live or die "$live: $!";
print {$lf} map { "$_\n" } @craft;
close $lf or die "$live: $!";
caught_up('the scenario and the crafted lines');

# ---- the mail -------------------------------------------------------------------

my %want = ("alice\@$D" => 2, "bob\@$D" => 2, "dave\@$D" => 2,
    "admin\@$D" => 1);
my %box = wait_mail(\%want);
for my $rcpt (sort keys %want) {
	is(scalar @{$box{$rcpt} // []}, $want{$rcpt},
	    "$rcpt: $want{$rcpt} notification(s) delivered");
}
wait_for_err(qr/notifier=owners .*status=drop detail="no owner address/,
    'owners: the alert for the name with a CR is dropped (no address)');

check_owner("alice\@$D", "alice\@$D", 'en');
check_owner("bob\@$D", "bob\@$D", 'ja');
check_owner("dave\@$D", "carol\@$D", 'en');
check_admin();
check_no_injection();

my @tls = grep { /postfix\/smtpd\[\d+\]: Anonymous TLS connection established from unknown\[127\.0\.0\.1\]/ }
    $ms->log_lines;
ok(@tls >= 6, 'every owner notification went over STARTTLS (' .
    scalar(@tls) . ' TLS sessions in the Postfix log)');
ok((grep { /postfix\/pickup\[\d+\]: \w+: uid=0 from=<fumidai\@\Q$D\E>/ }
    $ms->log_lines), 'the admin mail went through sendmail (pickup)');

is(stop_fumidai(), 0, 'fumidai run: SIGTERM, exit 0');
my @warn = grep { /^fumidai: (?:warning|fatal|error)/ &&
    !/status=drop detail="no owner address/ }
    split /\n/, read_file("$tmp/fumidai.err") // '';
is(scalar @warn, 0, 'fumidai run: no other warning') or diag join "\n", @warn;
$ms->stop;
done_testing;

# ---- checks -----------------------------------------------------------------------

# parse - (headers hash name => [unfolded values], body bytes, raw header)
sub parse {
	my ($text) = @_;
	$text =~ s/\r\n/\n/g;
	my ($head, $body) = split /\n\n/, $text, 2;
	my %h;
	(my $unf = $head) =~ s/\n[ \t]+/ /g;
	for (split /\n/, $unf) {
		push @{$h{lc $1}}, $2 if /^([^:\s]+):[ \t]*(.*)\z/;
	}
	return (\%h, $body // '', $head);
}

sub one_header {
	my ($h, $name) = @_;
	my $v = $h->{lc $name} // [];
	return @$v == 1 ? $v->[0] : undef;
}

# our_headers_ok - every line of the header we wrote is at most 78 bytes
sub our_lines_ok {
	my ($head) = @_;
	my $ours = 0;
	for (split /\n/, $head) {
		$ours = 1 if /^From: /;		# Postfix adds its own above
		return 0 if $ours && length > 78;
	}
	return $ours;
}

sub check_owner {
	my ($box, $account, $lang) = @_;
	my @msgs = @{$box{$box} // []};
	my %by_subject;
	for my $m (@msgs) {
		my ($h, $b, $head) = parse($m);
		my $subj = one_header($h, 'Subject') // '';
		my $dec = decode('MIME-Header', $subj);
		$by_subject{$dec} = [ $h, $b, $head, $subj ];
	}
	my ($nc_subject, $enc) = $lang eq 'ja'
	    ? (decode('UTF-8', '【重要】メールアカウントへの新しい国からの' .
	        'ログインのお知らせ'), 1)
	    : ('Security notice: sign-in to your mail account from a new ' .
	        'country', 0);
	my $got = $by_subject{$nc_subject};
	ok($got, "$box: the new-country mail, subject in " .
	    ($lang eq 'ja' ? 'Japanese' : 'English'))
	    or diag 'subjects: ' . join(' | ', map { encode_utf8_safe($_) }
	    keys %by_subject);
	return unless $got;
	my ($h, $b, $head, $raw) = @$got;
	if ($enc) {
		like($raw, qr/\A=\?UTF-8\?B\?[A-Za-z0-9+\/=]+\?=(?: =\?UTF-8\?B\?[A-Za-z0-9+\/=]+\?=)*\z/,
		    "$box: the subject is RFC 2047 encoded (UTF-8, B)");
	} else {
		is($raw, $nc_subject, "$box: the ASCII subject as is");
	}
	is(one_header($h, 'From'), "security\@$D", "$box: From");
	is(one_header($h, 'To'), $box, "$box: To");
	like(one_header($h, 'Date') // '',
	    qr/\A(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d [+-]\d{4}\z/,
	    "$box: an RFC 5322 Date");
	like(one_header($h, 'Message-ID') // '',
	    qr/\A<fumidai-owner\.[0-9a-f]{16}\.[0-9a-f]{16}\@fumidai\.test>\z/,
	    "$box: a Message-ID in our domain");
	is(one_header($h, 'MIME-Version'), '1.0', "$box: MIME-Version");
	is(one_header($h, 'Content-Type'), 'text/plain; charset=UTF-8',
	    "$box: UTF-8 plain text");
	is(one_header($h, 'Content-Transfer-Encoding'), 'base64',
	    "$box: base64 body");
	ok(our_lines_ok($head), "$box: no header line over 78 bytes");
	my $text = decode('UTF-8', decode_base64($b));
	my $when = $us_time{$account};
	local $ENV{TZ} = 'Asia/Tokyo';
	POSIX::tzset();
	my $jst = strftime($lang eq 'ja'
	    ? decode('UTF-8', '%Y年%m月%d日 %H時%M分%S秒 JST')
	    : '%Y-%m-%d %H:%M:%S JST (UTC+0900)', localtime $when);
	delete $ENV{TZ};
	POSIX::tzset();
	ok(index($text, $jst) >= 0, "$box: the login time in Asia/Tokyo") or
	    diag "wanted $jst";
	ok(index($text, 'New York, United States') >= 0,
	    "$box: the place (city, country)");
	ok($text =~ /127\.0\.2\.\d+/, "$box: the address");
	ok(index($text, "postmaster\@$D") >= 0, "$box: how to reach the admin");
	ok(index($text, $account) >= 0, "$box: the account named");
	# web.base_url set: the owner's signed dashboard link, for this account
	my ($acct64) = $text =~ m{http://127\.0\.0\.1:9/o/([A-Za-z0-9_-]+)\.\d+\.[A-Za-z0-9_-]{43}\b};
	is(defined $acct64 ? MIME::Base64::decode_base64url($acct64) : undef,
	    $account, "$box: the owner's dashboard link, for this account");
	ok(index($text, $pw{$account}) < 0, "$box: no secret in it");
	my $far = decode('UTF-8', '離れた');
	my $travel = grep { /two distant places|\Q$far\E/ } keys %by_subject;
	ok($travel, "$box: and the impossible-travel mail");
}

sub encode_utf8_safe { my $s = shift; utf8::encode($s); $s }

sub check_admin {
	my @msgs = @{$box{"admin\@$D"} // []};
	return fail('admin: no mail') unless @msgs;
	my ($h, $b, $head) = parse($msgs[0]);
	my $subj = decode('MIME-Header', one_header($h, 'Subject') // '');
	is($subj, '[fumidai] medium brute_force: eve\x0DBcc: evil@example.net',
	    'admin: the subject names the account, its CR escaped');
	ok(!exists $h->{bcc}, 'admin: no Bcc header');
	is(one_header($h, 'To'), "admin\@$D", 'admin: To');
	like(one_header($h, 'Message-ID') // '',
	    qr/\A<fumidai-alert\.[0-9a-f]{16}\.[0-9a-f]{16}\@fumidai\.test>\z/,
	    'admin: Message-ID');
	ok(our_lines_ok($head), 'admin: no header line over 78 bytes');
	my $text = decode('UTF-8', decode_base64($b));
	ok(index($text, 'Account:  eve\x0DBcc: evil@example.net') >= 0 &&
	    index($text, 'Address:  127.0.8.1') >= 0,
	    'admin: the body names account (escaped) and address');
}

sub check_no_injection {
	my $bad = 0;
	for my $m (map { @$_ } values %box) {
		my ($h) = parse($m);
		$bad++ if exists $h->{bcc} || exists $h->{'x-evil'};
	}
	is($bad, 0, 'no delivered message has a header made by an account name');
	my @evil = grep { -f } glob($ms->dir . '/mail/*/evil/new/*');
	is(scalar @evil, 0, 'nothing went to the address in the name');
}

# ---- helpers -----------------------------------------------------------------------

# wait_mail - the delivered messages per recipient once every box has what
# is wanted (or a minute went by)
sub wait_mail {
	my ($want) = @_;
	my $deadline = time + 60;
	my %b;
	while (1) {
		%b = ();
		for my $rcpt (keys %$want) {
			my ($lp) = split /\@/, $rcpt;
			for my $f (sort glob($ms->dir . "/mail/$D/$lp/new/*")) {
				push @{$b{$rcpt}}, read_file($f) // '';
			}
		}
		last unless grep { @{$b{$_} // []} < $want->{$_} } keys %$want;
		last if time > $deadline;
		sleep 0.2;
	}
	$ms->wait_queue_empty;
	return %b;
}

# log_epoch - "Nov 25 11:30:25" (local time, this year) as epoch seconds
sub log_epoch {
	my ($s) = @_;
	my %mon = (Jan => 0, Feb => 1, Mar => 2, Apr => 3, May => 4, Jun => 5,
	    Jul => 6, Aug => 7, Sep => 8, Oct => 9, Nov => 10, Dec => 11);
	my ($m, $d, $H, $M, $S) = $s =~ /^(\w{3}) +(\d+) (\d\d):(\d\d):(\d\d)/;
	return timelocal($S, $M, $H, $d, $mon{$m}, (localtime)[5] + 1900);
}

sub start_fumidai {
	return spawn_fumidai([ 'run', '-f', '-c', $conf ], "$tmp/fumidai.out",
	    "$tmp/fumidai.err");
}

sub stop_fumidai {
	my $st = stop_pid($fpid);
	undef $fpid;
	return $st;
}


# caught_up - fumidai's checkpoint covers every line of the live log
sub caught_up {
	FM::wait_caught_up($_[0], "$tmp/state", sub { (read_file($live) // '') =~ tr/\n// },
	    \$fpid, "$tmp/fumidai.err");
}

# wait_for_err - a line of fumidai's log matches (a minute at most)
sub wait_for_err {
	my ($re, $name) = @_;
	my $deadline = time + 60;
	while (time < $deadline) {
		return pass($name) if (read_file("$tmp/fumidai.err") // '') =~ $re;
		sleep 0.1;
	}
	fail($name);
	diag read_file("$tmp/fumidai.err") // '';
}
