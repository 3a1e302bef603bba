#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# capture.pl - make t/data/real/mail.log: run real Postfix 3.7 and Dovecot
# 2.3 on loopback (t/lib/MailStack.pm), drive the scripted scenario of
# t/lib/MailScenario.pm (logins, failed logins and messages from several
# 127.x addresses) and keep the log both servers wrote.  Also writes
# t/data/real/README: versions, setup, the scenario step by step and the
# totals fumidai must find, so that golden tests can be reviewed against it.
#
# Usage (as root; Debian packages postfix dovecot-core dovecot-imapd
# dovecot-pop3d installed):   perl t/data/real/capture.pl [OUTDIR]
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../../lib";
use MailStack;
use MailScenario;
use POSIX qw(strftime);

my $out = shift // $FindBin::Bin;
my $why = MailStack->skip_reason;
die "capture.pl: $why\n" if defined $why;

my $ms = MailStack->new;
my @steps = MailScenario::steps($ms);
my @done;
$ms->start;
MailScenario::run($ms, \@steps, sub {
	my ($n, $st, $res) = @_;
	push @done, _wrap(sprintf('%2d. %-11s ', $n, $st->{ip}), $st->{what}) .
	    "        -> $res\n";
	print $done[-1];
});
$ms->stop(copy_log_to => "$out/mail.log");
print "wrote $out/mail.log\n";

# _wrap - $head then $text folded at 76 columns, continuation indented
sub _wrap {
	my ($head, $text) = @_;
	my ($line, @l) = ($head);
	for my $w (split ' ', $text) {
		if (length($line) + length($w) + 1 > 76 && $line =~ /\S\z/) {
			push @l, $line;
			$line = ' ' x 8;
		}
		$line .= ($line =~ /\S\z/ ? ' ' : '') . $w;
	}
	return join("\n", @l, $line) . "\n";
}

sub _totals_text {
	my $t = MailScenario::totals(@steps);
	my $s = sprintf "  %-20s %5s %5s %5s %5s  %s\n", 'account', 'ok',
	    'fail', 'msgs', 'rcpts', 'ok/fail by service';
	for my $a (sort keys %{$t->{account}}) {
		my $x = $t->{account}{$a};
		my $bs = $x->{by_service};
		$s .= sprintf "  %-20s %5d %5d %5d %5d  %s\n", $a, $x->{login_ok},
		    $x->{login_fail}, $x->{messages}, $x->{rcpts},
		    join ' ', map { "$_=" . ($bs->{$_}{ok} // 0) . '/' .
		    ($bs->{$_}{fail} // 0) } sort keys %$bs;
	}
	$s .= "  logins with no account in the log: ok $t->{anonymous_ok} " .
	    "(AUTH-only session), failed $t->{anonymous_fail} (Connection " .
	    "lost)\n\n";
	$s .= sprintf "  %-11s %5s %5s  %s\n", 'address', 'ok', 'fail',
	    'accounts seen';
	for my $ip (sort keys %{$t->{ip}}) {
		my $x = $t->{ip}{$ip};
		my $l = sprintf "  %-11s %5d %5d  %s", $ip, $x->{login_ok} // 0,
		    $x->{login_fail} // 0, join ' ', sort keys
		    %{$x->{accounts} // {}};
		$l =~ s/\s+\z//;
		$s .= "$l\n";
	}
	return $s;
}

my $pf = `/usr/sbin/postconf -h -d mail_version`;
my $dv = `/usr/sbin/dovecot --version`;
my $deb = `cat /etc/debian_version`;
chomp($pf, $dv, $deb);
my $lines = () = do { open my $fh, '<', "$out/mail.log" or die; <$fh> };
my $date = strftime('%Y-%m-%d %H:%M %Z', localtime);
my $totals = _totals_text();
open my $rd, '>', "$out/README" or die "$out/README: $!";
print {$rd} <<"EOF", @done, <<"EOF2";
Real Postfix + Dovecot log (t/data/real/mail.log)
=================================================

Made by t/data/real/capture.pl on $date, as root, on Debian
$deb with the Debian packages: Postfix $pf, Dovecot $dv.
Nothing was edited by hand: mail.log is the file both servers wrote
($lines lines).  Re-run: perl t/data/real/capture.pl (root, ~30 s).

Setup (t/lib/MailStack.pm): one Postfix instance (postfix -c DIR) logging
through postlogd (maillog_file), and one Dovecot instance (dovecot -c FILE)
whose log_path is the same file, so the two formats interleave:
  Postfix: "Mon DD HH:MM:SS mx postfix/<service>[pid]: ..."
  Dovecot: "Mon DD HH:MM:SS <process>: Info: ..."   (no host name)
Both use the local time of the run (UTC here); the year is that of the
date above.
Postfix: smtpd on 127.0.0.1 as "smtp" (syslog_name postfix) and as
"submission" (syslog_name postfix/submission, smtpd_sasl_type=dovecot);
smtpd_peername_lookup=no, so every client is unknown[127.x.y.z].
Routing: fumidai.test = virtual(8) Maildirs; example.net = smtp(8) to a
loopback sink (relay=127.0.0.1[127.0.0.1]:<port>; it answers 550 to
bounce* and 451 to defer* recipients); discard.test = discard(8); any
other domain: Relay access denied.
Dovecot: passwd-file accounts, auth_verbose=yes, auth penalty off, IMAP
and POP3 on 127.0.0.1.

Accounts: alice bob carol dave \@fumidai.test; ghost\@fumidai.test does not
exist.  127.0.0.66 plays the attacker, 127.0.0.90 a port scanner.

Scenario, in order (address, what the client did, -> what it saw):

EOF

Then every message still queued (the deferred one) was deleted with
"postsuper -d ALL", and both servers were stopped (postfix stop; Dovecot
SIGTERM), which is why the log ends with their shutdown lines.

What fumidai must find (t/lib/MailScenario.pm, totals): one failed login
per attempt, though each is logged twice (the Postfix warning or the login
process's line, and Dovecot's auth line); messages are those submitted by
an authenticated account (not the inbound one on port 25, not the bounce
from <>), rcpts counts the recipients accepted:

$totals
EOF2
close $rd or die;
print "wrote $out/README\n";
