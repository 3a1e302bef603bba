#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# incident.t - `fumidai incident`: the evidence bundle of an account.
#
# Part 1, the real Postfix + Dovecot capture (t/data/real/mail.log, its
# README): alice's bundle, with the result of a scheduled op25b audit that
# `fumidai run` ran against a loopback port where something listens (port 25
# "open": the audit fails) in force.  The summary's numbers are exact:
# logins, failures, first and last suspicious event (the attacker's two
# failures), addresses, messages, recipients, recipient domains and delivery
# outcomes (when the history records recipients), and the audit files.
#
# Part 2, a small log with years and a test GeoIP database
# (t/lib/mkmmdb.pl): an account named `<script>alert("x")</script>@...`
# that logged in from Tokyo before the range and, in the range, is attacked
# from New York and then logs in from there: new address, country and ASN,
# alerts in range only, the name escaped in every report; an owner's
# account with nothing suspicious says so; the manifest verifies with
# sha256sum -c and fails once a file changes; both HTML reports are
# well-formed (tags balanced, only the few elements the writer uses, every
# `<` of text escaped) and hold the key numbers.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use lib "$ENV{FM_SRCDIR}/t/lib";
use FM qw(fumidai run_cmd tmpdir write_file read_file write_config have_prog);

plan skip_all => 'redis-server is not installed' unless have_prog('redis-server');
plan skip_all => 'redis-cli is not installed' unless have_prog('redis-cli');
plan skip_all => 'sha256sum is not installed' unless have_prog('sha256sum');

# the test GeoIP databases place loopback addresses
$ENV{FUMIDAI_GEO_ALLOW_LOOPBACK} = 1;
my $dir = tmpdir();
mkdir "$dir/geo" or die "$dir/geo: $!";
my ($gst, $gout, $gerr) = run_cmd([$^X, FM::srcdir() . '/t/lib/mkmmdb.pl', "$dir/geo"]);
plan skip_all => 'MaxMind::DB::Writer is not installed (libmaxmind-db-writer-perl)'
    if $gst == 2 && $gerr =~ /not installed/;
die "mkmmdb.pl: $gerr" if $gst;

my @FILES = qw(alerts.csv alerts.json audits.csv audits.json logins.csv logins.json
    messages.csv messages.json report.en.html report.ja.html summary.csv summary.json);

# bundle - fumidai incident ... into $out; its exit status and stdout
sub bundle {
    my ($conf, $out, @args) = @_;
    my ($st, $o, $e) = run_cmd([fumidai(), 'incident', '-c', $conf, '--out', $out, @args]);
    diag $e if $st;
    return ($st, $o);
}
sub jfile { decode_json(read_file("$_[0]/$_[1]")) }

# well_formed - the report's markup: a doctype, then tags of the writer's
# few elements only, balanced; text holds no raw < or >, and every & starts
# one of the entities the writer uses.  Returns '' or what is wrong.
my %VOID = map { $_ => 1 } qw(meta br);
my %TAGS = map { $_ => 1 } qw(html head meta title style body h1 h2 h3 p div code b
    table tr th td ol li br);
sub well_formed {
    my ($h) = @_;
    $h =~ s/\A<!DOCTYPE html>\n// or return 'no doctype';
    $h =~ s{<style>[^<]*</style>}{<style></style>};
    my @stack;
    while ($h =~ /\G([^<]*)(<[^>]*>|\z)/gc) {
        my ($text, $tag) = ($1, $2);
        return "raw > in text: $text" if $text =~ />/;
        return "bad entity in: $text" if $text =~ /&(?!(?:amp|lt|gt|quot|#39);)/;
        last if $tag eq '';
        $tag =~ m{\A<(/?)([a-z][a-z0-9]*)((?: [a-z-]+="[^"<>&]*")*)>\z}
            or return "bad tag $tag";
        my ($close, $name) = ($1, $2);
        return "element $name" unless $TAGS{$name};
        next if $VOID{$name};
        if ($close) {
            my $open = pop @stack // return "stray </$name>";
            return "</$name> closes <$open>" if $open ne $name;
        } else {
            push @stack, $name;
        }
    }
    return pos($h) == length($h) ? (@stack ? "unclosed @stack" : '') : 'trailing junk';
}

# manifest_ok - the manifest lists every file and sha256sum -c verifies it
sub manifest_ok {
    my ($out, $what) = @_;
    my $man = read_file("$out/MANIFEST.sha256");
    is_deeply([map { (split /  /)[1] } split /\n/, $man], \@FILES,
        "$what: the manifest lists every file");
    my ($st, $o, $e) = run_cmd(['sh', '-c', "cd '$out' && sha256sum -c MANIFEST.sha256"]);
    is($st, 0, "$what: sha256sum -c verifies the bundle") or diag "$o$e";
}

# reports_ok - both reports well-formed, with these numbers in their cells
sub reports_ok {
    my ($out, $what, %n) = @_;
    for my $lang (qw(en ja)) {
        my $h = read_file("$out/report.$lang.html");
        is(well_formed($h), '', "$what: report.$lang.html is well-formed");
        like($h, qr/<html lang="$lang">/, "$what: report.$lang.html language");
        unlike($h, qr/<script|\b(?:src|href)=/i, "$what: report.$lang.html: no script, nothing fetched");
        is_deeply({ map { $_ => ($h =~ /<td id="$_">(\d+)<\/td>/)[0] } keys %n }, \%n,
            "$what: report.$lang.html numbers");
    }
}

my $r = FM::start_redis($dir);
my $listener = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0,
    Proto => 'tcp', ReuseAddr => 1) or die "listen: $!";
my $port25 = $listener->sockport;
my $conf = write_config("$dir/fm.conf", state_dir => "$dir/state", redis => $r->sock,
    inputs => ["$dir/empty.log"], extra => <<"EOF");
audits = (
  { name = "gw"; type = "op25b"; targets = [ "127.0.0.1:$port25" ];
    args = [ "--timeout", "2000" ]; every = 3600; }
);
EOF
write_file("$dir/empty.log", '');

# ---- Part 1: the real capture ----------------------------------------------
my $real = "$ENV{FM_SRCDIR}/t/data/real/mail.log";
my ($st, $out, $err) = run_cmd([fumidai(), 'replay', '--no-progress', '-c', $conf, $real]);
is($st, 0, 'replay of the real capture') or diag $err;
($st, $out) = run_cmd([fumidai(), 'parse', $real]);
my ($day) = $out =~ /"time":"(\d{4}-\d\d-\d\d)T/ or BAIL_OUT('no time in parse output');

# one scheduled audit run, by the daemon, stored as it stores them
$ENV{FUMIDAI_AUDIT_EVERY} = 2;
my $pid = FM::spawn_fumidai(['run', '-f', '-c', $conf], "$dir/run.out", "$dir/run.err");
delete $ENV{FUMIDAI_AUDIT_EVERY};
my $deadline = time + 60;
sleep 0.2 while time < $deadline && $r->cli('LLEN', 'fm:{g}:audit_hist:gw') !~ /^[1-9]/;
is(FM::stop_pid($pid), 0, 'fumidai run ran the audit and stopped');
my ($run) = map { decode_json($_) } grep { length } split /\n/,
    $r->cli('LRANGE', 'fm:{g}:audit_hist:gw', -1, -1);
is($run->{verdict}, 'fail', 'the audit found port 25 open') or diag read_file("$dir/run.err");

my $b1 = "$dir/alice";
($st, $out) = bundle($conf, $b1, '--since', "${day}T00:00:00Z", 'alice@fumidai.test');
is($st, 0, 'alice: exit 0');
like($out, qr/: 4 logins, 2 failed attempts, 3 messages, 0 alerts, 2 suspicious events$/m,
    'alice: it says what it found');
ok(-f "$b1/$_", "alice: $_ written") for @FILES, 'MANIFEST.sha256';
manifest_ok($b1, 'alice');

my $s = jfile($b1, 'summary.json');
is($s->{account}, 'alice@fumidai.test', 'summary: the account');
is_deeply([@$s{qw(logins_ok failed_attempts messages recipients bytes alerts audits)}],
    [4, 2, 3, 6, 1194, 0, 1],
    'summary: logins, failures, messages, recipients, bytes, alerts, audits');
is_deeply([@$s{qw(first_login last_login first_failure last_failure)}],
    ["${day}T08:57:57.000000Z", "${day}T08:58:12.000000Z",
     "${day}T08:58:00.000000Z", "${day}T08:58:10.000000Z"], 'summary: first and last');
ok($s->{suspicious}, 'summary: suspicious');
is_deeply([map { [@$_{qw(kind what ip count first last)}] } @{$s->{suspicious_events}}],
    [['failed_login', 'submission', '127.0.0.66', 1, "${day}T08:58:00.000000Z",
      "${day}T08:58:00.000000Z"],
     ['failed_login', 'imap', '127.0.0.66', 1, "${day}T08:58:10.000000Z",
      "${day}T08:58:10.000000Z"]],
    'summary: the suspicious events, the attacker\'s two failures');
is($s->{first_suspicious}{first}, "${day}T08:58:00.000000Z", 'summary: first suspicious event');
is_deeply([@{$s->{last_suspicious}}{qw(what ip first)}],
    ['imap', '127.0.0.66', "${day}T08:58:10.000000Z"], 'summary: last suspicious event');
is_deeply([map { [@$_{qw(ip ok fail messages new)}] } @{$s->{addresses}}],
    [['127.0.0.10', 3, 0, 3, JSON::PP::false], ['127.0.0.66', 0, 2, 0, JSON::PP::false],
     ['127.0.0.31', 1, 0, 0, JSON::PP::false]], 'summary: addresses with counts');
is_deeply([$s->{countries}, $s->{asns}], [[], []], 'summary: no places without GeoIP');
my $ms = jfile($b1, 'messages.json');
is_deeply([map { $_->{qid} } @$ms], [qw(8C03FA72A66 21D24A721B7 E1D0CA72041)],
    'messages.json: the three messages');
if (grep { $_->{rcpt} } @$ms) {    # the history records recipients
    is_deeply($s->{recipient_domains}, [{ domain => 'example.net', count => 3 },
        { domain => 'fumidai.test', count => 3 }], 'summary: recipient domains');
    is_deeply($s->{delivery}, [{ status => 'sent', count => 5 },
        { status => 'bounced', count => 1 }], 'summary: delivery outcomes');
} else {
    is_deeply($s->{recipient_domains}, [], 'summary: no recipient recorded, no domain');
    is_deeply($s->{delivery}, [{ status => 'unknown', count => 6 }],
        'summary: delivery outcomes not recorded');
}

my @csv = split /\r\n/, read_file("$b1/summary.csv");
my $rcpt_rows = (grep { $_->{rcpt} } @$ms)
    ? qq(domain,"example.net","",,,,3,,,\ndomain,"fumidai.test","",,,,3,,,\n) .
      qq(delivery,"sent","",,,,5,,,\ndelivery,"bounced","",,,,1,,,\n)
    : qq(delivery,"unknown","",,,,6,,,\n);
is(join("\n", @csv) . "\n", <<"EOF" . $rcpt_rows, 'summary.csv: every answer');
section,key,detail,ok,fail,messages,count,first,last,new
total,"account","alice\@fumidai.test",4,2,3,,${day}T08:57:57.000000Z,${day}T08:58:12.000000Z,
total,"recipients",,,,,6,,,
total,"suspicious","suspicious events were found",,,,2,${day}T08:58:00.000000Z,,
suspicious,"failed_login","submission 127.0.0.66",,,,1,${day}T08:58:00.000000Z,${day}T08:58:00.000000Z,
suspicious,"failed_login","imap 127.0.0.66",,,,1,${day}T08:58:10.000000Z,${day}T08:58:10.000000Z,
address,"127.0.0.10","",3,0,3,,${day}T08:57:57.000000Z,${day}T08:58:12.000000Z,
address,"127.0.0.66","",0,2,0,,${day}T08:58:00.000000Z,${day}T08:58:10.000000Z,
address,"127.0.0.31","",1,0,0,,${day}T08:58:09.000000Z,${day}T08:58:09.000000Z,
EOF

my $au = jfile($b1, 'audits.json');
is(scalar(@$au), 1, 'audits.json: the one audit');
is_deeply([@{$au->[0]}{qw(name type target)}], ['gw', 'op25b', "127.0.0.1:$port25"],
    'audits.json: name, type, target');
is_deeply([map { [@$_{qw(in_range verdict status findings)}] } @{$au->[0]{runs}}],
    [[JSON::PP::true, 'fail', 1, ["port 25 open: 127.0.0.1:$port25"]]],
    'audits.json: the run in force, with its findings');
is($au->[0]{output}{verdict}, 'fail', 'audits.json: the whole output of the latest run');
is_deeply($au->[0]{latest}, { map { $_ => $au->[0]{runs}[0]{$_} } qw(time verdict status findings error) },
    'audits.json: the latest run');
like(read_file("$b1/audits.csv"),
    qr/\Aname,type,target,time,in_range,verdict,status,findings,error\r\n"gw","op25b","127\.0\.0\.1:$port25",\d{4}-\d\d-\d\dT[\d:]+Z,true,"fail","1","port 25 open: 127\.0\.0\.1:$port25",\r\n\z/,
    'audits.csv: header and the run');
is_deeply(jfile($b1, 'alerts.json'), [], 'alerts.json: none');
is(read_file("$b1/alerts.csv"), "id,first,last,kind,severity,count,ip,account,summary\r\n",
    'alerts.csv: the header');
reports_ok($b1, 'alice', 'n-logins-ok' => 4, 'n-failed' => 2, 'n-messages' => 3,
    'n-recipients' => 6, 'n-alerts' => 0, 'n-suspicious' => 2);
my $en = read_file("$b1/report.en.html");
like($en, qr/<td>gw \(op25b 127\.0\.0\.1:$port25\)<\/td><td>[^<]+<\/td><td>fail<\/td>/,
    'report: the audit result');
like($en, qr/First suspicious event: \Q${day}T08:58:00.000000Z\E: failed logins <b>submission<\/b>, address 127\.0\.0\.66/,
    'report.en: the first suspicious event');
like(read_file("$b1/report.ja.html"), qr/最初の不審なイベント: \Q${day}T08:58:00.000000Z\E: ログイン失敗/,
    'report.ja: the first suspicious event');

# ---- Part 2: places, alerts, an attacker-chosen name, a clean account ------
my $conf2 = write_config("$dir/fm2.conf", state_dir => "$dir/state2", redis => $r->sock,
    prefix => 'fm2:', extra => <<"EOF");
geoip = { city = "$dir/geo/city-maxmind.mmdb"; asn = "$dir/geo/asn.mmdb"; };
EOF
my $name = '<script>alert("x")</script>@example.org';
my $own = 'owner@example.org';
# quotes, markup, a backslash and a right-to-left override (U+202E, as
# UTF-8 bytes): fumidai reads only valid UTF-8 lines
my $bad = "q\"'&<i>\\u00e9\xe2\x80\xae\@example.org";
my $log = "$dir/mail.log";
write_file($log, <<"EOF");
2026-03-01T08:00:00.000000+00:00 dovecot: imap-login: Login: user=<$name>, method=PLAIN, rip=127.0.1.10, lip=192.0.2.1, mpid=1, session=<ab0>
2026-03-01T08:00:00.000000+00:00 dovecot: imap-login: Login: user=<$own>, method=PLAIN, rip=127.0.1.20, lip=192.0.2.1, mpid=1, session=<ab1>
2026-03-10T09:00:00.000000+00:00 mx postfix/submission/smtpd[100]: connect from unknown[127.0.1.10]
2026-03-10T09:00:01.000000+00:00 mx postfix/submission/smtpd[100]: 1A2B3C4D5E: client=unknown[127.0.1.10], sasl_method=PLAIN, sasl_username=$name
2026-03-10T09:00:01.000000+00:00 mx postfix/cleanup[101]: 1A2B3C4D5E: message-id=<m1\@example.org>
2026-03-10T09:00:02.000000+00:00 mx postfix/qmgr[102]: 1A2B3C4D5E: from=<a\@example.org>, size=1200, nrcpt=2 (queue active)
2026-03-10T09:00:03.000000+00:00 mx postfix/submission/smtpd[100]: disconnect from unknown[127.0.1.10] ehlo=1 auth=1 mail=1 rcpt=2 data=1 quit=1 commands=7
2026-03-10T10:00:00.000000+00:00 mx postfix/submission/smtpd[103]: 0A1B2C3D4E: client=unknown[127.0.1.20], sasl_method=PLAIN, sasl_username=$own
2026-03-10T10:00:00.000000+00:00 mx postfix/cleanup[101]: 0A1B2C3D4E: message-id=<o1\@example.org>
2026-03-10T10:00:01.000000+00:00 mx postfix/qmgr[102]: 0A1B2C3D4E: from=<$own>, size=900, nrcpt=1 (queue active)
2026-03-10T12:00:00.000000+00:00 mx postfix/submission/smtpd[104]: warning: unknown[127.0.2.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=$name
2026-03-10T12:00:05.000000+00:00 mx postfix/submission/smtpd[104]: warning: unknown[127.0.2.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=$name
2026-03-11T10:00:00.000000+00:00 dovecot: imap-login: Login: user=<$name>, method=PLAIN, rip=127.0.2.7, lip=192.0.2.1, mpid=2, session=<abd>
2026-03-11T10:05:00.000000+00:00 mx postfix/submission/smtpd[105]: 2B3C4D5E6F: client=unknown[127.0.2.7], sasl_method=PLAIN, sasl_username=$name
2026-03-11T10:05:00.000000+00:00 mx postfix/cleanup[101]: 2B3C4D5E6F: message-id=<m2\@example.org>
2026-03-11T10:05:01.000000+00:00 mx postfix/qmgr[102]: 2B3C4D5E6F: from=<a\@example.org>, size=300, nrcpt=3 (queue active)
2026-03-10T13:00:00.000000+00:00 mx postfix/submission/smtpd[106]: warning: unknown[127.0.2.8]: SASL PLAIN authentication failed: , sasl_username=$bad
2026-03-20T10:00:00.000000+00:00 dovecot: imap-login: Login: user=<$name>, method=PLAIN, rip=127.0.3.9, lip=192.0.2.1, mpid=3, session=<abe>
EOF
($st, $out, $err) = run_cmd([fumidai(), 'replay', '--no-progress', '-c', $conf2, $log]);
is($st, 0, 'replay') or diag $err;
# Alerts, by hand in the documented layout (doc/detection.md): this
# account's in range (its latest record in the hash), another account's,
# and this account's from before the range.  The detectors' own are left
# to them (the test log is too short for them to have learned a place).
my $json = JSON::PP->new->canonical;
my $G = 'fm2:{g}';
sub alert {
    my (%o) = @_;
    return $json->encode({ id => $o{id}, kind => $o{kind}, severity => 'medium',
        account => $o{account}, ip => '127.0.2.7', net => '', time => $o{first},
        first => $o{first}, last => $o{last}, until => $o{last}, count => $o{count},
        summary => "$o{kind} for $o{account}", evidence => {} });
}
for my $a (['a1', 'brute_force', $name, '2026-03-10T12:00:00Z', '2026-03-10T12:00:05Z', 1, 5],
    ['a2', 'brute_force', 'other@example.org', '2026-03-10T12:00:00Z', '2026-03-10T12:00:05Z', 1, 1],
    ['a3', 'new_country', $name, '2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z', 1, 1]) {
    my ($id, $kind, $acct, $first, $last, $c0, $c1) = @$a;
    $r->cli('XADD', "$G:alerts", '*', 'id', $id, 'kind', $kind, 'json',
        alert(id => $id, kind => $kind, account => $acct, first => $first, last => $first, count => $c0));
    $r->cli('HSET', "$G:alert:$id", 'json', alert(id => $id, kind => $kind, account => $acct,
        first => $first, last => $last, count => $c1), 'version', 2);
}

my $b2 = "$dir/bundle";
($st, $out) = bundle($conf2, $b2, '--since', '2026-03-10', '--until', '2026-03-12', $name);
is($st, 0, 'incident: exit 0');
manifest_ok($b2, 'script name');
$s = jfile($b2, 'summary.json');
is($s->{account}, $name, 'summary: the account, raw');
is_deeply([@$s{qw(logins_ok failed_attempts messages recipients bytes alerts audits)}],
    [3, 2, 2, 5, 1500, 1, 0], 'summary: logins, failures, messages, recipients, bytes, alerts, audits');
is_deeply([@$s{qw(first_login last_login first_failure last_failure)}],
    ['2026-03-10T09:00:01.000000Z', '2026-03-11T10:05:00.000000Z',
     '2026-03-10T12:00:00.000000Z', '2026-03-10T12:00:05.000000Z'], 'summary: first and last');
is_deeply([sort map { "$_->{kind} $_->{what} $_->{ip}" } @{$s->{suspicious_events}}],
    ['alert brute_force 127.0.2.7', 'failed_login submission 127.0.2.7',
     'new_address  127.0.2.7', 'new_asn 64502 ', 'new_country US '],
    'summary: suspicious: the alert, the failures, the new address, country and ASN');
is_deeply([@{$s->{first_suspicious}}{qw(kind first)}], ['alert', '2026-03-10T12:00:00.000000Z'],
    'summary: the first suspicious event');
is($s->{last_suspicious}{last}, '2026-03-11T10:05:00.000000Z', 'summary: the last suspicious event ends last');
is_deeply([map { [@$_{qw(ip ok fail messages new)}] } @{$s->{addresses}}],
    [['127.0.2.7', 2, 2, 1, JSON::PP::true], ['127.0.1.10', 1, 0, 1, JSON::PP::false]],
    'summary: addresses, the new one marked');
is_deeply([map { [$_->{cc}, $_->{new} ? 1 : 0] } sort { $a->{cc} cmp $b->{cc} } @{$s->{countries}}],
    [['JP', 0], ['US', 1]], 'summary: countries, the new one marked');
is_deeply([map { [$_->{asn}, $_->{name}, $_->{new} ? 1 : 0] } sort { $a->{asn} <=> $b->{asn} } @{$s->{asns}}],
    [['64501', 'Tokyo Test Net', 0], ['64502', 'New York Test Net', 1]], 'summary: ASNs');
is_deeply([map { $_->{kind} } @{$s->{alert_kinds}}], ['brute_force'], 'summary: alert kinds');
my $al = jfile($b2, 'alerts.json');
is(scalar(@$al), 1, 'alerts.json: this account\'s alert in range only');
is_deeply([@{$al->[0]}{qw(id count last)}], ['a1', 5, '2026-03-10T12:00:05Z'],
    'alerts.json: its latest record');
like(read_file("$b2/alerts.csv"), qr/\r\n"a1","2026-03-10T12:00:00Z","2026-03-10T12:00:05Z","brute_force","medium","5","127\.0\.2\.7","<script>alert\(""x""\)<\/script>\@example\.org",/,
    'alerts.csv: the alert, quoted');
is_deeply([map { $_->{qid} } @{jfile($b2, 'messages.json')}], [qw(1A2B3C4D5E 2B3C4D5E6F)],
    'messages.json: both messages');
like(read_file("$b2/messages.csv"), qr/\Atype,time,host,.*\r\n(message,[^\r]*\r\n){2}\z/s,
    'messages.csv: header and two rows');
is_deeply(jfile($b2, 'audits.json'), [], 'audits.json: no audit configured or recorded');
reports_ok($b2, 'script name', 'n-logins-ok' => 3, 'n-failed' => 2, 'n-messages' => 2,
    'n-recipients' => 5, 'n-alerts' => 1, 'n-suspicious' => 5);
for my $lang (qw(en ja)) {
    my $h = read_file("$b2/report.$lang.html");
    like($h, qr/<code id="account">&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;\@example\.org<\/code>/,
        "report.$lang: the name escaped, as text");
    like($h, qr/<td>brute_force<\/td>/, "report.$lang: the alert");
    like($h, qr/<tr><td>US<\/td>.*<td>(?:new|新規)<\/td><\/tr>/, "report.$lang: the new country");
}

# a name of quotes, markup, a backslash and a bidi override
my $b3 = "$dir/bad";
($st, $out) = bundle($conf2, $b3, '--since', '2026-03-10', '--until', '2026-03-12', '--hex',
    unpack('H*', $bad));
is($st, 0, 'bad name: exit 0');
manifest_ok($b3, 'bad name');
$s = jfile($b3, 'summary.json');
my $bad_text = $bad;
utf8::decode($bad_text);
is($s->{account}, $bad_text, 'bad name: summary.json holds the name');
is_deeply([@$s{qw(failed_attempts logins_ok)}, $s->{first_suspicious}{ip}], [1, 0, '127.0.2.8'],
    'bad name: its failure');
reports_ok($b3, 'bad name', 'n-failed' => 1, 'n-suspicious' => 1);
for my $lang (qw(en ja)) {
    my $h = read_file("$b3/report.$lang.html");
    ok(utf8::decode($h), "bad name: report.$lang.html is valid UTF-8");
    like($h, qr/<code id="account">q&quot;&#39;&amp;&lt;i&gt;\\x5cu00e9\\xe2\\x80\\xae\@example\.org<\/code>/,
        "bad name: report.$lang.html shows it escaped");
}
# a name of invalid UTF-8 (asked for with --hex; no log line can carry it)
($st, $out) = bundle($conf2, "$dir/inv", '--since', '2026-03-10', '--hex', 'fffe3c623e');
is($st, 0, 'invalid UTF-8 name: exit 0');
is(jfile("$dir/inv", 'summary.json')->{account}, "\xff\xfe<b>", 'invalid UTF-8 name: summary.json');
for my $lang (qw(en ja)) {
    my $h = read_file("$dir/inv/report.$lang.html");
    ok(utf8::decode($h), "invalid UTF-8 name: report.$lang.html is valid UTF-8");
    like($h, qr/<code id="account">\\xff\\xfe&lt;b&gt;<\/code>/, "invalid UTF-8 name: report.$lang.html escapes it");
    is(well_formed($h), '', "invalid UTF-8 name: report.$lang.html is well-formed");
}

# a changed file no longer verifies
write_file("$b2/summary.json", read_file("$b2/summary.json") . ' ');
($st) = run_cmd(['sh', '-c', "cd '$b2' && sha256sum -c MANIFEST.sha256"]);
isnt($st, 0, 'a changed file fails the manifest');

# an owner whose account did nothing suspicious
($st, $out) = bundle($conf2, "$dir/owner", '--since', '2026-03-10', '--until', '2026-03-12', $own);
is($st, 0, 'owner: exit 0');
$s = jfile("$dir/owner", 'summary.json');
is_deeply([@$s{qw(suspicious statement logins_ok messages recipients)}],
    [JSON::PP::false, 'nothing suspicious was found', 1, 1, 1], 'owner: nothing suspicious, one message');
is_deeply([$s->{first_suspicious}, $s->{last_suspicious}, $s->{suspicious_events}],
    [undef, undef, []], 'owner: no suspicious event');
reports_ok("$dir/owner", 'owner', 'n-logins-ok' => 1, 'n-messages' => 1, 'n-suspicious' => 0);
like(read_file("$dir/owner/report.en.html"), qr/<p class="ok" id="verdict">Nothing suspicious was found/,
    'owner: report.en says nothing suspicious was found');
like(read_file("$dir/owner/report.ja.html"), qr/<p class="ok" id="verdict">この期間に不審な点は見つかりませんでした/,
    'owner: report.ja says so too');

# an account with nothing at all: still a bundle
($st, $out) = bundle($conf2, "$dir/empty", '--since', '2026-03-10', 'nobody@example.org');
is($st, 0, 'an account with nothing: exit 0');
$s = jfile("$dir/empty", 'summary.json');
is_deeply([@$s{qw(suspicious messages logins_ok)}], [JSON::PP::false, 0, 0], 'and an empty summary');
manifest_ok("$dir/empty", 'empty');

($st) = run_cmd([fumidai(), 'incident', '-c', $conf2, '--out', "$dir/x", 'a']);
is($st, 2, 'without --since: exit 2');
($st) = run_cmd([fumidai(), 'incident', '-c', $conf2, '--since', '2026-03-10', 'a']);
is($st, 2, 'without --out: exit 2');
$r->stop;
done_testing();
