#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# mailstack.t - smoke test of t/lib/MailStack.pm: real Postfix and Dovecot
# on loopback write the lines fumidai's parsers and integration tests rely
# on.  Needs root and the Debian packages postfix, dovecot-core,
# dovecot-imapd, dovecot-pop3d (skipped otherwise; CI installs them).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MailStack;

my $why = MailStack->skip_reason;
plan skip_all => $why if defined $why;

my $ms = MailStack->new;
ok(-d $ms->dir, 'temporary directory ' . $ms->dir);
$ms->start;
pass('postfix and dovecot started');

my $log = $ms->log_path;
ok($ms->wait_for_log(qr{ postfix/master\[\d+\]: daemon started -- version 3\.}),
    'postfix master logs to the shared mail.log');
ok($ms->wait_for_log(qr{ master: Info: Dovecot v2\.3\.}),
    'dovecot master logs to the shared mail.log');

my %pw = map { @$_ } $ms->users;
my ($alice, $bob, $carol) = ('alice@fumidai.test', 'bob@fumidai.test',
    'carol@fumidai.test');

# good SMTP AUTH + one message to a local and an external recipient
my $r = $ms->smtp_auth_send('127.0.0.2', $alice, $pw{$alice}, $alice,
    [ $bob, 'someone@example.net' ], 'smoke');
is($r->{auth}, 235, 'SMTP AUTH PLAIN accepted');
ok($r->{sent}, 'message accepted') or diag explain $r->{replies};
my $qid = $r->{queue_id};
like($qid, qr/\A[0-9A-F]{6,}\z/, "queue id $qid");

# bad SMTP AUTH from another address
$r = $ms->smtp_auth_fail('127.0.0.3', $bob, 'wrong-password');
is($r->{auth}, 535, 'SMTP AUTH with a bad password refused');

# POP3 and IMAP, good and bad, from different addresses
ok($ms->pop3_login('127.0.0.4', $bob, $pw{$bob}), 'POP3 login ok');
ok(!$ms->pop3_login('127.0.0.5', $bob, 'nope'), 'POP3 bad password');
ok($ms->imap_login('127.0.0.6', $carol, $pw{$carol}), 'IMAP login ok');
ok(!$ms->imap_login('127.0.0.7', $carol, 'nope'), 'IMAP bad password');

ok($ms->wait_queue_empty, 'queue drained');

my $q = quotemeta $qid;
my @want = (
	[ 'submission client= line with sasl_username',
	  qr{ postfix/submission/smtpd\[\d+\]: $q: client=unknown\[127\.0\.0\.2\], sasl_method=PLAIN, sasl_username=alice\@fumidai\.test$} ],
	[ 'cleanup message-id',
	  qr{ postfix/cleanup\[\d+\]: $q: message-id=<[^>]+>$} ],
	[ 'qmgr from/size/nrcpt',
	  qr{ postfix/qmgr\[\d+\]: $q: from=<alice\@fumidai\.test>, size=\d+, nrcpt=2 \(queue active\)$} ],
	[ 'virtual delivery to the local user',
	  qr{ postfix/virtual\[\d+\]: $q: to=<bob\@fumidai\.test>, relay=virtual, .*status=sent \(delivered to maildir\)$} ],
	[ 'smtp delivery to the external sink',
	  qr{ postfix/smtp\[\d+\]: $q: to=<someone\@example\.net>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=sent \(250 } ],
	[ 'qmgr removed',
	  qr{ postfix/qmgr\[\d+\]: $q: removed$} ],
	[ 'disconnect with auth=1 counters',
	  qr{ postfix/submission/smtpd\[\d+\]: disconnect from unknown\[127\.0\.0\.2\] ehlo=1 auth=1 mail=1 rcpt=2 data=1 quit=1 commands=7$} ],
	[ 'SASL failure warning with sasl_username',
	  qr{ postfix/submission/smtpd\[\d+\]: warning: unknown\[127\.0\.0\.3\]: SASL PLAIN authentication failed: .*, sasl_username=bob\@fumidai\.test$} ],
	[ 'disconnect with auth=0/1 counters',
	  qr{ postfix/submission/smtpd\[\d+\]: disconnect from unknown\[127\.0\.0\.3\] ehlo=1 auth=0/1 quit=1 commands=2/3$} ],
	[ 'dovecot auth mismatch for SMTP (no session id)',
	  qr{ auth: Info: passwd-file\(bob\@fumidai\.test,127\.0\.0\.3\): Password mismatch$} ],
	[ 'pop3-login Login',
	  qr{ pop3-login: Info: Login: user=<bob\@fumidai\.test>, method=PLAIN, rip=127\.0\.0\.4, lip=127\.0\.0\.1, mpid=\d+, session=<[^>]+>$} ],
	[ 'dovecot auth mismatch for POP3 (with session id)',
	  qr{ auth: Info: passwd-file\(bob\@fumidai\.test,127\.0\.0\.5,<[^>]+>\): Password mismatch$} ],
	[ 'pop3-login aborted login',
	  qr{ pop3-login: Info: (?:Disconnected: )?Aborted login.*\(auth failed, 1 attempts in \d+ secs\): user=<bob\@fumidai\.test>, method=PLAIN, rip=127\.0\.0\.5, lip=127\.0\.0\.1, session=<[^>]+>$} ],
	[ 'imap-login Login',
	  qr{ imap-login: Info: Login: user=<carol\@fumidai\.test>, method=PLAIN, rip=127\.0\.0\.6, lip=127\.0\.0\.1, mpid=\d+, session=<[^>]+>$} ],
	[ 'imap-login aborted login',
	  qr{ imap-login: Info: (?:Disconnected: )?Aborted login.*\(auth failed, 1 attempts in \d+ secs\): user=<carol\@fumidai\.test>, method=PLAIN, rip=127\.0\.0\.7, lip=127\.0\.0\.1, session=<[^>]+>$} ],
);
for my $w (@want) {
	my ($name, $re) = @$w;
	ok(defined $ms->wait_for_log($re, 20), $name) or diag "no line =~ $re";
}

# every line carries a syslog-like timestamp, as fumidai expects
my @lines = $ms->log_lines;
my @odd = grep { !/^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d / } @lines;
is(scalar @odd, 0, 'all ' . scalar(@lines) . ' lines start with a timestamp')
    or diag join "\n", @odd;

$ms->stop;
ok(!-e $log, 'stop removed the temporary directory') unless $ENV{MAILSTACK_KEEP};
done_testing;
