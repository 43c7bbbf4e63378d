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
#include <string.h>
#include <sys/stat.h>

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

/* Exec rows are hand-written in exec.c. */
#define WRAP_EXEC(name, operation)

#define SHIM(shape, name, operation) WRAP_##shape(name, operation)
#include "interpose.def"
#undef SHIM
