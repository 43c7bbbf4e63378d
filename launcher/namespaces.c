/*
 * namespaces.c - see namespaces.h.
 *
 * The child is made by the raw clone system call with no new stack, so it
 * continues like fork(2) (bubblewrap does the same).  Its maps are written
 * by us, the parent, which is still in the caller's user namespace: as root
 * that allows mapping every id (an unprivileged writer may map only its own
 * euid, and only after writing "deny" to setgroups; user_namespaces(7)).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "die.h"
#include "init.h"
#include "namespaces.h"

/* Reads a small integer sysctl from /proc/sys; -1 when it does not exist. */
static long read_sysctl(const char *path)
{
	FILE *file = fopen(path, "re");
	if (file == NULL)
		return -1;
	long value = -1;
	if (fscanf(file, "%ld", &value) != 1)
		value = -1;
	fclose(file);
	return value;
}

/* Names the setting that disables user namespaces here, if one does. */
static const char *user_namespace_hint(void)
{
	if (read_sysctl("/proc/sys/user/max_user_namespaces") == 0)
		return "user namespaces are off: set sysctl user.max_user_namespaces=15000 (or higher)";
	if (read_sysctl("/proc/sys/kernel/unprivileged_userns_clone") == 0)
		return "unprivileged user namespaces are off: set sysctl "
		       "kernel.unprivileged_userns_clone=1";
	if (read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1)
		return "AppArmor restricts user namespaces: set sysctl "
		       "kernel.apparmor_restrict_unprivileged_userns=0 or add an AppArmor profile "
		       "for encapsulate";
	return "this kernel or container does not allow new user namespaces "
	       "(check user.max_user_namespaces and seccomp policy)";
}

/* Writes text to /proc/<pid>/<name>; returns 0 or -1 with errno. */
static int write_proc_file(pid_t pid, const char *name, const char *text)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t length = (ssize_t)strlen(text);
	ssize_t written = write(fd, text, (size_t)length);
	int error = errno;
	close(fd);
	if (written != length) {
		errno = written < 0 ? error : EIO;
		return -1;
	}
	return 0;
}

/* Maps the ids.  As root, every id maps to itself, so files keep their
 * owners inside; when that is refused (root without CAP_SETUID, e.g. inside
 * another encapsulate) or the caller is not root, only the caller's own
 * uid and gid are mapped, to themselves. */
static void write_id_maps(pid_t child, uid_t uid, gid_t gid)
{
	if (uid == 0 && write_proc_file(child, "uid_map", "0 0 4294967295\n") == 0 &&
	    write_proc_file(child, "gid_map", "0 0 4294967295\n") == 0)
		return;
	char line[64];
	snprintf(line, sizeof line, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (write_proc_file(child, "uid_map", line) != 0)
		die_errno_hint(user_namespace_hint(), "writing /proc/%d/uid_map", (int)child);
	if (write_proc_file(child, "setgroups", "deny\n") != 0 && errno != ENOENT)
		die_errno("writing /proc/%d/setgroups", (int)child);
	snprintf(line, sizeof line, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	if (write_proc_file(child, "gid_map", line) != 0)
		die_errno_hint(user_namespace_hint(), "writing /proc/%d/gid_map", (int)child);
}

pid_t namespaces_start_init(struct sandbox *sandbox, int *monitor_sync_fd)
{
	int pair[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
		die_errno("socketpair");

	/* --share-net keeps the host's network namespace, and with it the
	 * event socket's abstract name is visible on the host (README). */
	const unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC |
				    CLONE_NEWUTS | SIGCHLD |
				    (sandbox->options->share_network ? 0 : CLONE_NEWNET);
	fflush(NULL);
	pid_t child = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
	if (child < 0) {
		if (errno == EPERM || errno == ENOSPC || errno == EUSERS || errno == EINVAL)
			die_errno_hint(user_namespace_hint(), "clone(CLONE_NEWUSER|CLONE_NEWPID|...)");
		die_errno("clone");
	}
	if (child == 0) {
		close(pair[0]);
		sandbox->sync_fd = pair[1];
		init_main(sandbox);
	}
	close(pair[1]);

	write_id_maps(child, sandbox->uid, sandbox->gid);
	char go = SYNC_MAPS_WRITTEN;
	if (send(pair[0], &go, 1, MSG_NOSIGNAL) != 1)
		die_errno("telling init to go on");
	*monitor_sync_fd = pair[0];
	return child;
}
