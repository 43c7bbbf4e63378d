/* storm: a syscall storm for bench/run.py.
 *
 *   storm w COUNT PATH [DISTINCT]   COUNT opens O_WRONLY|O_CREAT of PATH, each closed
 *   storm r COUNT PATH              COUNT opens O_RDONLY of PATH, each closed
 *
 * With DISTINCT > 1 the write opens cycle over PATH.0 .. PATH.<DISTINCT-1>.
 * Failing opens are counted, not fatal (the memory benchmark opens outside the
 * writable trees on purpose).  Prints the loop's own time in seconds on stdout,
 * so the sandbox's startup is not part of the number.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 4 || (strcmp(argv[1], "w") && strcmp(argv[1], "r"))) {
		fprintf(stderr, "usage: storm w|r COUNT PATH [DISTINCT]\n");
		return 2;
	}
	int write_mode = argv[1][0] == 'w';
	long count = atol(argv[2]);
	const char *path = argv[3];
	long distinct = argc > 4 ? atol(argv[4]) : 1;
	char buf[4096];
	long failed = 0;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < count; i++) {
		const char *p = path;
		if (distinct > 1) {
			snprintf(buf, sizeof buf, "%s.%ld", path, i % distinct);
			p = buf;
		}
		int fd = write_mode ? open(p, O_WRONLY | O_CREAT, 0644) : open(p, O_RDONLY);
		if (fd < 0)
			failed++;
		else
			close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.6f\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (failed)
		fprintf(stderr, "storm: %ld of %ld opens failed\n", failed, count);
	return 0;
}
