/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rusage.c - run a command, then report its wall time, CPU time and peak RSS.
 *
 * bench/run compiles this with cc on the fly so that the benchmark does not
 * depend on GNU time.  The peak RSS is ru_maxrss as returned by wait4(2) for
 * the child: the kernel's own high-water mark over the child's whole life,
 * exact and free of the race that sampling /proc/PID/status would have.
 *
 * usage: rusage RESULT-FILE COMMAND [ARG...]
 * The command inherits stdin, stdout and stderr; RESULT-FILE receives one
 * line "wall=S user=S sys=S maxrss_kb=N status=N" (status: exit code, or
 * 128+signal).  Exit status is 0 unless the command could not be run.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
tv_secs(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	FILE *fp;
	pid_t pid;
	int st, code;

	if (argc < 3) {
		fprintf(stderr, "usage: rusage RESULT-FILE COMMAND [ARG...]\n");
		return 2;
	}
	if ((fp = fopen(argv[1], "w")) == NULL) {
		fprintf(stderr, "rusage: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((pid = fork()) == -1) {
		fprintf(stderr, "rusage: fork: %s\n", strerror(errno));
		return 2;
	}
	if (pid == 0) {
		fclose(fp);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "rusage: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &st, 0, &ru) == -1)
		if (errno != EINTR) {
			fprintf(stderr, "rusage: wait4: %s\n", strerror(errno));
			return 2;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	fprintf(fp, "wall=%.3f user=%.3f sys=%.3f maxrss_kb=%ld status=%d\n",
	    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	    tv_secs(ru.ru_utime), tv_secs(ru.ru_stime), ru.ru_maxrss, code);
	return fclose(fp) == 0 ? 0 : 2;
}
