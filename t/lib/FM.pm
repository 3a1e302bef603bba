# SPDX-License-Identifier: BSD-2-Clause
# FM.pm - helpers for fumidai's Perl tests: where the build is, running the
# fumidai binary, a private redis-server on a unix socket, config files.
package FM;
use strict;
use warnings;
use File::Temp qw(tempdir);
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep);
use Exporter 'import';
use Test::More ();
our @EXPORT_OK = qw(fumidai run_cmd tmpdir write_file read_file start_redis
    write_config have_prog spawn_fumidai stop_pid checkpoint wait_caught_up
    free_port);

sub builddir { $ENV{FM_BUILDDIR} // '.' }
sub srcdir   { $ENV{FM_SRCDIR} // '.' }
sub fumidai  { builddir() . '/fumidai' }

# tmpdir - a temporary directory removed at exit (kept with FM_KEEP=1)
sub tmpdir { tempdir('fm-test-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{FM_KEEP}) }

sub write_file {
    my ($path, $data, $mode) = @_;
    open(my $fh, $mode // '>', $path) or die "$path: $!";
    binmode $fh;
    print $fh $data;
    close $fh or die "$path: $!";
}

sub read_file {
    my ($path) = @_;
    open(my $fh, '<', $path) or return undef;
    binmode $fh;
    local $/;
    my $d = <$fh>;
    close $fh;
    return $d;
}

# free_port([ADDR]) - a TCP port free on ADDR (127.0.0.1) right now
sub free_port {
	require IO::Socket::IP;
	my $s = IO::Socket::IP->new(LocalHost => $_[0] // '127.0.0.1',
	    LocalPort => 0, Proto => 'tcp', Listen => 1) or die "bind: $@";
	my $p = $s->sockport;
	close $s;
	return $p;
}

sub have_prog {
    my ($p) = @_;
    for my $d (split /:/, "$ENV{PATH}:/usr/sbin:/sbin") {
        return "$d/$p" if -x "$d/$p";
    }
    return undef;
}

# run_cmd(\@argv, stdin => DATA) - returns (exit status, stdout, stderr)
sub run_cmd {
    my ($argv, %o) = @_;
    my $dir = tmpdir();
    my ($in, $out, $err) = ("$dir/in", "$dir/out", "$dir/err");
    write_file($in, $o{stdin} // '');
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open(STDIN, '<', $in);
        open(STDOUT, '>', $out);
        open(STDERR, '>', $err);
        exec(@$argv) or POSIX::_exit(127);
    }
    waitpid($pid, 0);
    my $st = $? >> 8;
    return ($st, read_file($out) // '', read_file($err) // '');
}

# spawn_fumidai(\@args, out, err) - fumidai ARGS in the background, its
# stdout and stderr into the files out and err; the pid
sub spawn_fumidai {
    my ($args, $out, $err) = @_;
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open(STDOUT, '>', $out);
        open(STDERR, '>', $err);
        exec(fumidai(), @$args) or POSIX::_exit(127);
    }
    return $pid;
}

# stop_pid(pid) - SIGTERM, then wait up to a minute (SIGKILL after);
# the exit status, or -1 when it died of a signal or had to be killed
sub stop_pid {
    my ($pid) = @_;
    kill 'TERM', $pid;
    my $deadline = time + 60;
    while (waitpid($pid, WNOHANG) == 0) {
        if (time > $deadline) {
            kill 'KILL', $pid;
            waitpid $pid, 0;
            return -1;
        }
        sleep 0.05;
    }
    my $st = $?;
    return $st & 127 ? -1 : $st >> 8;
}

# checkpoint(state_dir) - (lines, offset) of the first input that the
# checkpoint in state_dir accounts for; (-1, -1) before there is one
sub checkpoint {
    my ($state) = @_;
    my $c = read_file("$state/checkpoint") // return (-1, -1);
    for (split /\n/, $c) {
        my @f = split / /;
        return ($f[7], $f[4]) if $f[0] eq 'input';
    }
    return (-1, -1);
}

# wait_caught_up(what, state_dir, \&count, \$pid, errfile) - wait (a minute
# at most) until the checkpoint covers count->() lines of the live log: a
# passing test when it does; else a failing one, fumidai's stderr as a
# diagnostic (and $pid undefined if fumidai run exited), and die
sub wait_caught_up {
    my ($what, $state, $count, $pidref, $errfile) = @_;
    my $deadline = time + 60;
    my ($n, $got) = (0, -1);
    my $tb = Test::More->builder;
    while (time < $deadline) {
        $n = $count->();
        ($got) = checkpoint($state);
        return $tb->ok(1, "fumidai run caught up with $what ($n lines)")
            if $n > 0 && $got == $n;
        if (waitpid($$pidref, WNOHANG) != 0) {
            $tb->diag("fumidai run exited: status $?");
            undef $$pidref;
            last;
        }
        sleep 0.1;
    }
    $tb->ok(0, "fumidai run caught up with $what: checkpoint $got of $n lines");
    $tb->diag(read_file($errfile) // '');
    die "fumidai run did not catch up\n";
}

# write_config(path, redis_sock, state_dir, inputs => [paths], extra => "...")
sub write_config {
    my ($path, %o) = @_;
    my $conf = '';
    $conf .= "state_dir = \"$o{state_dir}\";\n" if $o{state_dir};
    $conf .= "instance = \"$o{instance}\";\n" if $o{instance};
    $conf .= "redis = { socket = \"$o{redis}\"; prefix = \"" . ($o{prefix} // 'fm:') . "\"; };\n"
        if $o{redis};
    if ($o{inputs}) {
        $conf .= "inputs = (\n" . join(",\n",
            map { "  { path = \"$_\"; }" } @{$o{inputs}}) . "\n);\n";
    }
    $conf .= $o{extra} if $o{extra};
    write_file($path, $conf);
    return $path;
}

package FM::Redis;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep);

# FM::start_redis(dir, persist => 1) - a redis-server on dir/redis.sock
sub FM::start_redis {
    my ($dir, %o) = @_;
    my $self = bless { dir => $dir, sock => "$dir/redis.sock", %o }, __PACKAGE__;
    $self->start;
    return $self;
}

sub start {
    my ($self) = @_;
    my @args = ('redis-server', '--port', '0', '--unixsocket', $self->{sock},
        '--dir', $self->{dir}, '--daemonize', 'no',
        '--logfile', "$self->{dir}/redis-server.log");
    push @args, $self->{persist}
        ? ('--appendonly', 'yes', '--appendfsync', 'always', '--save', '')
        : ('--appendonly', 'no', '--save', '');
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open(STDOUT, '>', '/dev/null');
        exec(@args) or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    for (1 .. 200) {
        return 1 if -S $self->{sock} && $self->cli('PING') eq "PONG\n";
        sleep 0.05;
    }
    die "redis-server did not start (see $self->{dir}/redis-server.log)";
}

sub sock { $_[0]{sock} }

# cli(@args) - redis-cli output (raw mode)
sub cli {
    my ($self, @args) = @_;
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if ($pid == 0) {
        open(STDERR, '>', '/dev/null');
        exec('redis-cli', '--raw', '-s', $self->{sock}, @args) or POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return $out;
}

sub stop {
    my ($self, $sig) = @_;
    return unless $self->{pid};
    kill($sig // 'TERM', $self->{pid});
    waitpid($self->{pid}, 0);
    delete $self->{pid};
    unlink $self->{sock};
}

sub kill9 { $_[0]->stop('KILL') }

sub DESTROY { $_[0]->stop if $_[0]{pid} }

1;
