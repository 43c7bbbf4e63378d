/*
 * file_actions.c - the files posix_spawn_file_actions_addopen(3) opens in
 * the child of posix_spawn(3).
 *
 * glibc's spawn child runs the file actions through its internal open, which
 * no LD_PRELOAD wrapper sees, and then execs a program that knows nothing of
 * them.  So the opens are learned where they are declared: the addopen
 * wrapper calls the real function and, when its flags write
 * (shim_open_writes), remembers (actions object, fd, path, flags) in a small
 * list.  The posix_spawn and posix_spawnp wrappers (exec.c) report those of
 * their actions object after the real call, through
 * shim_report_file_actions(): open events resolved against the caller's
 * cwd, result 0 when the spawn succeeded (every file action did), -1 with
 * the spawn's error when it failed (which action, or the exec, failed is not
 * known: all of them carry the error).
 *
 * posix_spawn_file_actions_init and _destroy forget what was remembered for
 * their object, so an object destroyed (or simply initialised again) and
 * reused at the same address never reports the opens of its former life.
 *
 * Not followed: posix_spawn_file_actions_addchdir_np / addfchdir_np change
 * the child's cwd before later opens; a relative addopen path after one of
 * them is still resolved against the caller's cwd (they are not wrapped).
 *
 * Unlike the other wrappers these allocate and lock: addopen itself mallocs
 * (glibc copies the path), so its wrapper may too.  The spawn side takes the
 * lock only when something is remembered at all, copies one entry at a time
 * under it and reports with the lock released; the mutex checks for errors,
 * so a spawn made from a signal handler that interrupted this thread inside
 * the lock gives up instead of deadlocking.  A fork(2) child gets the lock
 * back unheld (pthread_atfork, registered at the first remembered open).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

struct remembered_open {
	struct remembered_open *next;
	const posix_spawn_file_actions_t *actions;
	int fd;
	int flags;
	char path[]; /* NUL-terminated copy */
};

static pthread_mutex_t remembered_lock = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
static struct remembered_open *remembered; /* in the order of the addopen calls */
static atomic_size_t remembered_count;     /* read without the lock */
static pthread_once_t fork_handlers_once = PTHREAD_ONCE_INIT;

static void lock_before_fork(void)
{
	pthread_mutex_lock(&remembered_lock);
}

static void unlock_in_parent(void)
{
	pthread_mutex_unlock(&remembered_lock);
}

/* The child's thread is not the owner any more (its tid changed): a fresh
 * mutex; the list is consistent, since the lock was held across the fork. */
static void unlock_in_child(void)
{
	remembered_lock = (pthread_mutex_t)PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
}

static void register_fork_handlers(void)
{
	pthread_atfork(lock_before_fork, unlock_in_parent, unlock_in_child);
}

/* Drops every entry of `actions`.  Keeps errno. */
static void forget(const posix_spawn_file_actions_t *actions)
{
	if (atomic_load(&remembered_count) == 0)
		return;
	int saved_errno = errno;
	if (pthread_mutex_lock(&remembered_lock) == 0) {
		struct remembered_open **link = &remembered;
		while (*link != NULL) {
			struct remembered_open *entry = *link;
			if (entry->actions == actions) {
				*link = entry->next;
				free(entry);
				atomic_fetch_sub(&remembered_count, 1);
			} else {
				link = &entry->next;
			}
		}
		pthread_mutex_unlock(&remembered_lock);
	}
	errno = saved_errno;
}

static void remember(const posix_spawn_file_actions_t *actions, int fd, const char *path,
		     int flags)
{
	int saved_errno = errno;
	pthread_once(&fork_handlers_once, register_fork_handlers);
	size_t length = strlen(path);
	struct remembered_open *entry = malloc(sizeof *entry + length + 1);
	if (entry != NULL) {
		entry->next = NULL;
		entry->actions = actions;
		entry->fd = fd;
		entry->flags = flags;
		memcpy(entry->path, path, length + 1);
		if (pthread_mutex_lock(&remembered_lock) == 0) {
			struct remembered_open **link = &remembered;
			while (*link != NULL)
				link = &(*link)->next;
			*link = entry;
			atomic_fetch_add(&remembered_count, 1);
			pthread_mutex_unlock(&remembered_lock);
		} else {
			free(entry);
		}
	}
	errno = saved_errno;
}

/* The functions return an error number and leave errno alone (glibc). */

SHIM_EXPORT int posix_spawn_file_actions_init(posix_spawn_file_actions_t *actions)
{
	if (SHIM_REAL(posix_spawn_file_actions_init) == NULL)
		return ENOSYS;
	forget(actions); /* a reused object without _destroy */
	return real_posix_spawn_file_actions_init(actions);
}

SHIM_EXPORT int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t *actions)
{
	if (SHIM_REAL(posix_spawn_file_actions_destroy) == NULL)
		return ENOSYS;
	forget(actions);
	return real_posix_spawn_file_actions_destroy(actions);
}

SHIM_EXPORT int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *__restrict actions,
						 int fd, const char *__restrict path, int flags,
						 mode_t mode)
{
	if (SHIM_REAL(posix_spawn_file_actions_addopen) == NULL)
		return ENOSYS;
	int result = real_posix_spawn_file_actions_addopen(actions, fd, path, flags, mode);
	if (result == 0 && shim_active && SHIM_OPAQUE(path) != NULL && shim_open_writes(flags))
		remember(actions, fd, path, flags);
	return result;
}

void shim_report_file_actions(const posix_spawn_file_actions_t *actions, int error)
{
	if (actions == NULL || !shim_active || atomic_load(&remembered_count) == 0)
		return;
	int saved_errno = errno;
	char path[PATH_MAX];
	for (size_t index = 0;; index++) {
		/* Copy the index-th entry of `actions` under the lock, report it
		 * without. */
		bool found = false;
		int flags = 0;
		if (pthread_mutex_lock(&remembered_lock) != 0)
			break;
		size_t seen = 0;
		for (struct remembered_open *entry = remembered; entry != NULL; entry = entry->next) {
			if (entry->actions != actions || seen++ != index)
				continue;
			strncpy(path, entry->path, sizeof path - 1);
			path[sizeof path - 1] = '\0';
			flags = entry->flags;
			found = true;
			break;
		}
		pthread_mutex_unlock(&remembered_lock);
		if (!found)
			break;
		shim_report_spawn_open(path, (unsigned)flags, error == 0 ? 0 : -1, error);
	}
	errno = saved_errno;
}
