/*
 * syscall.c - syscall(2) itself.
 *
 * A program may reach the kernel through syscall(SYS_xxx, ...) instead of
 * the libc function (openat2 has no libc function at all).  The wrapper
 * reads six long arguments, as glibc's syscall does, calls the real one, and
 * decodes the numbers of the write family into the same events the libc
 * wrappers send.  execve and execveat are handed to the shim's own
 * wrappers (exec.c), which put the shim's environment back; glibc's execve
 * and execveat are the bare system calls, so nothing else changes.
 *
 * The shim never calls syscall() itself: it would come back here.
 * Numbers: <sys/syscall.h>; struct open_how: openat2(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "shim.h"

int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags);

/* openat2(2); <linux/openat2.h> is not needed for three fields. */
struct shim_open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};

#if defined(__x86_64__) && !defined(SYS_fchmodat2)
#define SYS_fchmodat2 452 /* Linux 6.6; not in glibc 2.36's list */
#endif

#define PATH_ARG(n) ((const char *)(argument[n]))
#define INT_ARG(n) ((int)argument[n])

/* Sends the event for a write-family call; any other number sends nothing. */
static void decode(long number, const long argument[6], int result, int error)
{
	enum event_operation operation = OP_NONE;
	int dirfd = AT_FDCWD, dirfd2 = AT_FDCWD;
	const char *path = NULL, *path2 = NULL;
	bool follow = true;
	unsigned open_flags = 0;

	switch (number) {
#ifdef SYS_open
	case SYS_open:
		open_flags = (unsigned)INT_ARG(1);
		operation = OP_OPEN, path = PATH_ARG(0);
		break;
#endif
	case SYS_openat:
		open_flags = (unsigned)INT_ARG(2);
		operation = OP_OPEN, dirfd = INT_ARG(0), path = PATH_ARG(1);
		break;
#ifdef SYS_openat2
	case SYS_openat2: {
		const struct shim_open_how *how = (const struct shim_open_how *)argument[2];
		if (SHIM_OPAQUE(how) == NULL || (size_t)argument[3] < sizeof how->flags)
			return;
		open_flags = (unsigned)how->flags;
		operation = OP_OPEN, dirfd = INT_ARG(0), path = PATH_ARG(1);
		break;
	}
#endif
#ifdef SYS_creat
	case SYS_creat:
		open_flags = O_WRONLY | O_CREAT | O_TRUNC;
		operation = OP_CREAT, path = PATH_ARG(0);
		break;
#endif
#ifdef SYS_mkdir
	case SYS_mkdir:
		operation = OP_MKDIR, path = PATH_ARG(0);
		break;
#endif
	case SYS_mkdirat:
		operation = OP_MKDIR, dirfd = INT_ARG(0), path = PATH_ARG(1);
		break;
#ifdef SYS_rmdir
	case SYS_rmdir:
		operation = OP_RMDIR, path = PATH_ARG(0), follow = false;
		break;
#endif
#ifdef SYS_unlink
	case SYS_unlink:
		operation = OP_UNLINK, path = PATH_ARG(0), follow = false;
		break;
#endif
	case SYS_unlinkat:
		operation = (INT_ARG(2) & AT_REMOVEDIR) ? OP_RMDIR : OP_UNLINK;
		dirfd = INT_ARG(0), path = PATH_ARG(1), follow = false;
		break;
#ifdef SYS_rename
	case SYS_rename:
		operation = OP_RENAME, path = PATH_ARG(0), path2 = PATH_ARG(1), follow = false;
		break;
#endif
#ifdef SYS_renameat
	case SYS_renameat:
#endif
	case SYS_renameat2:
		operation = OP_RENAME, dirfd = INT_ARG(0), path = PATH_ARG(1);
		dirfd2 = INT_ARG(2), path2 = PATH_ARG(3), follow = false;
		break;
#ifdef SYS_link
	case SYS_link:
		operation = OP_LINK, path = PATH_ARG(0), path2 = PATH_ARG(1), follow = false;
		break;
#endif
	case SYS_linkat:
		operation = OP_LINK, dirfd = INT_ARG(0), path = PATH_ARG(1);
		dirfd2 = INT_ARG(2), path2 = PATH_ARG(3), follow = false;
		break;
#ifdef SYS_symlink
	case SYS_symlink: /* the link is the path, the target text is "to" */
		operation = OP_SYMLINK, path = PATH_ARG(1), path2 = PATH_ARG(0), follow = false;
		break;
#endif
	case SYS_symlinkat:
		operation = OP_SYMLINK, dirfd = INT_ARG(1), path = PATH_ARG(2);
		path2 = PATH_ARG(0), follow = false;
		break;
#ifdef SYS_mknod
	case SYS_mknod:
		operation = OP_MKNOD, path = PATH_ARG(0), follow = false;
		break;
#endif
	case SYS_mknodat:
		operation = OP_MKNOD, dirfd = INT_ARG(0), path = PATH_ARG(1), follow = false;
		break;
	case SYS_truncate:
		operation = OP_TRUNCATE, path = PATH_ARG(0);
		break;
	case SYS_ftruncate:
		operation = OP_TRUNCATE, dirfd = INT_ARG(0), path = "";
		break;
#ifdef SYS_chmod
	case SYS_chmod:
		operation = OP_CHMOD, path = PATH_ARG(0);
		break;
#endif
	case SYS_fchmod:
		operation = OP_CHMOD, dirfd = INT_ARG(0), path = "";
		break;
	case SYS_fchmodat:
		operation = OP_CHMOD, dirfd = INT_ARG(0), path = PATH_ARG(1);
		break;
#ifdef SYS_fchmodat2
	case SYS_fchmodat2:
		operation = OP_CHMOD, dirfd = INT_ARG(0), path = PATH_ARG(1);
		follow = (INT_ARG(3) & AT_SYMLINK_NOFOLLOW) == 0;
		break;
#endif
#ifdef SYS_chown
	case SYS_chown:
		operation = OP_CHOWN, path = PATH_ARG(0);
		break;
#endif
#ifdef SYS_lchown
	case SYS_lchown:
		operation = OP_CHOWN, path = PATH_ARG(0), follow = false;
		break;
#endif
	case SYS_fchown:
		operation = OP_CHOWN, dirfd = INT_ARG(0), path = "";
		break;
	case SYS_fchownat:
		operation = OP_CHOWN, dirfd = INT_ARG(0), path = PATH_ARG(1);
		follow = (INT_ARG(4) & AT_SYMLINK_NOFOLLOW) == 0;
		break;
#ifdef SYS_utime
	case SYS_utime:
#endif
#ifdef SYS_utimes
	case SYS_utimes:
#endif
#if defined(SYS_utime) || defined(SYS_utimes)
		operation = OP_UTIME, path = PATH_ARG(0);
		break;
#endif
#ifdef SYS_futimesat
	case SYS_futimesat:
		operation = OP_UTIME, dirfd = INT_ARG(0), path = PATH_ARG(1);
		if (SHIM_OPAQUE(path) == NULL)
			path = "";
		break;
#endif
	case SYS_utimensat:
		operation = OP_UTIME, dirfd = INT_ARG(0), path = PATH_ARG(1);
		if (SHIM_OPAQUE(path) == NULL)
			path = "";
		follow = (INT_ARG(3) & AT_SYMLINK_NOFOLLOW) == 0;
		break;
	case SYS_setxattr:
		operation = OP_SETXATTR, path = PATH_ARG(0);
		break;
	case SYS_lsetxattr:
		operation = OP_SETXATTR, path = PATH_ARG(0), follow = false;
		break;
	case SYS_fsetxattr:
		operation = OP_SETXATTR, dirfd = INT_ARG(0), path = "";
		break;
	case SYS_removexattr:
		operation = OP_REMOVEXATTR, path = PATH_ARG(0);
		break;
	case SYS_lremovexattr:
		operation = OP_REMOVEXATTR, path = PATH_ARG(0), follow = false;
		break;
	case SYS_fremovexattr:
		operation = OP_REMOVEXATTR, dirfd = INT_ARG(0), path = "";
		break;
	default:
		return;
	}
	if (operation == OP_OPEN && !shim_open_writes((int)open_flags))
		return;
	shim_report_write(operation, dirfd, path, dirfd2, path2, follow, open_flags, result, error);
}

SHIM_EXPORT long syscall(long number, ...)
{
	long argument[6];
	va_list arguments;
	va_start(arguments, number);
	for (int i = 0; i < 6; i++)
		argument[i] = va_arg(arguments, long);
	va_end(arguments);

	/* glibc's execve and execveat are the bare system calls: the shim's
	 * wrappers of them are the same calls with the environment fixed. */
	if (number == SYS_execve)
		return execve(PATH_ARG(0), (char *const *)argument[1], (char *const *)argument[2]);
	if (number == SYS_execveat)
		return execveat(INT_ARG(0), PATH_ARG(1), (char *const *)argument[2],
				(char *const *)argument[3], INT_ARG(4));

	if (SHIM_REAL(syscall) == NULL) {
		errno = ENOSYS;
		return -1;
	}
	long result = real_syscall(number, argument[0], argument[1], argument[2], argument[3],
				   argument[4], argument[5]);
	/* A bad pointer is the kernel's to refuse (EFAULT): never read it. */
	if (shim_active && !(result < 0 && errno == EFAULT)) {
		int error = errno;
		decode(number, argument, result < 0 ? -1 : (result > INT32_MAX ? 0 : (int)result),
		       error);
		errno = error;
	}
	return result;
}
