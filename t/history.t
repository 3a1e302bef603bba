#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# history.t - `fumidai history`: an account's logins (recent records and
# day roll-ups with count, first, last and place) and sent messages (each
# recipient's final status, the Subject, the login that sent it) over a
# time range, as a table, NDJSON and CSV.  The real Postfix + Dovecot
# capture (t/data/real/mail.log, see its README) gives exact per-account
# records (a bounced and a deferred recipient among them); a small
# synthetic log with years in its timestamps checks the --since/--until
# edges around midnight, the CSV quoting of a name and a sender holding a
# comma, a quote and a formula, and RFC 2047 Subjects; the test GeoIP
# databases give places; a live Postfix + Dovecot (t/lib/MailStack.pm, root
# only, else skipped) gives a polling client, failures, a Subject logged by
# header_checks, a bounce, the global indices, and the same Redis contents
# when its log is replayed twice or into a fresh Redis.
use strict;
use warnings;
use Test::More;
use lib "$ENV{FM_SRCDIR}/t/lib";
use FM qw(fumidai run_cmd tmpdir write_file read_file write_config have_prog);
use JSON::PP qw(decode_json);
use MailStack;

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
    qq({"type":"rollup","day":"$day","result":"ok","ip":"127.0.0.10","service":"submission","count":3,)
    . qq("first":"${day}T08:57:57Z","last":"${day}T08:58:12Z","mech":"PLAIN","host":"mx"}),
    qq({"type":"rollup","day":"$day","result":"ok","ip":"127.0.0.31","service":"imap","count":1,)
    . qq("first":"${day}T08:58:09Z","last":"${day}T08:58:09Z","mech":"PLAIN"}),
    qq({"type":"rollup","day":"$day","result":"fail","ip":"127.0.0.66","service":"imap","count":1,)
    . qq("first":"${day}T08:58:10Z","last":"${day}T08:58:10Z","mech":"PLAIN","reason":"Password mismatch"}),
    qq({"type":"rollup","day":"$day","result":"fail","ip":"127.0.0.66","service":"submission","count":1,)
    . qq("first":"${day}T08:58:00Z","last":"${day}T08:58:00Z","mech":"LOGIN","host":"mx","reason":"Password mismatch"}),
], 'roll-ups per day, result, address and service: count, first, last, mechanism, server, reason');
is_deeply([map { /"qid":"(\w+)"/ ? $1 : () } @lines],
    [qw(8C03FA72A66 21D24A721B7 E1D0CA72041)], 'messages, oldest first');
# (the sink's port changes from run to run: written "PORT")
(my $m2 = $lines[-2]) =~ s/127\.0\.0\.1\[127\.0\.0\.1\]:\d+/127.0.0.1[127.0.0.1]:PORT/g;
is($m2, qq({"type":"message","time":"${day}T08:58:04Z","qid":"21D24A721B7",)
    . qq("msgid":"1795597084.4068.188804063\@mailstack.test","from":"alice\@fumidai.test",)
    . qq("size":401,"nrcpt":2,"ip":"127.0.0.10","service":"submission","host":"mx",)
    . qq("login":{"time":"${day}T08:58:04Z","ip":"127.0.0.10","service":"submission","mech":"PLAIN"},)
    . qq("rcpt":[{"to":"bob\@fumidai.test","status":"sent","time":"${day}T08:58:04Z","relay":"virtual","dsn":"2.0.0"},)
    . qq({"to":"bounce-me\@example.net","status":"bounced","time":"${day}T08:58:04Z",)
    . qq("relay":"127.0.0.1[127.0.0.1]:PORT","dsn":"5.1.1"}]}),
    'a message record: time, queue id, Message-ID, sender, size, recipients, address, service, '
    . 'server, the login that sent it, each recipient\'s status (one bounced)');

# bob: three failed attempts from the attacker rolled up as one count
($st, $out) = history(@range, '--json', 'bob@fumidai.test');
like($out, qr/^\Q{"type":"rollup","day":"$day","result":"fail","ip":"127.0.0.66","service":"submission","count":3,\E\Q"first":"${day}T08:58:00Z","last":"${day}T08:58:01Z","mech":"PLAIN","host":"mx","reason":"Password mismatch"}\E$/m,
    'bob: the attacker\'s three failures, one roll-up of 3, first and last');
like($out, qr/"qid":"93FADA72074".*"rcpt":\[\{"to":"defer-me\@example.net","status":"deferred",.*"dsn":"4.3.0"\}\]\}$/m,
    'bob: a deferred recipient stays deferred');

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
like($out, qr/^recent logins \(6\)$/m, 'table: logins counted');
like($out, qr/^logins per day, address, service and result \(4\)$/m, 'table: roll-ups counted');
like($out, qr/^messages sent \(3\)$/m, 'table: messages counted');
like($out, qr/^  $day ok +127\.0\.0\.10 +submission +3 ${day}T08:57:57Z ${day}T08:58:12Z PLAIN/m,
    'table: a roll-up row');
like($out, qr/^    to: bounce-me\@example\.net bounced 5\.1\.1$/m, 'table: a recipient\'s status');
like($out, qr/^    login: submission 127\.0\.0\.10 PLAIN ${day}T08:58:04Z$/m, 'table: the login that sent it');

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
2026-03-10T09:00:01.000000+00:00 mx postfix/cleanup[101]: 1A2B3C4D5E: info: header Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?= =?UTF-8?B?44OG44K544OI?= =?utf-8?q?_caf=C3=A9?= =?x-bogus?B?AAAA?= ok from unknown[192.0.2.10]; from=<x\@example.org> to=<y\@example.org> proto=ESMTP helo=<h>
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
like($out, qr/"subject":"日本語テスト café =\?x-bogus\?B\?AAAA\?= ok"/,
    'a Subject\'s RFC 2047 words decoded (ISO-2022-JP, UTF-8, Q); an unknown charset kept');
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
    'type,time,host,service,ip,result,mech,attempts,reason,count,qid,msgid,from,size,nrcpt,'
    . 'first,last,cc,city,asn,asorg,subject,rcpt,login',
    'login,2026-03-10T09:00:01.000000Z,"mx","submission","192.0.2.10","ok","PLAIN",1,"",,,,,,,,,,,,,,,',
    'login,2026-03-10T23:59:59.000000Z,"mx","submission","198.51.100.7","fail","LOGIN",1,"UGFzc3dvcmQ6",,,,,,,,,,,,,,,',
    'login,2026-03-11T00:00:00.000000Z,"mx","submission","198.51.100.7","fail","LOGIN",1,"UGFzc3dvcmQ6",,,,,,,,,,,,,,,',
    'login,2026-03-11T08:00:00.000000Z,"mx","submission","192.0.2.10","ok","PLAIN",1,"",,,,,,,,,,,,,,,',
    'login,2026-03-11T08:00:05.000000Z,"","imap","192.0.2.20","ok","PLAIN",1,"",,,,,,,,,,,,,,,',
    'login,2026-03-11T08:10:05.000000Z,"","imap","192.0.2.20","ok","PLAIN",1,"",,,,,,,,,,,,,,,',
    'rollup,2026-03-10,"mx","submission","192.0.2.10","ok","PLAIN",,,1,,,,,,2026-03-10T09:00:01Z,2026-03-10T09:00:01Z,,,,,,,',
    'rollup,2026-03-10,"mx","submission","198.51.100.7","fail","LOGIN",,"UGFzc3dvcmQ6",1,,,,,,2026-03-10T23:59:59Z,2026-03-10T23:59:59Z,,,,,,,',
    'rollup,2026-03-11,"mx","submission","192.0.2.10","ok","PLAIN",,,1,,,,,,2026-03-11T08:00:00Z,2026-03-11T08:00:00Z,,,,,,,',
    'rollup,2026-03-11,,"imap","192.0.2.20","ok","PLAIN",,,2,,,,,,2026-03-11T08:00:05Z,2026-03-11T08:10:05Z,,,,,,,',
    'rollup,2026-03-11,"mx","submission","198.51.100.7","fail","LOGIN",,"UGFzc3dvcmQ6",1,,,,,,2026-03-11T00:00:00Z,2026-03-11T00:00:00Z,,,,,,,',
    'message,2026-03-10T09:00:01Z,"mx","submission","192.0.2.10",,,,,,"1A2B3C4D5E","m1@example.org","\'=HYPERLINK(""x""),y@example.org",1200,2,,,,,,,"日本語テスト café =?x-bogus?B?AAAA?= ok",,"submission 192.0.2.10 PLAIN 2026-03-10T09:00:01Z"',
    'message,2026-03-11T08:00:00Z,"mx","submission","192.0.2.10",,,,,,"2B3C4D5E6F","m2@example.org","\'+1-@example.org",300,1,,,,,,,,,"submission 192.0.2.10 PLAIN 2026-03-11T08:00:00Z"',
), 'csv: header, RFC 4180 quoting, formulas neutralised');

# a sender parsed back from the CSV as a spreadsheet would
my ($row) = grep { /1A2B3C4D5E/ } split /\r\n/, $out;
my @f;
push @f, defined $1 ? $1 =~ s/""/"/gr : $2 while $row =~ /\G(?:"((?:[^"]|"")*)"|([^,]*))(?:,|$)/gc && @f < 24;
is(scalar(@f), 24, 'csv: the row has 24 fields');
is($f[12], q('=HYPERLINK("x"),y@example.org), 'csv: the sender, comma and quotes intact, formula defused');

($st, $out) = history('--since', '2026-03-01', '--until', '2026-04-01', $name);
like($out, qr/^account =cmd,"x"\@example\.org$/m, 'table: the name as text');
like($out, qr/^messages sent \(2\)$/m, 'table: its messages');

# ---- two messages in one SMTP session: both from its one login ----
{
    my $two = 'two@example.org';
    write_file("$dir/two.log", join '', map { "$_\n" }
        "2026-03-13T10:00:00.000000+00:00 mx postfix/submission/smtpd[300]: connect from unknown[192.0.2.30]",
        "2026-03-13T10:00:01.000000+00:00 mx postfix/submission/smtpd[300]: 3C4D5E6F70: client=unknown[192.0.2.30], sasl_method=LOGIN, sasl_username=$two",
        "2026-03-13T10:00:01.000000+00:00 mx postfix/qmgr[102]: 3C4D5E6F70: from=<$two>, size=100, nrcpt=1 (queue active)",
        "2026-03-13T10:00:09.000000+00:00 mx postfix/submission/smtpd[300]: 3C4D5E6F71: client=unknown[192.0.2.30], sasl_method=LOGIN, sasl_username=$two",
        "2026-03-13T10:00:09.000000+00:00 mx postfix/qmgr[102]: 3C4D5E6F71: from=<$two>, size=200, nrcpt=1 (queue active)",
        "2026-03-13T10:00:10.000000+00:00 mx postfix/submission/smtpd[300]: disconnect from unknown[192.0.2.30] ehlo=1 auth=1 mail=2 rcpt=2 data=2 quit=1 commands=9");
    ($st, $out, $err) = run_cmd([fumidai(), 'replay', '--no-progress', '-c', $conf, "$dir/two.log"]);
    is($st, 0, 'two messages: replay') or diag $err;
    ($st, $out) = history('--since', '2026-03-13', '--until', '2026-03-14', '--json', '--sent', $two);
    is_deeply([ map { my $j = decode_json($_); [ $j->{qid}, $j->{time}, $j->{login}{time} ] }
        split /\n/, $out ], [
        [ '3C4D5E6F70', '2026-03-13T10:00:01Z', '2026-03-13T10:00:01Z' ],
        [ '3C4D5E6F71', '2026-03-13T10:00:09Z', '2026-03-13T10:00:01Z' ],
    ], 'the second message\'s login is the session\'s, at its first message');
}

# ---- a message that expires five days later: its record on its first day ----
{
    my $dl = "$ENV{FM_SRCDIR}/t/data/postfix/delivery.log";
    ($st, $out, $err) = run_cmd([fumidai(), 'replay', '--no-progress', '-c', $conf, $dl]);
    is($st, 0, 'delivery.log: replay') or diag $err;
    ($st, $out) = run_cmd([fumidai(), 'parse', $dl]);
    my ($y) = $out =~ /"time":"(\d{4})-/;
    ($st, $out) = history('--since', "$y-11-24", '--until', "$y-11-25", '--json', '--sent',
        'grace@example.org');
    my ($m) = map { decode_json($_) } grep { /4Y8kX21mPqz3wK/ } split /\n/, $out;
    is_deeply([ map { [ @$_{qw(to status time dsn)} ] } @{$m->{rcpt} // []} ], [
        [ 'a@example.net', 'expired', "$y-11-29T12:01:06Z", '4.4.1' ],
        [ 'b@example.com', 'bounced', "$y-11-24T12:01:04Z", '5.1.1' ],
        [ 'c@blackhole.example', 'sent', "$y-11-24T12:01:04Z", '2.0.0' ],
    ], 'deferred, then expired five days later: the record of its first day says so')
        or diag $out;
}

# ---- places: the test GeoIP databases (t/lib/mkmmdb.pl) ----
SKIP: {
    mkdir "$dir/geo" or die "$dir/geo: $!";
    my ($gst, $gout, $gerr) = run_cmd([$^X, "$ENV{FM_SRCDIR}/t/lib/mkmmdb.pl", "$dir/geo"]);
    skip 'MaxMind::DB::Writer is not installed', 6 if $gst == 2 && $gerr =~ /not installed/;
    die "mkmmdb.pl: $gerr" if $gst;
    local $ENV{FUMIDAI_GEO_ALLOW_LOOPBACK} = 1;    # the test databases place loopback
    my $gconf = write_config("$dir/geo.conf", state_dir => "$dir/state-geo", redis => $r->sock,
        prefix => 'fmg:', extra => "geoip = { city = \"$dir/geo/city-maxmind.mmdb\"; "
        . "asn = \"$dir/geo/asn.mmdb\"; };\n");
    my $gname = 'geo@example.org';
    write_file("$dir/geo.log", join '', map { "$_\n" }
        "2026-03-12T08:00:00.000000+00:00 dovecot: imap-login: Login: user=<$gname>, method=PLAIN, rip=127.0.1.5, lip=127.0.0.1, mpid=1, session=<g1>",
        "2026-03-12T08:05:00.000000+00:00 dovecot: imap-login: Login: user=<$gname>, method=PLAIN, rip=127.0.1.5, lip=127.0.0.1, mpid=2, session=<g2>",
        "2026-03-12T09:00:00.000000+00:00 mx postfix/submission/smtpd[200]: warning: unknown[127.0.2.9]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=$gname",
        "2026-03-12T09:00:02.000000+00:00 mx postfix/submission/smtpd[200]: warning: unknown[127.0.2.9]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=$gname",
        "2026-03-12T09:10:00.000000+00:00 mx postfix/submission/smtpd[201]: warning: unknown[127.0.4.1]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=$gname");
    ($st, $out, $err) = run_cmd([fumidai(), 'replay', '--no-progress', '-c', $gconf, "$dir/geo.log"]);
    is($st, 0, 'geo: replay') or diag $err;
    ($st, $out) = run_cmd([fumidai(), 'history', '-c', $gconf, '--since', '2026-03-12',
        '--until', '2026-03-13', '--json', '--logins', $gname]);
    my @ru = grep { /"type":"rollup"/ } split /\n/, $out;
    is($ru[0], '{"type":"rollup","day":"2026-03-12","result":"ok","ip":"127.0.1.5","service":"imap",'
        . '"count":2,"first":"2026-03-12T08:00:00Z","last":"2026-03-12T08:05:00Z","mech":"PLAIN",'
        . '"cc":"JP","city":"Tokyo","asn":64501,"asorg":"Tokyo Test Net"}',
        'geo: a roll-up of logins with its place');
    is($ru[1], '{"type":"rollup","day":"2026-03-12","result":"fail","ip":"127.0.2.9","service":"submission",'
        . '"count":2,"first":"2026-03-12T09:00:00Z","last":"2026-03-12T09:00:02Z","mech":"LOGIN","host":"mx",'
        . '"reason":"UGFzc3dvcmQ6","cc":"US","city":"New York","asn":64502,"asorg":"New York Test Net"}',
        'geo: failures have a place too');
    like($ru[2], qr/"ip":"127\.0\.4\.1".*"reason":"UGFzc3dvcmQ6","asn":64505,"asorg":"No Place Net"\}$/,
        'geo: an address with an ASN only');
    my %g = split /\n/, $r->cli('HGETALL', 'fmg:{g}:geo:20260312');
    is_deeply(\%g, { 'ok:JP' => 2, 'fail:US' => 2, 'asn_fail:64502' => 2, 'asn_fail:64505' => 1 },
        'geo: the day\'s logins by country and failures by country and ASN');
    is_deeply({ split /\n/, $r->cli('ZRANGE', 'fmg:{g}:top_ip_fail:20260312', 0, -1, 'WITHSCORES') },
        { '127.0.2.9' => 2, '127.0.4.1' => 1 }, 'geo: the day\'s attacking addresses');
}

# ---- live: a real Postfix + Dovecot (t/lib/MailStack.pm) ----
# A client polling IMAP three times from one address, an attacker failing
# over POP3 and SMTP AUTH, and a message to two recipients, one of which
# bounces, with its Subject logged by header_checks (/^Subject:/ INFO).
# The log is replayed into a fresh redis-server; the records are compared
# with what the parser reads from the same lines.
SKIP: {
    my $why = MailStack->skip_reason;
    skip "live stack: $why", 21 if defined $why;
    my $ms = MailStack->new;
    my %pw = map { @$_ } $ms->users;
    my ($alice, $bob) = map { "$_\@fumidai.test" } qw(alice bob);
    my $ext = $ms->external;
    my $hc = $ms->postfix_config_dir . '/header_checks';
    write_file($hc, "/^Subject:/ INFO\n");
    $ms->postfix_tweak(main => { header_checks => "regexp:$hc" });
    $ms->start;
    ok(scalar $ms->imap_login('127.0.0.41', $alice, $pw{$alice}), "poll $_: IMAP login")
        for 1 .. 3;
    ok(!$ms->pop3_login('127.0.0.66', $bob, 'wrong'), "wrong POP3 password $_") for 1 .. 2;
    my $f = $ms->smtp_auth_fail('127.0.0.66', $bob, 'wrong');
    my $s = $ms->smtp_auth_send('127.0.0.42', $alice, $pw{$alice}, $alice,
        [ "friend\@$ext", "bounce-x\@$ext" ], 'Quarterly report');
    my $q = $s->{queue_id} // 'none';
    ok($s->{sent}, 'a message to two recipients');
    ok($ms->wait_for_log(qr/\Q$q\E: removed/, 60), 'it left the queue');
    $ms->stop(copy_log_to => "$dir/live.log");
    undef $ms;

    mkdir "$dir/$_" for qw(live-redis live-redis3);
    my $r2 = FM::start_redis("$dir/live-redis");
    my $c2 = write_config("$dir/live.conf", state_dir => "$dir/state-live", redis => $r2->sock);
    ($st, $out, $err) = run_cmd([fumidai(), 'replay', '--no-progress', '-c', $c2, "$dir/live.log"]);
    is($st, 0, 'live: replay') or diag $err;
    ($st, $out) = run_cmd([fumidai(), 'parse', "$dir/live.log"]);
    my @ev = map { decode_json($_) } grep { /^\{/ } split /\n/, $out;
    my $secs = sub { $_[0] =~ s/\.\d+Z\z/Z/r };
    my @polls = map { $secs->($_->{time}) } grep { $_->{kind} eq 'login_ok'
        && ($_->{ip} // '') eq '127.0.0.41' } @ev;
    my @pops = map { $secs->($_->{time}) } grep { $_->{kind} eq 'login_fail'
        && ($_->{service} // '') eq 'pop3' && !$_->{origin} } @ev;
    my ($sub) = grep { $_->{kind} eq 'msg_submit' && $_->{qid} eq $q } @ev;
    my ($subj) = grep { $_->{kind} eq 'msg_id' && $_->{qid} eq $q && $_->{subject} } @ev;
    is($subj && $subj->{subject}, 'Quarterly report', 'the parser reads the Subject cleanup logged');
    my $lday = substr($polls[0] // '', 0, 10);
    my @lr = ('--since', "${lday}T00:00:00Z", '--until', "${lday}T23:59:59Z");
    my $h2 = sub { (run_cmd([fumidai(), 'history', '-c', $c2, @lr, '--json', @_]))[1] };

    my %ru = map { my $j = decode_json($_); ("$j->{result}|$j->{ip}|$j->{service}" => $j) }
        grep { /"type":"rollup"/ } split /\n/, $h2->($alice);
    is_deeply($ru{'ok|127.0.0.41|imap'}, { type => 'rollup', day => $lday, result => 'ok',
        ip => '127.0.0.41', service => 'imap', count => 3, first => $polls[0],
        last => $polls[-1], mech => 'PLAIN' },
        'alice: three polls, one roll-up with its count, first and last');
    is(scalar(@polls), 3, 'the parser saw the three polls');
    %ru = map { my $j = decode_json($_); ("$j->{result}|$j->{ip}|$j->{service}" => $j) }
        grep { /"type":"rollup"/ } split /\n/, $h2->($bob);
    is_deeply($ru{'fail|127.0.0.66|pop3'}, { type => 'rollup', day => $lday, result => 'fail',
        ip => '127.0.0.66', service => 'pop3', count => 2, first => $pops[0],
        last => $pops[-1], mech => 'PLAIN', reason => 'Password mismatch' },
        'bob: two POP3 failures, one roll-up');
    is($ru{'fail|127.0.0.66|submission'}{count}, 1, 'bob: the SMTP AUTH failure');

    my ($m) = map { decode_json($_) } grep { /"type":"message"/ } split /\n/, $h2->('--sent', $alice);
    my $t = $secs->($sub->{time});
    # (the two deliveries run in parallel: in log order, whichever came first)
    $_->{time} = 'T', $_->{relay} =~ s/:\d+\z/:PORT/ for @{$m->{rcpt} // []};
    $m->{rcpt} = [ sort { $a->{to} cmp $b->{to} } @{$m->{rcpt} // []} ];
    is_deeply($m, { type => 'message', time => $t, qid => $q, msgid => $m->{msgid},
        from => $alice, subject => 'Quarterly report', size => $m->{size}, nrcpt => 2,
        ip => '127.0.0.42', service => 'submission', host => 'mx',
        login => { time => $t, ip => '127.0.0.42', service => 'submission', mech => 'PLAIN' },
        rcpt => [
            { to => "bounce-x\@$ext", status => 'bounced', time => 'T',
              relay => '127.0.0.1[127.0.0.1]:PORT', dsn => '5.1.1' },
            { to => "friend\@$ext", status => 'sent', time => 'T',
              relay => '127.0.0.1[127.0.0.1]:PORT', dsn => '2.0.0' },
        ] }, 'the message: Subject, the login that sent it, each recipient\'s final status')
        or diag explain $m;
    ok($m->{size} > 0 && "<$m->{msgid}>" eq $s->{msgid}, 'its size and Message-ID');

    # the dashboard's indices of the day
    (my $d8 = $lday) =~ s/-//g;
    is($r2->cli('ZSCORE', "fm:{g}:top_acct_fail:$d8", $bob) + 0, 3, 'top_acct_fail: bob, 3 attempts');
    is($r2->cli('ZSCORE', "fm:{g}:top_ip_fail:$d8", '127.0.0.66') + 0, 3, 'top_ip_fail: the attacker');
    is($r2->cli('ZSCORE', "fm:{g}:top_acct_ok:$d8", $alice) + 0, 4, 'top_acct_ok: alice, 4 logins');

    # the same log again, and into another fresh Redis: the same records
    my $dump = sub {
        my ($r) = @_;
        my %d;
        for my $k (split /\n/, $r->cli('--scan', '--pattern', '*')) {
            my $ty = $r->cli('TYPE', $k);
            chomp $ty;
            $d{$k} = $ty eq 'hash' ? { split /\n/, $r->cli('HGETALL', $k) }
                : $ty eq 'list' ? $r->cli('LRANGE', $k, 0, -1)
                : $ty eq 'zset' ? { split /\n/, $r->cli('ZRANGE', $k, 0, -1, 'WITHSCORES') }
                : $ty eq 'set' ? join(',', sort split /\n/, $r->cli('SMEMBERS', $k))
                : $ty eq 'string' ? $r->cli('GET', $k) : $ty;
        }
        return \%d;
    };
    my $first = $dump->($r2);
    run_cmd([fumidai(), 'replay', '--no-progress', '-c', $c2, "$dir/live.log"]);
    is_deeply($dump->($r2), $first, 'replaying the log again changes nothing');
    my $r3 = FM::start_redis("$dir/live-redis3");
    my $c3 = write_config("$dir/live3.conf", state_dir => "$dir/state-live3", redis => $r3->sock);
    run_cmd([fumidai(), 'replay', '--no-progress', '-c', $c3, "$dir/live.log"]);
    my $again = $dump->($r3);
    # (HyperLogLog and detector state are binary: compared by key only)
    delete @{$_}{grep { /:det$|_hll:|:(?:acct|ip)_(?:ok|fail):/ } keys %$_} for $first, $again;
    is_deeply($again, $first, 'into a fresh Redis: identical records');
    $r2->stop;
    $r3->stop;
}

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
