#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# alerts.t - the readers of the detectors' keys (doc/detection.md), on a
# Redis filled by hand in the documented layout: `fumidai alerts` (latest
# record from {g}:alert:<id>, the stream's copy once that hash expired, a
# stream longer than one XRANGE chunk, --since on the top-level "last" only,
# --kind, -n, --json as stored, the table escaped) and `fumidai account`
# (login geography from :geo, records of :alerts_open, open or closed on
# event time).  An account name with CR, LF, ESC and BEL must not reach the
# terminal raw.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use POSIX ();
use lib "$ENV{FM_SRCDIR}/t/lib";
use FM qw(fumidai run_cmd tmpdir write_config have_prog);

plan skip_all => 'redis-server is not installed' unless have_prog('redis-server');
plan skip_all => 'redis-cli is not installed' unless have_prog('redis-cli');

my $dir = tmpdir();
my $r = FM::start_redis($dir);
my $conf = write_config("$dir/fumidai.conf", state_dir => "$dir/state",
    redis => $r->sock);
my $json = JSON::PP->new->canonical;
my $evil = "evil\r\n\e[31mroot\a";
my $G = 'fm:{g}';

# rec(pairs...) - an alert record, keys in the order given (as fumidai
# writes them: flat keys first, evidence last)
sub rec {
    my @kv = @_;
    my @out;
    while (my ($k, $v) = splice(@kv, 0, 2)) {
        push @out, $json->encode($k) . ':' .
            (ref $v ? $json->encode($v) : $v =~ /^-?\d+$/ ? $v : $json->encode($v));
    }
    return '{' . join(',', @out) . '}';
}

sub alert {
    my (%o) = @_;
    return rec(id => $o{id}, kind => $o{kind}, severity => $o{severity} // 'high',
        account => $o{account} // '', ip => $o{ip} // '', net => $o{net} // '',
        time => $o{time} // $o{last}, first => $o{first} // $o{last},
        last => $o{last}, until => $o{until} // '2026-12-31T00:00:00Z',
        count => $o{count} // 1, summary => $o{summary} // "$o{kind} fired",
        evidence => $o{evidence} // { window => 600 });
}

# add(record, latest) - a stream entry; latest (or nothing: expired) in the hash
sub add {
    my ($first, $latest) = @_;
    my $j = decode_json($first);
    $r->cli('XADD', "$G:alerts", '*', 'id', $j->{id}, 'kind', $j->{kind},
        'json', $first);
    $r->cli('HSET', "$G:alert:$j->{id}", 'count', decode_json($latest)->{count},
        'json', $latest) if defined $latest;
}

# Filler: 2500 older alerts (the stream spans three XRANGE chunks), sent in
# one redis-cli --pipe; every other one has its hash.
{
    my $resp = '';
    my $cmd = sub { $resp .= '*' . @_ . "\r\n" . join('', map { '$' . length($_) . "\r\n$_\r\n" } @_) };
    for my $i (1 .. 2500) {
        my $id = sprintf('f%015x', $i);
        my $a = alert(id => $id, kind => 'unknown_users', severity => 'medium',
            ip => '127.0.9.' . ($i % 250), last => sprintf('2026-10-%02dT%02d:%02d:%02dZ',
                1 + int($i / 100), $i % 24, $i % 60, 0));
        $cmd->('XADD', "$G:alerts", '*', 'id', $id, 'kind', 'unknown_users', 'json', $a);
        $cmd->('HSET', "$G:alert:$id", 'count', 1, 'json', $a) if $i % 2;
    }
    my $pid = open(my $p, '|-') // die "fork: $!";
    if ($pid == 0) {
        open(STDOUT, '>', '/dev/null');
        exec('redis-cli', '-s', $r->sock, '--pipe') or POSIX::_exit(127);
    }
    print $p $resp;
    close $p;
    is($?, 0, 'filler loaded');
}

my %A;
# brute force: opened with count 1, since updated to count 5 and a later last
$A{bf1} = alert(id => '00000000000000a1', kind => 'brute_force', severity => 'medium',
    account => 'alice@example.org', ip => '127.0.3.1', time => '2026-11-20T10:30:01Z',
    first => '2026-11-20T10:25:10Z', last => '2026-11-20T10:30:01Z',
    until => '2026-11-20T11:30:01Z', summary => '12 failed logins for this account from 127.0.3.1',
    evidence => { window => 600, failures => 12, threshold => 10 });
$A{bf} = alert(id => '00000000000000a1', kind => 'brute_force', severity => 'medium',
    account => 'alice@example.org', ip => '127.0.3.1', time => '2026-11-20T10:30:01Z',
    first => '2026-11-20T10:25:10Z', last => '2026-11-20T11:00:00Z', count => 5,
    until => '2026-11-20T12:00:00Z', summary => '40 failed logins for this account from 127.0.3.1',
    evidence => { window => 600, failures => 40, threshold => 10 });
add($A{bf1}, $A{bf});
# spray whose hash expired: the stream's copy stands in (microsecond times)
$A{spray} = alert(id => '00000000000000a2', kind => 'spray', ip => '127.0.4.9',
    last => '2026-11-22T08:00:00.250000Z', summary => '25 accounts from 127.0.4.9');
add($A{spray});
# a whole network
$A{net} = alert(id => '00000000000000a5', kind => 'spray_net', net => '127.0.5.0/24',
    last => '2026-11-21T00:00:00Z');
add($A{net}, $A{net});
# global
$A{surge} = alert(id => '00000000000000a4', kind => 'failure_surge',
    last => '2026-11-23T12:00:00Z', summary => 'failures surged');
add($A{surge}, $A{surge});
# an attacker-chosen account name, in the summary too
$A{evil} = alert(id => '00000000000000a3', kind => 'impossible_travel',
    account => $evil, ip => '127.0.2.1', last => '2026-11-24T09:00:00Z',
    summary => "login as $evil from New York",
    evidence => { from => { ip => '127.0.1.1', time => '2099-01-01T00:00:00Z' },
        to => { ip => '127.0.2.1', time => '2026-11-24T09:00:00Z' }, speed_kmh => 10850 });
add($A{evil}, $A{evil});
# "last" nested in evidence, ahead of the real one: must not be taken
$A{decoy} = rec(id => '00000000000000a6', kind => 'new_asn',
    evidence => { last => '2099-01-01T00:00:00Z', note => '"last":"2099-01-01T00:00:00Z"' },
    severity => 'low', account => 'bob@example.org', ip => '127.0.6.1', net => '',
    time => '2026-11-01T00:00:00Z', first => '2026-11-01T00:00:00Z',
    last => '2026-11-01T00:00:00Z', until => '2026-11-01T01:00:00Z', count => 1,
    summary => 'new ASN');
add($A{decoy}, $A{decoy});

sub alerts {
    my (@args) = @_;
    my ($st, $out, $err) = run_cmd([fumidai(), 'alerts', '-c', $conf, @args]);
    is($st, 0, "alerts @args: exit 0") or diag $err;
    return $out;
}

# --json: everything, as stored, ordered by last
my @all = split /\n/, alerts('--json');
is(scalar(@all), 2506, '--json: every alert of a stream longer than one chunk');
is(scalar(grep { eval { decode_json($_) } } @all), 2506, 'each line is JSON');
is_deeply([ @all[-6 .. -1] ], [ @A{qw(decoy bf net spray surge evil)} ],
    'latest records (hash, else the stream copy), by last, exactly as stored');
is(scalar(grep { /"kind":"brute_force"/ } @all), 1, 'one line per alert, not per update');

is_deeply([ split /\n/, alerts('--json', '-n', 3) ], [ @A{qw(spray surge evil)} ],
    '-n 3: the newest three');
is_deeply([ split /\n/, alerts('--json', '--kind', 'brute_force') ], [ $A{bf} ],
    '--kind brute_force: its latest record');
is(alerts('--json', '--kind', 'nonexistent'), '', '--kind with no match: nothing');
is(scalar(split /\n/, alerts('--json', '--kind', 'unknown_users')), 2500,
    '--kind over all chunks');
is_deeply([ split /\n/, alerts('--json', '--since', '2026-11-22') ],
    [ @A{qw(spray surge evil)} ], '--since compares the top-level last (nested one ignored)');
is_deeply([ split /\n/, alerts('--json', '--since', '2026-11-20T10:45:00Z', '--kind',
    'brute_force') ], [ $A{bf} ], '--since sees the updated last');
is_deeply([ split /\n/, alerts('--json', '--since', '2026-11-22T08:00:00Z', '-n', 10) ],
    [ @A{qw(spray surge evil)} ], '--since with fractions of a second and -n');

# the table
my $t = alerts('--since', '2026-11-01');
my @rows = split /\n/, $t;
like($rows[0], qr/^LAST\s+SEVERITY\s+KIND\s+COUNT\s+SUBJECT\s+SUMMARY$/, 'table header');
is(scalar(@rows), 7, 'one row per alert');
unlike($t, qr/[\x00-\x09\x0b-\x1f\x7f]/, 'no control character reaches the terminal');
like($rows[6], qr/^2026-11-24T09:00:00Z\s+high\s+impossible_travel\s+1\s+
    evil\\x0d\\x0a\\x1b\[31mroot\\x07\x20127\.0\.2\.1\s+
    login\x20as\x20evil\\x0d\\x0a\\x1b\[31mroot\\x07\x20from\x20New\x20York$/x,
    'hostile account escaped in subject and summary');
like($rows[2], qr/^2026-11-20T11:00:00Z\s+medium\s+brute_force\s+5\s+alice\@example\.org 127\.0\.3\.1\s+40 failed/,
    'brute force row: latest count, account and address');
like($rows[4], qr/^2026-11-22T08:00:00Z\s+high\s+spray\s+1\s+127\.0\.4\.9\s+25 accounts/,
    'address-only subject; time shown to the second');
like($rows[3], qr/\s127\.0\.5\.0\/24\s/, 'network subject');
like($rows[5], qr/failure_surge\s+1\s+-\s+failures surged$/, 'global alert: subject -');

# nothing there; Redis away; bad arguments
my $empty = write_config("$dir/empty.conf", state_dir => "$dir/state", redis => $r->sock,
    prefix => 'other:');
my ($st, $out, $err) = run_cmd([fumidai(), 'alerts', '-c', $empty]);
is("$st $out", "0 no alerts\n", 'no alerts: says so, exit 0');
($st, $out) = run_cmd([fumidai(), 'alerts', '--json', '-c', $empty]);
is("$st $out", '0 ', 'no alerts, --json: prints nothing');
my $away = write_config("$dir/away.conf", state_dir => "$dir/state",
    redis => "$dir/nonexistent.sock");
($st, $out, $err) = run_cmd([fumidai(), 'alerts', '-c', $away]);
is($st, 2, 'Redis unreachable: exit 2');
like($err, qr/cannot reach Redis.*nonexistent\.sock/, 'and says so');
($st, $out, $err) = run_cmd([fumidai(), 'alerts', '-c', $conf, '--since', 'yesterday-ish']);
is($st, 2, 'a --since that is not a time: exit 2');
like($err, qr/--since yesterday-ish: not a time/, 'named');
($st) = run_cmd([fumidai(), 'alerts', '-c', $conf, '-n', '-1']);
is($st, 2, '-n must be a count');

# ---- fumidai account: geography and alerts ----

sub tag { 'fm:{a:' . unpack('H*', $_[0]) . '}' }

my $alice = tag('alice@example.org');
$r->cli('HSET', "$alice:applied", 'login_time', '2026-11-20T10:40:00.000000Z',
    'login_ip', '127.0.1.5', 'login_service', 'imap', 'login_mech', 'PLAIN',
    'fail_time', '2026-11-20T10:30:01.000000Z', 'fail_ip', '127.0.3.1',
    'fail_service', 'smtp', 'fail_mech', 'LOGIN');
$r->cli('HSET', "$alice:geo",
    'cc:JP', '3|2026-10-01T08:00:00.000000Z|2026-11-20T10:40:00.000000Z|Japan',
    'cc:US', '1|2026-11-02T09:00:00.000000Z|2026-11-02T09:00:00.000000Z|United States',
    'asn:2516', '3|2026-10-01T08:00:00.000000Z|2026-11-20T10:40:00.000000Z|KDDI \"au\" Corp|x',
    'asn:bogus', '1|2026-11-02T09:00:00.000000Z|2026-11-02T09:00:00.000000Z|',
    'city:JP:Tokyo', '3|2026-10-01T08:00:00.000000Z|2026-11-20T10:40:00.000000Z|',
    'city:US:New York', '1|2026-11-02T09:00:00.000000Z|2026-11-02T09:00:00.000000Z|',
    'cc:XX', 'garbage');
my $nc = alert(id => '00000000000000b1', kind => 'new_country', severity => 'medium',
    account => 'alice@example.org', ip => '127.0.2.9', last => '2026-11-02T09:00:00Z',
    until => '2026-11-02T10:00:00Z', summary => 'first login from US',
    evidence => { country => 'US', known => ['JP'] });
$r->cli('HSET', "$alice:alerts_open", 'brute_force', $A{bf}, 'new_country', $nc);

($st, $out, $err) = run_cmd([fumidai(), 'account', '--json', '-c', $conf, 'alice@example.org']);
is($st, 0, 'account --json: exit 0') or diag $err;
my $j = eval { decode_json($out) } // {};
ok($j->{found} && $j->{last}{login_time} && $j->{counters}{today}, 'the existing fields are still there');
is_deeply($j->{geography}, {
    countries => [
        { code => 'JP', name => 'Japan', count => 3, first => '2026-10-01T08:00:00.000000Z',
          last => '2026-11-20T10:40:00.000000Z' },
        { code => 'US', name => 'United States', count => 1,
          first => '2026-11-02T09:00:00.000000Z', last => '2026-11-02T09:00:00.000000Z' } ],
    asns => [
        { asn => 2516, org => 'KDDI "au" Corp|x', count => 3,
          first => '2026-10-01T08:00:00.000000Z', last => '2026-11-20T10:40:00.000000Z' } ],
    cities => [
        { country => 'JP', city => 'Tokyo', name => '', count => 3,
          first => '2026-10-01T08:00:00.000000Z', last => '2026-11-20T10:40:00.000000Z' },
        { country => 'US', city => 'New York', name => '', count => 1,
          first => '2026-11-02T09:00:00.000000Z', last => '2026-11-02T09:00:00.000000Z' } ],
}, 'geography: most logins first, names decoded, malformed fields left out') or diag $out;
is_deeply($j->{alerts}, [ decode_json($A{bf}), decode_json($nc) ],
    'alerts: the alerts_open records, newest first, verbatim');
like($out, qr/"alerts":\[\Q$A{bf},$nc\E\]/, 'embedded byte for byte');

($st, $out, $err) = run_cmd([fumidai(), 'account', '-c', $conf, 'alice@example.org']);
is($st, 0, 'account (text): exit 0') or diag $err;
like($out, qr/^  alerts \(newest first/m, 'alerts section');
like($out, qr/^    2026-11-20T11:00:00Z medium brute_force count=5 ip=127\.0\.3\.1 open until 2026-11-20T12:00:00Z\n      40 failed logins/m,
    'an alert whose cooldown runs past the newest event: open');
like($out, qr/^    2026-11-02T09:00:00Z medium new_country count=1 ip=127\.0\.2\.9 closed until 2026-11-02T10:00:00Z$/m,
    'one whose cooldown ended: closed');
like($out, qr/^  login countries \(count first last\)\n    JP Japan  3 2026-10-01T08:00:00\.000000Z 2026-11-20T10:40:00\.000000Z\n    US United States  1 /m,
    'countries');
like($out, qr/^  login networks \(ASN\) \(count first last\)\n    AS2516 KDDI "au" Corp\|x  3 /m, 'networks');
like($out, qr/^  login cities \(count first last\)\n    JP:Tokyo  3 .*\n    US:New York  1 /m, 'cities');
like($out, qr/^  last login .*\n  last failure .*\n\n  alerts/m, 'alerts come right after the last login and failure');

# the hostile name, through --hex
my $etag = tag($evil);
$r->cli('HSET', "$etag:applied", 'login_time', '2026-11-24T09:00:00.000000Z',
    'login_ip', '127.0.2.1', 'login_service', 'imap', 'login_mech', 'PLAIN');
$r->cli('HSET', "$etag:geo", 'cc:US', '1|2026-11-24T09:00:00.000000Z|2026-11-24T09:00:00.000000Z|United States');
$r->cli('HSET', "$etag:alerts_open", 'impossible_travel', $A{evil});
my $hex = unpack('H*', $evil);
($st, $out, $err) = run_cmd([fumidai(), 'account', '--hex', '-c', $conf, $hex]);
is($st, 0, 'hostile account (text): exit 0') or diag $err;
unlike($out, qr/[\x00-\x09\x0b-\x1f\x7f]/, 'no control character reaches the terminal');
like($out, qr/impossible_travel count=1 ip=127\.0\.2\.1 open until .*\n      login as evil\\x0d\\x0a\\x1b\[31mroot\\x07 from New York/,
    'its alert, escaped');
($st, $out, $err) = run_cmd([fumidai(), 'account', '--hex', '--json', '-c', $conf, $hex]);
$j = eval { decode_json($out) } // {};
is($j->{alerts}[0]{account}, $evil, '--json: the name comes back intact from the record');
is($j->{geography}{countries}[0]{code}, 'US', 'and its geography');

# an account with neither
my $carol = tag('carol@example.org');
$r->cli('HSET', "$carol:applied", 'login_time', '2026-11-24T09:00:00.000000Z');
($st, $out) = run_cmd([fumidai(), 'account', '--json', '-c', $conf, 'carol@example.org']);
$j = eval { decode_json($out) } // {};
is_deeply([ $j->{geography}, $j->{alerts} ], [ { countries => [], asns => [], cities => [] }, [] ],
    'no geography, no alerts: empty lists');
($st, $out) = run_cmd([fumidai(), 'account', '-c', $conf, 'carol@example.org']);
unlike($out, qr/alerts|login countries/, 'and the text shows neither section');

$r->stop;
done_testing();
