/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * memchr.c - the floor under any log parser: read a file in 1 MiB blocks
 * and count its lines with memchr(3), nothing else.
 *
 * bench/run compiles this on the fly and times it next to `fumidai parse`,
 * so the parser's figure can be read against what the machine can do at all.
 * usage: memchr FILE   (prints "lines=N bytes=N")
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BLOCK (1 << 20)

static char buf[BLOCK];

int
main(int argc, char **argv)
{
	unsigned long long lines = 0, bytes = 0;
	ssize_t n;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: memchr FILE\n");
		return 2;
	}
	if ((fd = open(argv[1], O_RDONLY)) == -1) {
		fprintf(stderr, "memchr: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		const char *p = buf, *end;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "memchr: %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
		end = buf + n;
		while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			lines++;
			p++;
		}
		bytes += (unsigned long long)n;
	}
	close(fd);
	printf("lines=%llu bytes=%llu\n", lines, bytes);
	return 0;
}
