#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# audit-relay.t - `fumidai audit relay` and `fumidai audit smtp` against two
# real Postfix instances on loopback (t/lib/MailStack.pm): one closed
# (mynetworks is another address, reject_unauth_destination, STARTTLS with
# AUTH only after it, VRFY off) and one open relay (mynetworks 127.0.0.0/8
# with permit_mynetworks, AUTH on port 25 in plaintext, no TLS, a banner
# with the version).  The relay audit must say closed and open; the
# posture audit must see AUTH advertised or not as configured.  Nothing
# reaches DATA, except with --sink: then the open instance takes one
# labelled test message for the sink address (example.net, which the
# instance routes to MailStack's loopback sink, where it must arrive),
# and the closed one takes none.  When the machine has ::1, both instances
# also listen there and the audits must say the same over IPv6.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use POSIX qw(_exit);
use IO::Socket::IP;
use lib "$ENV{FM_SRCDIR}/t/lib";
use MailStack;

my $why = MailStack->skip_reason;
plan skip_all => $why if defined $why;
plan skip_all => 'needs /usr/bin/openssl (package openssl)'
    unless -x '/usr/bin/openssl';

my $bin = "$ENV{FM_BUILDDIR}/fumidai";
my ($closed, $open) = MailStack->relay_pair(submission => {
	smtpd_recipient_restrictions => 'permit_mynetworks,' .
	    'permit_sasl_authenticated,reject_unauth_destination' });

# IPv6: one more smtpd per instance on [::1], when this machine has ::1
my $v6 = IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0,
    Proto => 'tcp', Listen => 1);
my %port6;
if ($v6) {
	for my $ms ($closed, $open) {
		my $s = IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0,
		    Proto => 'tcp', Listen => 1) or die "::1: $@";
		$port6{$ms} = $s->sockport;
		close $s;
		my $more = $ms == $open ? "  -o smtpd_sasl_auth_enable=yes\n"
		    : '';
		open my $fh, '>>', $ms->postfix_config_dir . '/master.cf' or die;
		print {$fh} "[::1]:$port6{$ms} inet n - n - - smtpd\n$more";
		close $fh or die;
	}
	$closed->postfix_tweak(main => { inet_protocols => 'all' });
	$open->postfix_tweak(main => { inet_protocols => 'all',
	    mynetworks => '127.0.0.0/8 [::1]/128' });
	close $v6;
}
$closed->start;
$open->start;

# run - fumidai with @args; (exit status, stdout)
sub run {
	my @args = @_;
	my $pid = open my $fh, '-|' // die "fork: $!";
	if ($pid == 0) {
		open STDERR, '>&', \*STDOUT;
		{ no warnings 'exec'; exec $bin, @args; }
		_exit(127);
	}
	local $/;
	my $out = <$fh> // '';
	close $fh;
	return ($? >> 8, $out);
}

sub audit_json {
	my ($rc, $out) = run('audit', @_, '--json');
	my $j = eval { decode_json($out) };
	ok($j, "@_: JSON") or diag $out;
	return ($rc, $j // {});
}

sub target { '127.0.0.1:' . $_[0]->port($_[1]) }

# ---- relay ---------------------------------------------------------------
{
	my ($rc, $j) = audit_json('relay', target($closed, 'smtp'));
	is($rc, 0, 'closed relay: exit 0');
	is($j->{verdict}, 'closed', 'closed relay: verdict closed');
	cmp_ok(scalar @{$j->{tests}}, '>=', 17, 'closed relay: whole matrix');
	is(scalar(grep { $_->{verdict} ne 'closed' } @{$j->{tests}}), 0,
	    'closed relay: every attempt rejected') or diag explain
	    [ (grep { $_->{verdict} ne 'closed' } @{$j->{tests}})[0],
	    @{$j->{transcript}}[-12 .. -1] ];
	ok($j->{tls}, 'closed relay: went through STARTTLS');
	like($j->{tests}[0]{rcpt}{text}, qr/Relay access denied/,
	    'closed relay: the server\'s words are kept');
	my %names = map { $_->{name} => $_ } @{$j->{tests}};
	for my $n ('null sender', 'percent hack at IP literal',
	    'quoted local part at IP literal', 'double at, server name',
	    'source route via IP literal', 'bang path at server name',
	    "sender at server's parent domain") {
		ok($names{$n}, "matrix has \"$n\"");
	}
	is($names{'bang path at server name'}{to},
	    'example.net!relaytest@mx.closed.fumidai.test', 'bang path form');
	is($names{'quoted local part at IP literal'}{to},
	    '"relaytest@example.net"@[127.0.0.1]', 'quoted form');
	ok(!grep({ /^C: DATA/ } @{$j->{transcript}}), 'never DATA');
	ok(grep({ /^C: STARTTLS/ } @{$j->{transcript}}), 'transcript kept');
}
{
	my ($rc, $j) = audit_json('relay', target($open, 'smtp'),
	    '--from-domain', 'fumidai.test', '--to', 'victim@example.com');
	is($rc, 1, 'open relay: exit 1');
	is($j->{verdict}, 'open', 'open relay: verdict open');
	my ($ext) = grep { $_->{name} eq 'external sender' } @{$j->{tests}};
	is($ext->{rcpt}{code}, 250, 'open relay: RCPT 250 recorded');
	is($ext->{to}, 'victim@example.com', '--to is used');
	ok(grep({ $_->{from} eq 'fumidai-audit@fumidai.test' } @{$j->{tests}}),
	    '--from-domain adds a test');
	ok(!grep({ /^C: DATA/ } @{$j->{transcript}}), 'never DATA');
	my ($trc, $text) = run('audit', 'relay', target($open, 'smtp'));
	is($trc, 1, 'text mode: exit 1');
	like($text, qr/^verdict: open \(\d+ of \d+ attempts accepted/m,
	    'text mode: verdict line');
}
{
	my $port = MailStack::_free_port();
	my ($rc, $j) = audit_json('relay', "127.0.0.1:$port", '--timeout',
	    2000);
	is($rc, 2, 'nothing listening: exit 2');
	is($j->{verdict}, 'inconclusive', 'nothing listening: inconclusive');
	ok($j->{error}, 'nothing listening: error given');
	my ($urc) = run('audit', 'relay');
	is($urc, 2, 'usage error: exit 2');
}

# ---- --sink: one test message, only through an open relay ----------------
my $SINK = 'relay-proof@example.net';	# the instance routes it to its sink
{
	my ($rc, $j) = audit_json('relay', target($open, 'smtp'), '--to',
	    'victim@example.com', '--sink', $SINK);
	is($rc, 1, 'sink, open relay: exit 1');
	is($j->{verdict}, 'open', 'sink, open relay: verdict unchanged');
	my $s = $j->{sink} // {};
	is($s->{address}, $SINK, 'sink: address');
	is($s->{form}, $j->{tests}[0]{name}, 'sink: the first relaying form');
	is($s->{to}, $SINK, 'sink: RCPT TO the sink address');
	is($s->{rcpt}{code}, 250, 'sink: RCPT 250');
	is($s->{data}{code}, 354, 'sink: DATA 354');
	is($s->{code}, 250, 'sink: 250 to the final dot');
	like($s->{text}, qr/queued as/, 'sink: queued as ...');
	ok($s->{sent} && $s->{queued}, 'sink: sent and queued');
	like($s->{note}, qr/sink mailbox/, 'sink: tells to check the mailbox');
	is(scalar(grep { /^C: DATA$/ } @{$j->{transcript}}), 1,
	    'sink: exactly one DATA');
	ok($open->wait_queue_empty(60), 'sink: the queue drained');
	my @m = $open->sink_messages;
	is(scalar @m, 1, 'sink: one message arrived') or diag explain \@m;
	my $m = $m[0] // '';
	like($m, qr/^RCPT TO:<\Q$SINK\E>/mi, 'sink: arrived for the sink');
	like($m, qr/^Subject: fumidai open relay test \Q$s->{id}\E\r?$/m,
	    'sink: labelled Subject');
	like($m, qr/^Message-ID: \Q$s->{message_id}\E\r?$/mi,
	    'sink: Message-ID');
	like($m, qr/^Date: \w{3}, \d\d \w{3} \d{4} /m, 'sink: Date');
	like($m, qr/^Test form: \Q$s->{form}\E\r?$/m, 'sink: names the form');
	my ($trc, $text) = run('audit', 'relay', target($open, 'smtp'),
	    '--sink', $SINK);
	like($text, qr/^sink <\Q$SINK\E>: test message sent as "[^"]+": 250 /m,
	    'sink, text mode: the reply to the dot');
	like($text, qr/check that mailbox/, 'sink, text mode: what to check');
	ok($open->wait_queue_empty(60), 'sink, text mode: the queue drained');
}
{
	my ($rc, $j) = audit_json('relay', target($closed, 'smtp'), '--sink',
	    $SINK);
	is($rc, 0, 'sink, closed relay: exit 0');
	is($j->{verdict}, 'closed', 'sink, closed relay: verdict closed');
	ok(!$j->{sink}{sent}, 'sink, closed relay: nothing sent');
	ok(!grep({ /^C: DATA/ } @{$j->{transcript}}),
	    'sink, closed relay: never DATA');
	like($j->{sink}{note}, qr/nothing was sent/, 'sink, closed: note');
	my ($jrc, $plain) = audit_json('relay', target($open, 'smtp'));
	is($plain->{sink}, undef, 'no --sink: "sink" is null');
	for my $bad ('no-at-sign', 'a b@example.net', "x\@y\r\nRSET",
	    '<x@example.net>', '@example.net') {
		my ($brc) = run('audit', 'relay', target($closed, 'smtp'),
		    '--sink', $bad);
		(my $shown = $bad) =~ s/[\r\n]/?/g;
		is($brc, 2, "--sink refuses '$shown'");
	}
}

# ---- smtp posture ----------------------------------------------------------
sub ids { join ' ', sort map { $_->{id} } @{$_[0]{findings}} }
{
	my ($rc, $j) = audit_json('smtp', target($closed, 'smtp'));
	is($rc, 0, 'closed mx: exit 0') or diag ids($j);
	is($j->{auth_before_tls}, undef, 'closed mx: no AUTH before TLS');
	is($j->{auth_after_tls}, undef, 'closed mx: no AUTH after TLS');
	ok($j->{starttls} && $j->{tls}, 'closed mx: STARTTLS works');
	is(ids($j), '', 'closed mx: no findings');
}
{
	my ($rc, $j) = audit_json('smtp', target($closed, 'submission'),
	    '--submission');
	is($rc, 0, 'closed submission: exit 0') or diag ids($j);
	is($j->{role}, 'submission', 'role submission');
	is($j->{auth_before_tls}, undef, 'closed submission: no plaintext AUTH');
	like($j->{auth_after_tls} // '', qr/PLAIN/,
	    'closed submission: AUTH after STARTTLS');
	like($j->{rcpt_without_auth}, qr/^5/,
	    'closed submission: no mail without AUTH');
}
{
	my ($rc, $j) = audit_json('smtp', target($open, 'smtp'));
	is($rc, 1, 'open mx: exit 1');
	like($j->{auth_before_tls} // '', qr/PLAIN/,
	    'open mx: AUTH advertised in plaintext');
	is(ids($j), 'auth-before-tls auth-on-mx banner-software ' .
	    'starttls-missing vrfy-enabled', 'open mx: findings')
	    or diag explain $j->{findings};
	my ($f) = grep { $_->{id} eq 'banner-software' } @{$j->{findings}};
	like($f->{evidence}, qr/Postfix \d/, 'banner evidence');
	is($f->{severity}, 'low', 'banner severity');
	my ($trc, $text) = run('audit', 'smtp', target($open, 'smtp'));
	like($text, qr/^  high   auth-before-tls: /m, 'text mode finding');
}
{
	my ($rc, $j) = audit_json('smtp', target($open, 'submission'),
	    '--submission');
	is($rc, 1, 'open submission: exit 1');
	ok(grep({ $_->{id} eq 'submission-without-auth' &&
	    $_->{severity} eq 'high' } @{$j->{findings}}),
	    'open submission: accepts mail without AUTH');
	ok(!grep({ /^C: DATA/ } @{$j->{transcript}}), 'never DATA');
}

# ---- IPv6: the same verdicts through [::1] ---------------------------------
SKIP: {
	skip 'this machine has no ::1', 12 unless %port6;
	my ($rc, $j) = audit_json('relay', "[::1]:$port6{$closed}");
	is($rc, 0, 'IPv6 closed relay: exit 0');
	is($j->{verdict}, 'closed', 'IPv6 closed relay: verdict closed')
	    or diag explain [ grep { $_->{verdict} ne 'closed' }
	    @{$j->{tests}} ];
	ok(grep({ $_->{to} =~ /\@\[IPv6:::1\]\z/ } @{$j->{tests}}),
	    'IPv6: IP literal forms use [IPv6:::1]');
	($rc, $j) = audit_json('relay', "[::1]:$port6{$open}");
	is($rc, 1, 'IPv6 open relay: exit 1');
	is($j->{verdict}, 'open', 'IPv6 open relay: verdict open');
	($rc, $j) = audit_json('smtp', "[::1]:$port6{$closed}");
	is(ids($j) . " rc=$rc", ' rc=0', 'IPv6 closed mx: no findings');
	($rc, $j) = audit_json('smtp', "[::1]:$port6{$open}");
	is(ids($j), 'auth-before-tls auth-on-mx banner-software ' .
	    'starttls-missing vrfy-enabled', 'IPv6 open mx: findings');
	is($rc, 1, 'IPv6 open mx: exit 1');
}

is(scalar($closed->sink_messages), 0, 'the closed instance relayed nothing');
is(scalar($open->sink_messages), 2,
    'the open instance relayed only the --sink test messages');
$open->stop;
$closed->stop;
done_testing;
