#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# embedded.t - with no Redis configured, `fumidai run` starts its own
# redis-server on a unix socket in state_dir (persistence on), records into
# it, and stops it on exit; `fumidai account` and `stats` start it again for
# themselves and find what was recorded.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use JSON::PP;
use lib "$ENV{FM_SRCDIR}/t/lib";
use FM qw(fumidai run_cmd tmpdir write_file read_file write_config have_prog);

plan skip_all => 'redis-server is not installed' unless have_prog('redis-server');

my $dir = tmpdir();
my $log = "$dir/mail.log";
write_file($log, read_file("$ENV{FM_SRCDIR}/t/data/real/mail.log"));
my $conf = write_config("$dir/fumidai.conf", state_dir => "$dir/state", inputs => [$log],
    extra => "flush_interval = 50;\n");

my $pid = fork() // die;
if ($pid == 0) {
    open(STDOUT, '>', "$dir/out");
    open(STDERR, '>', "$dir/err");
    exec(fumidai(), 'run', '-f', '--print', '-c', $conf) or POSIX::_exit(127);
}
my $deadline = time + 30;
sleep 0.1 until (read_file("$dir/state/checkpoint") // '') =~ /^input \S+ \d+ \d+ \d+ 131 /m
    || time > $deadline;
like(read_file("$dir/state/checkpoint") // '', qr/^input \S+ \d+ \d+ \d+ 131 /m,
    'all 131 lines recorded');
ok(-S "$dir/state/redis.sock", 'the embedded redis listens on state_dir/redis.sock');
my ($rpid) = (read_file("$dir/err") =~ /embedded redis: started pid=(\d+)/);
ok($rpid && kill(0, $rpid), 'embedded redis-server runs as a child');
my @printed = grep { length } split /\n/, read_file("$dir/out");
is(scalar(@printed), 112, '--print printed every recorded event');
ok(eval { decode_json($printed[0]) }, 'as JSON');
kill('TERM', $pid);
waitpid($pid, 0);
is($? >> 8, 0, 'SIGTERM: exit 0');
ok(!kill(0, $rpid), 'the embedded redis-server stopped with it');
ok(-s "$dir/state/appendonly.aof" || -d "$dir/state/appendonlydir" || -s "$dir/state/dump.rdb",
    'its data is persisted in state_dir');

# The commands start it themselves, and the data survived.
my ($st, $out, $err) = run_cmd([fumidai(), 'account', '--json', '-c', $conf, 'alice@fumidai.test']);
is($st, 0, 'account finds alice while the daemon is stopped') or diag $err;
my $j = eval { decode_json($out) } // {};
is($j->{counters}{retention}{login_ok}, 4, 'her 4 logins');
is($j->{counters}{retention}{messages}, 3, 'her 3 messages');
($st, $out, $err) = run_cmd([fumidai(), 'stats', '--json', '-c', $conf]);
is($st, 0, 'stats works too') or diag $err;
$j = eval { decode_json($out) } // {};
is($j->{total}{login_ok}, 12, 'global login count');
is($j->{inputs}{checkpoint}{inputs}[0]{lines}, 131, 'stats shows the input position');
my $answer = `redis-cli -s $dir/state/redis.sock PING 2>/dev/null` // '';
isnt($answer, "PONG\n", 'no redis-server left running by the commands');
done_testing();
