#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# lz-lua.t - monitor/lz.lua, the FZ1 and FZ2 decoder that runs in Redis
# Lua, on the blobs monitor/lz.c makes (`t/lz-t --compress`, and
# --compress-fz1 / --compress-fz2 for one format): every input of t/lz-t.c
# comes back byte for byte through EVAL in both formats, every kind of
# damaged blob gives nil and lz_decompress's message (never a Lua error),
# and every truncation and bit flip of a blob of either format gives what
# lz_decompress gives (the same bytes, or the same refusal).  Diagnostics:
# EVAL times, and FZ1 / FZ2 / lz4 -9 / zstd -19 ratios on days archived
# from a bench/gen-history workload.  A small RESP client on the private
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

# compress(raw, format) - the blob lz_compress makes (format 1 or 2: that
# format's)
sub compress {
    my ($in, $f) = @_;
    my $opt = $f ? "--compress-fz$f" : '--compress';
    my ($st, $out, $err) = run_cmd([$lzt, $opt, '-'], stdin => $in);
    die "lz-t $opt: $err" if $st;
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
push @inputs, ['one token value', "\0"], ['every token value', join '',
    map { chr(255 - $_) } 0 .. 255];
my %blob;
for my $c (@inputs) {
    my ($name, $in) = @$c;
    my $z = $blob{$name} = compress($in);
    my ($z1, $z2) = (compress($in, 1), compress($in, 2));
    is($z, length $z2 < length $z1 ? $z2 : $z1, "$name: lz_compress keeps the smaller");
    for my $f ([FZ1 => $z1], [FZ2 => $z2]) {
        my $t0 = time;
        my ($st, $out) = unlz($f->[1]);
        my $ms = (time - $t0) * 1000;
        ok($st eq 'ok' && $out eq $in, sprintf('%s: %d bytes, %s blob %d', $name,
            length $in, $f->[0], length $f->[1]))
            or diag("$st: " . substr($out // '', 0, 200));
        diag(sprintf('%s: %s EVAL %.1f ms', $name, $f->[0], $ms)) if length $in > 2000;
    }
}
is(compress(''), "FZ1\0", 'the empty blob is FZ1\\0');
is(compress('', 2), "FZ2\0\0", 'the empty FZ2 blob is FZ2\\0\\0');

# ---- ratios on generated days (diagnostics; lz4 and zstd when installed) ----
for my $size (600, 3000, 10000, 2 << 20) {
    my (undef, $raw) = run_cmd([$lzt, '--sample', $size]);
    my @r = map { sprintf '%s %.2f', $_->[0], length($raw) / length($_->[1]) }
        ['FZ1', compress($raw, 1)], ['FZ2', compress($raw, 2)];
    for my $c (['lz4 -9', 'lz4', '-9', '-c', '-q'], ['zstd -19', 'zstd', '-19', '-c', '-q']) {
        my ($what, @cmd) = @$c;
        next unless have_prog($cmd[0]);
        my ($st, $z) = run_cmd([@cmd], stdin => $raw);
        push @r, sprintf '%s %.2f', $what, length($raw) / length($z) if $st == 0;
    }
    diag(sprintf 'day of %d bytes: %s', length $raw, join ', ', @r);
}

# ---- every kind of damage: nil and lz_decompress's message ----
my @bad = (
    ['empty blob', '', 'bad magic'],
    ['FZ', 'FZ', 'bad magic'],
    ['FZ3', "FZ3\0", 'bad magic'],
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
    # FZ2, as t/lz-t.c's
    ['FZ2 no length', 'FZ2', 'truncated length'],
    ['FZ2 no count', "FZ2\x01", 'truncated count'],
    ['count not minimal', "FZ2\x01\x80\x00", 'overlong count'],
    ['count of 2^32', "FZ2\x01\x80\x80\x80\x80\x10", 'overlong count'],
    ['no table', "FZ2\x01\x02", 'truncated table'],
    ['table cut in a run', "FZ2\x01\x02\x1e", 'truncated table'],
    ['table cut', "FZ2\x01\x02\x11\xd0", 'truncated table'],
    ['a length of 15', "FZ2\x01\x02\xf0", 'bad table at byte 5'],
    ['a run past 255', "FZ2\x01\x02\x11\xef\xf0", 'bad table at byte 7'],
    ['padding nibble not 0', "FZ2\x01\x02\x11\xee\xc1\x00", 'bad table at byte 7'],
    ['no value', "FZ2\x01\x02\xee\xe0\x00", 'empty code'],
    ['over-subscribed code', "FZ2\x01\x02\x11\x1e\xeb\x00", 'over-subscribed code'],
    ['incomplete code', "FZ2\x01\x02\x12\xee\xc0\x00", 'incomplete code'],
    ['one value of 2 bits', "FZ2\x01\x02\x2e\xed\x00", 'incomplete code'],
    ['count past the blob', "FZ2\x01\x09\x1e\xed\x00", 'token count 9 past the blob'],
    ['count past an empty blob', "FZ2\x01\x01\x1e\xed", 'token count 1 past the blob'],
    ['a code the one-value code lacks', "FZ2\x01\x02\x1e\xed\x02", 'bad code at token 1'],
    ['bits end early', "FZ2\x01\x05\x22\x22\xee\xa0\x00", 'bitstream ends early'],
    ['a byte after the bits', "FZ2\x01\x02\x1e\x4e\x1e\x8c\x02x",
        'trailing bytes at byte 10'],
    ['nothing, then a byte', "FZ2\0\0x", 'trailing bytes at byte 5'],
    ['padding bits not 0', "FZ2\x01\x02\x1e\x4e\x1e\x8c\x06", 'nonzero padding'],
    ['tokens short of rawlen', "FZ2\x05\x02\x1e\x4e\x1e\x8c\x02",
        'tokens: output short of length 5: 1 bytes'],
    ['no tokens for rawlen 1', "FZ2\x01\x00", 'tokens: output short of length 1: 0 bytes'],
    ['tokens with a bad distance', "FZ2\x05\x05\x1e\x6d\x1e\x6d\x04",
        'tokens: bad distance 0 at byte 2'],
);
for my $c (@bad) {
    my ($name, $z, $want) = @$c;
    my ($st, $msg) = unlz($z);
    is("$st: $msg", "err: $want", "refused: $name");
}
my $z1 = compress($s2m, 1);
my ($st, $msg) = unlz($z1 . 'x');
is("$st: $msg", 'err: trailing bytes at byte ' . length($z1),
    'refused: a byte after a 2 MB FZ1 blob');
($st, $msg) = unlz(substr($z1, 0, -1));
like("$st: $msg", qr/^err: truncated (literal|copy) at byte \d+\z/,
    'refused: a 2 MB FZ1 blob one byte short');
my $z2 = compress($s2m, 2);
($st, $msg) = unlz($z2 . 'x');
is("$st: $msg", 'err: trailing bytes at byte ' . length($z2),
    'refused: a byte after a 2 MB FZ2 blob');
($st, $msg) = unlz(substr($z2, 0, -1));
is("$st: $msg", 'err: bitstream ends early', 'refused: a 2 MB FZ2 blob one byte short');

# ---- truncations and bit flips: the same answer as lz_decompress ----
my (undef, $small) = run_cmd([$lzt, '--sample', 300]);
my @cases;
for my $z (compress($small, 1), compress($small, 2)) {
    push @cases, map { substr($z, 0, $_) } 0 .. length($z) - 1;
    for my $i (0 .. length($z) - 1) {
        for my $bit (0 .. 7) {
            my $b = $z;
            substr($b, $i, 1) = chr(ord(substr($b, $i, 1)) ^ (1 << $bit));
            push @cases, $b;
        }
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
