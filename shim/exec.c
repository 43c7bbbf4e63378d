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
 * the new image's own process record.
 *
 * Safe in a vfork(2) child and on an 8 KiB clone(2) stack: the environment
 * copy lives in a small stack array (mmap(2) for large environments), and
 * nothing here allocates, locks or uses stdio.  The execl* argument vectors
 * are on the stack, as glibc's own execl builds them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

#include "shim.h"

extern char **environ;

/* Environments up to this many entries are copied on the stack. */
#define ENVIRONMENT_ON_STACK 48
/* Room for "LD_PRELOAD=<shim> <user's preloads>" on the stack. */
#define PRELOAD_TEXT_ON_STACK 512

/* Declares the storage shim_environment() may use, and `name` pointing at the
 * environment to hand on. */
#define WITH_SHIM_ENVIRONMENT(name, envp)                                                          \
	char *environment_storage_[ENVIRONMENT_ON_STACK];                                          \
	char preload_text_[PRELOAD_TEXT_ON_STACK];                                                 \
	char *const *name = shim_environment((envp), environment_storage_, ENVIRONMENT_ON_STACK,   \
					     preload_text_, sizeof preload_text_)

SHIM_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	if (SHIM_REAL(execve) == NULL) {
		errno = ENOSYS;
		return -1;
	}
	WITH_SHIM_ENVIRONMENT(environment, envp);
	int result = real_execve(path, argv, environment);
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
	WITH_SHIM_ENVIRONMENT(environment, envp);
	int result = real_execvpe(file, argv, environment);
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
	WITH_SHIM_ENVIRONMENT(environment, envp);
	int result = real_fexecve(fd, argv, environment);
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
	WITH_SHIM_ENVIRONMENT(environment, envp);
	int result = real_execveat(dirfd, path, argv, environment, flags);
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

/* Fills argv (count + 1 slots) from `first` and the list, NULL-terminated. */
static void collect_arguments(char **argv, size_t count, const char *first, va_list arguments)
{
	argv[0] = (char *)first;
	for (size_t i = 1; i < count; i++)
		argv[i] = va_arg(arguments, char *);
	argv[count] = NULL;
}

/* execl(3) family: build the argument vector, then take the v path.  An
 * empty list (first == NULL) is an empty argv, as in glibc. */
#define EXECL_ARGUMENTS(argv, first)                                                               \
	va_list arguments_;                                                                        \
	va_start(arguments_, first);                                                               \
	size_t count_ = SHIM_OPAQUE(first) == NULL ? 0 : count_arguments(arguments_);                         \
	va_end(arguments_);                                                                        \
	char *argv[count_ + 1];                                                                    \
	va_start(arguments_, first);                                                               \
	if (count_ > 0)                                                                            \
		collect_arguments(argv, count_, first, arguments_);                                \
	else                                                                                       \
		argv[0] = NULL

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
	WITH_SHIM_ENVIRONMENT(environment, envp);
	int error = real_posix_spawn(pid, path, actions, attributes, argv, environment);
	if (error != 0)
		shim_report_exec(path, argv, error);
	return error;
}

SHIM_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
			     const posix_spawnattr_t *attributes, char *const argv[],
			     char *const envp[])
{
	if (SHIM_REAL(posix_spawnp) == NULL)
		return ENOSYS;
	WITH_SHIM_ENVIRONMENT(environment, envp);
	int error = real_posix_spawnp(pid, file, actions, attributes, argv, environment);
	if (error != 0)
		shim_report_exec(file, argv, error);
	return error;
}
