#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# popsmtp.t - POP-before-SMTP on real Postfix and Dovecot (t/lib/MailStack.pm):
# a POP3 login from 127.0.0.23, then a message that Postfix relays without
# SMTP AUTH from the same address (in mynetworks), is recorded as alice's,
# inferred, with her login as evidence (the record's "login"); two
# accounts that logged in from
# 127.0.0.24 make the newest one's attribution low confidence; a relay from
# 127.0.0.25, where nobody logged in, is nobody's.  The log is replayed into
# a fresh redis-server with correlate.pop_before_smtp set, and once more
# with it off (the default): then nothing is attributed.
#
# Needs root, postfix, dovecot-core, dovecot-imapd, dovecot-pop3d and
# redis-server (skipped otherwise).  No timing is asserted.
use strict;
use warnings;
use Cwd qw(abs_path);
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP;
use Test::More;
use FM qw(run_cmd tmpdir write_config have_prog);
use MailStack;

my $bin = abs_path(FM::fumidai()) // '';
plan skip_all => 'fumidai binary not built' unless -x $bin;
my $why = MailStack->skip_reason;
plan skip_all => $why if defined $why;
plan skip_all => 'redis-server not installed' unless have_prog('redis-server');

my $tmp = tmpdir();
my $ms = MailStack->new;
my %pw = map { @$_ } $ms->users;
my ($alice, $bob, $carol, $dave) = map { "$_\@fumidai.test" }
    qw(alice bob carol dave);
my $ext = $ms->external;
my $permit = 'permit_mynetworks, permit_sasl_authenticated, ' .
    'reject_unauth_destination';
$ms->postfix_tweak(main => {
	mynetworks => '127.0.0.1/32 127.0.0.23/32 127.0.0.24/32 127.0.0.25/32',
	smtpd_relay_restrictions => $permit,
	smtpd_recipient_restrictions => $permit,
});
$ms->start;

# relay - one message without AUTH on port 25 from $ip; its queue id
sub relay {
	my ($ip, $from) = @_;
	my $r = $ms->smtp_session(ip => $ip, service => 'smtp', from => $from,
	    rcpts => [ "friend\@$ext" ], subject => "relay from $ip");
	ok($r->{sent} && $r->{queue_id}, "relayed without AUTH from $ip")
	    or diag explain $r->{replies};
	return $r->{queue_id} // 'none';
}

ok(scalar $ms->pop3_login('127.0.0.23', $alice, $pw{$alice}),
    'alice: POP3 login from 127.0.0.23');
my $q1 = relay('127.0.0.23', $alice);
ok(scalar $ms->pop3_login('127.0.0.24', $bob, $pw{$bob}),
    'bob: POP3 login from 127.0.0.24');
ok(scalar $ms->imap_login('127.0.0.24', $carol, $pw{$carol}),
    'carol: IMAP login from 127.0.0.24');
my $q2 = relay('127.0.0.24', $carol);
my $q3 = relay('127.0.0.25', $dave);
my $log_done = $ms->wait_for_log(qr/\Q$q3\E: removed/, 60);
ok($log_done, 'the last message left the queue');
for my $q ($q1, $q2) {
	ok($ms->wait_for_log(qr/\Q$q\E: removed/, 60), "$q left the queue");
}
my $log = "$tmp/mail.log";
$ms->stop(copy_log_to => $log);
undef $ms;

# replay - the log into a fresh redis-server; returns it ($CONF: its
# configuration)
my $CONF;
sub replay {
	my ($name, $extra) = @_;
	my $dir = "$tmp/$name";
	mkdir $dir or die "$dir: $!";
	my $r = FM::start_redis($dir);
	my $conf = write_config("$dir/fumidai.conf", state_dir => "$dir/state",
	    redis => $r->sock, extra => $extra);
	my ($st, $out, $err) = run_cmd([ $bin, 'replay', '--no-progress',
	    '-c', $conf, $log ]);
	is($st, 0, "$name: fumidai replay exit 0") or diag $err;
	$CONF = $conf;
	return $r;
}

# list - the account's :logins records as every reader gets them (Redis
# keeps them compact: `fumidai account --json`, all of them, newest first)
sub list {
	my ($r, $acct, $what) = @_;
	die "list: only logins" if $what ne 'logins';
	my ($st, $out, $err) = run_cmd([ $bin, 'account', '--json', '-n', 0,
	    '-c', $CONF, $acct ]);
	die "fumidai account: $err" if $st != 0;
	return @{ decode_json($out)->{logins} };
}

# msgs - the account's message records (the :m:<day> hashes, as the
# reader expands them: `fumidai history --sent --json`), oldest first
sub msgs {
	my ($r, $acct) = @_;
	my ($st, $out, $err) = run_cmd([ $bin, 'history', '--sent', '--json',
	    '-c', $CONF, $acct ]);
	die "fumidai history: $err" if $st != 0;
	my @m = map { my $j = decode_json($_); delete $j->{type}; $j }
	    grep { /^\{/ } split /\n/, $out;
	my @s = sort { $a->{time} cmp $b->{time} } @m;
	return @s;
}

# secs - a login record's time as the message records write it (seconds)
sub secs { $_[0] =~ s/\.\d+Z\z/Z/r }

my $r = replay('on', "correlate = { pop_before_smtp = 600; };\n");
my @am = msgs($r, $alice);
my ($al) = grep { $_->{service} eq 'pop3' } list($r, $alice, 'logins');
is(scalar @am, 1, 'alice: one message');
is_deeply($am[0], {
	time => $am[0]{time}, qid => $q1, from => $alice, size => $am[0]{size},
	nrcpt => 1, ip => '127.0.0.23', service => 'smtp',
	host => 'mx', msgid => $am[0]{msgid},
	login => { time => secs($al->{time}), ip => '127.0.0.23',
	    service => 'pop3', inferred => JSON::PP::true, accounts => 1,
	    confidence => 'high' },
	rcpt => [ { to => "friend\@$ext", status => 'sent',
	    time => $am[0]{rcpt}[0]{time}, relay => $am[0]{rcpt}[0]{relay},
	    dsn => '2.0.0' } ],
}, 'alice: the relayed message, inferred from her POP3 login')
    or diag explain \@am;
is(scalar(grep { $_->{service} eq 'smtp' } list($r, $alice, 'logins')), 0,
    'alice: no SMTP login invented');
ok($am[0]{size} > 0 && $am[0]{msgid} =~ /\@mailstack\.test\z/,
    'alice: size and Message-ID');

my @cm = msgs($r, $carol);
my ($cl) = grep { $_->{service} eq 'imap' } list($r, $carol, 'logins');
is(scalar @cm, 1, 'carol: one message');
is_deeply([ map { [ @$_{qw(qid ip)}, $_->{login} ] } @cm ],
    [ [ $q2, '127.0.0.24', { time => secs($cl->{time}), ip => '127.0.0.24',
    service => 'imap', inferred => JSON::PP::true, accounts => 2,
    confidence => 'low' } ] ],
    'carol: newest login of two accounts, low confidence')
    or diag explain \@cm;
is(scalar msgs($r, $bob), 0, 'bob: no message');
is(scalar msgs($r, $dave), 0, 'dave: no login, no message');
$r->stop;

$r = replay('off', '');
is(scalar(msgs($r, $alice)) + scalar(msgs($r, $carol)), 0,
    'off by default: nothing attributed');
$r->stop;

done_testing();
