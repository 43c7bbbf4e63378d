/*
 * exec.c - the exec family and posix_spawn, interposed so that the shim
 * stays loaded in every program the build starts.
 *
 * glibc's execv/execvp/execl* call its internal execve, fexecve calls
 * execveat, and none of them go through a symbol an LD_PRELOAD library can
 * replace, so each public entry point is wrapped here (execve(2), exec(3),
 * fexecve(3), execveat(2), posix_spawn(3)).  Each one hands the real function
 * the caller's environment, or a copy with LD_PRELOAD and the shim's
 * variables put back when the caller dropped them (env -i, envp = {NULL}).
 * A failed exec is reported with its errno; a successful one is announced by
 * the new image's own process record.  posix_spawn and posix_spawnp also
 * report the write-opens of their file actions (file_actions.c): the child
 * makes them where no wrapper sees them.
 *
 * The exec family is safe in a vfork(2) child and on an 8 KiB clone(2)
 * stack: the environment copy lives in a small stack array (mmap(2) for
 * large environments), and nothing allocates, locks or uses stdio.  The
 * execl* argument vectors are on the stack, as glibc's own execl builds
 * them.  posix_spawn, when its file actions open files for writing, takes
 * file_actions.c's lock and about 12 KiB of stack to report them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

#include "shim.h"

extern char **environ;

/* Room for the absolute name of a program found untraced. */
#define UNTRACED_NAME_BYTES 512

/* Before an exec that replaces this process: if the program cannot load the
 * shim, say so now (afterwards nobody can; a failed exec cancels it, see
 * event.h).  Its own frame, so that the buffers are gone before the exec. */
__attribute__((noinline)) static void announce_untraced(int dirfd, const char *path, bool search,
							 int flags, char *const argv[])
{
	char resolved[UNTRACED_NAME_BYTES];
	const char *reason =
		shim_untraced_reason(dirfd, path, search, flags, resolved, sizeof resolved);
	if (reason != NULL)
		shim_report_untraced(path, resolved, reason, argv, getpid());
}

SHIM_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	if (SHIM_REAL(execve) == NULL) {
		errno = ENOSYS;
		return -1;
	}
	announce_untraced(AT_FDCWD, path, false, 0, argv);
	SHIM_WITH_ENVIRONMENT(environment, envp);
	int result = real_execve(path, argv, environment);
	SHIM_RELEASE_ENVIRONMENT(environment, envp);
	shim_report_exec(path, argv, errno);
	return result;
}

SHIM_EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

SHIM_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	if (SHIM_REAL(execvpe) == NULL) {
		errno = ENOSYS;
		return -1;
	}
	announce_untraced(AT_FDCWD, file, true, 0, argv);
	SHIM_WITH_ENVIRONMENT(environment, envp);
	int result = real_execvpe(file, argv, environment);
	SHIM_RELEASE_ENVIRONMENT(environment, envp);
	shim_report_exec(file, argv, errno);
	return result;
}

SHIM_EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

SHIM_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	if (SHIM_REAL(fexecve) == NULL) {
		errno = ENOSYS;
		return -1;
	}
	announce_untraced(fd, "", false, AT_EMPTY_PATH, argv);
	SHIM_WITH_ENVIRONMENT(environment, envp);
	int result = real_fexecve(fd, argv, environment);
	SHIM_RELEASE_ENVIRONMENT(environment, envp);
	shim_report_exec("", argv, errno);
	return result;
}

SHIM_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
			 int flags)
{
	if (SHIM_REAL(execveat) == NULL) {
		errno = ENOSYS;
		return -1;
	}
	announce_untraced(dirfd, path, false, flags, argv);
	SHIM_WITH_ENVIRONMENT(environment, envp);
	int result = real_execveat(dirfd, path, argv, environment, flags);
	SHIM_RELEASE_ENVIRONMENT(environment, envp);
	shim_report_exec(path, argv, errno);
	return result;
}

/* Counts the arguments of an execl-style list after `first` up to the NULL. */
static size_t count_arguments(va_list arguments)
{
	size_t count = 1;
	while (va_arg(arguments, char *) != NULL)
		count++;
	return count;
}

/* execl(3) family: build the argument vector on the stack, then take the
 * v path.  The list is read to its terminating NULL, so that execle finds
 * envp right after it.  An empty list (first == NULL) is an empty argv, as
 * in glibc.  (The list is walked here, not in a helper: a va_list handed to
 * another function may not be used again by its caller, C11 7.16.) */
#define EXECL_ARGUMENTS(argv, first)                                                               \
	va_list arguments_;                                                                        \
	va_start(arguments_, first);                                                               \
	size_t count_ = SHIM_OPAQUE(first) == NULL ? 0 : count_arguments(arguments_);             \
	va_end(arguments_);                                                                        \
	char *argv[count_ + 1];                                                                    \
	va_start(arguments_, first);                                                               \
	argv[0] = (char *)(first);                                                                 \
	for (size_t i_ = 1; i_ <= count_; i_++) /* the last read is the NULL */                    \
		argv[i_] = va_arg(arguments_, char *);                                             \
	argv[count_] = NULL

SHIM_EXPORT int execl(const char *path, const char *arg, ...)
{
	EXECL_ARGUMENTS(argv, arg);
	va_end(arguments_);
	return execve(path, argv, environ);
}

SHIM_EXPORT int execlp(const char *file, const char *arg, ...)
{
	EXECL_ARGUMENTS(argv, arg);
	va_end(arguments_);
	return execvpe(file, argv, environ);
}

SHIM_EXPORT int execle(const char *path, const char *arg, ...)
{
	EXECL_ARGUMENTS(argv, arg);
	char *const *envp = va_arg(arguments_, char *const *);
	va_end(arguments_);
	return execve(path, argv, envp);
}

/* posix_spawn(3) returns an error number instead of setting errno. */
SHIM_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
			    const posix_spawnattr_t *attributes, char *const argv[],
			    char *const envp[])
{
	if (SHIM_REAL(posix_spawn) == NULL)
		return ENOSYS;
	char resolved[UNTRACED_NAME_BYTES];
	const char *reason =
		shim_untraced_reason(AT_FDCWD, path, false, 0, resolved, sizeof resolved);
	pid_t child = -1;
	SHIM_WITH_ENVIRONMENT(environment, envp);
	int error = real_posix_spawn(&child, path, actions, attributes, argv, environment);
	SHIM_RELEASE_ENVIRONMENT(environment, envp);
	shim_report_file_actions(actions, error);
	if (error != 0)
		shim_report_exec(path, argv, error);
	else if (reason != NULL)
		shim_report_untraced(path, resolved, reason, argv, child);
	if (error == 0 && pid != NULL)
		*pid = child;
	return error;
}

SHIM_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
			     const posix_spawnattr_t *attributes, char *const argv[],
			     char *const envp[])
{
	if (SHIM_REAL(posix_spawnp) == NULL)
		return ENOSYS;
	char resolved[UNTRACED_NAME_BYTES];
	const char *reason = shim_untraced_reason(AT_FDCWD, file, true, 0, resolved, sizeof resolved);
	pid_t child = -1;
	SHIM_WITH_ENVIRONMENT(environment, envp);
	int error = real_posix_spawnp(&child, file, actions, attributes, argv, environment);
	SHIM_RELEASE_ENVIRONMENT(environment, envp);
	shim_report_file_actions(actions, error);
	if (error != 0)
		shim_report_exec(file, argv, error);
	else if (reason != NULL)
		shim_report_untraced(file, resolved, reason, argv, child);
	if (error == 0 && pid != NULL)
		*pid = child;
	return error;
}
