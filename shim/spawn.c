/*
 * spawn.c - system(3), popen(3) and pclose(3).
 *
 * glibc 2.36 runs both through its internal posix_spawn with `environ`,
 * which no LD_PRELOAD wrapper sees: a program that did
 * unsetenv("LD_PRELOAD") would start an untraced shell.  So:
 *   - when environ still carries the shim (the usual case), the real
 *     function runs, untouched;
 *   - otherwise the call is done here, the way glibc does it
 *     (sysdeps/posix/system.c, libio/iopopen.c), through the real
 *     posix_spawn with a copy of environ that has the shim's entries back.
 * environ itself is never modified.
 *
 * What glibc does and this keeps: system(NULL) says whether /bin/sh can be
 * run (by running "exit 0"); the shell is "/bin/sh" with argv
 * {"sh", "-c", command}; while waiting, SIGINT and SIGQUIT are ignored
 * (reference-counted across threads) and SIGCHLD blocked; the child gets
 * the caller's signal mask and default SIGINT/SIGQUIT unless they were
 * ignored; a shell that cannot be spawned is status 127 << 8 with errno set
 * to the spawn error; waitpid failing gives -1; cancellation kills the
 * shell.  popen accepts exactly one of 'r'/'w' plus 'e' (anything else is
 * EINVAL), makes the pipe close-on-exec, dup2s the child's end onto 0 or 1,
 * closes in the child the streams of earlier popen calls made here, keeps
 * the parent's end close-on-exec only with 'e', and fails with ENOMEM when
 * the shell cannot be spawned; pclose closes the stream, then waits
 * (retrying on EINTR) and returns the wait status.
 *
 * Limits: streams opened by the real popen (while environ had the shim) are
 * in glibc's own list, so a child started here does not close them (they
 * are close-on-exec only with 'e'); a stream made here and closed with
 * fclose(3) instead of pclose leaves its shell unreaped, as with any fdopen
 * stream.  None of this runs in a vfork child: system and popen are not
 * async-signal-safe in glibc either, so malloc and a mutex are fine here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"

extern char **environ;

#define SHELL_PATH "/bin/sh"
#define SHELL_NAME "sh"

/* The environment to hand the shell: NULL when environ already carries the
 * shim (then the real function is used), else a malloc'd copy with it put
 * back; *block is what to free afterwards. */
static char *const *shell_environment(void **block)
{
	size_t entries, text_size;
	*block = NULL;
	if (!shim_environment_needed(environ, &entries, &text_size))
		return NULL;
	char *memory = malloc(entries * sizeof(char *) + text_size);
	if (memory == NULL)
		return NULL; /* untraced rather than failing: as shim_environment does */
	*block = memory;
	return shim_environment(environ, (char **)memory, entries,
				memory + entries * sizeof(char *), text_size);
}

/* ---- system --------------------------------------------------------------- */

/* SIGINT and SIGQUIT are ignored while any thread waits in system(); the
 * first one in saves the dispositions, the last one out restores them. */
static pthread_mutex_t system_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned system_waiters;
static struct sigaction saved_interrupt, saved_quit;

struct system_wait {
	pid_t pid;
	sigset_t *old_mask;
};

/* Undoes the signal setup; false when a restoring call failed. */
static bool system_restore(const sigset_t *old_mask)
{
	bool ok = true;
	pthread_mutex_lock(&system_lock);
	if (--system_waiters == 0)
		ok = (sigaction(SIGINT, &saved_interrupt, NULL) |
		      sigaction(SIGQUIT, &saved_quit, NULL)) == 0;
	pthread_mutex_unlock(&system_lock);
	if (sigprocmask(SIG_SETMASK, old_mask, NULL) != 0)
		ok = false;
	return ok;
}

/* Thread cancelled while waiting: kill the shell, reap it, restore. */
static void system_cancelled(void *argument)
{
	struct system_wait *wait = argument;
	kill(wait->pid, SIGKILL);
	while (waitpid(wait->pid, NULL, 0) < 0 && errno == EINTR)
		;
	system_restore(wait->old_mask);
}

static int shell_system(const char *line, char *const environment[])
{
	int status = -1;
	struct sigaction ignore = { .sa_handler = SIG_IGN };
	sigemptyset(&ignore.sa_mask);

	pthread_mutex_lock(&system_lock);
	if (system_waiters++ == 0) {
		sigaction(SIGINT, &ignore, &saved_interrupt);
		sigaction(SIGQUIT, &ignore, &saved_quit);
	}
	struct sigaction interrupt = saved_interrupt, quit = saved_quit;
	pthread_mutex_unlock(&system_lock);

	sigset_t block, old_mask, reset;
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &old_mask);

	sigemptyset(&reset);
	if (interrupt.sa_handler != SIG_IGN)
		sigaddset(&reset, SIGINT);
	if (quit.sa_handler != SIG_IGN)
		sigaddset(&reset, SIGQUIT);

	posix_spawnattr_t attributes;
	posix_spawnattr_init(&attributes);
	posix_spawnattr_setsigmask(&attributes, &old_mask);
	posix_spawnattr_setsigdefault(&attributes, &reset);
	posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

	char *argv[] = { SHELL_NAME, "-c", (char *)line, NULL };
	pid_t pid;
	int error = real_posix_spawn(&pid, SHELL_PATH, NULL, &attributes, argv, environment);
	posix_spawnattr_destroy(&attributes);

	if (error == 0) {
		struct system_wait wait = { pid, &old_mask };
		pthread_cleanup_push(system_cancelled, &wait);
		pid_t waited;
		do
			waited = waitpid(pid, &status, 0);
		while (waited < 0 && errno == EINTR);
		if (waited != pid)
			status = -1;
		pthread_cleanup_pop(0);
	} else {
		shim_report_exec(SHELL_PATH, argv, error);
		/* POSIX: as if the shell had exited with 127. */
		status = W_EXITCODE(127, 0);
	}

	int saved_errno = errno;
	if (!system_restore(&old_mask))
		status = -1;
	else
		errno = saved_errno;
	if (error != 0)
		errno = error;
	return status;
}

SHIM_EXPORT int system(const char *line)
{
	if (SHIM_REAL(system) == NULL || SHIM_REAL(posix_spawn) == NULL) {
		errno = ENOSYS;
		return -1;
	}
	void *block;
	char *const *environment = shell_environment(&block);
	if (environment == NULL)
		return real_system(line);
	int status;
	if (SHIM_OPAQUE(line) == NULL)
		status = shell_system("exit 0", environment) == 0; /* is there a shell? */
	else
		status = shell_system(line, environment);
	int saved_errno = errno;
	free(block);
	errno = saved_errno;
	return status;
}

/* ---- popen and pclose ---------------------------------------------------- */

/* The streams popen made here, with their shells. */
struct shell_stream {
	FILE *stream;
	pid_t pid;
	struct shell_stream *next;
};

static pthread_mutex_t streams_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shell_stream *streams;

static FILE *shell_popen(const char *command, const char *mode, char *const environment[])
{
	bool reading = false, writing = false, cloexec = false;
	for (const char *p = mode; *p != '\0'; p++) {
		switch (*p) {
		case 'r':
			reading = true;
			break;
		case 'w':
			writing = true;
			break;
		case 'e':
			cloexec = true;
			break;
		default:
			errno = EINVAL;
			return NULL;
		}
	}
	if (reading == writing) {
		errno = EINVAL;
		return NULL;
	}
	struct shell_stream *entry = malloc(sizeof *entry);
	if (entry == NULL)
		return NULL;
	int ends[2];
	if (pipe2(ends, O_CLOEXEC) != 0) {
		free(entry);
		return NULL;
	}
	int parent_end = reading ? ends[0] : ends[1];
	int child_end = reading ? ends[1] : ends[0];
	int child_fd = reading ? STDOUT_FILENO : STDIN_FILENO;

	posix_spawn_file_actions_t actions;
	bool spawned = false;
	pid_t pid = -1;
	char *argv[] = { SHELL_NAME, "-c", (char *)command, NULL };
	if (posix_spawn_file_actions_init(&actions) == 0) {
		pthread_mutex_lock(&streams_lock);
		/* dup2 onto the same number would keep close-on-exec: the
		 * child's end is never 0 or 1 unless those were closed. */
		bool ok = true;
		if (child_end != child_fd)
			ok = posix_spawn_file_actions_adddup2(&actions, child_end, child_fd) == 0;
		else
			ok = fcntl(child_end, F_SETFD, 0) == 0;
		for (struct shell_stream *s = streams; ok && s != NULL; s = s->next) {
			int fd = fileno(s->stream);
			if (fd >= 0 && fd != child_fd)
				ok = posix_spawn_file_actions_addclose(&actions, fd) == 0;
		}
		int error = ok ? real_posix_spawn(&pid, SHELL_PATH, &actions, NULL, argv,
						  environment)
			       : ENOMEM;
		spawned = error == 0;
		if (!spawned && ok)
			shim_report_exec(SHELL_PATH, argv, error);
		FILE *stream = NULL;
		if (spawned) {
			close(child_end);
			if (!cloexec)
				fcntl(parent_end, F_SETFD, 0);
			stream = fdopen(parent_end, reading ? "r" : "w");
			if (stream != NULL) {
				entry->stream = stream;
				entry->pid = pid;
				entry->next = streams;
				streams = entry;
			}
		}
		pthread_mutex_unlock(&streams_lock);
		posix_spawn_file_actions_destroy(&actions);
		if (stream != NULL)
			return stream;
		if (spawned) { /* fdopen failed: do not leave the shell behind */
			int saved_errno = errno;
			close(parent_end);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			free(entry);
			errno = saved_errno;
			return NULL;
		}
	}
	close(ends[0]);
	close(ends[1]);
	free(entry);
	errno = ENOMEM; /* what glibc says when the shell cannot be spawned */
	return NULL;
}

SHIM_EXPORT FILE *popen(const char *command, const char *mode)
{
	if (SHIM_REAL(popen) == NULL || SHIM_REAL(posix_spawn) == NULL) {
		errno = ENOSYS;
		return NULL;
	}
	void *block;
	char *const *environment = shell_environment(&block);
	if (environment == NULL)
		return real_popen(command, mode);
	FILE *stream = shell_popen(command, SHIM_OPAQUE(mode) != NULL ? mode : "", environment);
	int saved_errno = errno;
	free(block);
	errno = saved_errno;
	return stream;
}

SHIM_EXPORT int pclose(FILE *stream)
{
	if (SHIM_REAL(pclose) == NULL) {
		errno = ENOSYS;
		return -1;
	}
	struct shell_stream *found = NULL;
	pthread_mutex_lock(&streams_lock);
	for (struct shell_stream **link = &streams; *link != NULL; link = &(*link)->next) {
		if ((*link)->stream == stream) {
			found = *link;
			*link = found->next;
			break;
		}
	}
	pthread_mutex_unlock(&streams_lock);
	if (found == NULL)
		return real_pclose(stream);
	pid_t pid = found->pid;
	free(found);
	fclose(stream);
	int status;
	pid_t waited;
	do
		waited = waitpid(pid, &status, 0);
	while (waited < 0 && errno == EINTR);
	return waited < 0 ? -1 : status;
}
