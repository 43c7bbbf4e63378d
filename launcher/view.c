/*
 * view.c - see view.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "die.h"
#include "view.h"

/* Where the view is assembled.  The staging tmpfs is mounted over /tmp of
 * our private mount namespace only; after the first pivot the host tree is
 * at OLD_ROOT and the view grows at NEW_ROOT (bubblewrap stages the same
 * way, so the host tree copied into the view contains no staging mount). */
#define STAGING "/tmp"
#define OLD_ROOT "/oldroot"
#define NEW_ROOT "/newroot"

static void mount_or_die(const char *source, const char *target, const char *type,
			 unsigned long flags, const char *data)
{
	if (mount(source, target, type, flags, data) != 0)
		die_errno("mount %s on %s", source != NULL ? source : type != NULL ? type : "(none)",
			  target);
}

static void make_directory(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		die_errno("mkdir %s", path);
}

/* Joins the prefix and an absolute path into out (PATH_MAX). */
static void prefixed(char *out, const char *prefix, const char *path)
{
	if (snprintf(out, PATH_MAX, "%s%s", prefix, strcmp(path, "/") == 0 ? "" : path) >=
	    PATH_MAX)
		die("path too long: %s%s", prefix, path);
}

static bool is_directory(const char *path)
{
	struct stat status;
	return stat(path, &status) == 0 && S_ISDIR(status.st_mode);
}

/* Makes every mount below `root` read-only in one call.  Locked flags of
 * mounts inherited from the host (nosuid, nodev, noexec, atime) are left as
 * they are: only MOUNT_ATTR_RDONLY is set. */
static void make_view_readonly(const char *root)
{
	struct mount_attr attributes = { .attr_set = MOUNT_ATTR_RDONLY };
	if (syscall(SYS_mount_setattr, AT_FDCWD, root, AT_RECURSIVE, &attributes,
		    sizeof attributes) != 0) {
		if (errno == ENOSYS)
			die_errno_hint("encapsulate needs Linux 5.12 or later",
				       "mount_setattr(%s, AT_RECURSIVE, MOUNT_ATTR_RDONLY)", root);
		die_errno("mount_setattr(%s, AT_RECURSIVE, MOUNT_ATTR_RDONLY)", root);
	}
}

static void make_mount_point(const char *target, bool directory);

static void bind_writable_tree(const char *path)
{
	char source[PATH_MAX], target[PATH_MAX];
	prefixed(source, OLD_ROOT, path);
	prefixed(target, NEW_ROOT, path);
	make_mount_point(target, true);
	if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) != 0)
		die_errno("binding writable tree %s", path);
}

/* Creates a missing mount point at target: a directory, or an empty file
 * for a file mount, and its missing parents.  Only needed where a tmpfs
 * (--tmpfs, or --hide before it is made read-only) covers the place; in the
 * read-only host tree every mount point already exists, as cli.c checked. */
static void make_mount_point(const char *target, bool directory)
{
	struct stat status;
	if (lstat(target, &status) == 0)
		return;
	char parent[PATH_MAX];
	snprintf(parent, sizeof parent, "%s", target);
	char *slash = strrchr(parent, '/');
	if (slash != NULL && slash != parent) {
		*slash = '\0';
		make_mount_point(parent, true);
	}
	if (directory) {
		make_directory(target);
		return;
	}
	int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		die_errno("creating the mount point %s", target);
	close(fd);
}

/* --tmpfs: empty, writable, private to the sandbox.  It keeps the mode of
 * the directory it covers (1777 for /tmp), and owner is the caller, as it
 * is mounted by init with the caller's ids.  No noexec: builds run what
 * they put in /tmp (configure tests). */
static void mount_tmpfs(const char *path)
{
	char target[PATH_MAX];
	prefixed(target, NEW_ROOT, path);
	make_mount_point(target, true);
	struct stat status;
	if (stat(target, &status) != 0)
		die_errno("stat %s", path);
	char data[32];
	snprintf(data, sizeof data, "mode=%o", (unsigned)(status.st_mode & 07777));
	if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, data) != 0)
		die_errno("mounting a tmpfs on %s", path);
}

/* The source bound over each hidden file: an empty file on the staging
 * tmpfs, which stays alive through the bind after the pivot.  Not
 * /dev/null, which a read-only mount does not stop from being written
 * (writes to a device node never check the mount, so the build would seem
 * to succeed) and which reads as a character device. */
#define EMPTY_FILE "/hidden-file"

/* --hide: a directory gets an empty tmpfs, anything else the empty file.
 * Both become read-only in make_hidden_readonly(), after any mount nested
 * below them (a writable tree inside a hidden home) got its mount point. */
static void hide_path(const char *path, bool directory)
{
	char target[PATH_MAX];
	prefixed(target, NEW_ROOT, path);
	make_mount_point(target, directory);
	if (directory) {
		if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "mode=0755,size=64k") != 0)
			die_errno("hiding %s (mounting an empty tmpfs)", path);
		return;
	}
	int fd = open(EMPTY_FILE, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
	if (fd < 0)
		die_errno("creating %s", EMPTY_FILE);
	close(fd);
	if (mount(EMPTY_FILE, target, NULL, MS_BIND, NULL) != 0)
		die_errno("hiding %s (binding an empty file)", path);
}

/* Only the hidden mount itself (not recursive): a writable tree nested in it
 * stays writable.  Both mounts are our own, so no flag is locked. */
static void make_hidden_readonly(const char *path)
{
	char target[PATH_MAX];
	prefixed(target, NEW_ROOT, path);
	if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV |
					      MS_NOEXEC, NULL) != 0)
		die_errno("making hidden %s read-only", path);
}

/* The shim must stay loadable: when a --tmpfs or --hide covers it (a shim
 * installed in /tmp, or under a hidden home), its file is bound back at its
 * own path, read-only, or no process would report anything. */
static void keep_shim_visible(const char *shim_path)
{
	char source[PATH_MAX], target[PATH_MAX];
	prefixed(source, OLD_ROOT, shim_path);
	prefixed(target, NEW_ROOT, shim_path);
	struct stat host, inside;
	if (stat(source, &host) != 0)
		die_errno("stat %s", shim_path);
	if (stat(target, &inside) == 0 && inside.st_dev == host.st_dev &&
	    inside.st_ino == host.st_ino)
		return;
	make_mount_point(target, false);
	mount_or_die(source, target, NULL, MS_BIND, NULL);
	make_view_readonly(target);
}

/* A fresh procfs shows only the sandbox's processes.  Where a container
 * masks parts of /proc the kernel refuses a new one (EPERM); the host's
 * /proc then stays, read-only, and we say so. */
static void mount_proc(void)
{
	const char *target = NEW_ROOT "/proc";
	if (!is_directory(target))
		return;
	if (mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
		warn("mount proc on /proc: %s — keeping the host's /proc, read-only; "
		     "processes outside the sandbox stay visible",
		     strerror(errno));
		return;
	}
	/* The kernel's global knobs stay read-only, as bubblewrap keeps them:
	 * a caller that is root keeps uid 0 inside, and uid 0 may write most of
	 * /proc/sys (kernel.printk, vm.drop_caches...) without any capability,
	 * since sysctl files check only their owner and mode. */
	static const char *const global[] = { "sys", "sysrq-trigger", "irq", "bus" };
	for (size_t i = 0; i < sizeof global / sizeof global[0]; i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", target, global[i]);
		struct stat status;
		if (stat(path, &status) != 0)
			continue;
		mount_or_die(path, path, NULL, MS_BIND | MS_REC, NULL);
		make_view_readonly(path);
	}
}

/* Private POSIX shared memory and message queues: the new ipc namespace
 * needs its own mqueue instance, and /dev/shm must be writable for
 * sem_open(3)/shm_open(3) (Python multiprocessing) without reaching the
 * host's. */
static void mount_private_ipc(void)
{
	if (is_directory(NEW_ROOT "/dev/shm"))
		mount_or_die("tmpfs", NEW_ROOT "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
			     "mode=1777");
	if (is_directory(NEW_ROOT "/dev/mqueue") &&
	    mount("mqueue", NEW_ROOT "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) != 0)
		warn("mount mqueue on /dev/mqueue: %s — POSIX message queues unavailable",
		     strerror(errno));
}

static void pivot_into(const char *new_root)
{
	if (chdir(new_root) != 0)
		die_errno("chdir %s", new_root);
	if (syscall(SYS_pivot_root, ".", ".") != 0)
		die_errno("pivot_root %s", new_root);
	if (umount2(".", MNT_DETACH) != 0)
		die_errno("detaching the old root (umount2)");
	if (chdir("/") != 0)
		die_errno("chdir /");
}

void view_build(const struct sandbox *sandbox)
{
	const struct options *options = sandbox->options;

	/* 1. Nothing we mount may propagate back to the host. */
	mount_or_die(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);

	/* 2. A private tmpfs as the staging root, never visible on the host. */
	mount_or_die("tmpfs", STAGING, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	make_directory(STAGING OLD_ROOT);
	make_directory(STAGING NEW_ROOT);
	if (chdir(STAGING) != 0)
		die_errno("chdir %s", STAGING);
	if (syscall(SYS_pivot_root, ".", "." OLD_ROOT) != 0)
		die_errno("pivot_root to the staging tmpfs");
	if (chdir("/") != 0)
		die_errno("chdir /");

	/* 3. The whole host tree, every submount, read-only. */
	mount_or_die(OLD_ROOT, NEW_ROOT, NULL, MS_BIND | MS_REC, NULL);
	make_view_readonly(NEW_ROOT);

	/* 4. The writable trees, tmpfs and hidden paths, shallow first (cli.c
	 * sorted them); the other operations are init's. */
	for (size_t i = 0; i < options->operation_count; i++) {
		const struct setup_operation *operation = &options->operations[i];
		switch (operation->kind) {
		case SETUP_WRITABLE_TREE:
			bind_writable_tree(operation->path);
			break;
		case SETUP_TMPFS:
			mount_tmpfs(operation->path);
			break;
		case SETUP_HIDE:
			hide_path(operation->path, operation->is_directory);
			break;
		default:
			break;
		}
	}
	keep_shim_visible(sandbox->shim_path);
	for (size_t i = 0; i < options->operation_count; i++)
		if (options->operations[i].kind == SETUP_HIDE)
			make_hidden_readonly(options->operations[i].path);

	/* 5. Kernel file systems of the new namespaces. */
	mount_proc();
	mount_private_ipc();

	/* 6. Into the view; the host tree and the staging tmpfs go away. */
	pivot_into(NEW_ROOT);
	if (chdir(options->cwd) != 0)
		die_errno_hint("run encapsulate from a directory that exists on this machine",
			       "the working directory %s is not visible inside the view",
			       options->cwd);
}
