# SPDX-License-Identifier: BSD-2-Clause
#
# MailScenario - one scripted day of mail traffic for a MailStack, and what
# fumidai must make of it.
#
# steps($ms) returns the steps, in order; each is a hash:
#   ip      source address the client binds to (127.x.y.z)
#   what    one line for people (t/data/real/README lists them)
#   run     code that drives the servers, called with the step itself;
#           returns a short result line
#   expect  the events this step must yield, each a hash:
#     { kind => 'login', result => 'ok'|'fail', account, service
#       (submission|imap|pop3), ip, mech ('': the log names none) }
#       one per AUTH / login attempt
#     { kind => 'message', account, from, ip, service, rcpts => N,
#       delivered, deferred, bounced => N (delivery attempts by status),
#       (queue_id, msgid filled in by run) } one per message an account sent
#     { kind => 'reject', ip, service, reason } an unauthenticated refusal
# Logins whose account the log does not name have account => undef: a
# failure with Postfix "sasl_username=(unavailable)", a success in a session
# that sent nothing (only "disconnect ... auth=1" shows it).  The same failure is logged twice, by Postfix or
# the login process and by Dovecot's auth process: it is ONE attempt here.
#
# run($ms, \@steps) drives them; totals(@steps) sums the expectations per
# account and per address.
package MailScenario;

use strict;
use warnings;

my $D = 'fumidai.test';
my ($ALICE, $BOB, $CAROL, $DAVE, $GHOST) =
    map { "$_\@$D" } qw(alice bob carol dave ghost);
my $BAD = '127.0.0.66';		# the attacker

sub _login {
	my ($res, $acct, $svc, $ip, $mech) = @_;
	return { kind => 'login', result => $res, account => $acct,
	    service => $svc, ip => $ip, mech => $mech // 'PLAIN' };
}

# _msg - a message $acct sent from $ip to $n accepted recipients; %dlv:
# how many delivery attempts end delivered, deferred, bounced (default 0)
sub _msg {
	my ($acct, $ip, $n, %dlv) = @_;
	return { kind => 'message', account => $acct, from => $acct,
	    ip => $ip, service => 'submission', rcpts => $n,
	    map { $_ => $dlv{$_} // 0 } qw(delivered deferred bounced) };
}

# _smtp_res - result line of an SMTP step; records the queue id and the
# Message-ID (without <>) in the step's message expectation (when $step is
# given)
sub _smtp_res {
	my ($r, $step) = @_;
	if ($step && $r->{queue_id}) {
		for (grep { $_->{kind} eq 'message' } @{$step->{expect}}) {
			$_->{queue_id} = $r->{queue_id};
			($_->{msgid} = $r->{msgid} // '') =~ s/^<(.*)>\z/$1/;
		}
	}
	my @p;
	push @p, 'auth ' . join '/', @{$r->{auth_codes}} if $r->{auth_codes};
	push @p, 'queued as ' . $r->{queue_id} if $r->{queue_id};
	push @p, 'rejected ' . join ' ', @{$r->{rejected}} if @{$r->{rejected}};
	return join(', ', @p) || 'no AUTH, nothing sent';
}

sub _ok { $_[0] ? 'login ok' : 'login failed' }

# steps - the scenario for MailStack $ms (default users)
sub steps {
	my ($ms) = @_;
	my %pw = map { @$_ } $ms->users;
	my @s;
	my $step = sub { push @s, { ip => $_[0], what => $_[1], run => $_[2],
	    expect => $_[3] } };

	$step->('127.0.0.10', "$ALICE: submission, AUTH PLAIN ok, one message " .
	    "to $BOB, $CAROL (local, virtual) and friend\@example.net " .
	    "(external, smtp to the sink): 3 recipients", sub {
		_smtp_res($ms->smtp_auth_send('127.0.0.10', $ALICE,
		    $pw{$ALICE}, $ALICE, [ $BOB, $CAROL, 'friend@example.net' ],
		    'lunch'), $_[0]) },
	    [ _login(ok => $ALICE, 'submission', '127.0.0.10'),
	      _msg($ALICE, '127.0.0.10', 3, delivered => 3) ]);

	$step->('127.0.0.11', "$BOB: submission, AUTH LOGIN ok, one message " .
	    "to x\@example.net, y\@example.net (external, sink) and " .
	    "z\@discard.test (discard): 3 recipients", sub {
		_smtp_res($ms->smtp_auth_send('127.0.0.11', $BOB, $pw{$BOB},
		    $BOB, [ 'x@example.net', 'y@example.net', 'z@discard.test' ],
		    'report', mech => 'LOGIN', helo => 'bobs-laptop'), $_[0]) },
	    [ _login(ok => $BOB, 'submission', '127.0.0.11', 'LOGIN'),
	      _msg($BOB, '127.0.0.11', 3, delivered => 3) ]);

	$step->('127.0.0.12', "$CAROL: submission, AUTH PLAIN ok, then QUIT " .
	    "without sending anything (only the disconnect auth=1 counter " .
	    "shows it)", sub {
		_smtp_res($ms->smtp_session(ip => '127.0.0.12', user => $CAROL,
		    pass => $pw{$CAROL}, helo => 'carol-phone')) },
	    # the log never names the account of an AUTH-only session: Postfix
	    # names it on a client= line (a message), Dovecot logs no success
	    [ _login(ok => undef, 'submission', '127.0.0.12') ]);

	$step->('127.0.0.13', "$DAVE: submission, AUTH PLAIN with a wrong " .
	    "password, then QUIT", sub {
		_smtp_res($ms->smtp_auth_fail('127.0.0.13', $DAVE,
		    'dave-typo')) },
	    [ _login(fail => $DAVE, 'submission', '127.0.0.13') ]);

	$step->('127.0.0.13', "$DAVE: submission, AUTH PLAIN wrong then right " .
	    "in one session (auth=1/2), one message to $ALICE",
	    sub {
		_smtp_res($ms->smtp_session(ip => '127.0.0.13', user => $DAVE,
		    pass => [ 'dave-typo2', $pw{$DAVE} ], from => $DAVE,
		    rcpts => [ $ALICE ], subject => 'second try'), $_[0]) },
	    [ _login(fail => $DAVE, 'submission', '127.0.0.13'),
	      _login(ok => $DAVE, 'submission', '127.0.0.13'),
	      _msg($DAVE, '127.0.0.13', 1, delivered => 1) ]);

	$step->($BAD, "attacker: submission, AUTH LOGIN as $ALICE with a bad " .
	    "password, then drops the connection (no QUIT)", sub {
		_smtp_res($ms->smtp_auth_fail($BAD, $ALICE, '123456',
		    mech => 'LOGIN', quit => 0, helo => 'User')) },
	    [ _login(fail => $ALICE, 'submission', $BAD, 'LOGIN') ]);

	$step->($BAD, "attacker: submission, AUTH PLAIN as $BOB, three bad " .
	    "passwords in one session, then QUIT", sub {
		_smtp_res($ms->smtp_auth_fail($BAD, $BOB,
		    [ 'password', 'qwerty', 'letmein' ], helo => 'User')) },
	    [ map { _login(fail => $BOB, 'submission', $BAD) } 1 .. 3 ]);

	$step->($BAD, "attacker: submission, AUTH PLAIN as unknown user $GHOST",
	    sub {
		_smtp_res($ms->smtp_auth_fail($BAD, $GHOST, 'ghost-pass',
		    helo => 'User')) },
	    [ _login(fail => $GHOST, 'submission', $BAD) ]);

	$step->('127.0.0.77', "unauthenticated client on port 25 (smtp): MAIL " .
	    "FROM spam\@example.org, RCPT victim\@example.net: Relay access " .
	    "denied", sub {
		_smtp_res($ms->smtp_session(ip => '127.0.0.77',
		    service => 'smtp', helo => 'spammer.example.org',
		    from => 'spam@example.org',
		    rcpts => [ 'victim@example.net' ])) },
	    [ { kind => 'reject', ip => '127.0.0.77', service => 'smtp',
		reason => 'Relay access denied' } ]);

	$step->('127.0.0.79', "unauthenticated client on submission (no AUTH): " .
	    "RCPT victim2\@example.net: Relay access denied", sub {
		_smtp_res($ms->smtp_session(ip => '127.0.0.79',
		    helo => 'nobody', from => 'spam@example.org',
		    rcpts => [ 'victim2@example.net' ])) },
	    [ { kind => 'reject', ip => '127.0.0.79', service => 'submission',
		reason => 'Relay access denied' } ]);

	$step->('127.0.0.78', "inbound mail on port 25 (no AUTH) from " .
	    "sender\@example.org to $ALICE (accepted) and nobody\@$D (User " .
	    "unknown in virtual mailbox table): 1 recipient; not sent by " .
	    "any account", sub {
		_smtp_res($ms->smtp_session(ip => '127.0.0.78',
		    service => 'smtp', helo => 'mail.example.org',
		    from => 'sender@example.org',
		    rcpts => [ $ALICE, "nobody\@$D" ], subject => 'inbound')) },
	    [ { kind => 'reject', ip => '127.0.0.78', service => 'smtp',
		reason => 'User unknown' } ]);

	$step->('127.0.0.10', "$ALICE: submission, AUTH PLAIN ok, one message " .
	    "to nobody\@$D (User unknown), $BOB and bounce-me\@example.net " .
	    "(the sink answers 550: status=bounced, then a non-delivery " .
	    "notification from <> to $ALICE): 2 recipients",
	    sub {
		_smtp_res($ms->smtp_auth_send('127.0.0.10', $ALICE,
		    $pw{$ALICE}, $ALICE,
		    [ "nobody\@$D", $BOB, 'bounce-me@example.net' ], 'mixed'),
		    $_[0]) },
	    [ _login(ok => $ALICE, 'submission', '127.0.0.10'),
	      { kind => 'reject', ip => '127.0.0.10', service => 'submission',
		reason => 'User unknown' },
	      _msg($ALICE, '127.0.0.10', 2, delivered => 1, bounced => 1) ]);

	$step->('127.0.0.11', "$BOB: submission, AUTH PLAIN ok, one message to " .
	    "defer-me\@example.net (the sink answers 451: status=deferred); " .
	    "the message is later deleted with postsuper -d",
	    sub {
		my $r = $ms->smtp_auth_send('127.0.0.11', $BOB, $pw{$BOB}, $BOB,
		    [ 'defer-me@example.net' ], 'deferred');
		$ms->wait_for_log(qr/status=deferred/, 30)
		    or die "no deferral\n";
		_smtp_res($r, $_[0]) },
	    # one attempt only: the next retry would be minimal_backoff_time
	    # (300 s) later, and the scenario deletes the message before
	    [ _login(ok => $BOB, 'submission', '127.0.0.11'),
	      _msg($BOB, '127.0.0.11', 1, deferred => 1) ]);

	$step->('127.0.0.90', "scanner: connects to submission and closes " .
	    "without a word; connects to port 25 and sends QUIT", sub {
		$ms->probe('127.0.0.90', 'submission');
		$ms->probe('127.0.0.90', 'smtp', 'QUIT');
		'no AUTH, nothing sent' }, []);

	$step->('127.0.0.90', "scanner: POP3 connect + QUIT and IMAP connect + " .
	    "LOGOUT, no login attempted; then IMAP connect closed at once", sub {
		$ms->probe('127.0.0.90', 'pop3', 'QUIT');
		$ms->probe('127.0.0.90', 'imap', 'a LOGOUT');
		$ms->probe('127.0.0.90', 'imap');
		'no login attempted' }, []);

	$step->('127.0.0.20', "$BOB: POP3 USER/PASS ok, STAT, QUIT", sub {
		_ok($ms->pop3_login('127.0.0.20', $BOB, $pw{$BOB})) },
	    [ _login(ok => $BOB, 'pop3', '127.0.0.20') ]);

	$step->('127.0.0.21', "$BOB: POP3 USER/PASS wrong password, QUIT", sub {
		_ok($ms->pop3_login('127.0.0.21', $BOB, 'bob-wrong')) },
	    [ _login(fail => $BOB, 'pop3', '127.0.0.21') ]);

	$step->($BAD, "attacker: POP3 as $CAROL, two wrong passwords on one " .
	    "connection, then drops the connection (no QUIT)", sub {
		_ok($ms->pop3_login($BAD, $CAROL, [ 'abc', 'abcd' ],
		    quit => 0)) },
	    [ map { _login(fail => $CAROL, 'pop3', $BAD) } 1 .. 2 ]);

	$step->($BAD, "attacker: POP3 as unknown user $GHOST, QUIT", sub {
		_ok($ms->pop3_login($BAD, $GHOST, 'x')) },
	    [ _login(fail => $GHOST, 'pop3', $BAD) ]);

	$step->('127.0.0.22', "$DAVE: POP3 AUTH PLAIN ok, STAT, QUIT", sub {
		_ok($ms->pop3_login('127.0.0.22', $DAVE, $pw{$DAVE},
		    sasl => 1)) },
	    [ _login(ok => $DAVE, 'pop3', '127.0.0.22') ]);

	$step->('127.0.0.30', "$CAROL: IMAP LOGIN ok, SELECT INBOX, LOGOUT",
	    sub { _ok($ms->imap_login('127.0.0.30', $CAROL, $pw{$CAROL})) },
	    [ _login(ok => $CAROL, 'imap', '127.0.0.30') ]);

	$step->('127.0.0.31', "$ALICE: IMAP AUTHENTICATE PLAIN ok, SELECT " .
	    "INBOX, LOGOUT", sub {
		_ok($ms->imap_login('127.0.0.31', $ALICE, $pw{$ALICE},
		    sasl => 1)) },
	    [ _login(ok => $ALICE, 'imap', '127.0.0.31') ]);

	$step->($BAD, "attacker: IMAP LOGIN as $ALICE with a wrong password, " .
	    "LOGOUT", sub { _ok($ms->imap_login($BAD, $ALICE, 'alice123')) },
	    [ _login(fail => $ALICE, 'imap', $BAD) ]);

	$step->($BAD, "attacker: IMAP LOGIN as unknown user $GHOST, then drops " .
	    "the connection (no LOGOUT)", sub {
		_ok($ms->imap_login($BAD, $GHOST, 'x', logout => 0)) },
	    [ _login(fail => $GHOST, 'imap', $BAD) ]);

	$step->('127.0.0.32', "$DAVE: IMAP LOGIN wrong then right on one " .
	    "connection, SELECT INBOX, LOGOUT", sub {
		_ok($ms->imap_login('127.0.0.32', $DAVE,
		    [ 'dave-old', $pw{$DAVE} ])) },
	    # the failure is only on Dovecot's auth line, which names neither
	    # the service (the login line of the same session does) nor the
	    # mechanism: mech '' (the log does not say)
	    [ _login(fail => $DAVE, 'imap', '127.0.0.32', ''),
	      _login(ok => $DAVE, 'imap', '127.0.0.32') ]);

	$step->('127.0.0.14', "$CAROL: submission, AUTH LOGIN; Dovecot's auth " .
	    "process is killed (SIGKILL) before the password is sent: " .
	    "Postfix logs 'Connection lost to authentication server, " .
	    "sasl_username=(unavailable)' and answers 454", sub {
		my $killed;
		my $r = $ms->smtp_session(ip => '127.0.0.14', user => $CAROL,
		    pass => $pw{$CAROL}, mech => 'LOGIN', helo => 'carol-phone',
		    before_password => sub {
			$killed = $ms->kill_dovecot_auth
			    or die "no auth process\n";
			$ms->wait_for_log(
			    qr/service\(auth\): child $killed killed/, 10);
		    });
		_smtp_res($r) . ", auth pid $killed killed" },
	    [ _login(fail => undef, 'submission', '127.0.0.14', 'LOGIN') ]);

	$step->('127.0.0.10', "$ALICE: submission, AUTH PLAIN ok again " .
	    "(Dovecot started a new auth process), one message to " .
	    "friend\@example.net", sub {
		_smtp_res($ms->smtp_auth_send('127.0.0.10', $ALICE,
		    $pw{$ALICE}, $ALICE, [ 'friend@example.net' ],
		    'after the restart'), $_[0]) },
	    [ _login(ok => $ALICE, 'submission', '127.0.0.10'),
	      _msg($ALICE, '127.0.0.10', 1, delivered => 1) ]);

	return @s;
}

# run - drive all @$steps on the started MailStack $ms in order, letting the
# log settle after each; then delete what is still queued (the deferred
# message) and wait for an empty queue.  $report->($n, $step, $result) is
# called after each step when given.
sub run {
	my ($ms, $steps, $report) = @_;
	$ms->wait_log_quiet;
	my $n = 0;
	for my $st (@$steps) {
		my $res = $st->{run}->($st);
		$st->{result} = $res;
		$report->(++$n, $st, $res) if $report;
		$ms->wait_log_quiet;
	}
	my ($rc, $out) = $ms->postsuper('-d', 'ALL');
	die "postsuper: $out" if $rc;
	$ms->wait_queue_empty(30) or die "MailScenario: queue not empty\n";
	$ms->wait_log_quiet;
}

# totals - per account and per address sums of the steps' expectations:
#   { account => { NAME => { login_ok, login_fail, messages, rcpts,
#       delivered, deferred, bounced,
#       by_service => { SVC => { ok, fail } }, ips => { IP => 1 } } },
#     ip => { IP => { login_ok, login_fail, accounts => { NAME => 1 },
#       accounts_ok => { NAME => 1 }, accounts_fail => { NAME => 1 } } },
#     anonymous_ok => N, anonymous_fail => N, rejects => N,
#     rejects_by_ip => { IP => N } }
sub totals {
	my (@steps) = @_;
	my %t = (account => {}, ip => {}, anonymous_ok => 0,
	    anonymous_fail => 0, rejects => 0, rejects_by_ip => {});
	for my $e (map { @{$_->{expect}} } @steps) {
		if ($e->{kind} eq 'reject') {
			$t{rejects}++;
			$t{rejects_by_ip}{$e->{ip}}++;
			next;
		}
		my $a = $e->{account};
		if ($e->{kind} eq 'message') {
			$t{account}{$a}{messages}++;
			$t{account}{$a}{rcpts} += $e->{rcpts};
			$t{account}{$a}{$_} += $e->{$_}
			    for qw(delivered deferred bounced);
			next;
		}
		my $k = $e->{result} eq 'ok' ? 'login_ok' : 'login_fail';
		my $ok = $e->{result} eq 'ok' ? 'ok' : 'fail';
		$t{ip}{$e->{ip}}{$k}++;
		if (!defined $a) {
			$t{$ok eq 'ok' ? 'anonymous_ok' : 'anonymous_fail'}++;
			next;
		}
		$t{ip}{$e->{ip}}{accounts}{$a} = 1;
		$t{ip}{$e->{ip}}{"accounts_$ok"}{$a} = 1;
		$t{account}{$a}{$k}++;
		$t{account}{$a}{by_service}{$e->{service}}{$ok}++;
		$t{account}{$a}{ips}{$e->{ip}} = 1;
	}
	for my $a (values %{$t{account}}) {
		$a->{$_} //= 0 for qw(login_ok login_fail messages rcpts
		    delivered deferred bounced);
	}
	return \%t;
}

1;
