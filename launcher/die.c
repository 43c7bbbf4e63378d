/*
 * die.c - error messages; see die.h.  Writes go through one vfprintf to
 * stderr so a message from init and one from the monitor never interleave
 * within a line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "die.h"

#include <unistd.h>

/* The process that may run exit handlers: the monitor.  init and the
 * command's child are forks of it; there exit() would run the monitor's
 * atexit handlers (and flush its stdio buffers) a second time. */
static pid_t exit_owner;

void die_set_owner(void)
{
	exit_owner = getpid();
}

static noreturn void leave(int status)
{
	if (exit_owner != 0 && getpid() != exit_owner)
		_exit(status);
	exit(status);
}

static void print_message(const char *format, va_list arguments, int error, const char *hint)
{
	char message[1024];
	vsnprintf(message, sizeof message, format, arguments);
	if (error != 0 && hint != NULL)
		fprintf(stderr, "encapsulate: %s: %s — %s\n", message, strerror(error), hint);
	else if (error != 0)
		fprintf(stderr, "encapsulate: %s: %s\n", message, strerror(error));
	else
		fprintf(stderr, "encapsulate: %s\n", message);
}

void die(const char *format, ...)
{
	va_list arguments;
	va_start(arguments, format);
	print_message(format, arguments, 0, NULL);
	va_end(arguments);
	leave(EXIT_ENCAPSULATE_FAILURE);
}

void die_errno(const char *format, ...)
{
	int error = errno;
	va_list arguments;
	va_start(arguments, format);
	print_message(format, arguments, error, NULL);
	va_end(arguments);
	leave(EXIT_ENCAPSULATE_FAILURE);
}

void die_errno_hint(const char *hint, const char *format, ...)
{
	int error = errno;
	va_list arguments;
	va_start(arguments, format);
	print_message(format, arguments, error, hint);
	va_end(arguments);
	leave(EXIT_ENCAPSULATE_FAILURE);
}

void warn(const char *format, ...)
{
	char message[1024];
	va_list arguments;
	va_start(arguments, format);
	vsnprintf(message, sizeof message, format, arguments);
	va_end(arguments);
	fprintf(stderr, "encapsulate: warning: %s\n", message);
}
