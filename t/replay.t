#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# replay.t - `fumidai replay` of an archive: plain, .gz and standard input
# give the same records, and replaying the same archive again changes
# nothing (each subject skips the batches it already applied).
use strict;
use warnings;
use Test::More;
use lib "$ENV{FM_SRCDIR}/t/lib";
use FM qw(fumidai run_cmd tmpdir write_file read_file write_config have_prog);

plan skip_all => 'redis-server is not installed' unless have_prog('redis-server');

my $dir = tmpdir();
my $src = "$ENV{FM_SRCDIR}/t/data/real/mail.log";
my $log = "$dir/mail.log";
write_file($log, read_file($src));
system('gzip', '-k', $log) == 0 or die 'gzip';

sub dump_all {
    my ($r) = @_;
    my %d;
    for my $k (split /\n/, $r->cli('--scan', '--pattern', '*')) {
        my $t = $r->cli('TYPE', $k);
        chomp $t;
        my $v = $t eq 'hash' ? join(',', sort split /\n/, $r->cli('HGETALL', $k))
            : $t eq 'list' ? $r->cli('LRANGE', $k, 0, -1)
            : $t eq 'set' ? join(',', sort split /\n/, $r->cli('SMEMBERS', $k))
            : $t eq 'string' ? $r->cli('GET', $k) : $t;
        $d{$k} = $v;
    }
    return \%d;
}

sub replay {
    my ($r, $what, @args) = @_;
    my $conf = write_config("$dir/$what.conf", state_dir => "$dir/state-$what",
        redis => $r->sock);
    my ($st, $out, $err) = run_cmd([fumidai(), 'replay', '--no-progress', '-c', $conf, @args],
        stdin => read_file($log));
    is($st, 0, "replay $what") or diag $err;
    like($err, qr/fumidai: replay: files=1 lines=131 events=\d+ .*login_ok=\d+/,
        "$what: summary with lines, events and kinds");
    return $err;
}

my $r1 = FM::start_redis("$dir");
replay($r1, 'plain', $log);
my $first = dump_all($r1);
cmp_ok(scalar(keys %$first), '>', 20, 'records written');
replay($r1, 'again', $log);
is_deeply(dump_all($r1), $first, 'replaying the same archive again changes nothing');
replay($r1, 'gz', "$log.gz");
is_deeply(dump_all($r1), $first, 'and its .gz is the same archive');
replay($r1, 'stdin', '-');
is_deeply(dump_all($r1), $first, 'and so is standard input');

my $d2 = tmpdir();
my $r2 = FM::start_redis($d2);
replay($r2, 'gz-fresh', "$log.gz");
is_deeply(dump_all($r2), $first, '.gz into a fresh Redis gives the same records as plain');

# A file that cannot be read: reported, exit 1, the other files still go in.
my $d3 = tmpdir();
my $r3 = FM::start_redis($d3);
my $conf = write_config("$dir/missing.conf", state_dir => "$dir/state-m", redis => $r3->sock);
my ($st, $out, $err) = run_cmd([fumidai(), 'replay', '--no-progress', '-c', $conf,
    "$dir/nonexistent.log", $log]);
is($st, 1, 'an unreadable file makes replay exit 1');
like($err, qr/nonexistent\.log/, 'and it is named');
is_deeply(dump_all($r3), $first, 'the readable file was still replayed');
done_testing();
