#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# lz-lua.t - monitor/lz.lua, the FZ1 decoder that runs in Redis Lua, on the
# blobs monitor/lz.c makes (`t/lz-t --compress`): every input of t/lz-t.c
# comes back byte for byte through EVAL, every kind of damaged blob gives
# nil and lz_decompress's message (never a Lua error), and every
# truncation and bit flip of a blob gives what lz_decompress gives (the
# same bytes, or the same refusal).  A small RESP client on the private
# Redis's unix socket keeps the blobs binary.
use strict;
use warnings;
use Test::More;
use IO::Socket::UNIX;
use Time::HiRes qw(time);
use lib "$ENV{FM_SRCDIR}/t/lib";
use FM qw(run_cmd tmpdir read_file have_prog);

plan skip_all => 'redis-server is not installed' unless have_prog('redis-server');

my $lzt = "$ENV{FM_BUILDDIR}/t/lz-t";
my $dir = tmpdir();
my $r = FM::start_redis($dir);
my $sock = IO::Socket::UNIX->new(Peer => $r->sock) or die "connect: $!";
binmode $sock;

# cmd(@args) - one command's reply: a string, an array, undef, or
# { err => message }
sub cmd {
    my $m = '*' . @_ . "\r\n";
    $m .= '$' . length($_) . "\r\n$_\r\n" for @_;
    print $sock $m;
    return reply();
}

sub reply {
    my $l = <$sock> // die "redis closed the connection";
    $l =~ s/\r\n\z//;
    my $t = substr($l, 0, 1, '');
    return { err => $l } if $t eq '-';
    return $l if $t eq '+' || $t eq ':';
    if ($t eq '$') {
        return undef if $l < 0;
        my $b = '';
        read($sock, $b, $l + 2, length $b) while length $b < $l + 2;
        return substr($b, 0, $l);
    }
    return undef if $l < 0;
    return [ map { reply() } 1 .. $l ];
}

# EVAL returns only a script's first value: the wrapper returns both.
my $lua = read_file("$ENV{FM_SRCDIR}/monitor/lz.lua") . <<'EOF';
local raw, err = FMZ.unlz(ARGV[1])
if raw then return {1, raw} end
return {0, err}
EOF
my $sha = cmd('SCRIPT', 'LOAD', $lua);
ok(!ref $sha, 'lz.lua loads') or BAIL_OUT("SCRIPT LOAD: $sha->{err}");

# unlz(blob) - ('ok', raw) or ('err', message) or ('lua', error)
sub unlz {
    my $x = cmd('EVALSHA', $sha, 0, $_[0]);
    return ('lua', $x->{err}) if ref $x eq 'HASH';
    return ($x->[0] ? 'ok' : 'err', $x->[1]);
}

sub compress {
    my ($st, $out, $err) = run_cmd([$lzt, '--compress', '-'], stdin => $_[0]);
    die "lz-t --compress: $err" if $st;
    return $out;
}

# ---- round trips ----
my $seed = 2463534242;
sub rnd {    # xorshift32, as lz-t.c
    $seed ^= ($seed << 13) & 0xffffffff;
    $seed ^= $seed >> 17;
    $seed ^= ($seed << 5) & 0xffffffff;
    return $seed;
}
my $random = join '', map { chr(rnd() & 255) } 1 .. 72000;
my $edge = $random;    # 3000 bytes again 65535 bytes later: a copy that far
substr($edge, 65535, 3000) = substr($edge, 0, 3000);
my $all = join '', map { chr } 0 .. 255;
my (undef, $s3k) = run_cmd([$lzt, '--sample', 3000]);
my (undef, $s2m) = run_cmd([$lzt, '--sample', 2 << 20]);
my @inputs = (
    ['empty', ''], ['1 byte', 'x'], ['3 bytes', 'abc'], ['4 bytes', 'qqqq'],
    ['5 bytes', 'abcde'], ['256 byte values', $all],
    ['256 byte values 4 times', $all x 4], ['100000 x', 'x' x 100000],
    ['abNUL repeated', "ab\0" x 33334], ['random 72000', $random],
    ['a copy 65535 back', $edge], ['archive of 3 KB', $s3k],
    ['archive of 2 MB', $s2m],
);
my %blob;
for my $c (@inputs) {
    my ($name, $in) = @$c;
    my $z = $blob{$name} = compress($in);
    my $t0 = time;
    my ($st, $out) = unlz($z);
    my $ms = (time - $t0) * 1000;
    ok($st eq 'ok' && $out eq $in, sprintf('%s: %d bytes, blob %d', $name,
        length $in, length $z)) or diag("$st: " . substr($out // '', 0, 200));
    diag(sprintf('%s: EVAL %.1f ms', $name, $ms)) if length $in > 2000;
}
is(compress(''), "FZ1\0", 'the empty blob is FZ1\\0');

# ---- every kind of damage: nil and lz_decompress's message ----
my @bad = (
    ['empty blob', '', 'bad magic'],
    ['FZ', 'FZ', 'bad magic'],
    ['FZ2', "FZ2\0", 'bad magic'],
    ['no length', 'FZ1', 'truncated length'],
    ['length cut', "FZ1\x80", 'truncated length'],
    ['6-byte length', "FZ1\x80\x80\x80\x80\x80\x00", 'overlong length'],
    ['length of 2^32', "FZ1\x80\x80\x80\x80\x10", 'overlong length'],
    ['length not minimal', "FZ1\x81\x00a", 'overlong length'],
    ['length 2^32-1, nothing', "FZ1\xff\xff\xff\xff\x0f",
        'output short of length 4294967295: 0 bytes'],
    ['literal cut', "FZ1\x03\x02ab", 'truncated literal at byte 4'],
    ['copy cut after c', "FZ1\x05\x00a\x80", 'truncated copy at byte 6'],
    ['copy cut after d\'s first byte', "FZ1\x05\x00a\x80\x00",
        'truncated copy at byte 6'],
    ['distance 0', "FZ1\x05\x00a\x80\x00\x00", 'bad distance 0 at byte 6'],
    ['distance past the start', "FZ1\x05\x00a\x80\x00\x02",
        'bad distance 2 at byte 6'],
    ['distance 65535 past the start', "FZ1\x05\x00a\x80\xff\xff",
        'bad distance 65535 at byte 6'],
    ['literal past rawlen', "FZ1\x02\x02abc", 'output past length 2 at byte 4'],
    ['copy past rawlen', "FZ1\x04\x00a\x80\x00\x01",
        'output past length 4 at byte 6'],
    ['output short', "FZ1\x05\x00a", 'output short of length 5: 1 bytes'],
    ['trailing bytes', "FZ1\x01\x00a\x00b", 'trailing bytes at byte 6'],
    ['trailing token after empty', "FZ1\x00\x00a", 'trailing bytes at byte 4'],
);
for my $c (@bad) {
    my ($name, $z, $want) = @$c;
    my ($st, $msg) = unlz($z);
    is("$st: $msg", "err: $want", "refused: $name");
}
my ($st, $msg) = unlz($blob{'archive of 2 MB'} . 'x');
is("$st: $msg", 'err: trailing bytes at byte ' . length($blob{'archive of 2 MB'}),
    'refused: a byte after a 2 MB blob');
($st, $msg) = unlz(substr($blob{'archive of 2 MB'}, 0, -1));
like("$st: $msg", qr/^err: truncated (literal|copy) at byte \d+\z/,
    'refused: a 2 MB blob one byte short');

# ---- truncations and bit flips: the same answer as lz_decompress ----
my (undef, $small) = run_cmd([$lzt, '--sample', 300]);
my $z = compress($small);
my @cases = map { substr($z, 0, $_) } 0 .. length($z) - 1;
for my $i (0 .. length($z) - 1) {
    for my $bit (0 .. 7) {
        my $b = $z;
        substr($b, $i, 1) = chr(ord(substr($b, $i, 1)) ^ (1 << $bit));
        push @cases, $b;
    }
}
my ($cst, $cout) = run_cmd([$lzt, '--decompress-hex'],
    stdin => join('', map { unpack('H*', $_) . "\n" } @cases));
my @want = split /\n/, $cout;
is(scalar @want, scalar @cases, 'lz_decompress answered every damaged blob');
my ($same, $lua_err, $refused) = (0, 0, 0);
for my $k (0 .. $#cases) {
    my ($s, $v) = unlz($cases[$k]);
    $lua_err++ if $s eq 'lua';
    $refused++ if $s eq 'err';
    my $got = $s eq 'ok' ? 'ok ' . unpack('H*', $v) : "$s $v";
    if ($got eq ($want[$k] // '')) {
        $same++;
    } elsif ($k - $same <= 5) {
        diag("case $k: lua '$got', C '" . ($want[$k] // '') . "'");
    }
}
is($lua_err, 0, 'no damaged blob raises a Lua error');
is($same, scalar @cases, sprintf('%d truncated or flipped blobs: Lua and C '
    . 'agree (%d refused)', scalar @cases, $refused));

undef $sock;
$r->stop;
done_testing();
