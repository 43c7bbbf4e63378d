/*
 * shimcall - calls ONE named libc function with arguments taken from argv,
 * then prints what it returned and the errno it left:
 *
 *     rc=<return value> errno=<NAME or 0>
 *
 * so a test can compare what the program saw with and without the shim, and
 * with what the report says.  Built by tests/test_shim.py with
 * -U_FORTIFY_SOURCE -O0, so every call below goes to the symbol it names
 * (the fortified __open_2 family is called explicitly).
 *
 * Usage: shimcall [-C DIR] [--noshim] [--strip-env] FUNCTION ARG...
 *   -C DIR       chdir(DIR) first (resolution after a chdir in the process)
 *   --noshim     re-exec itself by the raw execve system call with LD_PRELOAD
 *                and ENCAPSULATE_* removed from the environment: the same
 *                call, same view, without the shim (the errno baseline)
 *   --strip-env  unsetenv LD_PRELOAD and ENCAPSULATE_* before the call (for
 *                the exec functions that hand on environ)
 *   --closefrom  close every descriptor above 2 first (the shim's event
 *                socket included), as daemons and some build tools do
 * A DIR argument of a *at function is opened O_RDONLY|O_DIRECTORY (no event);
 * "AT_FDCWD" means AT_FDCWD.  FLAGS are names joined by '|' (O_WRONLY|O_CREAT,
 * AT_REMOVEDIR, 0) or numbers; modes and numbers accept 0 octal / 0x hex.
 * Exec functions get envp = {NULL} when they take one; argv is the rest of
 * the command line.  posix_spawn* wait for the child and print its status.
 * Arguments after those a function takes are ignored.
 * The FILE argument of the by-descriptor functions (fchmod, ftruncate...) is
 * opened by the raw system call (no event), O_RDONLY (ftruncate and
 * ftruncate64: O_RDWR, or O_RDONLY where that fails); "memfd" and "pipe"
 * stand for a memfd_create(2) file and a pipe's read end instead.
 * removexattr & co. first set the attribute by the raw system call (its
 * failure ignored), so there is one to remove.  bind makes an AF_UNIX
 * stream socket; a PATH starting with '@' is an abstract address and
 * "inet" binds an AF_INET socket to 127.0.0.1, port 0.  The mk*temp
 * functions print "name=<template after the call>" before the result.
 *
 * The shell and syscall functions:
 *   system [CMD]            system(CMD), system(NULL) without CMD; rc is the status
 *   popen MODE CMD [TEXT]   popen(CMD, MODE); "r": prints each line read as
 *                           "out=<line>"; "w": writes TEXT; rc is pclose's status
 *   pclose MODE CMD         the same, for the pclose row of the table
 *   system-threads N CMD    N threads call system(CMD) at once; prints each
 *                           status as "status=<n>", rc is 0
 *   syscall NAME ARG...     syscall(SYS_<NAME>, ...): open PATH FLAGS MODE,
 *                           openat DIR PATH FLAGS MODE, openat2 DIR PATH FLAGS
 *                           MODE, creat PATH MODE, mkdir PATH MODE, mkdirat DIR
 *                           PATH MODE, rmdir PATH, unlink PATH, rename FROM TO,
 *                           link FROM TO, symlink TARGET LINK, truncate PATH
 *                           LENGTH, chmod PATH MODE, fchownat DIR PATH UID GID
 *                           FLAGS, utimensat DIR PATH FLAGS, setxattr PATH NAME
 *                           VALUE, execve PATH ARGV... (envp = {NULL})
 *   spawn_addopen PATH FLAGS [MODE]
 *                           posix_spawn_file_actions_init, _addopen(fd 3,
 *                           PATH, FLAGS, MODE or 0644), posix_spawn of
 *                           /bin/true with them, _destroy; prints "child
 *                           status=<n>" on success, rc and errno are the
 *                           spawn's error number (also named
 *                           posix_spawn_file_actions_addopen)
 *   spawnp_addopen PATH FLAGS [MODE]   the same through posix_spawnp("true")
 *   spawn_reuse OLD FLAGS NEW FLAGS    one actions object (same address):
 *                           init, addopen OLD, destroy, init, addopen NEW,
 *                           spawn /bin/true, destroy (also named
 *                           posix_spawn_file_actions_destroy)
 *   spawn_reinit OLD FLAGS NEW FLAGS   the same without the first destroy:
 *                           init again over a used object (also named
 *                           posix_spawn_file_actions_init)
 *   vfork-exec FILE PATH ARGV...   vfork(); the child opens FILE
 *                           O_WRONLY|O_CREAT, then execve(PATH, ARGV, {NULL});
 *                           the parent prints "child status=<n>"
 *   clone-exec PATH ARGV... clone(CLONE_VM|CLONE_VFORK|SIGCHLD) on an 8 KiB
 *                           stack; the child execve(PATH, ARGV, {NULL})
 * The program's own raw calls (--noshim, fd_of, set_attribute) use the
 * syscall instruction directly, never syscall(3), which the shim wraps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <signal.h>

/* The fortified entry points have no prototype without _FORTIFY_SOURCE. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
int __xmknod(int version, const char *path, mode_t mode, dev_t *device);
int __xmknodat(int version, int dirfd, const char *path, mode_t mode, dev_t *device);
extern int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		    int flags);

extern char **environ;

static char *empty_environment[] = { NULL };

/* A system call by the instruction itself: the shim wraps syscall(3). */
static long raw_syscall(long number, long a, long b, long c, long d, long e)
{
#if defined(__x86_64__)
	long result;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	__asm__ volatile("syscall"
			 : "=a"(result)
			 : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	if (result < 0 && result > -4096) {
		errno = (int)-result;
		return -1;
	}
	return result;
#else
#error "raw_syscall: add this architecture"
#endif
}

static void usage(const char *why)
{
	fprintf(stderr, "shimcall: %s\n", why);
	exit(2);
}

static long number(const char *text)
{
	char *end;
	errno = 0;
	long value = strtol(text, &end, 0);
	if (errno != 0 || *end != '\0' || end == text)
		usage("bad number");
	return value;
}

static int flags_of(const char *text)
{
	static const struct {
		const char *name;
		int value;
	} names[] = {
		{ "O_RDONLY", O_RDONLY },
		{ "O_WRONLY", O_WRONLY },
		{ "O_RDWR", O_RDWR },
		{ "O_CREAT", O_CREAT },
		{ "O_EXCL", O_EXCL },
		{ "O_TRUNC", O_TRUNC },
		{ "O_APPEND", O_APPEND },
		{ "O_TMPFILE", O_TMPFILE },
		{ "O_DIRECTORY", O_DIRECTORY },
		{ "O_NOFOLLOW", O_NOFOLLOW },
		{ "O_CLOEXEC", O_CLOEXEC },
		{ "O_PATH", O_PATH },
		{ "AT_REMOVEDIR", AT_REMOVEDIR },
		{ "AT_SYMLINK_NOFOLLOW", AT_SYMLINK_NOFOLLOW },
		{ "AT_SYMLINK_FOLLOW", AT_SYMLINK_FOLLOW },
		{ "AT_EMPTY_PATH", AT_EMPTY_PATH },
		{ "RENAME_NOREPLACE", 1 },
		{ "RENAME_EXCHANGE", 2 },
	};
	int flags = 0;
	char copy[512];
	snprintf(copy, sizeof copy, "%s", text);
	char *save = NULL;
	for (char *item = strtok_r(copy, "|", &save); item != NULL; item = strtok_r(NULL, "|", &save)) {
		size_t i;
		for (i = 0; i < sizeof names / sizeof names[0]; i++)
			if (strcmp(item, names[i].name) == 0)
				break;
		if (i < sizeof names / sizeof names[0])
			flags |= names[i].value;
		else
			flags |= (int)number(item);
	}
	return flags;
}

static int dirfd_of(const char *text)
{
	if (strcmp(text, "AT_FDCWD") == 0)
		return AT_FDCWD;
	int fd = open(text, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		perror(text);
		exit(2);
	}
	return fd;
}

/* A descriptor for the by-descriptor functions, opened without the shim
 * seeing it (see the usage above). */
static int fd_of(const char *text, int writable)
{
	int fd;
	if (strcmp(text, "memfd") == 0) {
		fd = memfd_create("shimcall", MFD_CLOEXEC);
	} else if (strcmp(text, "pipe") == 0) {
		int ends[2];
		fd = pipe(ends) == 0 ? ends[0] : -1;
	} else {
		fd = -1;
		if (writable)
			fd = (int)raw_syscall(SYS_openat, AT_FDCWD, (long)text, O_RDWR | O_CLOEXEC, 0, 0);
		if (fd < 0)
			fd = (int)raw_syscall(SYS_openat, AT_FDCWD, (long)text, O_RDONLY | O_CLOEXEC, 0, 0);
	}
	if (fd < 0) {
		perror(text);
		exit(2);
	}
	return fd;
}

static void set_attribute(const char *path, const char *name)
{
	raw_syscall(SYS_setxattr, (long)path, (long)name, (long)"1", 1, 0);
}

static int bind_to(const char *text)
{
	if (strcmp(text, "inet") == 0) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in address = { .sin_family = AF_INET,
					       .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		if (fd < 0)
			usage("socket");
		return bind(fd, (struct sockaddr *)&address, sizeof address);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	if (fd < 0)
		usage("socket");
	size_t length = strlen(text);
	if (length > sizeof address.sun_path)
		usage("socket path too long");
	memcpy(address.sun_path, text, length);
	if (text[0] == '@')
		address.sun_path[0] = '\0';
	return bind(fd, (struct sockaddr *)&address,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length));
}

static void strip_environment(void)
{
	unsetenv("LD_PRELOAD");
	unsetenv("ENCAPSULATE_SOCKET");
	unsetenv("ENCAPSULATE_SHIM");
}

/* Re-executes argv without --noshim by the system call itself, so no
 * wrapper can put the shim back. */
static void exec_without_shim(int argc, char **argv, int noshim_index)
{
	char *args[argc + 1];
	int n = 0;
	for (int i = 0; i < argc; i++)
		if (i != noshim_index)
			args[n++] = argv[i];
	args[n] = NULL;
	strip_environment();
	raw_syscall(SYS_execve, (long)"/proc/self/exe", (long)args, (long)environ, 0, 0);
	perror("execve /proc/self/exe");
	exit(2);
}

static void print_result(long rc, int error)
{
	const char *name = error != 0 ? strerrorname_np(error) : NULL;
	printf("rc=%ld errno=%s\n", rc, name != NULL ? name : error != 0 ? "?" : "0");
	fflush(stdout);
}


/* ---- the shell, syscall(), vfork and clone ----------------------------------- */

static const char *thread_command;

static void *system_thread(void *argument)
{
	*(int *)argument = system(thread_command);
	return NULL;
}

struct openat2_how {
	unsigned long long flags, mode, resolve;
};

/* syscall(SYS_<name>, ...) with the arguments of the usage above. */
static long call_syscall(const char *name, char **a, int argc)
{
#define SYSCALL_NEED(count)                                                                        \
	do {                                                                                       \
		if (argc < (count))                                                                \
			usage("missing syscall arguments");                                        \
	} while (0)
	if (strcmp(name, "open") == 0) {
		SYSCALL_NEED(3);
		return syscall(SYS_open, a[0], flags_of(a[1]), (mode_t)number(a[2]));
	} else if (strcmp(name, "openat") == 0) {
		SYSCALL_NEED(4);
		return syscall(SYS_openat, dirfd_of(a[0]), a[1], flags_of(a[2]), (mode_t)number(a[3]));
	} else if (strcmp(name, "openat2") == 0) {
		SYSCALL_NEED(4);
		struct openat2_how how = { (unsigned long long)flags_of(a[2]),
					   (unsigned long long)number(a[3]), 0 };
		int fd = dirfd_of(a[0]);
		errno = 0;
		return syscall(SYS_openat2, fd, a[1], &how, sizeof how);
	} else if (strcmp(name, "creat") == 0) {
		SYSCALL_NEED(2);
		return syscall(SYS_creat, a[0], (mode_t)number(a[1]));
	} else if (strcmp(name, "mkdir") == 0) {
		SYSCALL_NEED(2);
		return syscall(SYS_mkdir, a[0], (mode_t)number(a[1]));
	} else if (strcmp(name, "mkdirat") == 0) {
		SYSCALL_NEED(3);
		return syscall(SYS_mkdirat, dirfd_of(a[0]), a[1], (mode_t)number(a[2]));
	} else if (strcmp(name, "rmdir") == 0) {
		SYSCALL_NEED(1);
		return syscall(SYS_rmdir, a[0]);
	} else if (strcmp(name, "unlink") == 0) {
		SYSCALL_NEED(1);
		return syscall(SYS_unlink, a[0]);
	} else if (strcmp(name, "rename") == 0) {
		SYSCALL_NEED(2);
		return syscall(SYS_rename, a[0], a[1]);
	} else if (strcmp(name, "link") == 0) {
		SYSCALL_NEED(2);
		return syscall(SYS_link, a[0], a[1]);
	} else if (strcmp(name, "symlink") == 0) {
		SYSCALL_NEED(2);
		return syscall(SYS_symlink, a[0], a[1]);
	} else if (strcmp(name, "truncate") == 0) {
		SYSCALL_NEED(2);
		return syscall(SYS_truncate, a[0], (off_t)number(a[1]));
	} else if (strcmp(name, "chmod") == 0) {
		SYSCALL_NEED(2);
		return syscall(SYS_chmod, a[0], (mode_t)number(a[1]));
	} else if (strcmp(name, "fchownat") == 0) {
		SYSCALL_NEED(5);
		return syscall(SYS_fchownat, dirfd_of(a[0]), a[1], (uid_t)number(a[2]),
			       (gid_t)number(a[3]), flags_of(a[4]));
	} else if (strcmp(name, "utimensat") == 0) {
		SYSCALL_NEED(3);
		return syscall(SYS_utimensat, dirfd_of(a[0]), a[1], NULL, flags_of(a[2]));
	} else if (strcmp(name, "setxattr") == 0) {
		SYSCALL_NEED(3);
		return syscall(SYS_setxattr, a[0], a[1], a[2], strlen(a[2]), 0);
	} else if (strcmp(name, "execve") == 0) {
		SYSCALL_NEED(1);
		return syscall(SYS_execve, a[0], a + 1, empty_environment);
	}
	usage("unknown syscall");
	return -1;
}

/* posix_spawn(p) of true with `actions`; prints the child's status on
 * success; returns the spawn's error number. */
static int spawn_true(int search, const posix_spawn_file_actions_t *actions)
{
	static char *true_argv[] = { "true", NULL };
	pid_t pid = -1;
	int error = search ? posix_spawnp(&pid, "true", actions, NULL, true_argv, environ)
			   : posix_spawn(&pid, "/bin/true", actions, NULL, true_argv, environ);
	if (error == 0) {
		int status;
		if (waitpid(pid, &status, 0) < 0)
			status = -1;
		printf("child status=%d\n", status);
	}
	return error;
}

/* One actions object for spawn_reuse and spawn_reinit, at a fixed address. */
static posix_spawn_file_actions_t reused_actions;

static int spawn_with_addopen(int search, const char *path, int flags, mode_t mode)
{
	posix_spawn_file_actions_t actions;
	if (posix_spawn_file_actions_init(&actions) != 0 ||
	    posix_spawn_file_actions_addopen(&actions, 3, path, flags, mode) != 0)
		usage("posix_spawn_file_actions");
	int error = spawn_true(search, &actions);
	posix_spawn_file_actions_destroy(&actions);
	return error;
}

static int spawn_after_reuse(int destroy, char **a)
{
	if (posix_spawn_file_actions_init(&reused_actions) != 0 ||
	    posix_spawn_file_actions_addopen(&reused_actions, 3, a[0], flags_of(a[1]), 0644) != 0)
		usage("posix_spawn_file_actions");
	if (destroy)
		posix_spawn_file_actions_destroy(&reused_actions);
	if (posix_spawn_file_actions_init(&reused_actions) != 0 ||
	    posix_spawn_file_actions_addopen(&reused_actions, 3, a[2], flags_of(a[3]), 0644) != 0)
		usage("posix_spawn_file_actions");
	int error = spawn_true(0, &reused_actions);
	posix_spawn_file_actions_destroy(&reused_actions);
	return error;
}

static char **clone_argv;

static int clone_child(void *argument)
{
	execve((const char *)argument, clone_argv, empty_environment);
	_exit(127);
}

#define NEED(count)                                                                                \
	do {                                                                                       \
		if (argc < (count))                                                                \
			usage("missing arguments");                                                \
	} while (0)

/* execl-style calls need their arguments spelled out: up to 12. */
#define LIST12(a) a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11]

int main(int argc, char **argv)
{
	int first = 1;
	while (first < argc && argv[first][0] == '-') {
		if (strcmp(argv[first], "-C") == 0 && first + 1 < argc) {
			if (chdir(argv[first + 1]) != 0) {
				perror(argv[first + 1]);
				return 2;
			}
			first += 2;
		} else if (strcmp(argv[first], "--noshim") == 0) {
			exec_without_shim(argc, argv, first);
		} else if (strcmp(argv[first], "--closefrom") == 0) {
			if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0) {
				perror("close_range");
				return 2;
			}
			first++;
		} else if (strcmp(argv[first], "--strip-env") == 0) {
			strip_environment();
			first++;
		} else {
			usage("unknown option");
		}
	}
	if (first >= argc)
		usage("no function");
	const char *function = argv[first];
	char **a = argv + first + 1; /* the function's arguments */
	argc -= first + 1;

	/* execl* take at most 12 arguments, NULL-terminated. */
	char *list[13] = { NULL };
	for (int i = 0; i + 1 < argc && i < 12; i++)
		list[i] = a[i + 1];
	if (argc > 13)
		usage("too many arguments for an execl call");

	long rc;
	errno = 0;
	int error;
#define CALL(expression)                                                                           \
	do {                                                                                       \
		errno = 0;                                                                         \
		rc = (long)(expression);                                                           \
		error = errno;                                                                     \
	} while (0)

	if (strcmp(function, "open") == 0) {
		NEED(3);
		CALL(open(a[0], flags_of(a[1]), (mode_t)number(a[2])));
	} else if (strcmp(function, "open64") == 0) {
		NEED(3);
		CALL(open64(a[0], flags_of(a[1]), (mode_t)number(a[2])));
	} else if (strcmp(function, "openat") == 0) {
		NEED(4);
		int fd = dirfd_of(a[0]);
		CALL(openat(fd, a[1], flags_of(a[2]), (mode_t)number(a[3])));
	} else if (strcmp(function, "openat64") == 0) {
		NEED(4);
		int fd = dirfd_of(a[0]);
		CALL(openat64(fd, a[1], flags_of(a[2]), (mode_t)number(a[3])));
	} else if (strcmp(function, "__open_2") == 0) {
		NEED(2);
		CALL(__open_2(a[0], flags_of(a[1])));
	} else if (strcmp(function, "__open64_2") == 0) {
		NEED(2);
		CALL(__open64_2(a[0], flags_of(a[1])));
	} else if (strcmp(function, "__openat_2") == 0) {
		NEED(3);
		int fd = dirfd_of(a[0]);
		CALL(__openat_2(fd, a[1], flags_of(a[2])));
	} else if (strcmp(function, "__openat64_2") == 0) {
		NEED(3);
		int fd = dirfd_of(a[0]);
		CALL(__openat64_2(fd, a[1], flags_of(a[2])));
	} else if (strcmp(function, "creat") == 0) {
		NEED(2);
		CALL(creat(a[0], (mode_t)number(a[1])));
	} else if (strcmp(function, "creat64") == 0) {
		NEED(2);
		CALL(creat64(a[0], (mode_t)number(a[1])));
	} else if (strcmp(function, "fopen") == 0 || strcmp(function, "fopen64") == 0) {
		NEED(2);
		FILE *stream;
		errno = 0;
		stream = strcmp(function, "fopen") == 0 ? fopen(a[0], a[1]) : fopen64(a[0], a[1]);
		error = errno;
		rc = stream != NULL ? fileno(stream) : -1;
	} else if (strcmp(function, "freopen") == 0 || strcmp(function, "freopen64") == 0) {
		NEED(2);
		FILE *stream = fopen("/dev/null", "r");
		if (stream == NULL)
			usage("cannot open /dev/null");
		errno = 0;
		stream = strcmp(function, "freopen") == 0 ? freopen(a[0], a[1], stream)
							  : freopen64(a[0], a[1], stream);
		error = errno;
		rc = stream != NULL ? fileno(stream) : -1;
	} else if (strcmp(function, "mkdir") == 0) {
		NEED(2);
		CALL(mkdir(a[0], (mode_t)number(a[1])));
	} else if (strcmp(function, "mkdirat") == 0) {
		NEED(3);
		int fd = dirfd_of(a[0]);
		CALL(mkdirat(fd, a[1], (mode_t)number(a[2])));
	} else if (strcmp(function, "rmdir") == 0) {
		NEED(1);
		CALL(rmdir(a[0]));
	} else if (strcmp(function, "unlink") == 0) {
		NEED(1);
		CALL(unlink(a[0]));
	} else if (strcmp(function, "unlinkat") == 0) {
		NEED(3);
		int fd = dirfd_of(a[0]);
		CALL(unlinkat(fd, a[1], flags_of(a[2])));
	} else if (strcmp(function, "remove") == 0) {
		NEED(1);
		CALL(remove(a[0]));
	} else if (strcmp(function, "rename") == 0) {
		NEED(2);
		CALL(rename(a[0], a[1]));
	} else if (strcmp(function, "renameat") == 0) {
		NEED(4);
		int from = dirfd_of(a[0]), to = dirfd_of(a[2]);
		CALL(renameat(from, a[1], to, a[3]));
	} else if (strcmp(function, "renameat2") == 0) {
		NEED(5);
		int from = dirfd_of(a[0]), to = dirfd_of(a[2]);
		CALL(renameat2(from, a[1], to, a[3], (unsigned)flags_of(a[4])));
	} else if (strcmp(function, "link") == 0) {
		NEED(2);
		CALL(link(a[0], a[1]));
	} else if (strcmp(function, "linkat") == 0) {
		NEED(5);
		int from = dirfd_of(a[0]), to = dirfd_of(a[2]);
		CALL(linkat(from, a[1], to, a[3], flags_of(a[4])));
	} else if (strcmp(function, "symlink") == 0) {
		NEED(2);
		CALL(symlink(a[0], a[1]));
	} else if (strcmp(function, "symlinkat") == 0) {
		NEED(3);
		int fd = dirfd_of(a[1]);
		CALL(symlinkat(a[0], fd, a[2]));
	} else if (strcmp(function, "mkfifo") == 0) {
		NEED(2);
		CALL(mkfifo(a[0], (mode_t)number(a[1])));
	} else if (strcmp(function, "mkfifoat") == 0) {
		NEED(3);
		int fd = dirfd_of(a[0]);
		CALL(mkfifoat(fd, a[1], (mode_t)number(a[2])));
	} else if (strcmp(function, "mknod") == 0) {
		NEED(3);
		CALL(mknod(a[0], (mode_t)number(a[1]), (dev_t)number(a[2])));
	} else if (strcmp(function, "mknodat") == 0) {
		NEED(4);
		int fd = dirfd_of(a[0]);
		CALL(mknodat(fd, a[1], (mode_t)number(a[2]), (dev_t)number(a[3])));
	} else if (strcmp(function, "chmod") == 0) {
		NEED(2);
		CALL(chmod(a[0], (mode_t)number(a[1])));
	} else if (strcmp(function, "fchmodat") == 0) {
		NEED(4);
		int fd = dirfd_of(a[0]);
		CALL(fchmodat(fd, a[1], (mode_t)number(a[2]), flags_of(a[3])));
	} else if (strcmp(function, "chown") == 0) {
		NEED(3);
		CALL(chown(a[0], (uid_t)number(a[1]), (gid_t)number(a[2])));
	} else if (strcmp(function, "lchown") == 0) {
		NEED(3);
		CALL(lchown(a[0], (uid_t)number(a[1]), (gid_t)number(a[2])));
	} else if (strcmp(function, "fchownat") == 0) {
		NEED(5);
		int fd = dirfd_of(a[0]);
		CALL(fchownat(fd, a[1], (uid_t)number(a[2]), (gid_t)number(a[3]), flags_of(a[4])));
	} else if (strcmp(function, "truncate") == 0) {
		NEED(2);
		CALL(truncate(a[0], (off_t)number(a[1])));
	} else if (strcmp(function, "truncate64") == 0) {
		NEED(2);
		CALL(truncate64(a[0], (off64_t)number(a[1])));
	} else if (strcmp(function, "utime") == 0) {
		NEED(1);
		CALL(utime(a[0], NULL));
	} else if (strcmp(function, "utimes") == 0) {
		NEED(1);
		CALL(utimes(a[0], NULL));
	} else if (strcmp(function, "lutimes") == 0) {
		NEED(1);
		CALL(lutimes(a[0], NULL));
	} else if (strcmp(function, "utimensat") == 0) {
		NEED(3);
		int fd = dirfd_of(a[0]);
		CALL(utimensat(fd, a[1], NULL, flags_of(a[2])));
	} else if (strcmp(function, "lchmod") == 0) {
		NEED(2);
		CALL(lchmod(a[0], (mode_t)number(a[1])));
	} else if (strcmp(function, "futimesat") == 0) {
		NEED(2);
		int fd = dirfd_of(a[0]);
		CALL(futimesat(fd, a[1], NULL));
	} else if (strcmp(function, "setxattr") == 0) {
		NEED(3);
		CALL(setxattr(a[0], a[1], a[2], strlen(a[2]), 0));
	} else if (strcmp(function, "lsetxattr") == 0) {
		NEED(3);
		CALL(lsetxattr(a[0], a[1], a[2], strlen(a[2]), 0));
	} else if (strcmp(function, "removexattr") == 0) {
		NEED(2);
		set_attribute(a[0], a[1]);
		CALL(removexattr(a[0], a[1]));
	} else if (strcmp(function, "lremovexattr") == 0) {
		NEED(2);
		set_attribute(a[0], a[1]);
		CALL(lremovexattr(a[0], a[1]));
	} else if (strcmp(function, "__xmknod") == 0) {
		NEED(3);
		dev_t device = (dev_t)number(a[2]);
		CALL(__xmknod(0, a[0], (mode_t)number(a[1]), &device));
	} else if (strcmp(function, "__xmknodat") == 0) {
		NEED(4);
		int fd = dirfd_of(a[0]);
		dev_t device = (dev_t)number(a[3]);
		CALL(__xmknodat(0, fd, a[1], (mode_t)number(a[2]), &device));
	} else if (strcmp(function, "fchmod") == 0) {
		NEED(2);
		int fd = fd_of(a[0], 0);
		CALL(fchmod(fd, (mode_t)number(a[1])));
	} else if (strcmp(function, "fchown") == 0) {
		NEED(3);
		int fd = fd_of(a[0], 0);
		CALL(fchown(fd, (uid_t)number(a[1]), (gid_t)number(a[2])));
	} else if (strcmp(function, "futimes") == 0) {
		NEED(1);
		int fd = fd_of(a[0], 0);
		CALL(futimes(fd, NULL));
	} else if (strcmp(function, "futimens") == 0) {
		NEED(1);
		int fd = fd_of(a[0], 0);
		CALL(futimens(fd, NULL));
	} else if (strcmp(function, "fsetxattr") == 0) {
		NEED(3);
		int fd = fd_of(a[0], 0);
		CALL(fsetxattr(fd, a[1], a[2], strlen(a[2]), 0));
	} else if (strcmp(function, "fremovexattr") == 0) {
		NEED(2);
		set_attribute(a[0], a[1]);
		int fd = fd_of(a[0], 0);
		CALL(fremovexattr(fd, a[1]));
	} else if (strcmp(function, "ftruncate") == 0) {
		NEED(2);
		int fd = fd_of(a[0], 1);
		CALL(ftruncate(fd, (off_t)number(a[1])));
	} else if (strcmp(function, "ftruncate64") == 0) {
		NEED(2);
		int fd = fd_of(a[0], 1);
		CALL(ftruncate64(fd, (off64_t)number(a[1])));
	} else if (strcmp(function, "mkstemp") == 0 || strcmp(function, "mkstemp64") == 0 ||
		   strcmp(function, "mkostemp") == 0 || strcmp(function, "mkostemp64") == 0 ||
		   strcmp(function, "mkstemps") == 0 || strcmp(function, "mkstemps64") == 0 ||
		   strcmp(function, "mkostemps") == 0 || strcmp(function, "mkostemps64") == 0 ||
		   strcmp(function, "mkdtemp") == 0) {
		int with_suffix = strstr(function, "temps") != NULL;
		int with_flags = strncmp(function, "mko", 3) == 0;
		NEED(1 + with_suffix + with_flags);
		char template[4096];
		snprintf(template, sizeof template, "%s", a[0]);
		int suffix = with_suffix ? (int)number(a[1]) : 0;
		int flags = with_flags ? flags_of(a[1 + with_suffix]) : 0;
		if (strcmp(function, "mkstemp") == 0)
			CALL(mkstemp(template));
		else if (strcmp(function, "mkstemp64") == 0)
			CALL(mkstemp64(template));
		else if (strcmp(function, "mkostemp") == 0)
			CALL(mkostemp(template, flags));
		else if (strcmp(function, "mkostemp64") == 0)
			CALL(mkostemp64(template, flags));
		else if (strcmp(function, "mkstemps") == 0)
			CALL(mkstemps(template, suffix));
		else if (strcmp(function, "mkstemps64") == 0)
			CALL(mkstemps64(template, suffix));
		else if (strcmp(function, "mkostemps") == 0)
			CALL(mkostemps(template, suffix, flags));
		else if (strcmp(function, "mkostemps64") == 0)
			CALL(mkostemps64(template, suffix, flags));
		else {
			errno = 0;
			char *made = mkdtemp(template);
			error = errno;
			rc = made != NULL ? 0 : -1;
		}
		printf("name=%s\n", template);
	} else if (strcmp(function, "tmpfile") == 0 || strcmp(function, "tmpfile64") == 0) {
		errno = 0;
		FILE *stream = strcmp(function, "tmpfile") == 0 ? tmpfile() : tmpfile64();
		error = errno;
		rc = stream != NULL ? fileno(stream) : -1;
	} else if (strcmp(function, "shm_open") == 0) {
		NEED(3);
		CALL(shm_open(a[0], flags_of(a[1]), (mode_t)number(a[2])));
	} else if (strcmp(function, "bind") == 0) {
		NEED(1);
		CALL(bind_to(a[0]));
	} else if (strcmp(function, "execve") == 0) {
		NEED(1);
		CALL(execve(a[0], a + 1, empty_environment));
	} else if (strcmp(function, "execv") == 0) {
		NEED(1);
		CALL(execv(a[0], a + 1));
	} else if (strcmp(function, "execvp") == 0) {
		NEED(1);
		CALL(execvp(a[0], a + 1));
	} else if (strcmp(function, "execvpe") == 0) {
		NEED(1);
		CALL(execvpe(a[0], a + 1, empty_environment));
	} else if (strcmp(function, "execl") == 0) {
		NEED(1);
		CALL(execl(a[0], LIST12(list), (char *)NULL));
	} else if (strcmp(function, "execle") == 0) {
		NEED(1);
		CALL(execle(a[0], LIST12(list), (char *)NULL, empty_environment));
	} else if (strcmp(function, "execlp") == 0) {
		NEED(1);
		CALL(execlp(a[0], LIST12(list), (char *)NULL));
	} else if (strcmp(function, "fexecve") == 0) {
		NEED(1);
		int fd = open(a[0], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			perror(a[0]);
			return 2;
		}
		CALL(fexecve(fd, a + 1, empty_environment));
	} else if (strcmp(function, "execveat") == 0) {
		NEED(3);
		int fd = dirfd_of(a[0]);
		CALL(execveat(fd, a[1], a + 3, empty_environment, flags_of(a[2])));
	} else if (strcmp(function, "posix_spawn") == 0 || strcmp(function, "posix_spawnp") == 0) {
		NEED(1);
		pid_t pid = -1;
		int spawn_error = strcmp(function, "posix_spawn") == 0
					  ? posix_spawn(&pid, a[0], NULL, NULL, a + 1, empty_environment)
					  : posix_spawnp(&pid, a[0], NULL, NULL, a + 1, empty_environment);
		if (spawn_error == 0) {
			int status;
			if (waitpid(pid, &status, 0) < 0)
				status = -1;
			printf("child status=%d\n", status);
		}
		/* posix_spawn returns the error number; errno is not its result. */
		rc = spawn_error;
		error = spawn_error;
	} else if (strcmp(function, "spawn_addopen") == 0 || strcmp(function, "spawnp_addopen") == 0 ||
		   strcmp(function, "posix_spawn_file_actions_addopen") == 0) {
		NEED(2);
		mode_t mode = argc > 2 ? (mode_t)number(a[2]) : 0644;
		rc = error = spawn_with_addopen(strcmp(function, "spawnp_addopen") == 0, a[0],
						flags_of(a[1]), mode);
	} else if (strcmp(function, "spawn_reuse") == 0 ||
		   strcmp(function, "posix_spawn_file_actions_destroy") == 0) {
		NEED(4);
		rc = error = spawn_after_reuse(1, a);
	} else if (strcmp(function, "spawn_reinit") == 0 ||
		   strcmp(function, "posix_spawn_file_actions_init") == 0) {
		NEED(4);
		rc = error = spawn_after_reuse(0, a);
	} else if (strcmp(function, "system") == 0) {
		CALL(system(argc > 0 ? a[0] : NULL));
	} else if (strcmp(function, "popen") == 0 || strcmp(function, "pclose") == 0) {
		NEED(2);
		errno = 0;
		FILE *stream = popen(a[1], a[0]);
		if (stream == NULL) {
			error = errno;
			rc = -1;
		} else {
			char line[4096];
			if (a[0][0] == 'r') {
				while (fgets(line, sizeof line, stream) != NULL)
					printf("out=%s", line);
			} else if (argc > 2) {
				fputs(a[2], stream);
			}
			fflush(stdout);
			CALL(pclose(stream));
		}
	} else if (strcmp(function, "system-threads") == 0) {
		NEED(2);
		int count = (int)number(a[0]);
		pthread_t threads[64];
		int statuses[64];
		if (count < 1 || count > 64)
			usage("1 to 64 threads");
		thread_command = a[1];
		for (int i = 0; i < count; i++)
			if (pthread_create(&threads[i], NULL, system_thread, &statuses[i]) != 0)
				usage("pthread_create");
		for (int i = 0; i < count; i++) {
			pthread_join(threads[i], NULL);
			printf("status=%d\n", statuses[i]);
		}
		rc = 0;
		error = 0;
	} else if (strcmp(function, "syscall") == 0) {
		NEED(1);
		CALL(call_syscall(a[0], a + 1, argc - 1));
	} else if (strcmp(function, "vfork-exec") == 0) {
		NEED(2);
		pid_t pid = vfork();
		if (pid == 0) {
			open(a[0], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			execve(a[1], a + 2, empty_environment);
			_exit(127);
		}
		int status = -1;
		if (pid < 0 || waitpid(pid, &status, 0) < 0)
			status = -1;
		printf("child status=%d\n", status);
		rc = pid < 0 ? -1 : 0;
		error = 0;
	} else if (strcmp(function, "clone-exec") == 0) {
		NEED(1);
		static char stack[8192] __attribute__((aligned(16)));
		clone_argv = a + 1;
		pid_t pid = clone(clone_child, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD,
				  a[0]);
		int status = -1;
		if (pid < 0 || waitpid(pid, &status, 0) < 0)
			status = -1;
		printf("child status=%d\n", status);
		rc = pid < 0 ? -1 : 0;
		error = 0;
	} else if (strcmp(function, "noop") == 0) {
		rc = 0;
		error = 0;
	} else {
		usage("unknown function");
	}
	print_result(rc, error);
	return 0;
}
