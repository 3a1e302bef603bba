#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# reload.t - signals to `fumidai run`: SIGHUP with a broken configuration
# is refused and the running one goes on; SIGHUP with a good one applies it
# (a new input is followed, the old one resumes where it was); SIGUSR1 logs
# the counters; SIGTERM exits 0.  An input that cannot be read does not stop
# the others.
use strict;
use warnings;
use Test::More;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);
use lib "$ENV{FM_SRCDIR}/t/lib";
use FM qw(fumidai tmpdir write_file read_file write_config have_prog);

plan skip_all => 'redis-server is not installed' unless have_prog('redis-server');

my $dir = tmpdir();
my $redis = FM::start_redis($dir);
my ($log1, $log2, $conf) = ("$dir/a.log", "$dir/b.log", "$dir/fumidai.conf");
my @common = (state_dir => "$dir/state", redis => $redis->sock, instance => 'mx1',
    extra => "flush_interval = 50;\npoll_interval = 100;\n");
write_config($conf, @common, inputs => [$log1, "$dir/missing/never.log"]);

my $n = 0;
sub add_lines {
    my ($path, $count) = @_;
    open(my $fh, '>>', $path) or die "$path: $!";
    for (1 .. $count) {
        $n++;
        printf $fh "2026-11-24T10:%02d:%02d+09:00 mx1 dovecot: imap-login: Login: "
            . "user=<r%d\@example.jp>, method=PLAIN, rip=127.0.3.%d, lip=127.0.0.1, "
            . "mpid=%d, session=<R%07d>\n", int($n / 60) % 60, $n % 60, $n % 5, 1 + $n % 9, $n, $n;
    }
    close $fh;
}

# lines_of(path) - what the checkpoint says was read from that input
sub lines_of {
    my ($path) = @_;
    my $c = read_file("$dir/state/checkpoint") // return -1;
    my $hex = unpack('H*', $path);
    for (split /\n/, $c) {
        my @f = split / /;
        return $f[7] if $f[0] eq 'input' && $f[1] eq $hex;
    }
    return -1;
}
sub wait_lines {
    my ($path, $want, $what) = @_;
    my $deadline = time + 30;
    my $got = -1;
    while (time < $deadline) {
        last if ($got = lines_of($path)) == $want;
        sleep 0.1;
    }
    is($got, $want, "$what: $want lines read from " . ($path =~ s/.*\///r));
}

my $pid = fork() // die;
if ($pid == 0) {
    open(STDERR, '>', "$dir/err");
    exec(fumidai(), 'run', '-f', '-c', $conf) or POSIX::_exit(127);
}
END { if ($pid) { kill('KILL', $pid); waitpid($pid, 0) } }

add_lines($log1, 10);
wait_lines($log1, 10, 'first configuration');

# A broken configuration is refused; the running one goes on.
my $good = read_file($conf);
write_file($conf, $good . "max_line = 1;\n");
kill('HUP', $pid);
add_lines($log1, 5);
wait_lines($log1, 15, 'after a refused reload');
like(read_file("$dir/err"), qr/reload refused.*max_line: 1 is out of range/,
    'the refusal names the setting');
ok(kill(0, $pid), 'still running');

# A good configuration with a second input is applied.
write_config($conf, @common, inputs => [$log1, $log2]);
kill('HUP', $pid);
my $deadline = time + 30;
sleep 0.1 until (read_file("$dir/err") // '') =~ /configuration reloaded/ || time > $deadline;
add_lines($log2, 7);
add_lines($log1, 3);
wait_lines($log2, 7, 'after a good reload, the new input');
wait_lines($log1, 18, 'after a good reload, the old input resumed');
like(read_file("$dir/err"), qr/configuration reloaded/, 'reload logged');

kill('USR1', $pid);
$deadline = time + 10;
sleep 0.1 until (read_file("$dir/err") // '') =~ /input=\S+b\.log lines=7 events=7/ || time > $deadline;
like(read_file("$dir/err"), qr/input=\S+b\.log lines=7 events=7/, 'SIGUSR1 logs the counters');
like(read_file("$dir/err"), qr/never\.log/, 'the unreadable input was reported');

kill('TERM', $pid);
waitpid($pid, 0);
is($? >> 8, 0, 'SIGTERM: exit 0');
undef $pid;

# Every login is in Redis exactly once.
my $ok = 0;
for my $k (split /\n/, $redis->cli('--scan', '--pattern', 'fm:{g}:c:*')) {
    my %h = split /\n/, $redis->cli('HGETALL', $k);
    $ok += $h{login_ok} // 0;
}
is($ok, 25, 'every login recorded once');
$redis->stop;
done_testing();
