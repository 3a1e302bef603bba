#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# history.t - `fumidai history`: an account's logins (records and day
# roll-ups) and sent messages over a time range, as a table, NDJSON and CSV.
# The real Postfix + Dovecot capture (t/data/real/mail.log, see its README)
# gives exact per-account counts; a small synthetic log with years in its
# timestamps checks the --since/--until edges around midnight and the CSV
# quoting of a name and a sender holding a comma, a quote and a formula.
use strict;
use warnings;
use Test::More;
use lib "$ENV{FM_SRCDIR}/t/lib";
use FM qw(fumidai run_cmd tmpdir write_file read_file write_config have_prog);

plan skip_all => 'redis-server is not installed' unless have_prog('redis-server');

my $dir = tmpdir();
my $r = FM::start_redis($dir);
my $conf = write_config("$dir/fm.conf", state_dir => "$dir/state", redis => $r->sock);

sub history {
    my ($st, $out, $err) = run_cmd([fumidai(), 'history', '-c', $conf, @_]);
    return ($st, $out, $err);
}

# types - how many lines of --json output have each type
sub types {
    my ($out) = @_;
    my %n;
    $n{$1}++ while $out =~ /^\{"type":"(\w+)"/mg;
    return \%n;
}

# ---- the real capture ----
my $real = "$ENV{FM_SRCDIR}/t/data/real/mail.log";
my ($st, $out, $err) = run_cmd([fumidai(), 'replay', '--no-progress', '-c', $conf, $real]);
is($st, 0, 'replay of the real capture') or diag $err;
# The capture's lines carry no year: take the day fumidai gave them.
($st, $out) = run_cmd([fumidai(), 'parse', $real]);
my ($day) = $out =~ /"time":"(\d{4}-\d\d-\d\d)T/ or BAIL_OUT('no time in parse output');
my @range = ('--since', "${day}T00:00:00Z", '--until', "${day}T23:59:59Z");

my %want = (    # logins, roll-ups, messages (t/data/real/README)
    'alice@fumidai.test' => [6, 4, 3],
    'bob@fumidai.test'   => [7, 4, 2],
    'dave@fumidai.test'  => [6, 5, 1],
);
for my $acct (sort keys %want) {
    ($st, $out, $err) = history(@range, '--json', $acct);
    is($st, 0, "$acct: exit 0") or diag $err;
    my $n = types($out);
    is_deeply([map { $n->{$_} // 0 } qw(login rollup message)], $want{$acct},
        "$acct: logins, roll-ups and messages");
}

($st, $out) = history(@range, '--json', 'alice@fumidai.test');
my @lines = split /\n/, $out;
is($lines[0], qq({"type":"login","time":"${day}T08:57:57.000000Z","ip":"127.0.0.10",)
    . qq("service":"submission","result":"ok","mech":"PLAIN","host":"mx","reason":"",)
    . qq("attempts":1}), 'a login record as stored, with its type');
is_deeply([grep { /"rollup"/ } @lines], [
    qq({"type":"rollup","day":"$day","result":"ok","ip":"127.0.0.10","service":"submission","count":3}),
    qq({"type":"rollup","day":"$day","result":"ok","ip":"127.0.0.31","service":"imap","count":1}),
    qq({"type":"rollup","day":"$day","result":"fail","ip":"127.0.0.66","service":"imap","count":1}),
    qq({"type":"rollup","day":"$day","result":"fail","ip":"127.0.0.66","service":"submission","count":1}),
], 'roll-ups per day, result, address and service');
is_deeply([map { /"qid":"(\w+)"/ ? $1 : () } @lines],
    [qw(8C03FA72A66 21D24A721B7 E1D0CA72041)], 'messages, oldest first');
is($lines[-1], qq({"type":"message","time":"${day}T08:58:12.000000Z","qid":"E1D0CA72041",)
    . qq("from":"alice\@fumidai.test","size":396,"nrcpt":1,"ip":"127.0.0.10",)
    . qq("service":"submission","host":"mx","msgid":"1795597092.4068.433002358\@mailstack.test"}),
    'a message record: time, queue id, sender, size, recipients, address, service, server, Message-ID');

# bob: three failed attempts from the attacker rolled up as one count
($st, $out) = history(@range, '--json', 'bob@fumidai.test');
like($out, qr/^\{"type":"rollup","day":"$day","result":"fail","ip":"127.0.0.66","service":"submission","count":3\}$/m,
    'bob: the attacker\'s three failures, one roll-up of 3');

# --logins / --sent
($st, $out) = history(@range, '--json', '--logins', 'alice@fumidai.test');
is_deeply(types($out), { login => 6, rollup => 4 }, '--logins: logins and roll-ups only');
($st, $out) = history(@range, '--json', '--sent', 'alice@fumidai.test');
is_deeply(types($out), { message => 3 }, '--sent: messages only');

# until is exclusive, since inclusive
($st, $out) = history('--since', "${day}T08:58:04Z", '--until', "${day}T08:58:12Z",
    '--json', 'alice@fumidai.test');
is_deeply([map { /"time":"[^"]*T([\d:]+)\./ ? $1 : () } grep { /"login"/ } split /\n/, $out],
    [qw(08:58:04 08:58:09 08:58:10)], 'logins: since inclusive, until exclusive');
is_deeply([$out =~ /"qid":"(\w+)"/g], ['21D24A721B7'], 'messages in that range');

# the table
($st, $out) = history(@range, 'alice@fumidai.test');
is($st, 0, 'table: exit 0');
like($out, qr/^account alice\@fumidai.test$/m, 'table: the account');
like($out, qr/^logins \(6\)$/m, 'table: logins counted');
like($out, qr/^logins per day, address, service and result \(4\)$/m, 'table: roll-ups counted');
like($out, qr/^messages sent \(3\)$/m, 'table: messages counted');
like($out, qr/^  $day ok +127\.0\.0\.10 +submission 3$/m, 'table: a roll-up row');

# an account with nothing
($st, $out) = history(@range, 'ghost-nobody@fumidai.test');
is($st, 0, 'an account with no history: exit 0');
like($out, qr/^no history in this range$/m, 'and it says so');

# ---- synthetic log: years, midnight, hostile text ----
my $name = '=cmd,"x"@example.org';
my $syn = "$dir/syn.log";
write_file($syn, <<"EOF");
2026-03-10T09:00:00.000000+00:00 mx postfix/submission/smtpd[100]: connect from unknown[192.0.2.10]
2026-03-10T09:00:01.000000+00:00 mx postfix/submission/smtpd[100]: 1A2B3C4D5E: client=unknown[192.0.2.10], sasl_method=PLAIN, sasl_username=$name
2026-03-10T09:00:01.000000+00:00 mx postfix/cleanup[101]: 1A2B3C4D5E: message-id=<m1\@example.org>
2026-03-10T09:00:02.000000+00:00 mx postfix/qmgr[102]: 1A2B3C4D5E: from=<=HYPERLINK("x"),y\@example.org>, size=1200, nrcpt=2 (queue active)
2026-03-10T09:00:03.000000+00:00 mx postfix/submission/smtpd[100]: disconnect from unknown[192.0.2.10] ehlo=1 auth=1 mail=1 rcpt=2 data=1 quit=1 commands=7
2026-03-10T23:59:59.000000+00:00 mx postfix/submission/smtpd[100]: warning: unknown[198.51.100.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=$name
2026-03-11T00:00:00.000000+00:00 mx postfix/submission/smtpd[100]: warning: unknown[198.51.100.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=$name
2026-03-11T08:00:00.000000+00:00 mx postfix/submission/smtpd[103]: 2B3C4D5E6F: client=unknown[192.0.2.10], sasl_method=PLAIN, sasl_username=$name
2026-03-11T08:00:00.000000+00:00 mx postfix/cleanup[101]: 2B3C4D5E6F: message-id=<m2\@example.org>
2026-03-11T08:00:01.000000+00:00 mx postfix/qmgr[102]: 2B3C4D5E6F: from=<+1-\@example.org>, size=300, nrcpt=1 (queue active)
2026-03-11T08:00:05.000000+00:00 dovecot: imap-login: Login: user=<$name>, method=PLAIN, rip=192.0.2.20, lip=192.0.2.1, mpid=1, session=<abc>
2026-03-11T08:10:05.000000+00:00 dovecot: imap-login: Login: user=<$name>, method=PLAIN, rip=192.0.2.20, lip=192.0.2.1, mpid=2, session=<abd>
EOF
($st, $out, $err) = run_cmd([fumidai(), 'replay', '--no-progress', '-c', $conf, $syn]);
is($st, 0, 'replay of the synthetic log') or diag $err;

($st, $out) = history('--since', '2026-03-01', '--until', '2026-04-01', '--json', $name);
is_deeply(types($out), { login => 6, rollup => 5, message => 2 }, 'synthetic: all of it');
(my $hex = unpack('H*', $name));
my ($st2, $out2) = history('--since', '2026-03-01', '--until', '2026-04-01', '--json', '--hex', $hex);
is($out2, $out, '--hex names the same account');

($st, $out) = history('--since', '2026-03-11', '--until', '2026-03-12', '--json', $name);
is_deeply(types($out), { login => 4, rollup => 3, message => 1 }, 'one day: from its midnight');
like($out, qr/^\{"type":"login","time":"2026-03-11T00:00:00.000000Z",.*"result":"fail"/,
    'the failure at midnight opens the day');
($st, $out) = history('--until', '2026-03-11', '--since', '2026-03-01', '--json', $name);
is_deeply(types($out), { login => 2, rollup => 2, message => 1 }, 'until midnight: the day before');
like($out, qr/"time":"2026-03-10T23:59:59.000000Z"[^\n]*\n\{"type":"rollup"/,
    'its last login is the one a second before midnight');
($st, $out) = history('--since', '2026-03-10T23:59:59Z', '--until', '2026-03-11T00:00:01Z',
    '--json', '--logins', $name);
is_deeply(types($out), { login => 2, rollup => 5 }, 'across midnight: two logins, both days\' roll-ups');

($st, $out) = history('--since', '2026-03-01', '--until', '2026-04-01', '--csv', $name);
is($st, 0, 'csv: exit 0');
is($out, join('', map { "$_\r\n" }
    'type,time,host,service,ip,result,mech,attempts,reason,count,qid,msgid,from,size,nrcpt',
    'login,2026-03-10T09:00:01.000000Z,"mx","submission","192.0.2.10","ok","PLAIN",1,"",,,,,,',
    'login,2026-03-10T23:59:59.000000Z,"mx","submission","198.51.100.7","fail","LOGIN",1,"UGFzc3dvcmQ6",,,,,,',
    'login,2026-03-11T00:00:00.000000Z,"mx","submission","198.51.100.7","fail","LOGIN",1,"UGFzc3dvcmQ6",,,,,,',
    'login,2026-03-11T08:00:00.000000Z,"mx","submission","192.0.2.10","ok","PLAIN",1,"",,,,,,',
    'login,2026-03-11T08:00:05.000000Z,"","imap","192.0.2.20","ok","PLAIN",1,"",,,,,,',
    'login,2026-03-11T08:10:05.000000Z,"","imap","192.0.2.20","ok","PLAIN",1,"",,,,,,',
    'rollup,2026-03-10,,"submission","192.0.2.10","ok",,,,1,,,,,',
    'rollup,2026-03-10,,"submission","198.51.100.7","fail",,,,1,,,,,',
    'rollup,2026-03-11,,"submission","192.0.2.10","ok",,,,1,,,,,',
    'rollup,2026-03-11,,"imap","192.0.2.20","ok",,,,2,,,,,',
    'rollup,2026-03-11,,"submission","198.51.100.7","fail",,,,1,,,,,',
    'message,2026-03-10T09:00:02.000000Z,"mx","submission","192.0.2.10",,,,,,"1A2B3C4D5E","m1@example.org","\'=HYPERLINK(""x""),y@example.org",1200,2',
    'message,2026-03-11T08:00:01.000000Z,"mx","submission","192.0.2.10",,,,,,"2B3C4D5E6F","m2@example.org","\'+1-@example.org",300,1',
), 'csv: header, RFC 4180 quoting, formulas neutralised');

# a sender parsed back from the CSV as a spreadsheet would
my ($row) = grep { /1A2B3C4D5E/ } split /\r\n/, $out;
my @f;
push @f, defined $1 ? $1 =~ s/""/"/gr : $2 while $row =~ /\G(?:"((?:[^"]|"")*)"|([^,]*))(?:,|$)/gc && @f < 15;
is(scalar(@f), 15, 'csv: the row has 15 fields');
is($f[12], q('=HYPERLINK("x"),y@example.org), 'csv: the sender, comma and quotes intact, formula defused');

($st, $out) = history('--since', '2026-03-01', '--until', '2026-04-01', $name);
like($out, qr/^account =cmd,"x"\@example\.org$/m, 'table: the name as text');
like($out, qr/^messages sent \(2\)$/m, 'table: its messages');

# ---- errors ----
($st) = history('--json', '--csv', 'x');
is($st, 2, '--json with --csv: exit 2');
($st) = history('--logins', '--sent', 'x');
is($st, 2, '--logins with --sent: exit 2 (one or the other)');
($st, $out, $err) = history('--since', 'yesterday-ish', 'x');
is($st, 2, 'a bad time: exit 2');
($st) = history();
is($st, 2, 'no account: exit 2');
($st) = history('--hex', 'zz');
is($st, 2, '--hex with a name that is not hex: exit 2');
my $bad = write_config("$dir/bad.conf", state_dir => "$dir/state-bad", redis => "$dir/none.sock");
($st, $out, $err) = run_cmd([fumidai(), 'history', '-c', $bad, 'x']);
is($st, 2, 'Redis unreachable: exit 2');
like($err, qr/fumidai: history: /, 'and says why');
done_testing();
