# SPDX-License-Identifier: BSD-2-Clause
#
# MailStack - a real Postfix 3.7 + Dovecot 2.3 on loopback, for tests.
#
# MailStack->new builds, in a fresh temporary directory, one Postfix
# instance (its own config, queue and data directories, logging through
# postlogd to <dir>/mail.log, smtpd on 127.0.0.1 as "smtp" and as
# "submission" with Dovecot SASL) and one Dovecot instance (its own config,
# base_dir and state_dir, IMAP and POP3 on 127.0.0.1, log_path set to the
# same mail.log, as a syslog setup would interleave them), plus a tiny SMTP
# sink on loopback that stands for the "external" Internet.  Nothing under
# /etc is touched: Postfix runs with "postfix -c DIR", Dovecot with
# "dovecot -c FILE".  Every port is picked free at run time; clients bind
# to any 127.x.y.z address (Linux routes 127/8 to lo), so tests can play
# many remote hosts.  No DNS lookup is made by either server.
#
# Mail routing:
#   <user>@fumidai.test      virtual(8) delivery to Maildirs under <dir>/mail
#   *@example.net            smtp(8) to the loopback sink (status=sent, 250;
#                            local parts bounce* get 550, defer* get 451)
#   *@discard.test           discard(8) (status=sent (discard.test))
#   anything else            rejected: "Relay access denied"
#
# Needs root (Postfix and Dovecot start as root and drop privileges), the
# Debian packages postfix, dovecot-core, dovecot-imapd, dovecot-pop3d.
# MailStack->skip_reason says why a test cannot run; tests skip_all on it.
#
# Everything started is stopped by stop(), which also runs from DESTROY, an
# END block and SIGINT/SIGTERM/SIGHUP, only in the process that started it.
# Set MAILSTACK_KEEP=1 to keep the directory (and its mail.log) afterwards.
#
# SECURITY: test-only; listens on 127.0.0.1 only, plaintext passwords.

package MailStack;

use strict;
use warnings;

use Errno qw(EINTR);
use File::Spec;
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::IP;
use MIME::Base64 qw(encode_base64);
use POSIX qw(WNOHANG _exit);
use Scalar::Util qw(weaken);
use Time::HiRes qw(sleep time);

our $VERSION = '1';

our $POSTFIX  = '/usr/sbin/postfix';
our $DOVECOT  = '/usr/sbin/dovecot';
our $POSTLOGD = '/usr/lib/postfix/sbin/postlogd';
our $VUID     = 65534;		# nobody: owns the Maildirs
our $VGID     = 65534;		# nogroup
our $IO_TIMEOUT = 30;		# seconds for one client read

my %LIVE;			# refaddr => weak ref to object, for END, signals

# default accounts: name => password (names are full addresses)
my @DEFAULT_USERS = (
	[ 'alice@fumidai.test', 'alice-secret' ],
	[ 'bob@fumidai.test',   'bob-secret' ],
	[ 'carol@fumidai.test', 'carol-secret' ],
	[ 'dave@fumidai.test',  'dave-secret' ],
);

# skip_reason - why the stack cannot run here, or undef when it can
sub skip_reason {
	return 'MailStack needs root (Postfix and Dovecot start as root)'
	    if $> != 0;
	for my $bin ($POSTFIX, $DOVECOT, $POSTLOGD,
	    '/usr/lib/dovecot/imap-login', '/usr/lib/dovecot/pop3-login') {
		return "MailStack needs $bin (apt-get install postfix " .
		    'dovecot-core dovecot-imapd dovecot-pop3d)' unless -x $bin;
	}
	for my $u (qw(postfix dovecot dovenull)) {
		return "MailStack needs the system user $u (package install)"
		    unless defined getpwnam($u);
	}
	return 'MailStack needs the postdrop group (postfix package)'
	    unless defined getgrnam('postdrop');
	return undef;
}

# new - lay out configuration; options: users => [[name,pass],...],
#       domain (all users are in it), external, discard_domain, hostname,
#       dir (where to make the temporary directory; default $TMPDIR or /tmp)
sub new {
	my ($class, %o) = @_;
	my $self = bless {
		domain   => $o{domain}   // 'fumidai.test',
		external => $o{external} // 'example.net',
		discard  => $o{discard_domain} // 'discard.test',
		hostname => $o{hostname} // 'mx.fumidai.test',
		users    => $o{users}    // [ map { [@$_] } @DEFAULT_USERS ],
		owner    => $$,
		started  => 0,
	}, $class;
	my $why = skip_reason();
	die "MailStack: $why\n" if defined $why;
	# unix socket paths (Dovecot's login/, Postfix's private/) must stay
	# short: a long $TMPDIR falls back to /tmp
	my $parent = $o{dir} // File::Spec->tmpdir;
	$parent = '/tmp' if length $parent > 40 && !defined $o{dir};
	$self->{dir} = tempdir('mailstack-XXXXXX', CLEANUP => 0,
	    DIR => $parent);
	chmod 0755, $self->{dir} or die "chmod $self->{dir}: $!";
	$self->{log} = "$self->{dir}/mail.log";
	$self->{port}{$_} = _free_port() for qw(smtp submission imap pop3 sink);
	$LIVE{0 + $self} = $self;
	weaken($LIVE{0 + $self});
	$self->_layout;
	return $self;
}

sub dir      { $_[0]{dir} }
sub log_path { $_[0]{log} }
sub domain   { $_[0]{domain} }
sub external { $_[0]{external} }
sub port     { $_[0]{port}{$_[1]} }
# users - list of [name, password] (copies)
sub users    { map { [@$_] } @{$_[0]{users}} }
sub postfix_config_dir { "$_[0]{dir}/postfix/etc" }
sub dovecot_config     { "$_[0]{dir}/dovecot/dovecot.conf" }

# _free_port - a TCP port on 127.0.0.1 nobody listens on right now
sub _free_port {
	my $s = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0,
	    Proto => 'tcp', Listen => 1) or die "free port: $@";
	my $p = $s->sockport;
	close $s;
	return $p;
}

sub _write {
	my ($path, $text, $mode) = @_;
	open my $fh, '>', $path or die "open $path: $!";
	print {$fh} $text or die "write $path: $!";
	close $fh or die "close $path: $!";
	chmod $mode // 0644, $path or die "chmod $path: $!";
}

sub _mkdir {
	my ($path, $mode, $uid, $gid) = @_;
	mkdir $path, $mode // 0755 or $!{EEXIST} or die "mkdir $path: $!";
	chmod $mode // 0755, $path;
	chown $uid, $gid, $path if defined $uid;
}

# _layout - directories, Postfix and Dovecot configuration files
sub _layout {
	my ($self) = @_;
	my $d = $self->{dir};
	_mkdir("$d/$_") for qw(postfix postfix/etc postfix/data dovecot sink);
	_mkdir("$d/postfix/spool");
	_mkdir("$d/dovecot/state", 0750);
	_mkdir("$d/mail", 0755, $VUID, $VGID);
	_mkdir("$d/mail/$self->{domain}", 0755, $VUID, $VGID);
	chown scalar(getpwnam('postfix')), -1, "$d/postfix/data";
	for my $u (@{$self->{users}}) {
		my ($name, $pass) = @$u;
		die "MailStack: user $name must be <word>\@$self->{domain}\n"
		    unless $name =~ /\A[A-Za-z0-9._+-]+\@\Q$self->{domain}\E\z/;
		die "MailStack: bad password for $name\n" if $pass =~ /[:\n]/;
	}
	$self->_postfix_conf;
	$self->_dovecot_conf;
	# the log exists before either server runs: both append to it
	_write($self->{log}, '', 0640);
}

sub _postfix_conf {
	my ($self) = @_;
	my $d = $self->{dir};
	my $p = $self->{port};
	my ($dom, $ext, $dis) = @$self{qw(domain external discard)};
	my $vbox = '';
	for my $u (@{$self->{users}}) {
		my ($name) = @$u;
		my ($lp, $ud) = split /\@/, $name, 2;
		$vbox .= "$name $ud/$lp/\n";
	}
	_write("$d/postfix/etc/vmailbox", $vbox);
	_write("$d/postfix/etc/transport",
	    "$ext smtp:[127.0.0.1]:$p->{sink}\n$dis discard:\n");
	_write("$d/postfix/etc/main.cf", <<"EOF");
# generated by t/lib/MailStack.pm - a throw-away test instance
compatibility_level = 3.6
queue_directory = $d/postfix/spool
data_directory = $d/postfix/data
mail_owner = postfix
setgid_group = postdrop
myhostname = $self->{hostname}
mydomain = $dom
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
maillog_file = $self->{log}
maillog_file_prefixes = $d
smtpd_banner = \$myhostname ESMTP
smtpd_peername_lookup = no
smtpd_tls_security_level = none
smtp_tls_security_level = none
smtp_host_lookup = native
smtp_connection_cache_on_demand = no
smtputf8_enable = no
biff = no
delay_warning_time = 0
notify_classes =
virtual_mailbox_domains = $dom
virtual_mailbox_base = $d/mail
virtual_mailbox_maps = texthash:$d/postfix/etc/vmailbox
virtual_uid_maps = static:$VUID
virtual_gid_maps = static:$VGID
virtual_minimum_uid = 100
transport_maps = texthash:$d/postfix/etc/transport
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_sasl_type = dovecot
smtpd_sasl_path = $d/dovecot/run/auth-postfix
EOF
	_write("$d/postfix/etc/master.cf", <<"EOF");
# generated by t/lib/MailStack.pm - a throw-away test instance
127.0.0.1:$p->{smtp} inet n - n - - smtpd
127.0.0.1:$p->{submission} inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject_unauth_destination
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
  -o syslog_name=postfix/\$service_name
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

sub _dovecot_conf {
	my ($self) = @_;
	my $d = $self->{dir};
	my $p = $self->{port};
	my $users = '';
	for my $u (@{$self->{users}}) {
		my ($name, $pass) = @$u;
		my ($lp, $ud) = split /\@/, $name, 2;
		$users .= "$name:{PLAIN}$pass:${VUID}:${VGID}::$d/mail/$ud/${lp}::\n";
	}
	_write("$d/dovecot/users", $users, 0640);
	chown 0, scalar(getgrnam('dovecot')), "$d/dovecot/users";
	_write("$d/dovecot/dovecot.conf", <<"EOF");
# generated by t/lib/MailStack.pm - a throw-away test instance
base_dir = $d/dovecot/run
state_dir = $d/dovecot/state
protocols = imap pop3
listen = 127.0.0.1
log_path = $self->{log}
auth_verbose = yes
auth_failure_delay = 0
auth_mechanisms = plain login
ssl = no
disable_plaintext_auth = no
first_valid_uid = 100
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN $d/dovecot/users
}
userdb {
  driver = passwd-file
  args = $d/dovecot/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $p->{imap}
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $p->{pop3}
  }
  inet_listener pop3s {
    port = 0
  }
}
service auth {
  unix_listener auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
# no auth penalty: tests fail logins from one address on purpose
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF
}

# _run - run a command, return (exit status, combined output).  The output
# goes through a file, not a pipe: daemons keep their inherited stdio open.
sub _run {
	my ($self, @cmd) = @_;
	my $out = "$self->{dir}/run.out";
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>', $out or _exit(126);
		open STDERR, '>&', \*STDOUT;
		{ no warnings 'exec'; exec { $cmd[0] } @cmd; }
		print "exec $cmd[0]: $!\n";
		_exit(127);
	}
	waitpid $pid, 0;
	my $rc = $? >> 8;
	open my $fh, '<', $out or return ($rc, '');
	local $/;
	my $text = <$fh> // '';
	close $fh;
	unlink $out;
	return ($rc, $text);
}

# start - sink, Dovecot, then Postfix; dies with the servers' words
sub start {
	my ($self) = @_;
	return $self if $self->{started};
	$self->{started} = 1;
	_install_signals();
	$self->_start_sink;
	$self->_start_dovecot;
	$self->_start_postfix;
	return $self;
}

sub _start_dovecot {
	my ($self) = @_;
	my ($rc, $out) = $self->_run($DOVECOT, '-c', $self->dovecot_config);
	die "MailStack: dovecot failed to start ($rc): $out\n" if $rc;
	my $sock = "$self->{dir}/dovecot/run/auth-postfix";
	$self->_wait(sub { -S $sock && $self->_listening('imap') &&
	    $self->_listening('pop3') }, 20)
	    or die "MailStack: dovecot did not come up: " . $self->_tail . "\n";
}

# _start_postfix - "postfix start" creates the queue directories (as
# "postfix check" would) and returns once the master runs
sub _start_postfix {
	my ($self) = @_;
	my ($rc, $out) = $self->_run($POSTFIX, '-c', $self->postfix_config_dir,
	    'start');
	die "MailStack: postfix failed to start ($rc): $out\n" if $rc;
	$self->{postfix_start} = $out;
	$self->_wait(sub { $self->_listening('smtp') &&
	    $self->_listening('submission') }, 20)
	    or die "MailStack: postfix did not come up: " . $self->_tail . "\n";
	$self->wait_for_log(qr{postfix/master\[\d+\]: daemon started}, 20)
	    or die "MailStack: no 'daemon started' line: " . $self->_tail . "\n";
}

# _listening - true when something listens on our port for $svc; probes
# by bind(2), not by connecting, so that no server logs a probe
sub _listening {
	my ($self, $svc) = @_;
	my $s = IO::Socket::IP->new(LocalHost => '127.0.0.1',
	    LocalPort => $self->{port}{$svc}, Proto => 'tcp', ReuseAddr => 0,
	    Listen => 1);
	return 1 unless $s;
	close $s;
	return 0;
}

sub _wait {
	my ($self, $cond, $timeout) = @_;
	my $end = time + $timeout;
	while (1) {
		return 1 if $cond->();
		return 0 if time > $end;
		sleep 0.05;
	}
}

sub _tail {
	my ($self) = @_;
	open my $fh, '<', $self->{log} or return "(no log)";
	my @l = <$fh>;
	splice @l, 0, @l - 20 if @l > 20;
	return "\n" . join '', @l;
}

# stop - stop everything this object started; safe to call many times.
# Option copy_log_to => PATH copies mail.log there once the servers are down.
sub stop {
	my ($self, %o) = @_;
	return unless $self->{owner} == $$;
	delete $LIVE{0 + $self};
	if ($self->{started}) {
		$self->{started} = 0;
		# both at once: each takes a second or two to wind down
		my $dpid = _pid_from("$self->{dir}/dovecot/run/master.pid",
		    qr{dovecot});
		kill 'TERM', $dpid if defined $dpid;
		$self->_stop_postfix;
		$self->_stop_dovecot($dpid);
		$self->_stop_sink;
		$self->_reap_strays;
	}
	if (defined $o{copy_log_to} && defined $self->{dir}) {
		open my $in, '<', $self->{log} or die "$self->{log}: $!";
		open my $out, '>', $o{copy_log_to} or die "$o{copy_log_to}: $!";
		print {$out} $_ while <$in>;
		close $out or die "$o{copy_log_to}: $!";
	}
	if (defined $self->{dir} && -d $self->{dir}) {
		if ($ENV{MAILSTACK_KEEP}) {
			print STDERR "# MailStack kept $self->{dir}\n"
			    unless $self->{kept}++;
		} else {
			_rmtree($self->{dir});
			delete $self->{dir};
		}
	}
}

# _pid_from - the pid in a server's pid file, if that process still runs
# the program named $prog (guards against a stale file and a reused pid)
sub _pid_from {
	my ($file, $prog) = @_;
	open my $fh, '<', $file or return undef;
	my $l = <$fh> // '';
	my ($pid) = $l =~ /(\d+)/ or return undef;
	open my $cl, '<', "/proc/$pid/cmdline" or return undef;
	my $cmd = <$cl> // '';
	return $cmd =~ $prog ? $pid : undef;
}

sub _wait_gone {
	my ($pid, $timeout) = @_;
	my $end = time + $timeout;
	while (kill 0, $pid) {
		waitpid $pid, WNOHANG;
		return 0 if time > $end;
		sleep 0.05;
	}
	return 1;
}

sub _stop_postfix {
	my ($self) = @_;
	my $pidf = "$self->{dir}/postfix/spool/pid/master.pid";
	my $pid = _pid_from($pidf, qr{master});
	$self->_run($POSTFIX, '-c', $self->postfix_config_dir, 'stop')
	    if defined $pid;
	if (defined $pid && !_wait_gone($pid, 10)) {
		kill 'KILL', -$pid;
		kill 'KILL', $pid;
	}
}

sub _stop_dovecot {
	my ($self, $pid) = @_;
	$pid //= _pid_from("$self->{dir}/dovecot/run/master.pid",
	    qr{dovecot});
	return unless defined $pid;
	kill 'TERM', $pid;
	kill 'KILL', $pid unless _wait_gone($pid, 10);
}

# _reap_strays - kill processes still working in our directory (by pid):
# a server child that outlived its master must not keep files open
sub _reap_strays {
	my ($self) = @_;
	my $d = $self->{dir};
	for my $try (1 .. 50) {
		my @pids;
		opendir my $dh, '/proc' or return;
		for my $pid (grep { /^\d+$/ } readdir $dh) {
			next if $pid == $$;
			for my $l ("/proc/$pid/cwd", "/proc/$pid/root") {
				my $t = readlink $l // next;
				if (index($t, "$d/") == 0 || $t eq $d) {
					push @pids, $pid;
					last;
				}
			}
		}
		closedir $dh;
		return unless @pids;
		kill($try > 20 ? 'KILL' : 'TERM', @pids);
		sleep 0.1;
	}
}

sub _rmtree {
	my ($path) = @_;
	if (-d $path && !-l $path) {
		opendir my $dh, $path or return;
		my @e = grep { $_ ne '.' && $_ ne '..' } readdir $dh;
		closedir $dh;
		_rmtree("$path/$_") for @e;
		rmdir $path;
	} else {
		unlink $path;
	}
}

sub DESTROY {
	my ($self) = @_;
	local ($@, $!, $?);
	$self->stop;
}

END {
	local $?;
	$_->stop for grep { defined } values %LIVE;
}

my $signals_installed;
sub _install_signals {
	return if $signals_installed++;
	for my $sig (qw(INT TERM HUP)) {
		next if defined $SIG{$sig} && $SIG{$sig} ne 'DEFAULT';
		$SIG{$sig} = sub {
			$_->stop for grep { defined } values %LIVE;
			die "SIG$sig\n";
		};
	}
}

# ---- the loopback sink: our stand-in for the external domain ----------

sub _start_sink {
	my ($self) = @_;
	my $l = IO::Socket::IP->new(LocalHost => '127.0.0.1',
	    LocalPort => $self->{port}{sink}, Proto => 'tcp', Listen => 16,
	    ReuseAddr => 1) or die "MailStack: sink listen: $@";
	my $spool = "$self->{dir}/sink";
	my $parent = $$;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		# never hold the test's stdout (prove waits for its EOF); go
		# away if the test process is gone
		open STDIN, '<', '/dev/null';
		open STDOUT, '>', '/dev/null';
		open STDERR, '>', '/dev/null';
		$SIG{$_} = 'DEFAULT' for qw(INT TERM HUP);
		$SIG{CHLD} = 'IGNORE';
		my $sel = IO::Select->new($l);
		my $n = 0;
		while (1) {
			_exit(0) if getppid() != $parent;
			next unless $sel->can_read(1);
			my $c = $l->accept or do { next if $! == EINTR; _exit(0) };
			$n++;
			my $k = fork;
			if (defined $k && $k == 0) {
				close $l;
				_sink_session($c, "$spool/$$-$n");
				_exit(0);
			}
			close $c;
		}
	}
	close $l;
	$self->{sink_pid} = $pid;
}

# _sink_session - just enough ESMTP for Postfix's smtp(8); keeps envelopes
sub _sink_session {
	my ($c, $file) = @_;
	$c->autoflush(1);
	my $say = sub { print {$c} "$_[0]\r\n" };
	my ($env, $msgs) = ('', 0);
	$say->('220 sink.example.net ESMTP loopback sink');
	while (defined(my $l = <$c>)) {
		$l =~ s/\r?\n\z//;
		if ($l =~ /^(EHLO|HELO)\b/i) {
			print {$c} "250-sink.example.net\r\n250 8BITMIME\r\n";
		} elsif ($l =~ /^RCPT TO:\s*<(bounce|defer)/i) {
			$say->(lc $1 eq 'bounce'
			    ? '550 5.1.1 <' . _addr($l) . '>: Recipient address ' .
			      'rejected: User unknown in sink'
			    : '451 4.3.0 <' . _addr($l) . '>: Temporary sink ' .
			      'failure, try again later');
		} elsif ($l =~ /^(MAIL|RCPT)\b/i) {
			$env .= "$l\n";
			$say->('250 2.1.0 Ok');
		} elsif ($l =~ /^DATA\b/i) {
			$say->('354 End data with <CR><LF>.<CR><LF>');
			my $body = '';
			while (defined(my $b = <$c>)) {
				last if $b =~ /^\.\r?\n\z/;
				$body .= $b;
			}
			$msgs++;
			if (open my $fh, '>', "$file-$msgs.eml") {
				print {$fh} $env, "\n", $body;
				close $fh;
			}
			$env = '';
			$say->("250 2.0.0 Ok: queued as SINK" . uc(sprintf '%x%02d',
			    $$, $msgs));
		} elsif ($l =~ /^RSET\b/i) {
			$env = '';
			$say->('250 2.0.0 Ok');
		} elsif ($l =~ /^NOOP\b/i) {
			$say->('250 2.0.0 Ok');
		} elsif ($l =~ /^QUIT\b/i) {
			$say->('221 2.0.0 Bye');
			last;
		} else {
			$say->('502 5.5.2 Error: command not recognized');
		}
	}
	close $c;
}

sub _addr { $_[0] =~ /<([^>]*)>/ ? $1 : '' }

sub _stop_sink {
	my ($self) = @_;
	my $pid = delete $self->{sink_pid} or return;
	kill 'TERM', $pid;
	waitpid $pid, 0;
}

# sink_messages - envelopes and bodies the sink received, one string each
sub sink_messages {
	my ($self) = @_;
	opendir my $dh, "$self->{dir}/sink" or return ();
	my @f = sort grep { /\.eml\z/ } readdir $dh;
	closedir $dh;
	my @m;
	for my $f (@f) {
		open my $fh, '<', "$self->{dir}/sink/$f" or next;
		local $/;
		push @m, scalar <$fh>;
	}
	return @m;
}

# ---- clients -------------------------------------------------------------

# _connect - TCP connection from source address $ip to our service $svc
sub _connect {
	my ($self, $ip, $svc) = @_;
	die "MailStack: source address $ip is not loopback\n"
	    unless $ip =~ /\A127\.\d{1,3}\.\d{1,3}\.\d{1,3}\z/;
	my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
	    PeerPort => $self->{port}{$svc}, LocalHost => $ip, Proto => 'tcp',
	    Timeout => $IO_TIMEOUT)
	    or die "MailStack: connect $ip -> $svc: $@\n";
	$s->autoflush(1);
	return $s;
}

sub _getline {
	my ($s) = @_;
	my $l;
	eval {
		local $SIG{ALRM} = sub { die "timeout\n" };
		alarm $IO_TIMEOUT;
		$l = <$s>;
		alarm 0;
	};
	alarm 0;
	die "MailStack: server timed out\n" if $@;
	return $l;
}

# _smtp_reply - read one (multi-line) SMTP reply: (code, text)
sub _smtp_reply {
	my ($s) = @_;
	my ($code, @text);
	while (defined(my $l = _getline($s))) {
		$l =~ s/\r?\n\z//;
		push @text, $l;
		if ($l =~ /^(\d{3})([ -])/) {
			$code = $1;
			last if $2 eq ' ';
		} else {
			last;
		}
	}
	return ($code // 0, join "\n", @text);
}

# smtp_session - one scripted SMTP conversation; returns a hash:
#   replies => [[command, code, text], ...], auth => code, queue_id,
#   auth_codes => [one per AUTH], accepted => [rcpts], rejected => [rcpts],
#   sent => bool, msgid => the Message-ID header sent ("<...>")
# options: ip, service (smtp|submission), helo, user, pass (or [passes]
#   tried in turn until one works), mech
#   (PLAIN|LOGIN), from, rcpts => [..], subject, body, msgid (default: a
#   fresh one), quit (default 1;
#   0 drops the connection instead, as brute-force clients do),
#   before_password => sub (LOGIN only: runs before the password is sent)
sub smtp_session {
	my ($self, %o) = @_;
	my $svc = $o{service} // 'submission';
	my $s = $self->_connect($o{ip} // '127.0.0.1', $svc);
	my %r = (replies => [], accepted => [], rejected => [], sent => 0);
	my $cmd = sub {
		my ($line, $shown) = @_;
		print {$s} "$line\r\n" if defined $line;
		my ($code, $text) = _smtp_reply($s);
		push @{$r{replies}}, [ $shown // $line // '(greeting)', $code,
		    $text ];
		return $code;
	};
	$cmd->(undef);
	$cmd->('EHLO ' . ($o{helo} // 'client.example.org'));
	for my $pw (!defined $o{user} ? () : ref $o{pass} ? @{$o{pass}} :
	    $o{pass}) {
		$r{auth} = _smtp_auth($cmd, \%o, $pw);
		push @{$r{auth_codes}}, $r{auth};
		last if $r{auth} == 235;
	}
	if (defined $o{from} && (!defined $o{user} || $r{auth} == 235 ||
	    $o{force_mail})) {
		$cmd->("MAIL FROM:<$o{from}>");
		for my $rc (@{$o{rcpts} // []}) {
			my $c = $cmd->("RCPT TO:<$rc>");
			push @{$c =~ /^2/ ? $r{accepted} : $r{rejected}}, $rc;
		}
		if (@{$r{accepted}}) {
			if ($cmd->('DATA') == 354) {
				$r{msgid} = $o{msgid} //= _msgid();
				print {$s} _message(\%o);
				my $c = $cmd->(undef, '(end of data)');
				$r{sent} = $c == 250;
				$r{queue_id} = $1 if $c == 250 &&
				    $r{replies}[-1][2] =~ /queued as (\w+)/;
			}
		} else {
			$cmd->('RSET');
		}
	}
	$cmd->('QUIT') if $o{quit} // 1;
	close $s;
	return \%r;
}

# _smtp_auth - one AUTH exchange with password $pw; returns the final code
sub _smtp_auth {
	my ($cmd, $o, $pw) = @_;
	my $mech = uc($o->{mech} // 'PLAIN');
	if ($mech eq 'LOGIN') {
		my $code = $cmd->('AUTH LOGIN');
		$code = $cmd->(encode_base64($o->{user}, ''), '(username)')
		    if $code == 334;
		$o->{before_password}->() if $code == 334 &&
		    $o->{before_password};
		$code = $cmd->(encode_base64($pw, ''), '(password)')
		    if $code == 334;
		return $code;
	}
	return $cmd->('AUTH PLAIN ' . encode_base64("\0$o->{user}\0$pw", ''),
	    'AUTH PLAIN (secret)');
}

sub _message {
	my ($o) = @_;
	my $to = join ', ', @{$o->{rcpts}};
	my $subj = $o->{subject} // 'test';
	my $body = $o->{body} // "This is a MailStack test message.\n";
	$body =~ s/\r?\n/\r\n/g;
	$body =~ s/^\./../mg;
	my @t = gmtime;
	my $date = POSIX::strftime('%a, %d %b %Y %H:%M:%S +0000', @t);
	my $mid = $o->{msgid} // _msgid();
	return "From: <$o->{from}>\r\nTo: $to\r\nSubject: $subj\r\n" .
	    "Date: $date\r\nMessage-ID: $mid\r\n\r\n$body\r\n.\r\n";
}

# _msgid - a fresh Message-ID header value
sub _msgid { sprintf '<%d.%d.%s@mailstack.test>', time, $$, int rand 1e9 }

# smtp_auth_send - AUTH on submission from $ip and send one message;
# returns the smtp_session hash (queue_id set when accepted)
sub smtp_auth_send {
	my ($self, $ip, $user, $pass, $from, $rcpts, $subject, %o) = @_;
	return $self->smtp_session(%o, ip => $ip, user => $user,
	    pass => $pass, from => $from,
	    rcpts => ref $rcpts ? $rcpts : [$rcpts], subject => $subject);
}

# smtp_auth_fail - one failed AUTH on submission from $ip, then QUIT
sub smtp_auth_fail {
	my ($self, $ip, $user, $badpass, %o) = @_;
	return $self->smtp_session(%o, ip => $ip, user => $user,
	    pass => $badpass);
}

# smtp_bulk_send - AUTH PLAIN on submission from $ip once, then send $n
# messages in that one session (MAIL, RCPT..., DATA each time), as a
# spammer with a stolen password does; returns a hash: auth => code,
# queue_ids => [one per message accepted], sent => count.  Options: rcpts
# => [..] (default ["bulk\@discard.test"]), subject, helo.
sub smtp_bulk_send {
	my ($self, $ip, $user, $pass, $from, $n, %o) = @_;
	my $s = $self->_connect($ip, 'submission');
	my $cmd = sub {
		print {$s} "$_[0]\r\n" if defined $_[0];
		return _smtp_reply($s);
	};
	my %r = (queue_ids => [], sent => 0);
	$cmd->(undef);
	$cmd->('EHLO ' . ($o{helo} // 'bulk.example.org'));
	($r{auth}) = $cmd->('AUTH PLAIN ' .
	    encode_base64("\0$user\0$pass", ''));
	my @rcpts = @{$o{rcpts} // [ 'bulk@discard.test' ]};
	for my $i (1 .. ($r{auth} == 235 ? $n : 0)) {
		my ($c) = $cmd->("MAIL FROM:<$from>");
		last unless $c == 250;
		my $ok = 0;
		for my $rc (@rcpts) {
			($c) = $cmd->("RCPT TO:<$rc>");
			$ok++ if $c =~ /^2/;
		}
		($c) = $ok ? $cmd->('DATA') : $cmd->('RSET');
		next unless $ok && $c == 354;
		print {$s} _message({ from => $from, rcpts => \@rcpts,
		    subject => ($o{subject} // 'bulk') . " $i" });
		my ($code, $text) = $cmd->(undef);
		next unless $code == 250;
		$r{sent}++;
		push @{$r{queue_ids}}, $1 if $text =~ /queued as (\w+)/;
	}
	$cmd->('QUIT');
	close $s;
	return \%r;
}

# parallel - run each code ref in its own child process at once (clients
# that overlap, as a botnet's do) and wait for all; returns the number of
# children that failed (died or returned false).  Children leave with
# _exit: no END block, destructor or temporary-directory cleanup runs.
sub parallel {
	my ($self, @subs) = @_;
	my @pids;
	for my $sub (@subs) {
		my $pid = fork // die "fork: $!";
		if ($pid == 0) {
			my $ok = eval { $sub->() };
			_exit($ok ? 0 : 1);
		}
		push @pids, $pid;
	}
	my $bad = 0;
	for my $pid (@pids) {
		waitpid $pid, 0;
		$bad++ if $?;
	}
	return $bad;
}

sub _imap_quote {
	my ($v) = @_;
	$v =~ s/(["\\])/\\$1/g;
	return qq{"$v"};
}

# imap_login - log in from $ip and LOGOUT; true when a login succeeded (in
# list context also the server's lines).  $pass may be an array of
# passwords tried in turn on one connection.  Options: sasl => 1 uses
# AUTHENTICATE PLAIN instead of LOGIN; logout => 0 drops the connection.
sub imap_login {
	my ($self, $ip, $user, $pass, %o) = @_;
	my $s = $self->_connect($ip, 'imap');
	my @replies = (_getline($s) // '');
	my $n = 0;
	my $tagged = sub {
		my ($line) = @_;
		my $tag = 'a' . ++$n;
		print {$s} "$tag $line\r\n";
		while (defined(my $l = _getline($s))) {
			push @replies, $l;
			return $l if $l =~ /^\Q$tag\E /;
		}
		return '';
	};
	my $ok = 0;
	for my $pw (ref $pass ? @$pass : $pass) {
		my $r = $tagged->($o{sasl}
		    ? 'AUTHENTICATE PLAIN ' . encode_base64("\0$user\0$pw", '')
		    : 'LOGIN ' . _imap_quote($user) . ' ' . _imap_quote($pw));
		$ok = 1, last if $r =~ /^a\d+ OK/;
	}
	$tagged->('SELECT INBOX') if $ok;
	$tagged->('LOGOUT') if $o{logout} // 1;
	close $s;
	s/\r?\n\z// for @replies;
	return wantarray ? ($ok, @replies) : $ok;
}

# pop3_login - log in from $ip and QUIT; true when a login succeeded.
# $pass and options as for imap_login (sasl => 1 uses AUTH PLAIN, quit => 0
# drops the connection).
sub pop3_login {
	my ($self, $ip, $user, $pass, %o) = @_;
	my $s = $self->_connect($ip, 'pop3');
	my @replies = (_getline($s) // '');
	my $cmd = sub {
		print {$s} "$_[0]\r\n";
		my $l = _getline($s) // '';
		push @replies, $l;
		return $l;
	};
	my $ok = 0;
	for my $pw (ref $pass ? @$pass : $pass) {
		my $r;
		if ($o{sasl}) {
			$r = $cmd->('AUTH PLAIN ' .
			    encode_base64("\0$user\0$pw", ''));
		} else {
			$cmd->("USER $user");
			$r = $cmd->("PASS $pw");
		}
		$ok = 1, last if $r =~ /^\+OK/;
	}
	$cmd->('STAT') if $ok;
	$cmd->('QUIT') if $o{quit} // 1;
	close $s;
	s/\r?\n\z// for @replies;
	return wantarray ? ($ok, @replies) : $ok;
}

# probe - connect from $ip to $svc (smtp, submission, imap, pop3), read the
# greeting, send $line if given (e.g. "QUIT", "a LOGOUT") and read one
# reply, then close; returns what the server said.  No login is attempted.
sub probe {
	my ($self, $ip, $svc, $line) = @_;
	my $s = $self->_connect($ip, $svc);
	my @got = (_getline($s) // '');
	if (defined $line) {
		print {$s} "$line\r\n";
		push @got, _getline($s) // '';
	}
	close $s;
	s/\r?\n\z// for @got;
	return @got;
}

# kill_dovecot_auth - SIGKILL our Dovecot's auth process (its master starts
# a new one on demand); returns the pid killed, or undef
sub kill_dovecot_auth {
	my ($self) = @_;
	my $master = _pid_from("$self->{dir}/dovecot/run/master.pid",
	    qr{dovecot}) // return undef;
	opendir my $dh, '/proc' or return undef;
	for my $pid (grep { /^\d+$/ } readdir $dh) {
		open my $st, '<', "/proc/$pid/stat" or next;
		my $stat = <$st> // next;
		my ($ppid) = $stat =~ /\) \S+ (\d+)/ or next;
		next unless $ppid == $master;
		open my $cl, '<', "/proc/$pid/cmdline" or next;
		my $cmd = <$cl> // next;
		next unless $cmd =~ m{\A[^\0/]*/auth\0*\z};
		kill 'KILL', $pid;
		return $pid;
	}
	return undef;
}

# ---- the log and the queue ---------------------------------------------

# log_lines - all lines of mail.log so far (without newlines)
sub log_lines {
	my ($self) = @_;
	open my $fh, '<', $self->{log} or return ();
	my @l = <$fh>;
	chomp @l;
	return @l;
}

# log_size - current size of mail.log, to pass as wait_for_log's "since"
sub log_size { -s $_[0]{log} // 0 }

# wait_for_log - poll mail.log until a line matches $re (from byte offset
# $since, default 0); returns the first matching line, or undef on timeout.
# In list context returns all matching lines once at least $min (default 1)
# matched.
sub wait_for_log {
	my ($self, $re, $timeout, $since, $min) = @_;
	$timeout //= 20;
	$since //= 0;
	$min //= 1;
	my $end = time + $timeout;
	while (1) {
		my @m;
		if (open my $fh, '<', $self->{log}) {
			seek $fh, $since, 0;
			while (my $l = <$fh>) {
				next unless $l =~ /\n\z/;	# whole lines only
				chomp $l;
				push @m, $l if $l =~ $re;
			}
		}
		if (@m >= $min) {
			return wantarray ? @m : $m[0];
		}
		return wantarray ? () : undef if time > $end;
		sleep 0.1;
	}
}

# wait_log_quiet - wait until mail.log has not grown for $quiet seconds
# (default 0.4): the servers are done writing about what just happened
sub wait_log_quiet {
	my ($self, $quiet, $timeout) = @_;
	$quiet //= 0.4;
	my $end = time + ($timeout // 30);
	my ($size, $since) = (-1, time);
	while (time < $end) {
		my $s = $self->log_size;
		($size, $since) = ($s, time) if $s != $size;
		return 1 if time - $since >= $quiet;
		sleep 0.05;
	}
	return 0;
}

# postsuper - run postsuper(1) on our instance, e.g. ('-d', 'ALL');
# returns (exit status, output)
sub postsuper {
	my ($self, @args) = @_;
	return $self->_run('/usr/sbin/postsuper', '-c',
	    $self->postfix_config_dir, @args);
}

# queue_files - number of messages in Postfix's queues
sub queue_files {
	my ($self) = @_;
	my $n = 0;
	my @dirs = map { "$self->{dir}/postfix/spool/$_" }
	    qw(maildrop incoming active deferred hold);
	while (my $d = shift @dirs) {
		opendir my $dh, $d or next;
		for my $e (grep { !/^\.\.?\z/ } readdir $dh) {
			if (-d "$d/$e") { push @dirs, "$d/$e" } else { $n++ }
		}
		closedir $dh;
	}
	return $n;
}

# wait_queue_empty - true once no message is left in the queue
sub wait_queue_empty {
	my ($self, $timeout) = @_;
	return $self->_wait(sub { $self->queue_files == 0 }, $timeout // 30);
}

# ---- posture audits (t/audit-*.t) -----------------------------------------

# postfix_tweak - before start(): change this instance's Postfix, e.g. into
# an open relay.  main => {param => value} replaces (or adds) main.cf
# settings; smtp => {param => value} and submission => {...} set
# "-o param=value" on that service in master.cf.  Settings are replaced in
# place: a duplicate makes every Postfix process warn, and postlogd
# deadlocks logging its own warnings.
sub postfix_tweak {
	my ($self, %o) = @_;
	die "MailStack: postfix_tweak after start\n" if $self->{started};
	my $etc = $self->postfix_config_dir;
	my $slurp = sub {
		open my $in, '<', $_[0] or die "$_[0]: $!";
		local $/;
		my $t = <$in>;
		close $in;
		return $t;
	};
	my $main = $slurp->("$etc/main.cf");
	for my $k (sort keys %{$o{main} // {}}) {
		my $line = "$k = $o{main}{$k}";
		$main =~ s/^\Q$k\E[ \t]*=[^\n]*$/$line/m or $main .= "$line\n";
	}
	_write("$etc/main.cf", $main);
	my $master = $slurp->("$etc/master.cf");
	for my $svc (qw(smtp submission)) {
		my $set = $o{$svc} or next;
		my $port = $self->{port}{$svc};
		$master =~ s{^(127\.0\.0\.1:$port inet [^\n]*\n(?:[ \t][^\n]*\n)*)}{
			my $blk = $1;
			$blk =~ s/^[ \t]+-o \Q$_\E=[^\n]*\n//mg for keys %$set;
			$blk . join '', map { "  -o $_=$set->{$_}\n" }
			    sort keys %$set;
		}me or die "MailStack: no $svc service in master.cf\n";
	}
	_write("$etc/master.cf", $master);
	return $self;
}

# self_signed - make a throw-away key and certificate for $cn in the
# instance's directory (openssl(1)); returns (key path, cert path)
sub self_signed {
	my ($self, $cn) = @_;
	my $etc = $self->postfix_config_dir;
	my ($rc, $out) = $self->_run('/usr/bin/openssl', 'req', '-x509',
	    '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', "/CN=$cn",
	    '-keyout', "$etc/tls.key", '-out', "$etc/tls.crt");
	die "MailStack: openssl req failed: $out\n" if $rc;
	chmod 0644, "$etc/tls.key";	# smtpd reads it after dropping root
	# smtpd wants tlsmgr(8) for its TLS session cache and entropy
	open my $fh, '>>', "$etc/master.cf" or die "$etc/master.cf: $!";
	print {$fh} "tlsmgr    unix  -       -       n       1000?   1       tlsmgr\n";
	close $fh or die "$etc/master.cf: $!";
	return ("$etc/tls.key", "$etc/tls.crt");
}

# relay_pair(%open_services) - two instances for the posture audits, not
# started: "closed" (mynetworks 127.0.0.2 only, relay for the authenticated,
# STARTTLS with AUTH only after it, no VRFY) and "open" (mynetworks
# 127.0.0.0/8, so it relays for any loopback client; AUTH offered on port 25,
# a banner that names the software).  %open_services adds per-service
# settings to the open one (postfix_tweak's smtp => / submission =>).
sub relay_pair {
	my ($class, %open_services) = @_;
	my $rr = 'permit_mynetworks, permit_sasl_authenticated, ' .
	    'reject_unauth_destination';
	my $closed = $class->new(hostname => 'mx.closed.fumidai.test');
	my ($key, $crt) = $closed->self_signed('mx.closed.fumidai.test');
	$closed->postfix_tweak(main => {
		mynetworks => '127.0.0.2/32',
		smtpd_relay_restrictions => $rr,
		smtpd_tls_security_level => 'may',
		smtpd_tls_cert_file => $crt,
		smtpd_tls_key_file => $key,
		smtpd_tls_auth_only => 'yes',
		disable_vrfy_command => 'yes',
	});
	my $open = $class->new(hostname => 'mx.open.fumidai.test');
	$open->postfix_tweak(main => {
		mynetworks => '127.0.0.0/8',
		smtpd_relay_restrictions => $rr,
		smtpd_recipient_restrictions => 'permit_mynetworks, ' .
		    'reject_unauth_destination',
		smtpd_banner => '$myhostname ESMTP $mail_name $mail_version',
	}, smtp => { smtpd_sasl_auth_enable => 'yes' }, %open_services);
	return ($closed, $open);
}

1;
