#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# corpus.t - conformance of the Postfix and Dovecot parsers with the
# annotated real-world samples in ../shared/corpus (fail2ban's test logs; see
# the README there).  Skipped when the corpus is not present.
#
# For every corpus file holding Postfix or Dovecot lines, `fumidai parse
# --raw` (every line's own events, no correlation) must:
#   - turn every "match": true line annotated under an authentication mode
#     into a login_fail event from that very line, with the annotated client
#     address and, when annotated, account;
#   - turn no "match": false line into a login_fail event;
#   - turn the Postfix rejects fail2ban's other modes flag into reject
#     events with the client address;
#   - count the lines it does not understand, and never crash.
# The same files are also run with correlation on (the normal mode).
#
# Deliberate differences from fail2ban's annotations, each one a decision:
#   - "tried to use disabled/disallowed plaintext auth" (and "... test
#     auth"): Dovecot refused the mechanism before any password was checked,
#     so this is not a failed login; fumidai understands the line and emits
#     nothing (fail2ban bans for it).
#   - "SASL ... authentication failed: Connection lost to authentication
#     server": fail2ban ignores it (not the client's fault); the fumidai
#     issue asks for it as a SASL failure, so it is a login_fail whose
#     reason says exactly that, and detectors can tell it apart.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(basename);
use FindBin;
use JSON::PP;
use lib "$FindBin::Bin/lib";
use Test::More;
use FM qw(run_cmd read_file);

my $src = abs_path($ENV{FM_SRCDIR} // "$FindBin::Bin/..");
my $corpus = $ENV{FM_CORPUS} // "$src/../shared/corpus";
plan skip_all => "no corpus at $corpus (../shared/corpus)" unless -d $corpus;
my $bin = abs_path(FM::fumidai()) // '';
plan skip_all => "fumidai binary not built" unless -x $bin;

my @all = sort glob("$corpus/*/*.log $corpus/*.log");
my @files = grep { has_our_lines($_) } @all;
ok(scalar(grep { /postfix\.log\z/ } @files) == 1 &&
    scalar(grep { /dovecot\.log\z/ } @files) == 1,
    "corpus has postfix.log and dovecot.log") or diag(join("\n", @files));

my $json = JSON::PP->new->relaxed;
my (%tally);
for my $file (@files) {
	my $name = basename($file);
	my @ann = annotations($file);
	my ($st, $out, $err) = run_cmd([$bin, 'parse', '-c', '/dev/null',
	    '--raw', '--show-skipped', '--year', '2005', '--tz', 'Europe/Zurich',
	    $file]);
	is($st, 0, "$name: fumidai parse --raw exits 0") or diag($err);
	my ($sum) = grep { /: lines=\d+/ } split /\n/, $err;
	ok(defined $sum, "$name: summary printed") or next;
	my %n = $sum =~ /(\w+)=(\d+)/g;
	my %unrec = map { /:(\d+): unrecognized:/ ? ($1 => 1) : () } split /\n/, $err;
	note("$name: $sum");
	note("$name: unrecognized line $_") for sort { $a <=> $b } keys %unrec;
	is(scalar(keys %unrec), $n{unrecognized}, "$name: unrecognized lines listed");

	my %ev;		# line number -> [events]
	for my $l (split /\n/, $out) {
		my $e = eval { decode_json($l) };
		ok($e, "$name: output is JSON") or do { diag($l); next };
		my ($no) = ($e->{src} // '') =~ /:(\d+)\z/;
		push @{$ev{$no // 0}}, $e;
	}
	for my $a (@ann) {
		check_line($name, $a, $ev{$a->{line}} // [], \%unrec);
	}
	($st, undef, $err) = run_cmd([$bin, 'parse', '-c', '/dev/null',
	    '--year', '2005', '--tz', 'Europe/Zurich', $file]);
	is($st, 0, "$name: fumidai parse (correlated) exits 0") or diag($err);
}

# Every corpus file, whatever its server, must go through without a crash.
for my $file (@all) {
	my ($st, undef, $err) = run_cmd([$bin, 'parse', '-c', '/dev/null',
	    '--parsers', 'postfix,dovecot', $file]);
	ok($st == 0 && $err =~ /: lines=\d+/, basename($file) . ": no crash");
}
note(sprintf("checked: %d auth failures, %d non-failures, %d rejects, " .
    "%d deliberate differences", map { $tally{$_} // 0 } qw(fail nofail reject
    differ)));
ok(($tally{fail} // 0) >= 50, "at least 50 annotated auth failures checked");
done_testing();

# check_line - what one annotated line must (not) have produced
sub check_line {
	my ($name, $a, $evs, $unrec) = @_;
	my $j = $a->{json};
	my $what = "$name:$a->{line}";
	my @fails = grep { $_->{kind} eq 'login_fail' } @$evs;
	if (!$j->{match}) {
		if ($a->{text} =~ /failed: Connection lost to authentication server/) {
			$tally{differ}++;
			ok(@fails == 1 && $fails[0]{reason} =~ /^Connection lost/,
			    "$what: 'Connection lost' is a login_fail saying so");
			return;
		}
		$tally{nofail}++;
		ok(!@fails, "$what: match false -> no login_fail") or
		    diag($a->{text});
		return;
	}
	if (auth_mode($name, $a)) {
		if ($a->{text} =~ /\(tried to use disa(?:bled|llowed) \S+ auth\)/) {
			$tally{differ}++;
			ok(!@fails && !$unrec->{$a->{line}},
			    "$what: refused mechanism understood, not a failed login");
			return;
		}
		$tally{fail}++;
		my @ok = grep { ($_->{ip} // '') eq $j->{host} &&
		    (!defined $j->{user} || ($_->{account} // '') eq $j->{user}) }
		    @fails;
		ok(@ok >= 1, "$what: login_fail from $j->{host}" .
		    (defined $j->{user} ? " as $j->{user}" : '')) or
		    diag("$a->{text}\ngot: " . encode_json($evs));
		return;
	}
	if ($name eq 'postfix.log' && $a->{text} =~ /\breject: /) {
		$tally{reject}++;
		ok(scalar(grep { $_->{kind} eq 'reject' &&
		    ($_->{ip} // '') eq $j->{host} } @$evs),
		    "$what: reject event from $j->{host}") or diag($a->{text});
	}
}

# auth_mode - whether fail2ban annotates this line under an authentication
# mode: Postfix's SASL section (minus its "aggressive only" extras), and
# Dovecot's default section (its aggressive section reports non-auth abuse)
sub auth_mode {
	my ($name, $a) = @_;
	my %modes = map { $_ => 1 } @{$a->{modes}};
	if ($name eq 'postfix.log') {
		return $a->{section} =~ /postfix-sasl/ &&
		    ($a->{json}{desc} // '') !~ /aggressive only/;
	}
	if ($name eq 'dovecot.log') {
		return !(keys(%modes) == 1 && $modes{aggressive});
	}
	return 0;
}

# annotations - [{line, json, text, modes, section}] of a corpus file: each
# "# failJSON: {...}" describes the next physical line
sub annotations {
	my ($file) = @_;
	my @l = split /\n/, read_file($file), -1;
	my (@a, @modes, $section);
	$section = '';
	@modes = ('');
	for my $i (0 .. $#l) {
		if ($l[$i] =~ /^#\s*filterOptions:\s*(.*)$/) {
			my $o = eval { $json->decode($1) } // [];
			$o = [$o] if ref $o eq 'HASH';
			@modes = map { $_->{mode} // '' } @$o;
		} elsif ($l[$i] =~ /^#\s*Test-cases of ([\w-]+)/) {
			$section = $1;
		} elsif ($l[$i] =~ /^#\s*failJSON:\s*(.*)$/ && $i < $#l) {
			my $j = eval { $json->decode($1) };
			ok($j, basename($file) . ":" . ($i + 1) . ": annotation parses")
			    or next;
			push @a, { line => $i + 2, json => $j, text => $l[$i + 1],
			    modes => [@modes], section => $section };
		}
	}
	return @a;
}

# has_our_lines - whether a corpus file holds Postfix or Dovecot lines
sub has_our_lines {
	my ($file) = @_;
	my $d = read_file($file) // '';
	return $d =~ m{^[^#\n]*\s(?:postfix[\w/-]*|dovecot|dovecot-auth|
	    (?:imap|pop3|submission|managesieve)-login|auth-worker)
	    (?:\[\d+\]|\(\d+\))?:\s}mx;
}
