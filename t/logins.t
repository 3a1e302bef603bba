#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# logins.t - the recent attempts of an account (`<prefix>{a:<hex>}:logins`):
# Redis keeps each one compact (slots separated by \x1f, doc/redis.md
# "Recent attempts"), and every reader (`fumidai history`, `fumidai
# account`) gives exactly the JSON record the writer stored before it kept
# them compact.  Crafted log lines give a success, failures of 1, 2 and 3
# attempts, a failure with no address and no mechanism, a reason holding
# '"' and '\', a server name and a mechanism holding control bytes, and a
# server name in UTF-8; the expected records below are what the JSON writer
# stored for them.  An invalid UTF-8 byte never reaches the records through
# a log (the pipeline drops such lines as bad_bytes), so a compact record
# holding the escapes the writer makes of one is pushed by hand, as are a
# JSON record (as an earlier version stored it) and a value in neither
# form: those two are read as they are.
use strict;
use warnings;
use Test::More;
use lib "$ENV{FM_SRCDIR}/t/lib";
use FM qw(fumidai run_cmd tmpdir write_file write_config have_prog);
use JSON::PP qw(decode_json);

plan skip_all => 'redis-server is not installed' unless have_prog('redis-server');

my $dir = tmpdir();
my $r = FM::start_redis($dir);
my $conf = write_config("$dir/fm.conf", state_dir => "$dir/state", redis => $r->sock);
my $A = 'lg@example.org';
my $key = 'fm:{a:' . unpack('H*', $A) . '}:logins';
my $d = '2026-03-14T10:00';

# the log: bytes, written as they are (the \x01 and the tab are in it)
my $log = join '', map { "$_\n" }
    "$d:00.123456+00:00 mx dovecot: imap-login: Login: user=<$A>, method=PLAIN, rip=192.0.2.70, lip=192.0.2.1, mpid=1, session=<a1>",
    "$d:01.000001+00:00 mx dovecot: imap-login: Disconnected (auth failed, 3 attempts in 4 secs): user=<$A>, method=PLAIN, rip=192.0.2.77, lip=192.0.2.1, session=<a2>",
    "$d:02.000000+00:00 mx postfix/submission/smtpd[100]: warning: unknown[198.51.100.9]: SASL LOGIN authentication failed: bad \"pw\" \\ here, sasl_username=$A",
    "$d:03.500000+00:00 m\x01x dovecot: pop3-login: Login: user=<$A>, method=PL\x01\tIN, rip=2001:db8::5, lip=192.0.2.1, mpid=2, session=<a3>",
    "$d:04.000000+00:00 mx dovecot: imap-login: Disconnected (auth failed, 2 attempts in 2 secs): user=<$A>",
    "$d:05.000000+00:00 \xe3\x83\x9bst dovecot: imap-login: Login: user=<$A>, method=PLAIN, rip=192.0.2.70, lip=192.0.2.1, mpid=3, session=<a4>";
open(my $fh, '>:raw', "$dir/lg.log") or die "$dir/lg.log: $!";
print $fh $log;
close $fh;
my ($st, $out, $err) = run_cmd([fumidai(), 'replay', '--no-progress', '-c', $conf, "$dir/lg.log"]);
is($st, 0, 'replay') or diag $err;

# What the JSON writer stored for these lines, oldest first (bytes).
my @want = (
    '{"time":"2026-03-14T10:00:00.123456Z","ip":"192.0.2.70","service":"imap","result":"ok","mech":"PLAIN","host":"mx","reason":"","attempts":1}',
    '{"time":"2026-03-14T10:00:01.000001Z","ip":"192.0.2.77","service":"imap","result":"fail","mech":"PLAIN","host":"mx","reason":"auth failed","attempts":3}',
    '{"time":"2026-03-14T10:00:02.000000Z","ip":"198.51.100.9","service":"submission","result":"fail","mech":"LOGIN","host":"mx","reason":"bad \"pw\" \\\\ here","attempts":1}',
    '{"time":"2026-03-14T10:00:03.500000Z","ip":"2001:db8::5","service":"pop3","result":"ok","mech":"PL\u0001\tIN","host":"m\u0001x","reason":"","attempts":1}',
    '{"time":"2026-03-14T10:00:04.000000Z","ip":"","service":"imap","result":"fail","mech":"","host":"mx","reason":"auth failed","attempts":2}',
    "{\"time\":\"2026-03-14T10:00:05.000000Z\",\"ip\":\"192.0.2.70\",\"service\":\"imap\",\"result\":\"ok\",\"mech\":\"PLAIN\",\"host\":\"\xe3\x83\x9bst\",\"reason\":\"\",\"attempts\":1}",
);

# raw - the list's values as Redis holds them, newest first
sub raw {
    return split /\n/, $r->cli('LRANGE', $key, 0, -1);
}

# history_logins / account_logins - the login records each reader gives
# (bytes), oldest first
sub history_logins {
    my ($st, $out, $err) = run_cmd([fumidai(), 'history', '-c', $conf, '--since', '2026-03-14',
        '--until', '2026-03-15', '--json', '--logins', $A]);
    is($st, 0, 'history: exit 0') or diag $err;
    return map { s/^\{"type":"login",/{/r } grep { /^\{"type":"login"/ } split /\n/, $out;
}
sub account_logins {
    my ($st, $out, $err) = run_cmd([fumidai(), 'account', '-c', $conf, '--json', '-n', 0, $A]);
    is($st, 0, 'account: exit 0') or diag $err;
    ok(eval { decode_json($out); 1 }, 'account: valid JSON') or diag $out;
    my ($l) = $out =~ /,"logins":\[(.*?)\],"messages":/ or return ();
    # the records as they are (no string in this test holds a '}')
    return reverse $l =~ /\G(\{[^}]*\}|"(?:[^"\\]|\\.)*"),?/g;
}

# ---- the stored form ----
my @raw = raw();
is(scalar @raw, 6, 'six attempts stored');
is(scalar(grep { !/^\{/ && /\x1f/ && !/[\x00-\x1e]/ } @raw), 6,
    'each compact: no JSON object, slots separated by \x1f, no other byte below 0x20');
is($raw[-1], "1773482400123456\x1f192.0.2.70\x1fimap\x1fo\x1fPLAIN\x1fmx",
    'a success: time in microseconds, address, service, result; empty reason and 1 attempt left out');
is($raw[1], "1773482404000000\x1f\x1fimap\x1ff\x1f\x1fmx\x1fauth failed\x1f2",
    'a failure of 2 attempts with no address and no mechanism: empty slots kept before the last');
is($raw[2], "1773482403500000\x1f2001:db8::5\x1fpop3\x1fo\x1fPL\\u0001\\tIN\x1fm\\u0001x",
    'control bytes JSON-escaped in their slots');
is($raw[3], "1773482402000000\x1f198.51.100.9\x1fsubmission\x1ff\x1fLOGIN\x1fmx\x1fbad \\\"pw\\\" \\\\ here",
    'a reason with \'"\' and \'\\\' as the JSON string held it');
my $sum = 0;
$sum += length for @raw;
my $json = 0;
$json += length for @want;
ok($sum < $json / 2, "compact: $sum bytes where the JSON took $json");

# ---- what the readers give ----
is_deeply([history_logins()], \@want, 'fumidai history --json: the JSON records, byte for byte');
is_deeply([account_logins()], \@want, 'fumidai account --json: the JSON records, byte for byte');
($st, $out) = run_cmd([fumidai(), 'history', '-c', $conf, '--since', '2026-03-14',
    '--until', '2026-03-15', '--csv', '--logins', $A]);
like($out, qr/^login,2026-03-14T10:00:02\.000000Z,"mx","submission","198\.51\.100\.9","fail","LOGIN",1,"bad ""pw"" \\x5c here",/m,
    'csv: a record read from the compact form');
($st, $out) = run_cmd([fumidai(), 'account', '-c', $conf, $A]);
like($out, qr/^    2026-03-14T10:00:04\.000000Z fail imap attempts=2 host=mx reason=auth failed$/m,
    'account table: a record read from the compact form');

# ---- values pushed by hand ----
# invalid UTF-8 in the server name and the mechanism, as the writer escapes
# it (\u00XX), then a JSON record of an earlier version, then garbage
my $bad = "1773482406000000\x1f192.0.2.80\x1fimap\x1fo\x1fPL\\u00e9IN\x1fm\\u00ffx";
my $old = '{"time":"2026-03-14T10:00:07.000000Z","ip":"192.0.2.81","service":"imap","result":"fail","mech":"PLAIN","host":"mx","reason":"auth failed","attempts":4}';
$r->cli('LPUSH', $key, $bad);
$r->cli('LPUSH', $key, $old);
$r->cli('LPUSH', $key, 'not a record');
push @want, '{"time":"2026-03-14T10:00:06.000000Z","ip":"192.0.2.80","service":"imap","result":"ok","mech":"PL\u00e9IN","host":"m\u00ffx","reason":"","attempts":1}',
    $old;
is_deeply([history_logins()], \@want,
    'history: invalid UTF-8 escapes copied, an old JSON record as it is, garbage (no time) left out');
is_deeply([account_logins()], [ @want, '"not a record"' ],
    'account: the same, and the garbage as it is (a JSON string, as any value not an object)');
is_deeply([ (raw())[0 .. 2] ], [ 'not a record', $old, $bad ], 'reading changed nothing stored');

$r->stop;
done_testing();
