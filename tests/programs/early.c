/*
 * early.c - a shared library whose constructor opens $EARLY_PATH for
 * writing and prints "rc=<fd> errno=<NAME>", like shimcall.  ld.so may run
 * this constructor before the shim's own (it initialises the objects a
 * program needs before the preloaded ones), so the shim's wrappers must work
 * before their constructor has run.  tests/test_shim.py links shimcall
 * against it (shimcall-early).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void early_open(void)
{
	const char *path = getenv("EARLY_PATH");
	if (path == NULL)
		return;
	errno = 0;
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	int error = errno;
	const char *name = error != 0 ? strerrorname_np(error) : NULL;
	printf("rc=%d errno=%s\n", fd, name != NULL ? name : "0");
	fflush(stdout);
}
