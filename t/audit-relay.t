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
# ever reaches DATA.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use POSIX qw(_exit);
use lib "$ENV{FM_SRCDIR}/t/lib";
use MailStack;

my $why = MailStack->skip_reason;
plan skip_all => $why if defined $why;
plan skip_all => 'needs /usr/bin/openssl (package openssl)'
    unless -x '/usr/bin/openssl';

my $bin = "$ENV{FM_BUILDDIR}/fumidai";
my $rr = 'permit_mynetworks, permit_sasl_authenticated, ' .
    'reject_unauth_destination';

my $closed = MailStack->new(hostname => 'mx.closed.fumidai.test');
my ($key, $crt) = $closed->self_signed('mx.closed.fumidai.test');
$closed->postfix_tweak(main => {
	mynetworks => '127.0.0.2/32',
	smtpd_relay_restrictions => $rr,
	smtpd_tls_security_level => 'may',
	smtpd_tls_cert_file => $crt,
	smtpd_tls_key_file => $key,
	smtpd_tls_auth_only => 'yes',
	disable_vrfy_command => 'yes',
});
my $open = MailStack->new(hostname => 'mx.open.fumidai.test');
$open->postfix_tweak(main => {
	mynetworks => '127.0.0.0/8',
	smtpd_relay_restrictions => $rr,
	smtpd_recipient_restrictions => 'permit_mynetworks, ' .
	    'reject_unauth_destination',
	smtpd_banner => '$myhostname ESMTP $mail_name $mail_version',
}, smtp => { smtpd_sasl_auth_enable => 'yes' },
   submission => { smtpd_recipient_restrictions =>
	'permit_mynetworks,permit_sasl_authenticated,reject_unauth_destination' });
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

is(scalar($open->sink_messages) + scalar($closed->sink_messages), 0,
    'nothing was relayed');
$open->stop;
$closed->stop;
done_testing;
