#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# audit-op25b.t - `fumidai audit op25b` in a network of the test's own:
# three network namespaces ("inside" client host, "gateway", "outside"
# host) joined by veth pairs, with 10.250.x.y and fd00:fa:x::y (ULA)
# addresses that exist only in them.  The gateway forwards, and its
# nftables rules reject, drop or accept TCP/25 while 587 passes; a tiny
# SMTP listener on the outside host answers on 25 and 587 (465 is
# closed).  The audit, run inside, must say blocked, filtered and open,
# over IPv4 and (when the namespaces can carry IPv6) over IPv6 too.  No
# packet leaves the namespaces.  Skips only when namespaces cannot be
# made (not root, no ip(8) or nft(8)).
use strict;
use warnings;
use Test::More;
use JSON::PP;
use POSIX qw(_exit);
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep);

my $bin = "$ENV{FM_BUILDDIR}/fumidai";
my $IP = '/usr/sbin/ip';
my $NFT = '/usr/sbin/nft';
my ($IN, $GW, $OUT) = map { "fm$_$$" } qw(in gw out);
my @made;			# namespaces to delete
my $listener;			# pid of the outside SMTP listener
my $OUTSIDE = '10.250.2.2';
my $OUTSIDE6 = 'fd00:fa:2::2';

plan skip_all => 'needs root for network namespaces' if $> != 0;
plan skip_all => "needs $IP (iproute2)" unless -x $IP;
plan skip_all => "needs $NFT (apt-get install nftables)" unless -x $NFT;

END {
	local $?;
	if ($listener) {
		kill 'TERM', $listener;
		waitpid $listener, 0;
	}
	system($IP, 'netns', 'del', $_) for reverse @made;
}

sub sh {
	my @cmd = @_;
	system(@cmd) == 0 or die "@cmd: failed\n";
}
sub in_ns { my $ns = shift; sh($IP, 'netns', 'exec', $ns, @_) }

for my $ns ($IN, $GW, $OUT) {
	if (system($IP, 'netns', 'add', $ns) != 0) {
		plan skip_all => "cannot create network namespaces here";
	}
	push @made, $ns;
	# no duplicate address detection on the links made next: a
	# tentative link-local address would hold IPv6 neighbour discovery
	# back for a second or two (best effort: fails without IPv6)
	system($IP, 'netns', 'exec', $ns, 'sysctl', '-q', '-w',
	    'net.ipv6.conf.default.accept_dad=0');
	in_ns($ns, $IP, 'link', 'set', 'lo', 'up');
}
# the veth ends are born inside the namespaces: nothing in the host's
sh($IP, 'link', 'add', 'vin', 'netns', $IN, 'type', 'veth', 'peer', 'gin',
    'netns', $GW);
sh($IP, 'link', 'add', 'vout', 'netns', $OUT, 'type', 'veth', 'peer',
    'gout', 'netns', $GW);
in_ns($IN, $IP, qw(addr add 10.250.1.2/24 dev vin));
in_ns($IN, $IP, qw(link set vin up));
in_ns($IN, $IP, qw(route add default via 10.250.1.1));
in_ns($GW, $IP, qw(addr add 10.250.1.1/24 dev gin));
in_ns($GW, $IP, qw(addr add 10.250.2.1/24 dev gout));
in_ns($GW, $IP, qw(link set gin up));
in_ns($GW, $IP, qw(link set gout up));
in_ns($GW, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
in_ns($OUT, $IP, "addr", "add", "$OUTSIDE/24", "dev", "vout");
in_ns($OUT, $IP, qw(link set vout up));
in_ns($OUT, $IP, qw(route add default via 10.250.2.1));
# the same over IPv6 (nodad: usable at once); skipped if it cannot be had
my $v6 = eval {
	in_ns($IN, $IP, qw(-6 addr add fd00:fa:1::2/64 dev vin nodad));
	in_ns($IN, $IP, qw(-6 route add default via fd00:fa:1::1));
	in_ns($GW, $IP, qw(-6 addr add fd00:fa:1::1/64 dev gin nodad));
	in_ns($GW, $IP, qw(-6 addr add fd00:fa:2::1/64 dev gout nodad));
	in_ns($GW, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1');
	in_ns($OUT, $IP, '-6', 'addr', 'add', "$OUTSIDE6/64", 'dev', 'vout',
	    'nodad');
	in_ns($OUT, $IP, qw(-6 route add default via fd00:fa:2::1));
	1;
};
diag "no IPv6 in the namespaces: $@" unless $v6;

# the outside host's SMTP listener on 25 and 587: banner, 221 to QUIT
my $tmp = tempdir('fm-op25b-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $script = <<'EOF';
use strict; use IO::Socket::IP; use IO::Select;
my $ready = shift @ARGV;
my @l = map { my $a = $_; map { IO::Socket::IP->new(LocalHost => $a,
    LocalPort => $_, Listen => 8, ReuseAddr => 1) or die "listen $_: $@" }
    (25, 587) } @ARGV;
open my $fh, '>', $ready or die; close $fh;
my $sel = IO::Select->new(@l);
$SIG{TERM} = sub { exit 0 };
while (1) {
	for my $s ($sel->can_read(1)) {
		if (grep { $_ == $s } @l) {
			my $c = $s->accept or next;
			$c->autoflush(1);
			print {$c} "220 outside.example.net ESMTP test listener\r\n";
			$sel->add($c);
			next;
		}
		my $line = <$s>;
		if (defined $line && $line =~ /^QUIT/i) {
			print {$s} "221 2.0.0 Bye\r\n";
		} elsif (defined $line) {
			print {$s} "502 5.5.2 not here\r\n";
			next;
		}
		$sel->remove($s);
		close $s;
	}
}
EOF
$listener = fork // die "fork: $!";
if ($listener == 0) {
	open STDOUT, '>', '/dev/null';
	{ no warnings q(exec);
	  exec $IP, 'netns', 'exec', $OUT, $^X, '-e', $script, "$tmp/ready",
	    $OUTSIDE, $v6 ? $OUTSIDE6 : (); }
	_exit(127);
}
for (1 .. 100) { last if -e "$tmp/ready"; sleep 0.05 }
ok(-e "$tmp/ready", 'outside listener up');

# gateway - replace the gateway's forward rules for TCP/25
sub gateway {
	my ($rule) = @_;
	in_ns($GW, $NFT, 'flush', 'ruleset');
	return unless defined $rule;
	open my $fh, '>', "$tmp/rules.nft" or die;
	print {$fh} "table inet fm {\n chain c25 {\n" .
	    "  type filter hook forward priority 0; policy accept;\n" .
	    "  tcp dport 25 $rule\n }\n}\n";
	close $fh;
	in_ns($GW, $NFT, '-f', "$tmp/rules.nft");
}

# audit - run the audit on the inside host; (exit status, decoded JSON)
sub audit {
	my @args = @_;
	my $pid = open my $fh, '-|' // die "fork: $!";
	if ($pid == 0) {
		open STDERR, '>', '/dev/null';	# usage text of the last case
		{ no warnings q(exec);
		  exec $IP, 'netns', 'exec', $IN, $bin, 'audit', 'op25b', @args; }
		_exit(127);
	}
	local $/;
	my $out = <$fh> // '';
	close $fh;
	my $rc = $? >> 8;
	my $j = eval { decode_json($out) } // {};
	return ($rc, $j, $out);
}

my @t = ('--target', $OUTSIDE, '--timeout', 700, '--json');
for my $case (
	[ 'reject with tcp reset', 'blocked', 0, 'pass' ],
	[ 'reject', 'blocked', 0, 'pass' ],
	[ 'drop', 'filtered', 0, 'pass' ],
	[ undef, 'open', 1, 'fail' ],
	# the same through IPv6 (the rules are in an inet table: both)
	[ 'reject with tcp reset', 'blocked', 0, 'pass', 6 ],
	[ 'drop', 'filtered', 0, 'pass', 6 ],
	[ undef, 'open', 1, 'fail', 6 ],
) {
	my ($rule, $want, $wrc, $verdict, $fam) = @$case;
	my $name = ($rule // 'no rule') . ($fam ? ' (IPv6)' : '');
	if ($fam && !$v6) {
		SKIP: { skip 'no IPv6 in the namespaces', 6 + ($want eq 'open') }
		next;
	}
	gateway($rule);
	my ($rc, $j, $out) = audit($fam ? ('--target', "[$OUTSIDE6]",
	    @t[2 .. $#t]) : @t);
	is($j->{targets}[0]{host}, $OUTSIDE6, "$name: target fd00:fa:2::2")
	    if $fam;
	my $tg = $j->{targets}[0] // {};
	is($tg->{port25}, $want, "$name: port 25 $want") or diag $out;
	is($tg->{submission}{587}{state}, 'open', "$name: 587 reachable")
	    or diag $out;
	is($tg->{submission}{465}{state}, 'blocked', "$name: 465 refused");
	ok($tg->{submission_reachable}, "$name: submission reachable");
	is($j->{verdict}, $verdict, "$name: verdict $verdict");
	is($rc, $wrc, "$name: exit $wrc");
	if ($want eq 'open') {
		like($tg->{banner} // '', qr/^220 outside\.example\.net/,
		    'open: banner read');
	}
}

# text output, and nothing reachable at all
gateway('drop');
{
	my $pid = open my $fh, '-|' // die;
	if ($pid == 0) {
		{ no warnings q(exec);
		  exec $IP, 'netns', 'exec', $IN, $bin, 'audit', 'op25b',
		    '--target', $OUTSIDE, '--timeout', 700; }
		_exit(127);
	}
	local $/;
	my $out = <$fh>;
	close $fh;
	like($out, qr/^\Q$OUTSIDE\E port 25: filtered/m, 'text: filtered');
	like($out, qr/^verdict: pass/m, 'text: verdict');
}
gateway('drop');
in_ns($GW, $NFT, 'add', 'rule', 'inet', 'fm', 'c25', 'tcp', 'dport',
    '{ 587, 465 }', 'drop');
{
	my ($rc, $j) = audit(@t);
	is($j->{verdict}, 'inconclusive', 'all dropped: inconclusive');
	is($rc, 2, 'all dropped: exit 2');
}
my ($urc) = audit();
is($urc, 2, 'no --target: usage, exit 2');

done_testing;
