#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# daemon.t - `fumidai run` stays exact through everything a log and a Redis
# do to it: lines written in pieces, rotation by rename+create (also while
# fumidai is down), copytruncate, kill -9 of fumidai mid-stream, kill -9 of
# Redis mid-stream, clean restarts.  The oracle: what the disturbed run left
# in Redis must equal what a clean `fumidai replay` of the same lines, in the
# same order, leaves in a fresh Redis (every counter, set, HyperLogLog and
# list), apart from the bookkeeping of which batches were applied.  Nothing
# lost, nothing counted twice.
use strict;
use warnings;
use Test::More;
use File::Copy qw(copy);
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);
use lib "$ENV{FM_SRCDIR}/t/lib";
use FM qw(fumidai run_cmd tmpdir write_file read_file write_config have_prog);

plan skip_all => 'redis-server is not installed' unless have_prog('redis-server');

my $dir = tmpdir();
my $log = "$dir/mail.log";
my $conf = "$dir/fumidai.conf";
my $redis = FM::start_redis($dir, persist => 1);
write_config($conf, state_dir => "$dir/state", redis => $redis->sock,
    instance => 'mx1', inputs => [$log],
    extra => "batch_lines = 37;\nflush_interval = 50;\npoll_interval = 100;\n");

# A deterministic stream of real-shaped lines: IMAP/POP3 logins and
# failures, SMTP submissions with their message lines, some junk.
my @all;			# every line written, in order
my $n = 0;
my $odd = "\xe3\x83\xa6\xe3\x83\xbc\xe3\x82\xb6{a}:b\@example.jp";	# UTF-8, braces
sub ts {
    my ($i) = @_;
    my $s = 36000 + $i;
    return sprintf('2026-11-24T%02d:%02d:%02d.%06d+09:00', int($s / 3600) % 24,
        int($s / 60) % 60, $s % 60, $i % 1000000);
}
sub next_lines {
    my $i = $n++;
    my $t = ts($i);
    my $u = $i % 7 == 3 ? $odd : sprintf('u%d@example.jp', $i % 23);
    my $ip = sprintf('127.0.%d.%d', 1 + $i % 3, 1 + $i % 50);
    my $sess = sprintf('S%08dx', $i);
    my $k = $i % 6;
    return ("$t mx1 dovecot: imap-login: Login: user=<$u>, method=PLAIN, rip=$ip, lip=127.0.0.1, mpid=$i, TLS, session=<$sess>")
        if $k == 0;
    return ("$t mx1 dovecot: pop3-login: Disconnected (auth failed, 2 attempts in 4 secs): user=<$u>, method=PLAIN, rip=$ip, lip=127.0.0.1, session=<$sess>")
        if $k == 1;
    return ("$t mx1 postfix/anvil[99]: statistics: max connection rate 1/60s for (smtp:$ip) at x",
        "this line has no header at all")
        if $k == 2;
    if ($k == 3) {
        my $q = sprintf('%010X', 0x4A000000 + $i);
        my $pid = 1000 + $i;
        return ("$t mx1 postfix/submission/smtpd[$pid]: connect from unknown[$ip]",
            "$t mx1 postfix/submission/smtpd[$pid]: $q: client=unknown[$ip], sasl_method=PLAIN, sasl_username=$u",
            "$t mx1 postfix/cleanup[77]: $q: message-id=<m$i\@example.jp>",
            "$t mx1 postfix/qmgr[78]: $q: from=<$u>, size=" . (1000 + $i) . ", nrcpt=2 (queue active)",
            "$t mx1 postfix/submission/smtpd[$pid]: disconnect from unknown[$ip] ehlo=1 auth=1 mail=1 rcpt=2 data=1 quit=1 commands=7",
            "$t mx1 postfix/smtp[79]: $q: to=<a$i\@example.net>, relay=mx.example.net[192.0.2.25]:25, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 ok)",
            "$t mx1 postfix/smtp[79]: $q: to=<b$i\@example.net>, relay=mx.example.net[192.0.2.25]:25, delay=0.1, delays=0/0/0/0.1, dsn=4.0.0, status=deferred (451 later)",
            "$t mx1 postfix/qmgr[78]: $q: removed");
    }
    return ("$t mx1 postfix/submission/smtpd[5]: warning: unknown[$ip]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=$u")
        if $k == 4;
    return ("$t mx1 postfix/smtpd[6]: NOQUEUE: reject: RCPT from unknown[$ip]: 554 5.7.1 <x\@example.net>: Relay access denied; from=<s\@example.org> to=<x\@example.net> proto=ESMTP helo=<h>");
}

# write_lines(count, [pieces]) - append, sometimes a line in two writes
sub write_lines {
    my ($count) = @_;
    open(my $fh, '>>', $log) or die "$log: $!";
    binmode $fh;
    $fh->autoflush(1);
    for (1 .. $count) {
        for my $l (next_lines()) {
            push @all, $l;
            if (length($l) > 20 && @all % 5 == 0) {	# a partial line, then the rest
                print $fh substr($l, 0, 20);
                sleep 0.01;
                print $fh substr($l, 20) . "\n";
            } else {
                print $fh "$l\n";
            }
        }
    }
    close $fh;
}

my $fpid;
sub start_fumidai {
    $fpid = fork() // die;
    if ($fpid == 0) {
        open(STDOUT, '>>', "$dir/fumidai.out");
        open(STDERR, '>>', "$dir/fumidai.err");
        exec(fumidai(), 'run', '-f', '-c', $conf) or POSIX::_exit(127);
    }
}
sub stop_fumidai {
    my ($sig) = @_;
    kill($sig, $fpid);
    waitpid($fpid, 0);
    my $st = $?;
    undef $fpid;
    return $st;
}
END { kill('KILL', $fpid), waitpid($fpid, 0) if $fpid }

# checkpoint_lines - lines the last checkpoint accounts for (all inputs)
sub checkpoint_lines {
    my $c = read_file("$dir/state/checkpoint") // return -1;
    my $sum = 0;
    for (split /\n/, $c) {
        my @f = split / /;
        $sum += $f[7] if $f[0] eq 'input';
    }
    return $sum;
}
# caught_up - wait until the checkpoint covers every line written
sub caught_up {
    my ($what) = @_;
    my $want = scalar @all;
    my $deadline = time + 60;
    my $got;
    while (time < $deadline) {
        $got = checkpoint_lines();
        return pass("$what: caught up ($want lines)") if $got == $want;
        sleep 0.1;
    }
    fail("$what: caught up: checkpoint has $got of $want lines");
    diag(read_file("$dir/fumidai.err") // '');
    BAIL_OUT('fumidai did not catch up');
}

start_fumidai();
write_lines(60);
caught_up('first lines');

# Rotation by rename + create while running.
rename($log, "$log.1") or die;
write_lines(40);
caught_up('after rename+create');

# kill -9 in the middle of a stream; write while it is down; restart.
write_lines(30);
stop_fumidai('KILL');
write_lines(30);
start_fumidai();
caught_up('after kill -9 of fumidai');

# Rotation while fumidai is down: the rotated file is drained first.
stop_fumidai('TERM');
write_lines(25);
rename($log, "$log.2") or die;
write_lines(25);
start_fumidai();
caught_up('after rotation while stopped');

# Redis killed mid-stream, lines keep coming, Redis comes back.
write_lines(20);
$redis->kill9;
write_lines(40);
sleep 0.5;
$redis->start;
write_lines(20);
caught_up('after kill -9 of redis');

# copytruncate.
copy($log, "$log.3") or die;
truncate($log, 0) or die;
write_lines(30);
caught_up('after copytruncate');

# Over-long and binary lines are counted and skipped, neighbours intact.
{
    open(my $fh, '>>', $log) or die;
    binmode $fh;
    my $long = ts($n) . ' mx1 postfix/smtpd[1]: ' . ('x' x 20000);
    print $fh "$long\n", "bad \x00 nul line\n", "bad \xff\xfe utf8\n";
    push @all, $long, "bad \x00 nul line", "bad \xff\xfe utf8";
    close $fh;
}
write_lines(10);
caught_up('after junk lines');
is(stop_fumidai('TERM') >> 8, 0, 'SIGTERM: clean exit');

# The oracle: a clean replay of the same lines into a fresh Redis.
my $dir2 = tmpdir();
my $redis2 = FM::start_redis($dir2);
my $conf2 = write_config("$dir2/fumidai.conf", state_dir => "$dir2/state",
    redis => $redis2->sock, extra => "batch_lines = 1000;\n");
write_file("$dir2/all.log", join('', map { "$_\n" } @all));
my ($st, $out, $err) = run_cmd([fumidai(), 'replay', '--no-progress', '-c', $conf2,
    "$dir2/all.log"]);
is($st, 0, 'replay of the same lines') or diag $err;
like($err, qr/too_long|skipped=\d+/, 'replay summary printed');

sub dump_redis {
    my ($r) = @_;
    my %d;
    for my $k (split /\n/, $r->cli('--scan', '--pattern', '*')) {
        next if $k =~ /:applied$/;
        next if $k =~ /:det$/;	# detector state: opaque, its bytes depend on batching
        my $type = $r->cli('TYPE', $k);
        chomp $type;
        my $v;
        if ($type eq 'stream') {	# the alerts, in whatever order they came
            $v = join("\n", sort grep { /^\{/ } split /\n/,
                $r->cli('XRANGE', $k, '-', '+'));
        } elsif ($type eq 'hash') {
            my @kv = split /\n/, $r->cli('HGETALL', $k);
            my %h = @kv;
            delete $h{writes};	# script runs: depends on how lines were batched
            delete $h{version};	# alert record updates: the same
            $v = join("\n", map { "$_=$h{$_}" } sort keys %h);
        } elsif ($type eq 'list') {
            $v = join("\n", sort split /\n/, $r->cli('LRANGE', $k, 0, -1));
        } elsif ($type eq 'set') {
            $v = join("\n", sort split /\n/, $r->cli('SMEMBERS', $k));
        } elsif ($type eq 'zset') {
            $v = $r->cli('ZRANGE', $k, 0, -1, 'WITHSCORES');
        } else {
            $v = $r->cli('GET', $k);
            $v = 'HLL ' . $r->cli('PFCOUNT', $k) if $v =~ /^HYLL/;
        }
        $d{$k} = "$type: $v";
    }
    return \%d;
}
my $a = dump_redis($redis);
my $b = dump_redis($redis2);
cmp_ok(scalar(keys %$b), '>', 50, 'the replay wrote a fair number of keys');
my @diff = grep { ($a->{$_} // '(none)') ne ($b->{$_} // '(none)') }
    sort(keys %{{ %$a, %$b }});
is(scalar(@diff), 0, 'disturbed run and clean replay left identical data')
    or diag(join("\n", map { "$_:\n  run:    " . ($a->{$_} // '(none)') .
        "\n  replay: " . ($b->{$_} // '(none)') } @diff[0 .. ($#diff < 5 ? $#diff : 5)]));

# The daemon's own accounting of skipped lines.
my $ck = read_file("$dir/state/checkpoint");
my ($line) = grep { /^input / } split /\n/, $ck;
my @f = split / /, $line;
# input path dev ino off line fp lines bytes events parsed ignored unknown noparser malformed too_long bad_bytes
is($f[15], 1, 'the over-long line was counted');
is($f[16], 2, 'the NUL and invalid UTF-8 lines were counted');
cmp_ok($f[14], '>=', 1, 'lines without a header were counted');

$redis->stop;
$redis2->stop;
done_testing();
