/*
 * die.h - one-line error messages and encapsulate's own exit status.
 *
 * Every message is "encapsulate: <what>: <path or syscall>[: <strerror>][ — <what to do>]"
 * on stderr, one line.  Our own failures exit with EXIT_ENCAPSULATE_FAILURE
 * (125, as env(1), chroot(1) and timeout(1) do) so they never look like the
 * build's own exit status.
 */
#ifndef ENCAPSULATE_DIE_H
#define ENCAPSULATE_DIE_H

#include <stdnoreturn.h>

#define EXIT_ENCAPSULATE_FAILURE 125
#define EXIT_NOT_EXECUTABLE 126
#define EXIT_NOT_FOUND 127

/* Prints the formatted message and exits 125. */
noreturn void die(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Prints the message, ": ", strerror(errno), and exits 125. */
noreturn void die_errno(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* As die_errno, then " — " and the hint saying what to do. */
noreturn void die_errno_hint(const char *hint, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

/* Marks the calling process (the monitor) as the one whose die() runs exit
 * handlers; in its forks die() ends with _exit(2). */
void die_set_owner(void);

/* Prints "encapsulate: warning: <message>" and goes on. */
void warn(const char *format, ...) __attribute__((format(printf, 1, 2)));

#endif
