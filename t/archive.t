#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# archive.t - archived history days (doc/redis.md, "Archived days"): an
# account's :c:, :lr: and :m: hashes of a day archive_after_days old folded
# into one compressed :h:<day> by `fumidai compact` (replay's last pass, the
# daemon's child).  The oracle is the same log replayed with archiving off:
# every account's `history`, `account` and incident bundle must come out
# byte for byte the same, and every other key the same.  Then: a second pass
# has nothing to do; a late write (a delivery, a login, an account whose
# name holds braces) on an archived day lands in the live hash complete and
# is folded in again by the next pass; replaying the log again changes
# nothing; the archive script's token refuses to fold a day written in
# between; a damaged archive is left alone and does not stop writes; and
# `fumidai run` archives as it goes.  FM_VALGRIND=1 runs every `fumidai
# compact` under valgrind (errors or leaks fail its exit status test).
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha1_hex);
use IO::Socket::UNIX;
use POSIX qw(:sys_wait_h);
use Socket qw(SOCK_STREAM);
use Time::HiRes qw(sleep time);
use lib "$ENV{FM_SRCDIR}/t/lib";
use FM qw(fumidai run_cmd tmpdir write_file read_file write_config have_prog
    wait_caught_up);

plan skip_all => 'redis-server is not installed' unless have_prog('redis-server');

my $dir = tmpdir();
my $src = $ENV{FM_SRCDIR} // '.';
my $RETENTION = 180 * 86400;	# the default retention_days, in seconds

# ---- a minimal binary-safe RESP client (redis-cli cannot pass bytes) ----
package RC {
    sub new {
        my ($class, $sock) = @_;
        my $s = IO::Socket::UNIX->new(Peer => $sock, Type => Socket::SOCK_STREAM())
            or die "connect $sock: $!";
        binmode $s;
        return bless { s => $s }, $class;
    }
    sub cmd {
        my ($self, @a) = @_;
        my $out = '*' . scalar(@a) . "\r\n";
        $out .= '$' . length($_) . "\r\n$_\r\n" for @a;
        print { $self->{s} } $out;
        return $self->reply;
    }
    sub line {
        my ($self) = @_;
        my $l = readline($self->{s}) // die "redis: connection closed";
        $l =~ s/\r\n\z//;
        return $l;
    }
    sub reply {
        my ($self) = @_;
        my $l = $self->line;
        my ($t, $r) = (substr($l, 0, 1), substr($l, 1));
        return $r if $t eq '+';
        return bless(\$r, 'RC::Err') if $t eq '-';
        return 0 + $r if $t eq ':';
        if ($t eq '$') {
            return undef if $r < 0;
            my $buf = '';
            while (length($buf) < $r + 2) {
                my $n = read($self->{s}, $buf, $r + 2 - length($buf), length($buf));
                die "redis: short read" unless $n;
            }
            return substr($buf, 0, $r);
        }
        if ($t eq '*') {
            return undef if $r < 0;
            return [map { $self->reply } 1 .. $r];
        }
        die "redis: bad reply '$l'";
    }
    sub is_err { ref($_[1]) eq 'RC::Err' }
    # scan - every key matching pattern, sorted
    sub scan {
        my ($self, $pat) = @_;
        my ($cur, %k) = ('0');
        do {
            my $r = $self->cmd('SCAN', $cur, 'MATCH', $pat, 'COUNT', 1000);
            $cur = $r->[0];
            $k{$_} = 1 for @{$r->[1]};
        } while ($cur ne '0');
        return sort keys %k;
    }
}

# dump_keys(rc, \&keep) - key => value of every key keep->(key) accepts, in a
# form that compares: hashes and sets sorted, streams without their ids
sub dump_keys {
    my ($rc, $keep) = @_;
    my %d;
    for my $k ($rc->scan('*')) {
        next if $keep && !$keep->($k);
        my $t = $rc->cmd('TYPE', $k);
        my $v;
        if ($t eq 'hash') {
            my %h = @{$rc->cmd('HGETALL', $k)};
            $v = join("\0", map { "$_=$h{$_}" } sort keys %h);
        } elsif ($t eq 'list') {
            $v = join("\0", @{$rc->cmd('LRANGE', $k, 0, -1)});
        } elsif ($t eq 'set') {
            $v = join("\0", sort @{$rc->cmd('SMEMBERS', $k)});
        } elsif ($t eq 'zset') {
            $v = join("\0", @{$rc->cmd('ZRANGE', $k, 0, -1, 'WITHSCORES')});
        } elsif ($t eq 'stream') {
            $v = join("\0", map { join("\1", @{$_->[1]}) } @{$rc->cmd('XRANGE', $k, '-', '+')});
        } else {
            $v = $rc->cmd('GET', $k);
        }
        $d{$k} = "$t:$v";
    }
    return \%d;
}

my $DAYKEY = qr/^fm:\{a:([0-9a-f]*)\}:(c|lr|m|h):(\d{8})$/;

# ---- the workload ----
my $gen = "$dir/gen.log";
my ($st, $out, $err) = run_cmd(['perl', "$src/bench/gen-history", '--accounts', 4,
    '--days', 12, '--end', '2026-11-24', '--seed', 3, '-o', $gen]);
is($st, 0, 'gen-history') or BAIL_OUT($err);
my @lines = split /\n/, read_file($gen);

# The late delivery: the first recipient deferred on a day that gets
# archived, its "sent" line taken out of the first log and replayed later.
my $through = '20261121';		# newest event 2026-11-24, minus 3 days
my ($late_sent, $late_qid, $late_to, $late_day);
for my $i (0 .. $#lines) {
    next unless $lines[$i] =~ /^(\d{4})-(\d\d)-(\d\d)T.* postfix\/smtp\[\d+\]: ([0-9A-F]+): to=<([^>]+)>,.* status=deferred/;
    next unless "$1$2$3" le $through;
    ($late_day, $late_qid, $late_to) = ("$1$2$3", $4, $5);
    for my $j ($i + 1 .. $#lines) {
        if ($lines[$j] =~ /: \Q$late_qid\E: to=<\Q$late_to\E>,.* status=sent/) {
            $late_sent = splice(@lines, $j, 1);
            last;
        }
    }
    last if $late_sent;
}
ok($late_sent, "a deferred recipient on an archived day ($late_qid on $late_day)")
    or BAIL_OUT('the workload has no deferred recipient');
# (replay keeps no queue across runs: the late lines are the message's own
# lines again, a replay of an older log holding it, now with the delivery)
my @late_msg = grep { /: \Q$late_qid\E: / } @lines;
my $sent_at = $late_sent =~ /^(\S+)/ && $1;
my ($late_sender) = map { /: \Q$late_qid\E: client=.*sasl_username=(\S+)/ ? $1 : () } @lines;
ok($late_sender, "its sender: $late_sender");
my $log1 = "$dir/log1";
write_file($log1, join("\n", @lines) . "\n");

# The late login: again the first IMAP login of that day, a second time
# from the same address at 23:59:59 (roll-up count + 1, last 23:59:59).
(my $dd = $late_day) =~ s/^(....)(..)(..)$/$1-$2-$3/;
my ($lr_user, $lr_ip) = map { /^\Q$dd\ET.* imap-login: Login: user=<([^>]+)>, method=PLAIN, rip=([^,]+),/ ? ($1, $2) : () } @lines;
ok($lr_user, "a login on $dd: $lr_user from $lr_ip");
my $evil = 'evil}:h:20261113{"';
my $log2 = "$dir/log2";
write_file($log2, join('', map { "$_\n" } (grep { ($_ =~ /^(\S+)/)[0] lt $sent_at } @late_msg),
        $late_sent, (grep { ($_ =~ /^(\S+)/)[0] gt $sent_at } @late_msg))
    . "${dd}T23:59:59.000000+00:00 mx1 dovecot: imap-login: Login: user=<$lr_user>, method=PLAIN, rip=$lr_ip, lip=203.0.113.25, mpid=99901, TLS, session=<lateLATElate0001>\n"
    . "${dd}T23:59:59.500000+00:00 mx1 dovecot: imap-login: Login: user=<$evil>, method=PLAIN, rip=192.0.2.77, lip=203.0.113.25, mpid=99902, TLS, session=<lateLATElate0002>\n");

# ---- two Redis: A archives nothing, B archives days 3 days old ----
my $ra = FM::start_redis(tmpdir());
my $rb = FM::start_redis(tmpdir());
my $ca = write_config("$dir/a.conf", state_dir => "$dir/state-a", redis => $ra->sock,
    extra => "archive_after_days = 0;\n");
my $cb = write_config("$dir/b.conf", state_dir => "$dir/state-b", redis => $rb->sock,
    extra => "archive_after_days = 3;\n");
my ($A, $B) = (RC->new($ra->sock), RC->new($rb->sock));

sub replay {
    my ($conf, $what, @files) = @_;
    my ($st, $out, $err) = run_cmd([fumidai(), 'replay', '--no-progress', '-c', $conf, @files]);
    is($st, 0, "replay: $what") or diag $err;
    return $err;
}

sub compact {
    my ($conf, @args) = @_;
    my @vg = $ENV{FM_VALGRIND} && have_prog('valgrind')
        ? ('valgrind', '-q', '--leak-check=full', '--errors-for-leak-kinds=definite,indirect',
            '--error-exitcode=99')
        : ();
    return run_cmd([@vg, fumidai(), 'compact', '-c', $conf, @args]);
}

replay($ca, 'first log into A (archive_after_days = 0)', $log1);
my $errb = replay($cb, 'first log into B (archive_after_days = 3)', $log1);

# ---- a. what B holds ----
my %adays;			# "hex day" => 1: account days in A
my %hex;			# account hex tags
for ($A->scan('fm:{a:*')) {
    $hex{$1} = 1 if /^fm:\{a:([0-9a-f]*)\}:/;
    $adays{"$1 $3"} = 1 if $_ =~ $DAYKEY && $2 ne 'h';
}
my @hex = sort keys %hex;
cmp_ok(scalar(@hex), '>', 4, scalar(@hex) . ' accounts recorded');
my (%want_h, %want_live);
for (keys %adays) {
    my ($h, $d) = split / /;
    ($d le $through ? $want_h{"fm:{a:$h}:h:$d"} : $want_live{$_}) = 1;
}
my @bh = $B->scan('fm:{a:*}:h:*');
is_deeply(\@bh, [sort keys %want_h],
    'B: every account day up to 3 days before the newest event has :h:<day>');
is_deeply([grep { /$DAYKEY/ && $2 ne 'h' && $3 le $through } $B->scan('fm:{a:*')], [],
    'B: and none of their :c:, :lr:, :m: hashes');
ok(!(grep { $_ =~ $DAYKEY && $3 gt $through } @bh), 'B: no newer day archived');
my $da = dump_keys($A, sub { !($_[0] =~ $DAYKEY && $3 le $through) });
my $db = dump_keys($B, sub { !($_[0] =~ $DAYKEY && $3 le $through) });
cmp_ok(scalar(grep { /:(c|lr|m):2026112[234]$/ } keys %$db), '>', 0, 'B: the newer days are hashes');
is_deeply($db, $da, 'B: every other key (newer days, address and global keys, lists, '
    . 'applied hashes) as in A') or diag(join ' ', grep { ($da->{$_} // '') ne ($db->{$_} // '') } sort(keys %$da, keys %$db));
my ($tmin, $tmax) = (1e12, -1e12);
for (@bh) {
    my $t = $B->cmd('TTL', $_);
    $tmin = $t if $t < $tmin;
    $tmax = $t if $t > $tmax;
}
ok($tmin > 0 && $tmax <= $RETENTION, ":h: TTLs within (0, retention]: $tmin .. $tmax");
my ($raw, $stored, $days) = (0, 0, 0);
while ($errb =~ /days=(\d+) (?:fields=\d+ )?raw_bytes=(\d+) stored_bytes=(\d+)/g) {
    ($days, $raw, $stored) = ($days + $1, $raw + $2, $stored + $3);
}
ok($days >= @bh, "the passes report the days they archived ($days)") or diag $errb;
ok($stored > 0 && $stored < $raw, "stored_bytes < raw_bytes ($stored < $raw)");
like($errb, qr/replay: archived through=$through |service=compact through=$through /,
    'a pass ran through the day 3 days before the newest event');

# readers: the same bytes from A and B, for every account
sub run_all {
    my ($conf, @args) = @_;
    my ($st, $out, $err) = run_cmd([fumidai(), @args[0 .. $#args - 1], '-c', $conf, $args[-1]]);
    return "$st\n$out" . ($st > 1 ? $err : '');
}
sub readers {
    my ($conf, @hx) = @_;
    my %r;
    for my $h (@hx) {
        $r{"history $h"} = run_all($conf, 'history', '--hex', '--since', '2026-11-01', '--json', $h);
        $r{"account $h"} = run_all($conf, 'account', '--hex', '--json', $h);
    }
    return \%r;
}
sub same_readers {
    my ($what, $x, $y) = @_;
    my @diff = grep { $x->{$_} ne $y->{$_} } sort keys %$x;
    ok(!@diff, $what) or diag("differ: @diff[0 .. ($#diff < 5 ? $#diff : 5)]");
}
my $ra_out = readers($ca, @hex);
my $rb_out = readers($cb, @hex);
same_readers('history --json and account --json: A and B give the same bytes for all '
    . scalar(@hex) . ' accounts', $ra_out, $rb_out);
is(scalar(grep { /^0\n\{"type"/ } @{$rb_out}{map { "history $_" } @hex}),
    scalar(grep { /^0\n\{"type"/ } @{$ra_out}{map { "history $_" } @hex}),
    'and the histories are not empty');
my $hx_sender = unpack('H*', $late_sender);
like($rb_out->{"history $hx_sender"}, qr/"qid":"$late_qid".*"to":"\Q$late_to\E","status":"deferred"/,
    "B: the late message's recipient is deferred so far ($late_sender)");

# incident bundles of the busiest accounts
my @busy = (sort { length($ra_out->{"history $b"}) <=> length($ra_out->{"history $a"}) || $a cmp $b } @hex)[0 .. 3];
for my $h (@busy) {
    my %f;
    for my $side (['a', $ca], ['b', $cb]) {
        my $o = "$dir/inc-$side->[0]-$h";
        my ($st, $out, $err) = run_cmd([fumidai(), 'incident', '-c', $side->[1], '--hex',
            '--since', '2026-11-01', '--until', '2026-11-25T00:00:00Z', '--out', $o, $h]);
        is($st, 0, "incident $side->[0] $h") or diag $err;
        opendir(my $dh, $o) or die "$o: $!";
        for my $n (sort grep { !/^\./ } readdir $dh) {
            my $d = read_file("$o/$n");
            $d =~ s/(Written |\xe4\xbd\x9c\xe6\x88\x90\xe6\x97\xa5\xe6\x99\x82 )[0-9T:.-]+Z/${1}TIME/g
                if $n =~ /\.html$/;				# the time of the run
            $d = join "\n", grep { !/report\.\w+\.html$/ } split /\n/, $d if $n =~ /^MANIFEST/;
            $f{$side->[0]}{$n} = $d;
        }
    }
    cmp_ok(scalar(grep { /\.json$/ } keys %{$f{a}}), '>=', 4, "incident $h: its JSON files");
    my @diff = grep { ($f{a}{$_} // '') ne ($f{b}{$_} // '') } sort(keys %{$f{a}}, keys %{$f{b}});
    ok(!@diff, "incident $h: A and B give the same bundle (JSON, CSV, reports but their time "
        . 'of writing)') or diag "differ: @diff";
}

# ---- b. again: nothing to do ----
($st, $out, $err) = compact($cb, '--through', $through);
is($st, 0, 'compact again: exit 0') or diag $err;
like($out, qr/^compact: through=$through days=0 fields=0 raw_bytes=0 stored_bytes=0 left=0 bad=0 /,
    'compact again: nothing to do');
($st, $out) = compact($ca, '--through', $through);
is($st, 0, 'compact with archive_after_days = 0 and --through: exit 0');
($st, $out) = compact($ca);
is($st, 0, 'compact with archive_after_days = 0: exit 0');
like($out, qr/archive_after_days is 0: nothing to do/, 'and says so');
($st, $out, $err) = compact($cb, '--through', '2026112');
is($st, 2, 'compact --through not YYYYMMDD: exit 2');

# ---- c. a late write on an archived day ----
sub hist {
    my ($conf, $hx) = @_;
    return run_all($conf, 'history', '--hex', '--since', '2026-11-01', '--json', $hx);
}
my $hx_lr = unpack('H*', $lr_user);
my $hx_evil = unpack('H*', $evil);
my @late = ($hx_sender, $hx_lr, $hx_evil);
my ($count) = hist($cb, $hx_lr) =~ /"rollup","day":"$dd","result":"ok","ip":"\Q$lr_ip\E","service":"imap","count":(\d+),/;
ok($count, "B: $lr_user from $lr_ip on $dd: a roll-up of $count");
replay($ca, 'the late lines into A', $log2);
replay($cb, 'the late lines into B', $log2);
my %after = map { $_ => hist($cb, $_) } @late;
like($after{$hx_sender}, qr/"qid":"$late_qid".*"to":"\Q$late_to\E","status":"sent"/,
    'B: the late delivery: the recipient is now sent');
like($after{$hx_lr}, qr/"rollup","day":"$dd","result":"ok","ip":"\Q$lr_ip\E","service":"imap","count":@{[$count + 1]},"first":"[^"]+","last":"${dd}T23:59:59Z"/,
    'B: the late login: the roll-up counts one more, last 23:59:59');
like($after{$hx_evil}, qr/"rollup","day":"$dd","result":"ok","ip":"192\.0\.2\.77","service":"imap","count":1,/,
    'B: an account named with braces and ":h:" has its login');
is_deeply(\%after, { map { $_ => hist($ca, $_) } @late },
    'B: the three histories as A gives them (live over archived, counters added)');
ok($B->cmd('EXISTS', "fm:{a:$hx_sender}:m:$late_day") && $B->cmd('EXISTS', "fm:{a:$hx_lr}:lr:$late_day")
    && $B->cmd('EXISTS', "fm:{a:$hx_lr}:c:$late_day") && $B->cmd('EXISTS', "fm:{a:$hx_evil}:lr:$late_day"),
    'B: the live hashes of that day exist again');
ok($B->cmd('EXISTS', "fm:{a:$hx_sender}:h:$late_day") && $B->cmd('EXISTS', "fm:{a:$hx_lr}:h:$late_day"),
    'B: beside the archives');
my @raw_keys = grep { /evil/ } $B->scan('*');
is_deeply(\@raw_keys, [], 'no key holds the raw account name');
my $hbefore = $B->cmd('GET', "fm:{a:$hx_lr}:h:$late_day");
($st, $out, $err) = compact($cb, '--through', $through);
is($st, 0, 'compact after the late write: exit 0') or diag "$out$err";
like($out, qr/ days=(\d+) /, 'compact reports days');
my ($nd) = $out =~ / days=(\d+) /;
ok($nd >= 3, "compact folded the account days written late ($nd)");
my ($r2, $s2) = $out =~ /raw_bytes=(\d+) stored_bytes=(\d+)/;
ok($s2 > 0 && $s2 < $r2, "and stored them in less ($s2 < $r2)");
is_deeply([grep { /$DAYKEY/ && $2 ne 'h' && $3 le $through } $B->scan('fm:{a:*')], [],
    'B: the live hashes are gone again');
ok($B->cmd('EXISTS', "fm:{a:$hx_evil}:h:$late_day"), 'B: the odd account\'s day archived under its hex tag');
isnt($B->cmd('GET', "fm:{a:$hx_lr}:h:$late_day"), $hbefore, 'B: the archive holds the late login');
is_deeply({ map { $_ => hist($cb, $_) } @late }, \%after, 'B: the histories as before that pass');
my $ttl = $B->cmd('TTL', "fm:{a:$hx_lr}:h:$late_day");
ok($ttl > 0 && $ttl <= $RETENTION, ":h: TTL after the second fold within (0, retention]: $ttl");
$rb_out = readers($cb, @hex, $hx_evil);
$ra_out = readers($ca, @hex, $hx_evil);
same_readers('history and account: A and B still give the same bytes for every account',
    $ra_out, $rb_out);

# ---- d. exactly once: the first log again changes nothing ----
my $before = dump_keys($B);
replay($cb, 'the first log into B again', $log1);
is_deeply(dump_keys($B), $before, 'B: replaying the first log again changes no key');

# ---- e. the archive script's token ----
my $lua = join '', map { read_file("$src/monitor/$_") } qw(lz.lua archive.lua archive_main.lua);
my $sha = sha1_hex($lua);
is($B->cmd('SCRIPT', 'EXISTS', $sha)->[0], 1, 'the archive script (lz.lua, archive.lua, '
    . 'archive_main.lua joined) is the one fumidai loads');
my @k = map { "fm:{a:$hx_lr}:$_:$late_day" } qw(c lr m h);
my $blob = $B->cmd('GET', $k[3]);
my $pttl = $B->cmd('PTTL', $k[3]);
my $rd = $B->cmd('EVALSHA', $sha, 4, @k, 'read');
ok(ref $rd eq 'ARRAY' && @$rd == 6 && $rd->[4] == 0 && $rd->[5] == 0,
    'read of an archived day: the token, three hashes, no live field, not bad');
my %lrm = @{$rd->[2]};
like($lrm{"ok|$lr_ip|imap"} // '', qr/^@{[$count + 1]}\x1f/, 'read: the archived roll-up');
is($B->cmd('HSET', $k[1], 'ok|192.0.2.99|imap', "1\x1f0\x1f0"), 1, 'a write meanwhile');
is($B->cmd('EVALSHA', $sha, 4, @k, 'write', $rd->[0], $blob), 0,
    'write with the token read before: refused');
is($B->cmd('HGET', $k[1], 'ok|192.0.2.99|imap'), "1\x1f0\x1f0", 'the live field stays');
is($B->cmd('GET', $k[3]), $blob, 'and so does the archive');
my $rd2 = $B->cmd('EVALSHA', $sha, 4, @k, 'read');
isnt($rd2->[0], $rd->[0], 'read now: another token');
is($rd2->[4], 1, 'read now: one live field');
$B->cmd('HDEL', $k[1], 'ok|192.0.2.99|imap');
my $rd3 = $B->cmd('EVALSHA', $sha, 4, @k, 'read');
is($rd3->[0], $rd->[0], 'the day as it was: the first token again');
is($B->cmd('EVALSHA', $sha, 4, @k, 'write', $rd->[0], $blob), 1, 'write with it: done');
is($B->cmd('GET', $k[3]), $blob, 'the same archive');
my $pttl2 = $B->cmd('PTTL', $k[3]);
ok($pttl2 > 0 && $pttl2 <= $pttl, 'its TTL kept');
ok($B->is_err($B->cmd('EVALSHA', $sha, 4, @k, 'get', 'x')), 'get of an unknown kind: an error');
ok($B->is_err($B->cmd('EVALSHA', $sha, 4, @k, 'fold')), 'an unknown mode: an error');

# ---- f. a damaged archive ----
my $dmg_day = $through;
my $hdmg = "fm:{a:$hx_lr}:h:$dmg_day";
ok($B->cmd('EXISTS', $hdmg), "$lr_user has an archived $dmg_day");
$B->cmd('SET', $hdmg, 'junk', 'KEEPTTL');
($st, $out, $err) = compact($cb, '--through', $through);
# documented: a pass reads only days with live hashes, so an archive alone
# is not looked at (doc/redis.md, "Archived days")
is($st, 0, 'compact with a damaged archive and nothing beside it: exit 0');
like($out, qr/ days=0 .* bad=0 /, 'and nothing to do');
is($B->cmd('GET', $hdmg), 'junk', 'the damaged archive is left as it is');
(my $dmg_dd = $dmg_day) =~ s/^(....)(..)(..)$/$1-$2-$3/;
my $log3 = "$dir/log3";
write_file($log3, "${dmg_dd}T12:00:00.000000+00:00 mx1 dovecot: imap-login: Login: user=<$lr_user>, method=PLAIN, rip=192.0.2.88, lip=203.0.113.25, mpid=99903, TLS, session=<lateLATElate0003>\n");
replay($cb, 'a login on the damaged day', $log3);
is($B->cmd('HGET', "fm:{a:$hx_lr}:lr:$dmg_day", 'ok|192.0.2.88|imap') =~ /^1\x1f/ ? 1 : 0, 1,
    'the login applied (no script error)');
($st, $out, $err) = compact($cb, '--through', $through);
is($st, 1, 'compact with a damaged archive beside live hashes: exit 1') or diag "$out$err";
like($out, qr/ days=0 .* bad=1 /, 'and reports one bad day, none archived');
is($B->cmd('GET', $hdmg), 'junk', 'the damaged archive is still left as it is');
ok($B->cmd('EXISTS', "fm:{a:$hx_lr}:lr:$dmg_day"), 'and the live hash too');
($st, $out, $err) = run_cmd([fumidai(), 'history', '-c', $cb, '--hex', '--since', $dmg_dd,
    '--until', "${dmg_dd}T23:59:59Z", '--json', '--logins', $hx_lr]);
is($st, 0, 'history over the damaged day: exit 0') or diag $err;
is_deeply([grep { /"rollup"/ } split /\n/, $out],
    [qq({"type":"rollup","day":"$dmg_dd","result":"ok","ip":"192.0.2.88","service":"imap","count":1,)
    . qq("first":"${dmg_dd}T12:00:00Z","last":"${dmg_dd}T12:00:00Z","mech":"PLAIN","host":"mx1"})],
    'history shows the live part') or diag $out;
($st, $out, $err) = run_cmd([fumidai(), 'account', '-c', $cb, '--hex', '--json', $hx_lr]);
is($st, 0, 'account still works') or diag $err;

# ---- h. fumidai run archives as it goes ----
{
    my $rdir = tmpdir();
    my $rr = FM::start_redis($rdir);
    my $rx = FM::start_redis(tmpdir());
    my $R = RC->new($rr->sock);
    my $rlog = "$rdir/mail.log";
    ($st, $out, $err) = run_cmd(['perl', "$src/bench/gen-history", '--accounts', 2,
        '--days', 4, '--end', '2026-11-24', '--seed', 5, '-o', $rlog]);
    is($st, 0, 'gen-history: 4 days') or diag $err;
    my $nlines = () = read_file($rlog) =~ /\n/g;
    my $rconf = write_config("$rdir/run.conf", state_dir => "$rdir/state", redis => $rr->sock,
        inputs => [$rlog], extra => "archive_after_days = 1;\nflush_interval = 50;\n");
    my $xconf = write_config("$rdir/x.conf", state_dir => "$rdir/state-x", redis => $rx->sock,
        extra => "archive_after_days = 0;\n");
    my $pid = FM::spawn_fumidai(['run', '-f', '-c', $rconf], "$rdir/out", "$rdir/err");
    my $ok = eval {
        wait_caught_up('the 4-day log', "$rdir/state", sub { $nlines }, \$pid, "$rdir/err");
        1;
    };
    # the pass runs in a child: wait (bounded) until one through the 23rd
    # (the newest event's day minus 1) has logged its result
    my $deadline = time + 60;
    my $done = 0;
    while ($ok && time < $deadline) {
        last if $done = (read_file("$rdir/err") // '') =~ /service=compact through=20261123 days=\d+/;
        last if waitpid($pid, WNOHANG) != 0;
        sleep 0.1;
    }
    ok($done, 'run: a pass through the 23rd ran') or diag read_file("$rdir/err");
    my @k = $R->scan('fm:{a:*');
    my $live = grep { $_ =~ $DAYKEY && $2 ne 'h' && $3 le '20261123' } @k;
    my $arch = grep { $_ =~ $DAYKEY && $2 eq 'h' } @k;
    my $stopped = $pid ? FM::stop_pid($pid) : -1;
    is($stopped, 0, 'fumidai run stopped cleanly') or diag read_file("$rdir/err");
    cmp_ok($arch, '>', 0, "run: $arch account days archived");
    {
        local $TODO = 'a write reaching a day after its pass (a delivery past midnight '
            . 'applied while the pass runs) stays live until the next day\'s pass';
        is($live, 0, 'run: no live day hash up to the 23rd left once caught up');
    }
    unlike(read_file("$rdir/err") // '', qr/archive pass failed/, 'run: no pass failed');
    ok((grep { $_ =~ $DAYKEY && $3 eq '20261124' && $2 ne 'h' } @k) > 0,
        'run: the newest day stays hashes');
    ok(!(grep { $_ =~ $DAYKEY && $3 eq '20261124' && $2 eq 'h' } @k), 'run: and is not archived');
    replay($xconf, 'the 4-day log without archiving', $rlog);
    my $X = RC->new($rx->sock);
    my @rh = sort keys %{{ map { /^fm:\{a:([0-9a-f]*)\}:/ ? ($1 => 1) : () } $X->scan('fm:{a:*') }};
    same_readers('run with archiving and replay without: the same history and account for all '
        . scalar(@rh) . ' accounts', readers($xconf, @rh), readers($rconf, @rh));
}

done_testing();
