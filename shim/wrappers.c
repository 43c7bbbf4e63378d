/*
 * wrappers.c - the interposed write functions, one template per shape of
 * call, instantiated for every row of interpose.def.
 *
 * Each wrapper calls the real function first (found by dlsym(3) RTLD_NEXT at
 * load), then reports what was attempted with the call's result and errno,
 * and returns exactly what the real function returned with errno as it left
 * it: the build sees no difference.  Read-only opens are not reported and
 * cost one flag test.  Prototypes follow the glibc 2.36 headers and the man
 * pages of each call (open(2), fopen(3), rename(2), utimensat(2), ...).
 *
 * Errors: a symbol this libc lacks makes its wrapper fail with ENOSYS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "shim.h"

/* Calls the real function, or fails with ENOSYS if the libc has none. */
#define CALL_REAL(name, failure, ...)                                                              \
	(SHIM_REAL(name) != NULL ? real_##name(__VA_ARGS__) : (errno = ENOSYS, (failure)))

/* open(2): the mode argument exists only with O_CREAT or O_TMPFILE. */
static mode_t open_mode(int flags, va_list arguments)
{
	if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE)
		return (mode_t)va_arg(arguments, unsigned int);
	return 0;
}

/* fopen(3) mode string -> the open(2) flags it implies. */
static int fopen_flags(const char *mode)
{
	if (SHIM_OPAQUE(mode) == NULL)
		return O_RDONLY;
	int flags;
	switch (mode[0]) {
	case 'w':
		flags = O_WRONLY | O_CREAT | O_TRUNC;
		break;
	case 'a':
		flags = O_WRONLY | O_CREAT | O_APPEND;
		break;
	default:
		flags = O_RDONLY;
		break;
	}
	for (const char *p = mode + 1; *p != '\0' && *p != ','; p++) {
		if (*p == '+')
			flags = (flags & ~O_WRONLY) | O_RDWR;
		else if (*p == 'x')
			flags |= O_EXCL;
	}
	return flags;
}

static int stream_fd(FILE *stream)
{
	return stream != NULL ? fileno(stream) : -1;
}

#define WRAP_OPEN(name, operation)                                                                 \
	SHIM_EXPORT int name(const char *path, int flags, ...)                                     \
	{                                                                                          \
		va_list arguments;                                                                 \
		va_start(arguments, flags);                                                        \
		mode_t mode = open_mode(flags, arguments);                                         \
		va_end(arguments);                                                                 \
		int result = CALL_REAL(name, -1, path, flags, mode);                              \
		if (shim_open_writes(flags))                                                       \
			shim_report_write(operation, AT_FDCWD, path, AT_FDCWD, NULL, true,         \
					  (unsigned)flags, result, errno);                         \
		return result;                                                                     \
	}

#define WRAP_OPENAT(name, operation)                                                               \
	SHIM_EXPORT int name(int dirfd, const char *path, int flags, ...)                          \
	{                                                                                          \
		va_list arguments;                                                                 \
		va_start(arguments, flags);                                                        \
		mode_t mode = open_mode(flags, arguments);                                         \
		va_end(arguments);                                                                 \
		int result = CALL_REAL(name, -1, dirfd, path, flags, mode);                       \
		if (shim_open_writes(flags))                                                       \
			shim_report_write(operation, dirfd, path, AT_FDCWD, NULL, true,            \
					  (unsigned)flags, result, errno);                         \
		return result;                                                                     \
	}

/* _FORTIFY_SOURCE's checked opens take no mode: they abort on O_CREAT
 * without one, so they only ever open existing files. */
#define WRAP_OPEN_FORTIFIED(name, operation)                                                       \
	SHIM_EXPORT int name(const char *path, int flags)                                          \
	{                                                                                          \
		int result = CALL_REAL(name, -1, path, flags);                                     \
		if (shim_open_writes(flags))                                                       \
			shim_report_write(operation, AT_FDCWD, path, AT_FDCWD, NULL, true,         \
					  (unsigned)flags, result, errno);                         \
		return result;                                                                     \
	}

#define WRAP_OPENAT_FORTIFIED(name, operation)                                                     \
	SHIM_EXPORT int name(int dirfd, const char *path, int flags)                               \
	{                                                                                          \
		int result = CALL_REAL(name, -1, dirfd, path, flags);                              \
		if (shim_open_writes(flags))                                                       \
			shim_report_write(operation, dirfd, path, AT_FDCWD, NULL, true,            \
					  (unsigned)flags, result, errno);                         \
		return result;                                                                     \
	}

#define WRAP_CREAT(name, operation)                                                                \
	SHIM_EXPORT int name(const char *path, mode_t mode)                                        \
	{                                                                                          \
		int result = CALL_REAL(name, -1, path, mode);                                      \
		shim_report_write(operation, AT_FDCWD, path, AT_FDCWD, NULL, true,                 \
				  O_WRONLY | O_CREAT | O_TRUNC, result, errno);                    \
		return result;                                                                     \
	}

#define WRAP_FOPEN(name, operation)                                                                \
	SHIM_EXPORT FILE *name(const char *path, const char *mode)                                 \
	{                                                                                          \
		FILE *stream = CALL_REAL(name, NULL, path, mode);                                  \
		int flags = fopen_flags(mode);                                                     \
		if (shim_open_writes(flags))                                                       \
			shim_report_write(operation, AT_FDCWD, path, AT_FDCWD, NULL, true,         \
					  (unsigned)flags, stream_fd(stream), errno);              \
		return stream;                                                                     \
	}

/* freopen(3) with a NULL path changes the mode of the open file: no name is
 * created, so nothing is reported. */
#define WRAP_FREOPEN(name, operation)                                                              \
	SHIM_EXPORT FILE *name(const char *path, const char *mode, FILE *stream)                   \
	{                                                                                          \
		FILE *result = CALL_REAL(name, NULL, path, mode, stream);                          \
		int flags = fopen_flags(mode);                                                     \
		if (shim_open_writes(flags))                                                       \
			shim_report_write(operation, AT_FDCWD, path, AT_FDCWD, NULL, true,         \
					  (unsigned)flags, stream_fd(result), errno);              \
		return result;                                                                     \
	}

#define WRAP_PATH(name, operation)                                                                 \
	SHIM_EXPORT int name(const char *path)                                                     \
	{                                                                                          \
		int result = CALL_REAL(name, -1, path);                                            \
		shim_report_write(operation, AT_FDCWD, path, AT_FDCWD, NULL, false, 0, result,     \
				  errno);                                                          \
		return result;                                                                     \
	}

#define WRAP_PATH_MODE(name, operation)                                                            \
	SHIM_EXPORT int name(const char *path, mode_t mode)                                        \
	{                                                                                          \
		int result = CALL_REAL(name, -1, path, mode);                                      \
		shim_report_write(operation, AT_FDCWD, path, AT_FDCWD, NULL, true, 0, result,      \
				  errno);                                                          \
		return result;                                                                     \
	}

#define WRAP_AT_PATH_MODE(name, operation)                                                         \
	SHIM_EXPORT int name(int dirfd, const char *path, mode_t mode)                             \
	{                                                                                          \
		int result = CALL_REAL(name, -1, dirfd, path, mode);                               \
		shim_report_write(operation, dirfd, path, AT_FDCWD, NULL, true, 0, result, errno); \
		return result;                                                                     \
	}

#define WRAP_AT_PATH_MODE_FLAGS(name, operation)                                                   \
	SHIM_EXPORT int name(int dirfd, const char *path, mode_t mode, int flags)                  \
	{                                                                                          \
		int result = CALL_REAL(name, -1, dirfd, path, mode, flags);                        \
		shim_report_write(operation, dirfd, path, AT_FDCWD, NULL,                          \
				  (flags & AT_SYMLINK_NOFOLLOW) == 0, 0, result, errno);           \
		return result;                                                                     \
	}

/* unlinkat(2) with AT_REMOVEDIR is rmdir. */
#define WRAP_AT_PATH_FLAGS(name, operation)                                                        \
	SHIM_EXPORT int name(int dirfd, const char *path, int flags)                               \
	{                                                                                          \
		int result = CALL_REAL(name, -1, dirfd, path, flags);                              \
		shim_report_write((flags & AT_REMOVEDIR) ? OP_RMDIR : (operation), dirfd, path,    \
				  AT_FDCWD, NULL, false, 0, result, errno);                        \
		return result;                                                                     \
	}

#define WRAP_TWO_PATHS(name, operation)                                                            \
	SHIM_EXPORT int name(const char *from, const char *to)                                     \
	{                                                                                          \
		int result = CALL_REAL(name, -1, from, to);                                        \
		shim_report_write(operation, AT_FDCWD, from, AT_FDCWD, to, false, 0, result,       \
				  errno);                                                          \
		return result;                                                                     \
	}

#define WRAP_AT_TWO_PATHS(name, operation)                                                         \
	SHIM_EXPORT int name(int from_dirfd, const char *from, int to_dirfd, const char *to)       \
	{                                                                                          \
		int result = CALL_REAL(name, -1, from_dirfd, from, to_dirfd, to);                  \
		shim_report_write(operation, from_dirfd, from, to_dirfd, to, false, 0, result,     \
				  errno);                                                          \
		return result;                                                                     \
	}

#define WRAP_AT_TWO_PATHS_FLAGS_(name, operation, flags_type)                                      \
	SHIM_EXPORT int name(int from_dirfd, const char *from, int to_dirfd, const char *to,       \
			     flags_type flags)                                                     \
	{                                                                                          \
		int result = CALL_REAL(name, -1, from_dirfd, from, to_dirfd, to, flags);           \
		shim_report_write(operation, from_dirfd, from, to_dirfd, to, false, 0, result,     \
				  errno);                                                          \
		return result;                                                                     \
	}
/* renameat2(2) takes unsigned flags, linkat(2) int. */
#define WRAP_RENAMEAT2(name, operation) WRAP_AT_TWO_PATHS_FLAGS_(name, operation, unsigned int)
#define WRAP_LINKAT(name, operation) WRAP_AT_TWO_PATHS_FLAGS_(name, operation, int)

/* symlink(2): the target is stored as text, never resolved; what is
 * created is the link, reported as the first path with the target as "to"
 * in the report's own order (path = the new link).  Only the link's name is
 * resolved. */
#define WRAP_SYMLINK(name, operation)                                                              \
	SHIM_EXPORT int name(const char *target, const char *link)                                 \
	{                                                                                          \
		int result = CALL_REAL(name, -1, target, link);                                    \
		shim_report_write(operation, AT_FDCWD, link, AT_FDCWD, target, false, 0, result,   \
				  errno);                                                          \
		return result;                                                                     \
	}

#define WRAP_SYMLINKAT(name, operation)                                                            \
	SHIM_EXPORT int name(const char *target, int dirfd, const char *link)                      \
	{                                                                                          \
		int result = CALL_REAL(name, -1, target, dirfd, link);                             \
		shim_report_write(operation, dirfd, link, AT_FDCWD, target, false, 0, result,      \
				  errno);                                                          \
		return result;                                                                     \
	}

#define WRAP_MKNOD(name, operation)                                                                \
	SHIM_EXPORT int name(const char *path, mode_t mode, dev_t device)                          \
	{                                                                                          \
		int result = CALL_REAL(name, -1, path, mode, device);                              \
		shim_report_write(operation, AT_FDCWD, path, AT_FDCWD, NULL, false, 0, result,     \
				  errno);                                                          \
		return result;                                                                     \
	}

#define WRAP_MKNODAT(name, operation)                                                              \
	SHIM_EXPORT int name(int dirfd, const char *path, mode_t mode, dev_t device)               \
	{                                                                                          \
		int result = CALL_REAL(name, -1, dirfd, path, mode, device);                       \
		shim_report_write(operation, dirfd, path, AT_FDCWD, NULL, false, 0, result,        \
				  errno);                                                          \
		return result;                                                                     \
	}

#define WRAP_PATH_OWNER_(name, operation, follow)                                                  \
	SHIM_EXPORT int name(const char *path, uid_t owner, gid_t group)                           \
	{                                                                                          \
		int result = CALL_REAL(name, -1, path, owner, group);                              \
		shim_report_write(operation, AT_FDCWD, path, AT_FDCWD, NULL, follow, 0, result,    \
				  errno);                                                          \
		return result;                                                                     \
	}
#define WRAP_PATH_OWNER(name, operation) WRAP_PATH_OWNER_(name, operation, true)
#define WRAP_PATH_OWNER_NOFOLLOW(name, operation) WRAP_PATH_OWNER_(name, operation, false)

#define WRAP_AT_PATH_OWNER_FLAGS(name, operation)                                                  \
	SHIM_EXPORT int name(int dirfd, const char *path, uid_t owner, gid_t group, int flags)     \
	{                                                                                          \
		int result = CALL_REAL(name, -1, dirfd, path, owner, group, flags);                \
		shim_report_write(operation, dirfd, path, AT_FDCWD, NULL,                          \
				  (flags & AT_SYMLINK_NOFOLLOW) == 0, 0, result, errno);           \
		return result;                                                                     \
	}

#define WRAP_TRUNCATE(name, operation)                                                             \
	SHIM_EXPORT int name(const char *path, off_t length)                                       \
	{                                                                                          \
		int result = CALL_REAL(name, -1, path, length);                                    \
		shim_report_write(operation, AT_FDCWD, path, AT_FDCWD, NULL, true, 0, result,      \
				  errno);                                                          \
		return result;                                                                     \
	}

#define WRAP_TRUNCATE64(name, operation)                                                           \
	SHIM_EXPORT int name(const char *path, off64_t length)                                     \
	{                                                                                          \
		int result = CALL_REAL(name, -1, path, length);                                    \
		shim_report_write(operation, AT_FDCWD, path, AT_FDCWD, NULL, true, 0, result,      \
				  errno);                                                          \
		return result;                                                                     \
	}

#define WRAP_UTIME(name, operation)                                                                \
	SHIM_EXPORT int name(const char *path, const struct utimbuf *times)                        \
	{                                                                                          \
		int result = CALL_REAL(name, -1, path, times);                                     \
		shim_report_write(operation, AT_FDCWD, path, AT_FDCWD, NULL, true, 0, result,      \
				  errno);                                                          \
		return result;                                                                     \
	}

#define WRAP_UTIMES_(name, operation, follow)                                                      \
	SHIM_EXPORT int name(const char *path, const struct timeval times[2])                      \
	{                                                                                          \
		int result = CALL_REAL(name, -1, path, times);                                     \
		shim_report_write(operation, AT_FDCWD, path, AT_FDCWD, NULL, follow, 0, result,    \
				  errno);                                                          \
		return result;                                                                     \
	}
#define WRAP_UTIMES(name, operation) WRAP_UTIMES_(name, operation, true)
#define WRAP_UTIMES_NOFOLLOW(name, operation) WRAP_UTIMES_(name, operation, false)

/* utimensat(2): a NULL path means the dirfd itself (futimens(3)); so does ""
 * with AT_EMPTY_PATH.  Both name the file through the dirfd. */
#define WRAP_UTIMENSAT(name, operation)                                                            \
	SHIM_EXPORT int name(int dirfd, const char *path, const struct timespec times[2],          \
			     int flags)                                                            \
	{                                                                                          \
		int result = CALL_REAL(name, -1, dirfd, path, times, flags);                       \
		shim_report_write(operation, dirfd, SHIM_OPAQUE(path) != NULL ? path : "",         \
				  AT_FDCWD, NULL, (flags & AT_SYMLINK_NOFOLLOW) == 0, 0, result,   \
				  errno);                                                          \
		return result;                                                                     \
	}

/* ---- metadata by descriptor ----------------------------------------------
 * The file is named by the descriptor ("" through the dirfd: resolve_path
 * reads /proc/self/fd/N), whatever its access mode: fchmod on an O_RDONLY
 * descriptor changes the file too.  Pipes, sockets, anonymous inodes and
 * memfds are dropped by shim_report_write. */

#define WRAP_FD_(name, operation, parameters, arguments)                                           \
	SHIM_EXPORT int name parameters                                                            \
	{                                                                                          \
		int result = CALL_REAL(name, -1, UNPAREN_ arguments);                              \
		shim_report_write(operation, fd, "", AT_FDCWD, NULL, true, 0, result, errno);      \
		return result;                                                                     \
	}
#define UNPAREN_(...) __VA_ARGS__
#define WRAP_FD_MODE(name, operation) WRAP_FD_(name, operation, (int fd, mode_t mode), (fd, mode))
#define WRAP_FD_OWNER(name, operation)                                                             \
	WRAP_FD_(name, operation, (int fd, uid_t owner, gid_t group), (fd, owner, group))
#define WRAP_FUTIMES(name, operation)                                                              \
	WRAP_FD_(name, operation, (int fd, const struct timeval times[2]), (fd, times))
#define WRAP_FUTIMENS(name, operation)                                                             \
	WRAP_FD_(name, operation, (int fd, const struct timespec times[2]), (fd, times))
#define WRAP_FSETXATTR(name, operation)                                                            \
	WRAP_FD_(name, operation,                                                                  \
		 (int fd, const char *attribute, const void *value, size_t size, int flags),       \
		 (fd, attribute, value, size, flags))
#define WRAP_FREMOVEXATTR(name, operation)                                                         \
	WRAP_FD_(name, operation, (int fd, const char *attribute), (fd, attribute))
#define WRAP_FTRUNCATE(name, operation)                                                            \
	WRAP_FD_(name, operation, (int fd, off_t length), (fd, length))
#define WRAP_FTRUNCATE64(name, operation)                                                          \
	WRAP_FD_(name, operation, (int fd, off64_t length), (fd, length))

/* ---- more metadata and names by path ------------------------------------- */

/* lchmod(3): the last component is not followed (glibc fails with
 * EOPNOTSUPP on a symlink). */
#define WRAP_PATH_MODE_NOFOLLOW(name, operation)                                                   \
	SHIM_EXPORT int name(const char *path, mode_t mode)                                        \
	{                                                                                          \
		int result = CALL_REAL(name, -1, path, mode);                                      \
		shim_report_write(operation, AT_FDCWD, path, AT_FDCWD, NULL, false, 0, result,     \
				  errno);                                                          \
		return result;                                                                     \
	}

/* futimesat(2): a NULL path means the dirfd itself, as with utimensat. */
#define WRAP_FUTIMESAT(name, operation)                                                            \
	SHIM_EXPORT int name(int dirfd, const char *path, const struct timeval times[2])           \
	{                                                                                          \
		int result = CALL_REAL(name, -1, dirfd, path, times);                              \
		shim_report_write(operation, dirfd, SHIM_OPAQUE(path) != NULL ? path : "",         \
				  AT_FDCWD, NULL, true, 0, result, errno);                         \
		return result;                                                                     \
	}

#define WRAP_SETXATTR_(name, operation, follow)                                                    \
	SHIM_EXPORT int name(const char *path, const char *attribute, const void *value,           \
			     size_t size, int flags)                                               \
	{                                                                                          \
		int result = CALL_REAL(name, -1, path, attribute, value, size, flags);             \
		shim_report_write(operation, AT_FDCWD, path, AT_FDCWD, NULL, follow, 0, result,    \
				  errno);                                                          \
		return result;                                                                     \
	}
#define WRAP_SETXATTR(name, operation) WRAP_SETXATTR_(name, operation, true)
#define WRAP_SETXATTR_NOFOLLOW(name, operation) WRAP_SETXATTR_(name, operation, false)

#define WRAP_REMOVEXATTR_(name, operation, follow)                                                 \
	SHIM_EXPORT int name(const char *path, const char *attribute)                              \
	{                                                                                          \
		int result = CALL_REAL(name, -1, path, attribute);                                 \
		shim_report_write(operation, AT_FDCWD, path, AT_FDCWD, NULL, follow, 0, result,    \
				  errno);                                                          \
		return result;                                                                     \
	}
#define WRAP_REMOVEXATTR(name, operation) WRAP_REMOVEXATTR_(name, operation, true)
#define WRAP_REMOVEXATTR_NOFOLLOW(name, operation) WRAP_REMOVEXATTR_(name, operation, false)

/* __xmknod/__xmknodat (see shim.h): the device number is passed by pointer. */
#define WRAP_XMKNOD(name, operation)                                                               \
	SHIM_EXPORT int name(int version, const char *path, mode_t mode, dev_t *device)            \
	{                                                                                          \
		int result = CALL_REAL(name, -1, version, path, mode, device);                     \
		shim_report_write(operation, AT_FDCWD, path, AT_FDCWD, NULL, false, 0, result,     \
				  errno);                                                          \
		return result;                                                                     \
	}

#define WRAP_XMKNODAT(name, operation)                                                             \
	SHIM_EXPORT int name(int version, int dirfd, const char *path, mode_t mode,                \
			     dev_t *device)                                                        \
	{                                                                                          \
		int result = CALL_REAL(name, -1, version, dirfd, path, mode, device);              \
		shim_report_write(operation, dirfd, path, AT_FDCWD, NULL, false, 0, result,        \
				  errno);                                                          \
		return result;                                                                     \
	}

/* ---- temporary files --------------------------------------------------------
 * mkstemp(3) & co. fill the XXXXXX of the template in place, so after the
 * call it holds the name created (or, on failure, the last name tried).
 * glibc opens it O_RDWR|O_CREAT|O_EXCL plus the caller's flags. */

#define MKSTEMP_FLAGS_(flags) ((((unsigned)(flags)) & ~(unsigned)O_ACCMODE) | O_RDWR | O_CREAT | O_EXCL)

#define WRAP_MKSTEMP_(name, operation, parameters, arguments, flags)                               \
	SHIM_EXPORT int name parameters                                                            \
	{                                                                                          \
		int result = CALL_REAL(name, -1, UNPAREN_ arguments);                              \
		shim_report_write(operation, AT_FDCWD, template, AT_FDCWD, NULL, false,            \
				  MKSTEMP_FLAGS_(flags), result, errno);                           \
		return result;                                                                     \
	}
#define WRAP_MKSTEMP(name, operation) WRAP_MKSTEMP_(name, operation, (char *template), (template), 0)
#define WRAP_MKOSTEMP(name, operation)                                                             \
	WRAP_MKSTEMP_(name, operation, (char *template, int flags), (template, flags), flags)
#define WRAP_MKSTEMPS(name, operation)                                                             \
	WRAP_MKSTEMP_(name, operation, (char *template, int suffix_length),                        \
		      (template, suffix_length), 0)
#define WRAP_MKOSTEMPS(name, operation)                                                            \
	WRAP_MKSTEMP_(name, operation, (char *template, int suffix_length, int flags),             \
		      (template, suffix_length, flags), flags)

/* mkdtemp(3) returns the template or NULL; no open flags (see
 * shim_report_write: an OP_MKSTEMP without them has no descriptor). */
#define WRAP_MKDTEMP(name, operation)                                                              \
	SHIM_EXPORT char *name(char *template)                                                     \
	{                                                                                          \
		char *result = CALL_REAL(name, NULL, template);                                    \
		shim_report_write(operation, AT_FDCWD, template, AT_FDCWD, NULL, false, 0,         \
				  result != NULL ? 0 : -1, errno);                                 \
		return result;                                                                     \
	}

/* tmpfile(3) always works in P_tmpdir (it ignores TMPDIR); the report names
 * the directory of the descriptor it got, or P_tmpdir when it failed. */
#define WRAP_TMPFILE(name, operation)                                                              \
	SHIM_EXPORT FILE *name(void)                                                               \
	{                                                                                          \
		FILE *stream = CALL_REAL(name, NULL);                                              \
		shim_report_write(operation, AT_FDCWD, P_tmpdir, AT_FDCWD, NULL, true,             \
				  0, stream_fd(stream), errno);                                    \
		return stream;                                                                     \
	}

/* shm_open(3): "/name" is a file in /dev/shm, which is the sandbox's own
 * private tmpfs, so the monitor ignores it as a pseudo path; reported for
 * completeness, only when the flags write. */
#define WRAP_SHM_OPEN(name, operation)                                                             \
	SHIM_EXPORT int name(const char *shm_name, int flags, mode_t mode)                         \
	{                                                                                          \
		int result = CALL_REAL(name, -1, shm_name, flags, mode);                           \
		if (shim_active && shim_open_writes(flags) && SHIM_OPAQUE(shm_name) != NULL) {     \
			int error = errno;                                                         \
			char path[NAME_MAX + 16] = "/dev/shm/";                                    \
			const char *bare = shm_name;                                               \
			while (*bare == '/')                                                       \
				bare++;                                                            \
			strncat(path, bare, NAME_MAX + 1);                                         \
			shim_report_write(operation, AT_FDCWD, path, AT_FDCWD, NULL, true,         \
					  (unsigned)flags, result, error);                         \
			errno = error;                                                             \
		}                                                                                  \
		return result;                                                                     \
	}

/* ---- sockets ------------------------------------------------------------- */

/* bind(2) of an AF_UNIX socket to a filesystem path creates the socket file;
 * abstract addresses (sun_path[0] == 0), unnamed ones and other families
 * touch no file and are not reported.  sun_path need not be terminated. */
#define WRAP_BIND(name, operation)                                                                 \
	SHIM_EXPORT int name(int fd, const struct sockaddr *address, socklen_t length)             \
	{                                                                                          \
		int result = CALL_REAL(name, -1, fd, address, length);                             \
		const struct sockaddr_un *unix_address = (const struct sockaddr_un *)address;      \
		size_t offset = offsetof(struct sockaddr_un, sun_path);                            \
		if (shim_active && SHIM_OPAQUE(address) != NULL && length > offset &&              \
		    address->sa_family == AF_UNIX && unix_address->sun_path[0] != '\0') {          \
			int error = errno;                                                         \
			char path[sizeof unix_address->sun_path + 1];                              \
			size_t path_length = (size_t)length - offset;                              \
			if (path_length > sizeof unix_address->sun_path)                           \
				path_length = sizeof unix_address->sun_path;                       \
			memcpy(path, unix_address->sun_path, path_length);                         \
			path[path_length] = '\0';                                                  \
			shim_report_write(operation, AT_FDCWD, path, AT_FDCWD, NULL, false, 0,     \
					  result, error);                                          \
			errno = error;                                                             \
		}                                                                                  \
		return result;                                                                     \
	}

/* Exec, shell, file action and syscall rows are hand-written in exec.c,
 * spawn.c, file_actions.c and syscall.c. */
#define WRAP_EXEC(name, operation)
#define WRAP_FILE_ACTION(name, operation)
#define WRAP_SHELL(name, operation)
#define WRAP_SYSCALL(name, operation)

#define SHIM(shape, name, operation) WRAP_##shape(name, operation)
#include "interpose.def"
#undef SHIM
