#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# integration.t - real Postfix and Dovecot on loopback (t/lib/MailStack.pm)
# play the scenario of t/lib/MailScenario.pm: SMTP AUTH good and bad from
# several accounts and 127.x addresses, messages to local and external
# recipients, relay and unknown-user rejects, POP3 and IMAP logins good and
# bad.  What fumidai makes of the servers' log must be exactly what the
# scenario did: per account logins ok / failed (one per attempt, although
# servers log most failures twice), messages, their accepted recipients and
# how their deliveries ended, per address the failures and accounts seen,
# and each message attributed by queue id to the account that submitted it.
#
# Stage 1: `fumidai parse` of the log.  Stage 2: `fumidai run -f`, started
# before the servers, follows the live log into the test's own
# redis-server (tail, pipeline, correlator, store); the records are read
# back with `fumidai account --json`, `fumidai stats --json` and redis-cli.
# Then `fumidai replay` of the same lines into a second, fresh redis-server
# must leave the same records (the live and the archived paths agree).
#
# Needs root and the Debian packages postfix, dovecot-core, dovecot-imapd,
# dovecot-pop3d (skipped otherwise; CI installs them); stage 2 also needs
# redis-server.  No timing is asserted: every wait is bounded polling.
use strict;
use warnings;
use Cwd qw(abs_path);
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP;
use POSIX qw(:sys_wait_h strftime);
use Test::More;
use Time::HiRes qw(sleep time);
use Time::Local qw(timegm);
use FM qw(run_cmd tmpdir read_file write_file write_config have_prog spawn_fumidai stop_pid);
use MailStack;
use MailScenario;

my $bin = abs_path(FM::fumidai()) // '';
plan skip_all => 'fumidai binary not built' unless -x $bin;
my $why = MailStack->skip_reason;
plan skip_all => $why if defined $why;

my $tmp = tmpdir();
my $ms = MailStack->new;
my @steps = MailScenario::steps($ms);
my $live = $ms->log_path;

# fumidai follows the servers' log (still empty) from before they start,
# with a short flush interval so that the scenario's lines reach Redis in
# many batches
my ($redis, $conf, $fpid);
if (have_prog('redis-server')) {
	$redis = FM::start_redis($tmp);
	$conf = write_config("$tmp/fumidai.conf", state_dir => "$tmp/state",
	    redis => $redis->sock, instance => 'mx', inputs => [ $live ],
	    extra => "flush_interval = 20;\npoll_interval = 100;\n");
	$fpid = start_fumidai();
}
END { if ($fpid) { kill 'KILL', $fpid; waitpid $fpid, 0 } }

$ms->start;
caught_up('the servers\' start-up lines') if $fpid;
my ($t0, $day0) = (time, utc_day());
MailScenario::run($ms, \@steps, sub {
	my ($n, $st, $res) = @_;
	note sprintf '%2d. %s: %s', $n, $st->{ip}, $res;
});
my ($t1, $day1) = (time, utc_day());
my $read;			# the log as far as fumidai read it
if ($fpid) {
	caught_up('the scenario');
	is(stop_fumidai(), 0, 'fumidai run: SIGTERM, exit 0');
	my @warn = grep { /^fumidai: (?:warning|fatal|error)/ }
	    split /\n/, read_file("$tmp/fumidai.err") // '';
	is(scalar @warn, 0, 'fumidai run: no warning') or diag join "\n", @warn;
	$read = save_read_part("$tmp/read.log");
}
my $log = "$tmp/mail.log";
$ms->stop(copy_log_to => $log);
undef $ms;
ok(-s $log, 'the servers wrote a log');

my $want = MailScenario::totals(@steps);

# ---- stage 1: fumidai parse -------------------------------------------------
my ($st, $out, $err) = run_cmd([$bin, 'parse', $log]);
is($st, 0, 'fumidai parse exits 0') or diag $err;
like($err, qr/\bunrecognized=0\b/, 'no unrecognized line') or diag $err;

my @ev = map { decode_json($_) } split /\n/, $out;
my $got = tally(@ev);

is_deeply([ sort keys %{$got->{account}} ], [ sort keys %{$want->{account}} ],
    'the accounts seen') or diag explain [ sort keys %{$got->{account}} ];
for my $a (sort keys %{$want->{account}}) {
	my ($w, $g) = ($want->{account}{$a}, $got->{account}{$a} // {});
	for my $k (qw(login_ok login_fail messages rcpts)) {
		is($g->{$k} // 0, $w->{$k}, "$a: $k");
	}
	# a failed IMAP/POP3 attempt on a connection that then logs in is
	# only on Dovecot's auth line, which names no service: the service
	# comes from the login line with the same session id (dave)
	is_deeply($g->{by_service} // {}, $w->{by_service},
	    "$a: logins ok/failed by service") or diag explain $g->{by_service};
	is_deeply($g->{ips} // {}, $w->{ips}, "$a: addresses")
	    or diag explain $g->{ips};
}
is($got->{anonymous_ok}, $want->{anonymous_ok},
    'logins whose account the log does not name: ok');
is($got->{anonymous_fail}, $want->{anonymous_fail},
    'logins whose account the log does not name: failed');
is($got->{rejects}, $want->{rejects}, 'rejected recipients');

for my $ip (sort keys %{$want->{ip}}) {
	my ($w, $g) = ($want->{ip}{$ip}, $got->{ip}{$ip} // {});
	is($g->{login_ok} // 0, $w->{login_ok} // 0, "$ip: logins ok");
	is($g->{login_fail} // 0, $w->{login_fail} // 0, "$ip: logins failed");
	is_deeply($g->{accounts} // {}, $w->{accounts} // {},
	    "$ip: accounts seen") or diag explain $g->{accounts};
}

# every message the scenario sent, by queue id: its account, address, size
my %queued = map { $_->{qid} => $_ }
    grep { $_->{kind} eq 'msg_queued' && defined $_->{qid} } @ev;
for my $m (grep { $_->{kind} eq 'message' } map { @{$_->{expect}} } @steps) {
	my $q = $queued{$m->{queue_id} // ''};
	ok($q, "message $m->{queue_id} queued") or next;
	is($q->{account}, $m->{account}, "$m->{queue_id}: account");
	is($q->{ip}, $m->{ip}, "$m->{queue_id}: client address");
	is($q->{nrcpt}, $m->{rcpts}, "$m->{queue_id}: recipients");
}
my @foreign = grep { !defined $_->{account} } values %queued;
is(scalar @foreign, 2, 'two messages belong to no account (the inbound ' .
    'one on port 25 and the bounce from <>)');

# tally - sums over parsed events, shaped like MailScenario::totals
sub tally {
	my (@ev) = @_;
	my %t = (account => {}, ip => {}, anonymous_ok => 0,
	    anonymous_fail => 0, rejects => 0);
	for my $e (@ev) {
		my $k = $e->{kind};
		my $a = $e->{account};
		if ($k eq 'reject') {
			$t{rejects}++;
		} elsif ($k eq 'msg_queued' && defined $a) {
			$t{account}{$a}{messages}++;
			$t{account}{$a}{rcpts} += $e->{nrcpt};
		} elsif ($k eq 'login_ok' || $k eq 'login_fail') {
			my $ok = $k eq 'login_ok' ? 'ok' : 'fail';
			my $n = $ok eq 'ok' ? 1 : $e->{attempts} // 1;
			$t{ip}{$e->{ip}}{$k} += $n;
			if (!defined $a) {
				$t{"anonymous_$ok"} += $n;
				next;
			}
			$t{ip}{$e->{ip}}{accounts}{$a} = 1;
			$t{account}{$a}{$k} += $n;
			$t{account}{$a}{by_service}{$e->{service} // '?'}{$ok}
			    += $n;
			$t{account}{$a}{ips}{$e->{ip}} = 1;
		}
	}
	return \%t;
}

# ---- stage 2: Redis: fumidai run on the live log, then replay -----------
SKIP: {
	skip 'redis-server is not installed: no Redis records checked', 1
	    unless $redis;
	my @exp = map { @{$_->{expect}} } @steps;
	# today's counters are the scenario's unless it ran across midnight
	my $oneday = $day0 eq $day1 && utc_day() eq $day1;
	my $live_acct = check_accounts($conf, \@exp, $oneday);
	check_addresses($redis, \@exp, $day0, $day1);
	my $stats = check_global($conf, $live_acct, $oneday);
	check_replay($live_acct, $stats);
}

done_testing;

# check_accounts - each account of the scenario through `fumidai account
# --json`: counters, login history, messages, last login and failure,
# roll-up by address; an account never seen gives exit 1.  Returns
# { NAME => the decoded JSON }.
sub check_accounts {
	my ($conf, $exp, $oneday) = @_;
	my %got;
	for my $a (sort keys %{$want->{account}}) {
		my $j = account_json($conf, $a) or next;
		$got{$a} = $j;
		my @lg = grep { $_->{kind} eq 'login' && ($_->{account} // '')
		    eq $a } @$exp;
		my @msg = grep { $_->{kind} eq 'message' && $_->{account} eq
		    $a } @$exp;
		check_counters($a, $j, $oneday);
		check_logins($a, $j, \@lg);
		check_messages($a, $j, \@msg);
	}
	my ($st, $out) = run_cmd([ $bin, 'account', '--json', '-c', $conf,
	    'never-seen@fumidai.test' ]);
	is($st, 1, 'an account never seen: exit 1');
	my $j = eval { decode_json($out) } // {};
	is_deeply($j, { account => 'never-seen@fumidai.test', found =>
	    JSON::PP::false }, 'an account never seen: found false, nothing ' .
	    'else') or diag $out;
	($st) = run_cmd([ $bin, 'account', '-c', $conf,
	    'never-seen@fumidai.test' ]);
	is($st, 1, 'an account never seen, text output: exit 1');
	return \%got;
}

# account_json - `fumidai account --json -n 0 NAME` decoded; undef (a
# failed test) unless it exits 0 with a found account
sub account_json {
	my ($conf, $a) = @_;
	my ($st, $out, $err) = run_cmd([ $bin, 'account', '--json', '-n', 0,
	    '-c', $conf, $a ]);
	my $j = $st == 0 ? eval { decode_json($out) } : undef;
	ok($j && $j->{found} && $j->{account} eq $a, "$a: account found " .
	    '(exit 0)') or diag "exit $st: $err$out";
	return $j && $j->{found} ? $j : undef;
}

sub check_counters {
	my ($a, $j, $oneday) = @_;
	my $w = $want->{account}{$a};
	my %c = (login_ok => $w->{login_ok}, login_fail => $w->{login_fail},
	    messages => $w->{messages}, recipients => $w->{rcpts},
	    delivered => $w->{delivered}, deferred => $w->{deferred},
	    bounced => $w->{bounced}, delivery_other => 0);
	my $pick = sub { my ($h) = @_; +{ map { $_ => $h->{$_} } keys %c } };
	my $ctr = $j->{counters};
	is_deeply($pick->($ctr->{retention}), \%c,
	    "$a: counters over the retention") or diag explain $ctr;
	my %sum;
	for my $d (values %{$j->{days} // {}}) {
		$sum{$_} += $d->{$_} for keys %c;
	}
	is_deeply(\%sum, \%c, "$a: the days' counters add up to the same");
	my $bytes = 0;
	$bytes += $_->{size} for @{$j->{messages}};
	is($ctr->{retention}{bytes}, $bytes, "$a: bytes: the sum of its " .
	    'messages\' sizes');
	SKIP: {
		skip 'the scenario ran across a UTC midnight', 2 unless $oneday;
		is_deeply($pick->($ctr->{today}), \%c, "$a: counters for today");
		is_deeply($pick->($ctr->{'7d'}), \%c, "$a: counters for 7 days");
	}
}

# check_logins - the history, oldest first, a failure of N attempts as N
# entries: address, service, result, mechanism of each; the last login
# and failure; the roll-up by result, address and service
sub check_logins {
	my ($a, $j, $lg) = @_;
	my $fmt = sub { join ' ', map { $_[0]{$_} // '-' }
	    qw(ip service result mech) };
	my @got = map { ($fmt->($_)) x ($_->{result} eq 'fail' ?
	    $_->{attempts} : 1) } reverse @{$j->{logins}};
	is_deeply(\@got, [ map { $fmt->($_) } @$lg ], "$a: login history " .
	    '(address, service, result, mechanism), in order')
	    or diag explain $j->{logins};
	my @bad = grep { !in_run($_->{time}) } @{$j->{logins}};
	is(scalar @bad, 0, "$a: every login's time is the log line's, in " .
	    'the scenario\'s run') or diag explain \@bad;

	for my $r ([ ok => 'login' ], [ fail => 'fail' ]) {
		my ($res, $pfx) = @$r;
		my ($l) = grep { $_->{result} eq $res } reverse @$lg;
		my %g = map { $_ => $j->{last}{"${pfx}_$_"} } qw(ip service mech);
		is_deeply(\%g, $l ? { map { $_ => $l->{$_} } qw(ip service mech) }
		    : { ip => undef, service => undef, mech => undef },
		    "$a: newest " . ($res eq 'ok' ? 'login' : 'failure'))
		    or diag explain $j->{last};
	}

	my (%rw, %rg);
	$rw{"$_->{result} $_->{ip} $_->{service}"}++ for @$lg;
	$rg{"$_->{result} $_->{ip} $_->{service}"} += $_->{count}
	    for @{$j->{addresses_7d}};
	is_deeply(\%rg, \%rw, "$a: logins by result, address and service")
	    or diag explain $j->{addresses_7d};
}

# check_messages - each message sent, oldest first: queue id, sender,
# recipients, client address, service, Message-ID
sub check_messages {
	my ($a, $j, $msg) = @_;
	my @k = qw(qid from nrcpt ip service msgid);
	my @got = map { my $m = $_; +{ map { $_ => $m->{$_} } @k } }
	    reverse @{$j->{messages}};
	my @want = map { +{ qid => $_->{queue_id}, from => $_->{from},
	    nrcpt => $_->{rcpts}, ip => $_->{ip}, service => $_->{service},
	    msgid => $_->{msgid} } } @$msg;
	is_deeply(\@got, \@want, "$a: messages sent (queue id, sender, " .
	    'recipients, address, Message-ID)') or diag explain \@got;
	my @bad = grep { !in_run($_->{time}) || $_->{size} <= 0 }
	    @{$j->{messages}};
	is(scalar @bad, 0, "$a: messages: time in the run, size known")
	    or diag explain \@bad;
}

# check_addresses - per address, read with redis-cli: logins ok and
# failed, rejected recipients, the accounts that failed (set and
# HyperLogLog) and logged in, the newest failure's account
sub check_addresses {
	my ($r, $exp, @days) = @_;
	@days = ($days[0]) if $days[0] eq $days[1];
	# an address whose successful logins named no account keeps nothing
	my %want_ip = map { $_ => 1 } (grep { my $w = $want->{ip}{$_};
	    $w->{login_fail} || %{$w->{accounts_ok} // {}} } keys %{$want->{ip}}),
	    keys %{$want->{rejects_by_ip}};
	my %seen;
	# an address that only logged in has only its :ok:<day> set
	for my $d (@days) {
		for my $k (qw(c ok)) {
			$seen{$_} = 1 for $r->cli('--scan', '--pattern',
			    "fm:{ip:*}:$k:$d") =~ /^fm:\{ip:(.*)\}:$k:\d+$/mg;
		}
	}
	is_deeply([ sort keys %seen ], [ sort keys %want_ip ],
	    'the addresses recorded in Redis');
	for my $ip (sort keys %want_ip) {
		my $w = $want->{ip}{$ip} // {};
		my $k = "fm:{ip:$ip}";
		my %c;
		for my $d (@days) {
			my %h = hgetall($r, "$k:c:$d");
			$c{$_} += $h{$_} // 0 for qw(login_ok login_fail rejected);
		}
		# successful logins are counted by the accounts' roll-ups only
		is_deeply(\%c, { login_ok => 0,
		    login_fail => $w->{login_fail} // 0,
		    rejected => $want->{rejects_by_ip}{$ip} // 0 },
		    "$ip: logins ok, failed (attempts), rejected recipients");
		for my $s ([ tried => 'accounts_fail' ], [ ok => 'accounts_ok' ]) {
			my %m = map { $_ => 1 } map { split /\n/,
			    $r->cli('SMEMBERS', "$k:$s->[0]:$_") } @days;
			is_deeply([ sort keys %m ], [ sort keys %{$w->{$s->[1]}
			    // {}} ], "$ip: accounts " . ($s->[0] eq 'ok' ?
			    'logged in' : 'tried and failed'));
		}
		my $hll = $r->cli('PFCOUNT', map { "$k:tried_hll:$_" } @days);
		is($hll + 0, scalar keys %{$w->{accounts_fail} // {}},
		    "$ip: distinct accounts tried (HyperLogLog)");
		my ($lf) = grep { $_->{kind} eq 'login' && $_->{ip} eq $ip &&
		    $_->{result} eq 'fail' } reverse @$exp;
		next unless $lf;
		my %ap = hgetall($r, "$k:applied");
		is($ap{fail_account}, $lf->{account} // '',
		    "$ip: the newest failure's account");
	}
}

# check_global - `fumidai stats --json`: totals, events, distinct names,
# the input's position; returns the decoded JSON
sub check_global {
	my ($conf, $acct, $oneday) = @_;
	my ($st, $out, $err) = run_cmd([ $bin, 'stats', '--json', '-c', $conf ]);
	is($st, 0, 'fumidai stats --json: exit 0') or diag $err;
	my $j = eval { decode_json($out) } // {};
	my %w = (login_ok => 0, login_fail => 0, messages => 0,
	    recipients => 0, bytes => 0);
	for my $i (values %{$want->{ip}}) {
		$w{$_} += $i->{$_} // 0 for qw(login_ok login_fail);
	}
	for my $a (values %{$want->{account}}) {
		$w{messages} += $a->{messages};
		$w{recipients} += $a->{rcpts};
	}
	$w{bytes} += $_->{counters}{retention}{bytes} for values %$acct;
	my $pick = sub { my ($h) = @_; +{ map { $_ => $h->{$_} } keys %w } };
	is_deeply($pick->($j->{total}), \%w, 'global totals: logins ok, ' .
	    'failed (attempts), messages, recipients, bytes')
	    or diag explain $j->{total};
	my $nok = grep { $_->{kind} eq 'login' && $_->{result} eq 'ok' }
	    map { @{$_->{expect}} } @steps;
	is($j->{total}{events}{login_ok}, $nok, 'events: login_ok');
	is($j->{total}{events}{reject}, $want->{rejects}, 'events: reject');
	my $ck = $j->{inputs}{checkpoint}{inputs} // [];
	my @f = qw(path lines offset unrecognized malformed too_long bad_bytes);
	is_deeply([ map { my $i = $_; [ map { $i->{$_} } @f ] } @$ck ],
	    [ [ $live, $read->{lines}, $read->{offset}, 0, 0, 0, 0 ] ],
	    'stats: the input\'s lines and offset, no line unrecognized or ' .
	    'skipped') or diag explain $ck;
	SKIP: {
		skip 'the scenario ran across a UTC midnight', 2 unless $oneday;
		is_deeply($pick->($j->{today}), \%w, 'global counters for today');
		my $n = sub { my ($res, $ac) = @_; scalar grep { $_->{$res} }
		    values %{$ac ? $want->{account} : $want->{ip}} };
		is_deeply($j->{distinct_today}, { acct_ok => $n->('login_ok', 1),
		    acct_fail => $n->('login_fail', 1), ip_ok =>
		    $n->('login_ok', 0), ip_fail => $n->('login_fail', 0) },
		    'distinct accounts and addresses today');
	}
	return $j;
}

# check_replay - `fumidai replay` of the lines fumidai run read, into a
# fresh redis-server: the same records, account by account, the same
# global totals, and key for key the same data (but for the bookkeeping
# of batches: one replay batch, many live ones)
sub check_replay {
	my ($acct, $stats) = @_;
	my $dir = "$tmp/replay";
	mkdir $dir or die "$dir: $!";
	my $r2 = FM::start_redis($dir);
	my $conf2 = write_config("$dir/fumidai.conf", state_dir =>
	    "$dir/state", redis => $r2->sock);
	my ($st, $out, $err) = run_cmd([ $bin, 'replay', '--no-progress',
	    '-c', $conf2, $read->{path} ]);
	is($st, 0, 'fumidai replay of the same lines: exit 0') or diag $err;
	for my $a (sort keys %$acct) {
		my ($rs, $ro) = run_cmd([ $bin, 'account', '--json', '-n', 0,
		    '-c', $conf2, $a ]);
		my $j = eval { decode_json($ro) };
		is_deeply($j, $acct->{$a}, "$a: replay and live run agree")
		    or diag "exit $rs: $ro";
	}
	($st, $out) = run_cmd([ $bin, 'stats', '--json', '-c', $conf2 ]);
	my $j = eval { decode_json($out) } // {};
	is_deeply($j->{total}, $stats->{total},
	    'replay and live run: the same global totals')
	    or diag explain $j->{total};
	my ($d1, $d2) = (dump_redis($redis), dump_redis($r2));
	my @diff = grep { ($d1->{$_} // '') ne ($d2->{$_} // '') }
	    sort keys %{{ %$d1, %$d2 }};
	is(scalar @diff, 0, 'replay and live run: the same keys and values ' .
	    '(' . scalar(keys %$d1) . ' keys)') or diag join "\n", map {
	    "$_:\n  run:    " . ($d1->{$_} // '(none)') .
	    "\n  replay: " . ($d2->{$_} // '(none)') } @diff[0 .. min(5, $#diff)];
	$r2->stop;
}

sub min { $_[0] < $_[1] ? $_[0] : $_[1] }

# hgetall - a hash read with redis-cli (values without newlines)
sub hgetall {
	my ($r, $key) = @_;
	my @l = split /\n/, $r->cli('HGETALL', $key), -1;
	pop @l if @l && $l[-1] eq '';
	return @l;
}

# dump_redis - every key as "type: value": hashes without the bookkeeping
# that depends on the batches (the "writes" of a counter hash, the
# applied hash's "s:<stream>" sequence numbers), sets sorted, HyperLogLogs
# as their count, the alert stream as its records, the detectors' opaque
# state left out (what it decides is in the alerts), TTLs left out
sub dump_redis {
	my ($r) = @_;
	my %d;
	for my $k (split /\n/, $r->cli('--scan', '--pattern', '*')) {
		next if $k =~ /:det$/;	# detector state: opaque bytes
		chomp(my $type = $r->cli('TYPE', $k));
		my $v;
		if ($type eq 'stream') {	# alerts, whatever order they came in
			$v = join ' ', sort grep { /^\{/ } split /\n/,
			    $r->cli('XRANGE', $k, '-', '+');
		} elsif ($type eq 'hash') {
			my %h = hgetall($r, $k);
			$v = join ' ', map { "$_=$h{$_}" } sort
			    grep { $_ ne 'writes' && $_ ne 'version' && !/^s:/ }
			    keys %h;
		} elsif ($type eq 'list') {
			$v = $r->cli('LRANGE', $k, 0, -1);
		} elsif ($type eq 'set') {
			$v = join ' ', sort split /\n/, $r->cli('SMEMBERS', $k);
		} else {
			$v = $r->cli('GET', $k);
			$v = 'HLL ' . $r->cli('PFCOUNT', $k) if $v =~ /^HYLL/;
		}
		$d{$k} = "$type: $v";
	}
	return \%d;
}

# ---- fumidai run ----------------------------------------------------------

sub start_fumidai {
	return spawn_fumidai([ 'run', '-f', '-c', $conf ], "$tmp/fumidai.out",
	    "$tmp/fumidai.err");
}

# stop_fumidai - SIGTERM; its exit status (-1: it had to be killed)
sub stop_fumidai {
	my $st = stop_pid($fpid);
	undef $fpid;
	diag 'fumidai run did not exit on SIGTERM or died of a signal'
	    if $st == -1;
	return $st;
}

# checkpoint - (lines, offset) fumidai's checkpoint accounts for
sub checkpoint { FM::checkpoint("$tmp/state") }

sub log_lines { (read_file($live) // '') =~ tr/\n// }

# caught_up - wait until the checkpoint covers every line of the live log
sub caught_up {
	FM::wait_caught_up($_[0], "$tmp/state", sub { log_lines() },
	    \$fpid, "$tmp/fumidai.err");
}

# save_read_part - copy the part of the live log the final checkpoint
# covers to $path; returns { path, lines, offset }
sub save_read_part {
	my ($path) = @_;
	my ($lines, $off) = checkpoint();
	my $data = substr(read_file($live) // '', 0, $off < 0 ? 0 : $off);
	write_file($path, $data);
	is($data =~ tr/\n//, $lines, "the final checkpoint: $lines lines, " .
	    "$off bytes");
	return { path => $path, lines => $lines, offset => $off };
}

sub utc_day { strftime('%Y%m%d', gmtime) }

# in_run - an ISO 8601 UTC time lies within the scenario's run (the log
# has whole seconds)
sub in_run {
	my ($t) = @_;
	$t =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?Z\z/
	    or return 0;
	my $s = timegm($6, $5, $4, $3, $2 - 1, $1);
	return $s >= int($t0) - 1 && $s <= $t1 + 1;
}
