#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# incident.t - `fumidai incident`: the evidence bundle of an account whose
# name is `<script>...`: every file written, the manifest verifies with
# sha256sum -c (and fails once a file is changed), the JSON files parse,
# the summary's counts are exact, alerts.json holds this account's alerts
# in range only (their latest records), and the HTML report shows the name
# as text, never as markup.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use lib "$ENV{FM_SRCDIR}/t/lib";
use FM qw(fumidai run_cmd tmpdir write_file read_file write_config have_prog);

plan skip_all => 'redis-server is not installed' unless have_prog('redis-server');
plan skip_all => 'redis-cli is not installed' unless have_prog('redis-cli');
plan skip_all => 'sha256sum is not installed' unless have_prog('sha256sum');

my $dir = tmpdir();
my $r = FM::start_redis($dir);
my $conf = write_config("$dir/fm.conf", state_dir => "$dir/state", redis => $r->sock);
my $name = '<script>alert("x")</script>@example.org';
my $log = "$dir/mail.log";
write_file($log, <<"EOF");
2026-03-10T09:00:00.000000+00:00 mx postfix/submission/smtpd[100]: connect from unknown[192.0.2.10]
2026-03-10T09:00:01.000000+00:00 mx postfix/submission/smtpd[100]: 1A2B3C4D5E: client=unknown[192.0.2.10], sasl_method=PLAIN, sasl_username=$name
2026-03-10T09:00:01.000000+00:00 mx postfix/cleanup[101]: 1A2B3C4D5E: message-id=<m1\@example.org>
2026-03-10T09:00:02.000000+00:00 mx postfix/qmgr[102]: 1A2B3C4D5E: from=<a\@example.org>, size=1200, nrcpt=2 (queue active)
2026-03-10T09:00:03.000000+00:00 mx postfix/submission/smtpd[100]: disconnect from unknown[192.0.2.10] ehlo=1 auth=1 mail=1 rcpt=2 data=1 quit=1 commands=7
2026-03-10T12:00:00.000000+00:00 mx postfix/submission/smtpd[104]: warning: unknown[198.51.100.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=$name
2026-03-10T12:00:05.000000+00:00 mx postfix/submission/smtpd[104]: warning: unknown[198.51.100.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=$name
2026-03-11T10:00:00.000000+00:00 dovecot: imap-login: Login: user=<$name>, method=PLAIN, rip=192.0.2.20, lip=192.0.2.1, mpid=2, session=<abd>
2026-03-11T10:05:00.000000+00:00 mx postfix/submission/smtpd[105]: 2B3C4D5E6F: client=unknown[192.0.2.20], sasl_method=PLAIN, sasl_username=$name
2026-03-11T10:05:00.000000+00:00 mx postfix/cleanup[101]: 2B3C4D5E6F: message-id=<m2\@example.org>
2026-03-11T10:05:01.000000+00:00 mx postfix/qmgr[102]: 2B3C4D5E6F: from=<a\@example.org>, size=300, nrcpt=3 (queue active)
2026-03-20T10:00:00.000000+00:00 dovecot: imap-login: Login: user=<$name>, method=PLAIN, rip=192.0.2.99, lip=192.0.2.1, mpid=3, session=<abe>
EOF
my ($st, $out, $err) = run_cmd([fumidai(), 'replay', '--no-progress', '-c', $conf, $log]);
is($st, 0, 'replay') or diag $err;

# Alerts, by hand in the documented layout (doc/detection.md): this
# account's in range (its latest record in the hash), another account's,
# and this account's from before the range.
my $json = JSON::PP->new->canonical;
my $G = 'fm:{g}';
sub alert {
    my (%o) = @_;
    return $json->encode({ id => $o{id}, kind => $o{kind}, severity => 'medium',
        account => $o{account}, ip => '198.51.100.7', net => '', time => $o{first},
        first => $o{first}, last => $o{last}, until => $o{last}, count => $o{count},
        summary => "$o{kind} for $o{account}", evidence => {} });
}
my @alerts = (
    [ 'a1', 'brute_force', $name, '2026-03-10T12:00:00Z', '2026-03-10T12:00:05Z', 1, 5 ],
    [ 'a2', 'brute_force', 'other@example.org', '2026-03-10T12:00:00Z', '2026-03-10T12:00:05Z', 1, 1 ],
    [ 'a3', 'new_country', $name, '2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z', 1, 1 ],
);
for my $a (@alerts) {
    my ($id, $kind, $acct, $first, $last, $c0, $c1) = @$a;
    my $j0 = alert(id => $id, kind => $kind, account => $acct, first => $first,
        last => $first, count => $c0);
    my $j1 = alert(id => $id, kind => $kind, account => $acct, first => $first,
        last => $last, count => $c1);
    $r->cli('XADD', "$G:alerts", '*', 'id', $id, 'kind', $kind, 'json', $j0);
    $r->cli('HSET', "$G:alert:$id", 'json', $j1, 'version', 2);
}

my $out_dir = "$dir/bundle";
($st, $out, $err) = run_cmd([fumidai(), 'incident', '-c', $conf, '--since', '2026-03-10',
    '--until', '2026-03-12', '--out', $out_dir, $name]);
is($st, 0, 'incident: exit 0') or diag $err;
like($out, qr/2 messages, 1 alerts/, 'it says what it wrote');

my @files = qw(alerts.json logins.csv logins.json messages.csv messages.json report.html summary.json);
ok(-f "$out_dir/$_", "$_ written") for @files, 'MANIFEST.sha256';
my $man = read_file("$out_dir/MANIFEST.sha256");
is_deeply([map { (split /  /)[1] } split /\n/, $man], \@files, 'the manifest lists every file');
($st, $out, $err) = run_cmd(['sh', '-c', "cd '$out_dir' && sha256sum -c MANIFEST.sha256"]);
is($st, 0, 'sha256sum -c verifies the bundle') or diag "$out$err";

my $sum = decode_json(read_file("$out_dir/summary.json"));
is($sum->{account}, $name, 'summary: the account, raw');
is_deeply([@$sum{qw(logins_ok failed_attempts messages recipients bytes alerts)}],
    [3, 2, 2, 5, 1500, 1], 'summary: logins, failures, messages, recipients, bytes, alerts');
is_deeply([@$sum{qw(first_login last_login first_failure last_failure)}],
    ['2026-03-10T09:00:01.000000Z', '2026-03-11T10:05:00.000000Z',
     '2026-03-10T12:00:00.000000Z', '2026-03-10T12:00:05.000000Z'], 'summary: first and last');
is_deeply($sum->{login_addresses}, ['192.0.2.10', '192.0.2.20'], 'summary: login addresses');
is_deeply($sum->{failure_addresses}, ['198.51.100.7'], 'summary: failure addresses');
is_deeply($sum->{alert_kinds}, ['brute_force'], 'summary: alert kinds');

my $al = decode_json(read_file("$out_dir/alerts.json"));
is(scalar(@$al), 1, 'alerts.json: this account\'s alert in range only');
is_deeply([@{$al->[0]}{qw(id count last)}], ['a1', 5, '2026-03-10T12:00:05Z'],
    'alerts.json: its latest record');
my $lg = decode_json(read_file("$out_dir/logins.json"));
is(scalar(grep { $_->{type} eq 'login' } @$lg), 5, 'logins.json: 5 login records');
is(scalar(grep { $_->{type} eq 'rollup' } @$lg), 4, 'logins.json: 4 roll-ups');
my $ms = decode_json(read_file("$out_dir/messages.json"));
is_deeply([map { $_->{qid} } @$ms], [qw(1A2B3C4D5E 2B3C4D5E6F)], 'messages.json: both messages');
like(read_file("$out_dir/messages.csv"), qr/\Atype,time,host,.*\r\n(message,[^\r]*\r\n){2}\z/s,
    'messages.csv: header and two rows');

my $html = read_file("$out_dir/report.html");
like($html, qr/<h1>Incident report: account <code>&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;\@example\.org<\/code><\/h1>/,
    'report: the name escaped, as text');
unlike($html, qr/<script/i, 'report: no script element');
like($html, qr/<td>brute_force<\/td>/, 'report: the alert');
like($html, qr/<tr><th>Messages sent<\/th><td>2<\/td><\/tr>/, 'report: the messages count');

# a changed file no longer verifies
write_file("$out_dir/summary.json", read_file("$out_dir/summary.json") . ' ');
($st) = run_cmd(['sh', '-c', "cd '$out_dir' && sha256sum -c MANIFEST.sha256"]);
isnt($st, 0, 'a changed file fails the manifest');

# an account with nothing: still a bundle
($st, $out, $err) = run_cmd([fumidai(), 'incident', '-c', $conf, '--since', '2026-03-10',
    '--out', "$dir/empty", 'nobody@example.org']);
is($st, 0, 'an account with nothing: exit 0') or diag $err;
is(decode_json(read_file("$dir/empty/summary.json"))->{messages}, 0, 'and an empty summary');

($st) = run_cmd([fumidai(), 'incident', '-c', $conf, '--out', "$dir/x", 'a']);
is($st, 2, 'without --since: exit 2');
($st) = run_cmd([fumidai(), 'incident', '-c', $conf, '--since', '2026-03-10', 'a']);
is($st, 2, 'without --out: exit 2');
done_testing();
