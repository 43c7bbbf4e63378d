/*
 * report.c - the shim's link to the monitor: the event socket, the process
 * record sent at load, path resolution and the environment that exec
 * wrappers hand on.
 *
 * Sources: unix(7) (abstract SOCK_DGRAM addresses, blocking sends on a full
 * queue), proc(5) (/proc/self/fd/N and /proc/self/cwd name open files and
 * directories), ld.so(8) (LD_PRELOAD is a list separated by spaces or
 * colons), the System V ABI (glibc passes argc, argv, envp to functions in
 * .init_array).
 *
 * Everything reachable from a wrapper is async-signal-safe and keeps errno;
 * see shim.h.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim.h"

#define SHIM(shape, name, operation) __typeof__(name) *real_##name;
#include "interpose.def"
#undef SHIM

bool shim_active;
bool shim_real_resolved;

/* The monitor's address, and our socket.  The descriptor sits high (see
 * event_socket_open) so that shells redirecting low numbers never hit it.
 * A program may still close the number and reuse it for its own socket (a
 * connected TCP or SEQPACKET socket would take our datagram as its data),
 * so the socket is known by descriptor AND inode, packed into one atomic
 * word, and checked with fstat(2) before every send. */
static struct sockaddr_un monitor_address;
static socklen_t monitor_address_length;
static _Atomic uint64_t event_socket = UINT64_MAX; /* fd << 32 | low 32 bits of inode */

static uint64_t socket_identity(int fd, ino_t inode)
{
	return (uint64_t)(uint32_t)fd << 32 | (uint32_t)inode;
}

/* The descriptor of our socket if `identity` still names it, else -1. */
static int socket_still_ours(uint64_t identity)
{
	if (identity == UINT64_MAX)
		return -1;
	int fd = (int)(identity >> 32);
	struct stat status;
	if (fstat(fd, &status) != 0 || !S_ISSOCK(status.st_mode) ||
	    (uint32_t)status.st_ino != (uint32_t)identity)
		return -1;
	return fd;
}

/* The entries exec wrappers put back into an environment that lost them,
 * captured at load because the program may unsetenv() them later. */
static char preload_entry[PATH_MAX + 16]; /* "LD_PRELOAD=<shim>" */
static char shim_entry[PATH_MAX + 24];    /* "ENCAPSULATE_SHIM=<shim>" */
static char socket_entry[128];            /* "ENCAPSULATE_SOCKET=<name>" */
static const char *shim_path;             /* inside shim_entry */

void shim_resolve_real(void)
{
	int saved_errno = errno;
#define SHIM(shape, name, operation) real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);
#include "interpose.def"
#undef SHIM
	shim_real_resolved = true;
	errno = saved_errno;
}

/* Opens a new socket for events at a descriptor >= 900 when the limit
 * allows, close-on-exec (the next image opens its own); returns its
 * identity, or UINT64_MAX. */
static uint64_t event_socket_open(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return UINT64_MAX;
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 900);
	if (high >= 0) {
		close(fd);
		fd = high;
	}
	struct stat status;
	if (fstat(fd, &status) != 0) {
		close(fd);
		return UINT64_MAX;
	}
	return socket_identity(fd, status.st_ino);
}

/* Sends one datagram made of `iov`; retries on EINTR; replaces a socket the
 * program closed or reused (never closing what is now the program's).
 * Gives up silently when the monitor is gone. */
static void event_send(struct iovec *iov, int iov_count)
{
	struct msghdr message = {
		.msg_name = &monitor_address,
		.msg_namelen = monitor_address_length,
		.msg_iov = iov,
		.msg_iovlen = (size_t)iov_count,
	};
	for (int attempt = 0; attempt < 3; attempt++) {
		uint64_t identity = atomic_load(&event_socket);
		int fd = socket_still_ours(identity);
		if (fd < 0) {
			uint64_t fresh = event_socket_open();
			if (fresh == UINT64_MAX)
				return;
			if (atomic_compare_exchange_strong(&event_socket, &identity, fresh)) {
				identity = fresh;
			} else {
				close((int)(fresh >> 32)); /* another thread was first */
				identity = atomic_load(&event_socket);
			}
			fd = socket_still_ours(identity);
			if (fd < 0)
				continue;
		}
		ssize_t sent;
		do
			sent = sendmsg(fd, &message, MSG_NOSIGNAL);
		while (sent < 0 && errno == EINTR);
		if (sent >= 0)
			return;
		if (errno != EBADF && errno != ENOTSOCK)
			return; /* ECONNREFUSED, ENOENT: the monitor is gone */
		atomic_compare_exchange_strong(&event_socket, &identity, UINT64_MAX);
	}
}

/* Appends `text` (NUL included) as one iovec, cut so that the datagram
 * stays within EVENT_MAX_BYTES; a cut string loses its NUL, which the
 * monitor accepts only at the end (so nothing is appended after a cut). */
static void iov_append(struct iovec *iov, int *count, size_t *bytes, const char *text,
		       uint32_t *flags)
{
	if (*flags & EVENT_TRUNCATED)
		return;
	size_t length = strlen(text) + 1;
	if (*bytes + length > EVENT_MAX_BYTES) {
		length = EVENT_MAX_BYTES - *bytes;
		*flags |= EVENT_TRUNCATED;
	}
	iov[*count].iov_base = (void *)text;
	iov[*count].iov_len = length;
	(*count)++;
	*bytes += length;
}

/* ---- path resolution ------------------------------------------------- */

/* See shim.h. */
ssize_t shim_fd_path(int fd, char *out, size_t size)
{
	char link[40] = "/proc/self/cwd";
	if (fd != AT_FDCWD) {
		char digits[16];
		int n = 0;
		unsigned value = (unsigned)fd;
		do
			digits[n++] = (char)('0' + value % 10);
		while ((value /= 10) != 0);
		char *p = stpcpy(link, "/proc/self/fd/");
		while (n > 0)
			*p++ = digits[--n];
		*p = '\0';
	}
	ssize_t length = readlink(link, out, size - 1);
	if (length < 0)
		return -1;
	out[length] = '\0';
	return length;
}

/* Removes "." and ".." components and doubled slashes from an absolute path,
 * in place.  Applied to a kernel-resolved directory followed by names that
 * do not exist (mkdir -p, ~/.cmake missing): no symlink is left among them. */
static void normalize_lexically(char *path)
{
	char *out = path;
	const char *in = path;
	while (*in != '\0') {
		while (*in == '/')
			in++;
		const char *end = in;
		while (*end != '\0' && *end != '/')
			end++;
		size_t length = (size_t)(end - in);
		if (length == 0)
			break;
		if (length == 1 && in[0] == '.') {
			/* skip */
		} else if (length == 2 && in[0] == '.' && in[1] == '.') {
			while (out > path && *--out != '/')
				;
		} else {
			*out++ = '/';
			memmove(out, in, length);
			out += length;
		}
		in = end;
	}
	if (out == path)
		*out++ = '/';
	*out = '\0';
}

/* Writes first, separator, second into out (size bytes); false if it does
 * not fit.  `first` may be `out` itself. */
static bool join_with(char *out, size_t size, const char *first, char separator,
		      const char *second)
{
	size_t first_length = strlen(first), second_length = strlen(second);
	if (first_length + 1 + second_length + 1 > size)
		return false;
	memmove(out, first, first_length);
	out[first_length] = separator;
	memcpy(out + first_length + 1, second, second_length + 1);
	return true;
}

/* Opens `path` relative to dirfd with O_PATH (no access, nothing written) and
 * reads the kernel's name for it.  Returns true on success. */
static bool resolve_by_kernel(int dirfd, const char *path, int extra_flags, char *out, size_t size)
{
	int fd = real_openat ? real_openat(dirfd, path, O_PATH | O_CLOEXEC | extra_flags) : -1;
	if (fd < 0)
		return false;
	ssize_t length = shim_fd_path(fd, out, size);
	close(fd);
	return length > 0 && out[0] == '/';
}

/* Resolves the NUL-terminated path in `work` (PATH_MAX bytes, changed
 * while it runs and restored) relative to dirfd into out (PATH_MAX bytes):
 * the longest leading part that exists is resolved by the kernel, as the
 * call itself saw it (symlinks, ".." after a symlink); only the rest, which
 * does not exist and so holds no symlink, is joined and normalised as text
 * (mkdir -p, ~/.cmake missing).  False when not even the start exists (a
 * deleted cwd, a bad dirfd). */
static bool resolve_existing_part(int dirfd, char *work, char *out)
{
	size_t length = strlen(work);
	while (length > 1 && work[length - 1] == '/')
		work[--length] = '\0';
	for (size_t split = length;;) {
		size_t slash = split;
		while (slash > 0 && work[slash - 1] != '/')
			slash--;
		/* work[0, slash) is the part tried; work[slash, length) the rest. */
		bool resolved;
		const char *rest = work + slash;
		if (slash == 0) {
			resolved = resolve_by_kernel(dirfd, ".", O_DIRECTORY, out, PATH_MAX);
		} else if (slash == 1) {
			resolved = resolve_by_kernel(dirfd, "/", O_DIRECTORY, out, PATH_MAX);
		} else {
			char saved = work[slash - 1];
			work[slash - 1] = '\0';
			resolved = resolve_by_kernel(dirfd, work, O_DIRECTORY, out, PATH_MAX);
			work[slash - 1] = saved;
		}
		if (resolved) {
			if (*rest != '\0') {
				if (strcmp(out, "/") == 0)
					out[0] = '\0';
				if (!join_with(out, PATH_MAX, out, '/', rest))
					return false;
			}
			normalize_lexically(out);
			return true;
		}
		if (slash == 0)
			return false;
		split = slash - 1;
		while (split > 0 && work[split - 1] == '/')
			split--;
		if (split == 0) /* only the root was left, and it failed */
			return false;
	}
}

/* Writes the absolute form of `path`, taken relative to dirfd (or the cwd),
 * into out (PATH_MAX bytes), using `scratch` (PATH_MAX bytes).  The
 * existing directories on the way are resolved by the kernel; the last
 * component is followed only when `follow` is set, through dangling
 * symlinks too (open(O_CREAT) through a link to a missing file creates the
 * target; up to 40 links, path_resolution(7)).  Never fails: the worst case
 * is the path as given.  Stack: no PATH_MAX buffer of its own, so that a
 * wrapper fits a PTHREAD_STACK_MIN thread or a signal stack. */
static void resolve_path(int dirfd, const char *path, bool follow, char *out, char *scratch)
{
	if (path[0] == '\0') { /* AT_EMPTY_PATH: the dirfd itself */
		if (shim_fd_path(dirfd, out, PATH_MAX) < 0)
			strcpy(out, "?");
		return;
	}
	if (follow && resolve_by_kernel(dirfd, path, 0, out, PATH_MAX))
		return;
	size_t length = strnlen(path, PATH_MAX - 1);
	memcpy(scratch, path, length);
	scratch[length] = '\0';
	if (!resolve_existing_part(dirfd, scratch, out)) {
		/* Nothing of it exists through dirfd: the cwd was deleted, or the
		 * dirfd is bad.  Join the names the kernel still gives them. */
		if (path[0] != '/' &&
		    (shim_fd_path(dirfd, out, PATH_MAX) <= 0 || out[0] != '/' ||
		     !join_with(out, PATH_MAX, out, '/', path)))
			goto as_given;
		if (path[0] == '/')
			memcpy(out, scratch, length + 1);
		normalize_lexically(out);
		return;
	}
	for (int depth = 0; follow && depth < 40; depth++) {
		ssize_t target_length = readlink(out, scratch, PATH_MAX - 1);
		if (target_length <= 0)
			return;
		scratch[target_length] = '\0';
		if (scratch[0] != '/') { /* relative to the link's directory */
			size_t directory_length = (size_t)(strrchr(out, '/') - out);
			if (directory_length + 1 + (size_t)target_length + 1 > PATH_MAX)
				return;
			memmove(scratch + directory_length + 1, scratch, (size_t)target_length + 1);
			memcpy(scratch, out, directory_length);
			scratch[directory_length] = '/';
		}
		if (!resolve_existing_part(AT_FDCWD, scratch, out))
			return;
	}
	return;
as_given:
	strncpy(out, path, PATH_MAX - 1);
	out[PATH_MAX - 1] = '\0';
}

/* True when `resolved` (read from /proc/self/fd) names a file on a mounted
 * filesystem: absolute, and not a memfd (memfd_create(2) files are named
 * "/memfd:<name> (deleted)"). */
static bool is_filesystem_path(const char *resolved)
{
	static const char memfd[] = "/memfd:", deleted[] = " (deleted)";
	if (resolved[0] != '/')
		return false;
	size_t length = strlen(resolved);
	return !(strncmp(resolved, memfd, sizeof memfd - 1) == 0 && length >= sizeof deleted - 1 &&
		 strcmp(resolved + length - (sizeof deleted - 1), deleted) == 0);
}

/* ---- events ------------------------------------------------------------ */

static void header_init(struct event_header *header, enum event_kind kind,
			enum event_operation operation)
{
	memset(header, 0, sizeof *header);
	header->magic = EVENT_MAGIC;
	header->kind = (uint16_t)kind;
	header->operation = (uint16_t)operation;
	header->pid = (int32_t)getpid();
	header->ppid = (int32_t)getppid();
}

/* Sends a write event; the second path (rename, link, symlink) is resolved
 * here, in a frame of its own, so that one-path calls use two PATH_MAX
 * buffers of stack and two-path calls three. */
static __attribute__((noinline)) void send_write(struct event_header *header, const char *path,
						 const char *resolved, int dirfd2,
						 const char *path2, char *scratch)
{
	char resolved2[PATH_MAX];
	struct iovec iov[5];
	int count = 0;
	size_t bytes = sizeof *header;
	iov[count++] = (struct iovec){ header, sizeof *header };
	iov_append(iov, &count, &bytes, path, &header->flags);
	iov_append(iov, &count, &bytes, resolved, &header->flags);
	if (path2 != NULL) {
		resolve_path(dirfd2, path2, false, resolved2, scratch);
		iov_append(iov, &count, &bytes, path2, &header->flags);
		iov_append(iov, &count, &bytes, resolved2, &header->flags);
	}
	header->string_count = (uint32_t)(count - 1);
	event_send(iov, count);
}

/* shim_report_write(), and shim_report_spawn_open() with `by_result` false:
 * the result of an open is then no descriptor of this process. */
static void report_write(enum event_operation operation, int dirfd, const char *path, int dirfd2,
			 const char *path2, bool follow, unsigned open_flags, int result, int error,
			 bool by_result)
{
	if (!shim_active || SHIM_OPAQUE(path) == NULL)
		return;
	/* "" without AT_EMPTY_PATH (mkdir(""), as cmake's MakeDirectory does
	 * for the root of an absolute path) fails with ENOENT and names no
	 * file: not the cwd or dirfd that an empty path stands for below. */
	if (path[0] == '\0' && result < 0 && error == ENOENT)
		return;
	int saved_errno = errno;
	struct event_header header;
	header_init(&header, EVENT_WRITE, operation);
	header.result = result;
	/* A call that succeeded leaves errno as it was: a stale value, not its error. */
	header.error = result < 0 ? error : 0;
	header.open_flags = open_flags;

	char resolved[PATH_MAX], scratch[PATH_MAX];
	/* An open that succeeded names its file exactly through its descriptor
	 * (mkdtemp, an OP_MKSTEMP without open flags, returns none). */
	bool by_descriptor = by_result && (operation == OP_OPEN || operation == OP_CREAT ||
					   (operation == OP_MKSTEMP && open_flags != 0));
	if (by_descriptor) {
		if (result < 0 || shim_fd_path(result, resolved, sizeof resolved) <= 0 ||
		    resolved[0] != '/')
			resolve_path(dirfd, path, follow, resolved, scratch);
	} else if (operation == OP_TMPFILE && result >= 0 &&
		   shim_fd_path(result, resolved, sizeof resolved) > 0 && resolved[0] == '/') {
		/* tmpfile(3): the file has no name ("/tmp/#123 (deleted)"); what
		 * it wrote to is its directory. */
		char *slash = strrchr(resolved, '/');
		slash[slash == resolved ? 1 : 0] = '\0';
	} else {
		resolve_path(dirfd, path, follow, resolved, scratch);
	}
	/* By descriptor (fchmod, ftruncate, utimensat(fd, NULL)...): a pipe,
	 * socket or anonymous inode has no path ("pipe:[12]"), a memfd lives on
	 * no mounted filesystem ("/memfd:name (deleted)"), and an invalid fd has
	 * nothing ("?"): none of them is a write to the filesystem. */
	if (path[0] == '\0' && !is_filesystem_path(resolved)) {
		errno = saved_errno;
		return;
	}

	send_write(&header, path, resolved, dirfd2, path2, scratch);
	errno = saved_errno;
}

void shim_report_write(enum event_operation operation, int dirfd, const char *path, int dirfd2,
		       const char *path2, bool follow, unsigned open_flags, int result, int error)
{
	report_write(operation, dirfd, path, dirfd2, path2, follow, open_flags, result, error, true);
}

void shim_report_spawn_open(const char *path, unsigned open_flags, int result, int error)
{
	report_write(OP_OPEN, AT_FDCWD, path, AT_FDCWD, NULL, true, open_flags, result, error,
		     false);
}

/* Sends an exec-family event: the path, then `extra` strings, then argv,
 * cut to few iovecs (exec wrappers must fit an 8 KiB clone() stack).
 * Keeps errno. */
static void send_exec_event(enum event_kind kind, int32_t result, int error, const char *path,
			    const char *const *extra, int extra_count, char *const argv[])
{
	if (!shim_active)
		return;
	int saved_errno = errno;
	struct event_header header;
	header_init(&header, kind, OP_EXEC);
	header.result = result;
	header.error = error;
	struct iovec iov[48];
	int count = 0;
	size_t bytes = sizeof header;
	iov[count++] = (struct iovec){ &header, sizeof header };
	iov_append(iov, &count, &bytes, SHIM_OPAQUE(path) ? path : "", &header.flags);
	for (int i = 0; i < extra_count; i++)
		iov_append(iov, &count, &bytes, extra[i], &header.flags);
	for (size_t i = 0; SHIM_OPAQUE(argv) != NULL && argv[i] != NULL; i++) {
		if (count == (int)(sizeof iov / sizeof iov[0])) {
			header.flags |= EVENT_TRUNCATED;
			break;
		}
		iov_append(iov, &count, &bytes, argv[i], &header.flags);
	}
	header.string_count = (uint32_t)(count - 1);
	event_send(iov, count);
	errno = saved_errno;
}

void shim_report_exec(const char *path, char *const argv[], int error)
{
	send_exec_event(EVENT_EXEC, -1, error, path, NULL, 0, argv);
}

void shim_report_untraced(const char *path, const char *resolved, const char *reason,
			  char *const argv[], pid_t pid)
{
	const char *const extra[] = { resolved, reason };
	send_exec_event(EVENT_UNTRACED, (int32_t)pid, 0, path, extra, 2, argv);
}

/* ---- the environment handed to exec ------------------------------------ */

/* True when the LD_PRELOAD value `list` names the shim (ld.so(8): entries
 * separated by spaces or colons). */
static bool preload_has_shim(const char *list)
{
	size_t shim_length = strlen(shim_path);
	for (const char *p = list; *p != '\0';) {
		while (*p == ' ' || *p == ':')
			p++;
		const char *end = p;
		while (*end != '\0' && *end != ' ' && *end != ':')
			end++;
		if ((size_t)(end - p) == shim_length && memcmp(p, shim_path, shim_length) == 0)
			return true;
		p = end;
	}
	return false;
}

static bool has_prefix(const char *text, const char *prefix)
{
	return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* What envp holds of the shim's entries: whether each is right, the user's
 * own LD_PRELOAD value (or NULL) and the number of entries. */
struct environment_scan {
	bool preload_ok, socket_ok, shim_ok;
	const char *user_preload;
	size_t count;
};

static void scan_environment(char *const envp[], struct environment_scan *scan)
{
	memset(scan, 0, sizeof *scan);
	for (; envp[scan->count] != NULL; scan->count++) {
		const char *entry = envp[scan->count];
		if (has_prefix(entry, "LD_PRELOAD=")) {
			scan->user_preload = entry + strlen("LD_PRELOAD=");
			scan->preload_ok = preload_has_shim(scan->user_preload);
		} else if (has_prefix(entry, EVENT_SOCKET_ENV "=")) {
			scan->socket_ok = strcmp(entry, socket_entry) == 0;
		} else if (has_prefix(entry, EVENT_SHIM_ENV "=")) {
			scan->shim_ok = strcmp(entry, shim_entry) == 0;
		}
	}
}

void shim_environment_release(char *const *environment, char *const envp[], char **storage,
			      const char *text)
{
	if (environment == envp)
		return;
	int saved_errno = errno;
	size_t count = 0;
	while (SHIM_OPAQUE(envp) != NULL && envp[count] != NULL)
		count++;
	for (size_t i = 0; environment[i] != NULL; i++) {
		const char *entry = environment[i];
		bool ours = entry == text || entry == preload_entry || entry == socket_entry ||
			    entry == shim_entry;
		for (size_t j = 0; !ours && j < count; j++)
			ours = entry == envp[j];
		if (!ours) /* an LD_PRELOAD entry too long for the stack */
			munmap((void *)entry, strlen(entry) + 1);
	}
	if (environment != (char *const *)storage)
		munmap((void *)environment, (count + 4) * sizeof(char *));
	errno = saved_errno;
}

bool shim_environment_needed(char *const envp[], size_t *entries, size_t *text_size)
{
	static char *const empty[] = { NULL };
	if (!shim_active)
		return false;
	struct environment_scan scan;
	scan_environment(SHIM_OPAQUE(envp) != NULL ? envp : empty, &scan);
	if (scan.preload_ok && scan.socket_ok && scan.shim_ok)
		return false;
	*entries = scan.count + 4;
	*text_size = strlen(preload_entry) + 2 +
		     (scan.user_preload != NULL ? strlen(scan.user_preload) : 0);
	return true;
}

char *const *shim_environment(char *const envp[], char **storage, size_t capacity, char *text,
			      size_t text_size)
{
	if (!shim_active)
		return envp;
	static char *const empty[] = { NULL };
	if (SHIM_OPAQUE(envp) == NULL)
		envp = empty;

	struct environment_scan scan;
	scan_environment(envp, &scan);
	bool preload_ok = scan.preload_ok;
	const char *user_preload = scan.user_preload;
	size_t count = scan.count;
	if (preload_ok && scan.socket_ok && scan.shim_ok)
		return envp;

	size_t needed = count + 4;
	char **out = storage;
	if (needed > capacity) {
		void *pages = mmap(NULL, needed * sizeof(char *), PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (pages == MAP_FAILED)
			return envp;
		out = pages;
	}

	/* Keep the user's own preloads after ours: ours then sees each call
	 * first and hands it on to theirs through RTLD_NEXT. */
	const char *preload = preload_entry;
	if (user_preload != NULL && !preload_ok && user_preload[0] != '\0') {
		size_t need = strlen(preload_entry) + 1 + strlen(user_preload) + 1;
		char *buffer = text;
		if (need > text_size) {
			void *pages = mmap(NULL, need, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			buffer = pages == MAP_FAILED ? NULL : pages;
		}
		if (buffer != NULL) {
			char *p = stpcpy(buffer, preload_entry);
			*p++ = ' ';
			strcpy(p, user_preload);
			preload = buffer;
		}
	} else if (preload_ok) {
		preload = NULL; /* keep the entry as it is */
	}

	size_t n = 0;
	for (size_t i = 0; i < count; i++) {
		const char *entry = envp[i];
		if ((preload != NULL && has_prefix(entry, "LD_PRELOAD=")) ||
		    has_prefix(entry, EVENT_SOCKET_ENV "=") || has_prefix(entry, EVENT_SHIM_ENV "="))
			continue;
		out[n++] = (char *)entry;
	}
	if (preload != NULL)
		out[n++] = (char *)preload;
	out[n++] = socket_entry;
	out[n++] = shim_entry;
	out[n] = NULL;
	return out;
}

/* ---- load ---------------------------------------------------------------- */

/* Sends the process record: pid, ppid, cwd, exe and argv as the program
 * received it.  Runs once, single-threaded, before main(). */
static void report_process(int argc, char **argv)
{
	static char cwd[PATH_MAX], exe[PATH_MAX];
	if (shim_fd_path(AT_FDCWD, cwd, sizeof cwd) < 0)
		strcpy(cwd, "?");
	ssize_t length = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[length > 0 ? length : 0] = '\0';

	struct event_header header;
	header_init(&header, EVENT_PROCESS, OP_NONE);
	static struct iovec iov[1024];
	int count = 0;
	size_t bytes = sizeof header;
	iov[count++] = (struct iovec){ &header, sizeof header };
	iov_append(iov, &count, &bytes, cwd, &header.flags);
	iov_append(iov, &count, &bytes, exe, &header.flags);
	for (int i = 0; i < argc && argv != NULL && argv[i] != NULL; i++) {
		if (count == (int)(sizeof iov / sizeof iov[0])) {
			header.flags |= EVENT_TRUNCATED;
			break;
		}
		iov_append(iov, &count, &bytes, argv[i], &header.flags);
	}
	header.string_count = (uint32_t)(count - 1);
	event_send(iov, count);
}

/* In the child of fork(2) (pthread_atfork(3); vfork and posix_spawn do not
 * run these handlers, and their children exec at once): announce the new
 * process, so that what it starts is attributed through it to its parent. */
static void report_fork(void)
{
	struct event_header header;
	header_init(&header, EVENT_FORK, OP_NONE);
	struct iovec iov = { &header, sizeof header };
	event_send(&iov, 1);
}

__attribute__((constructor)) static void shim_load(int argc, char **argv, char **envp)
{
	(void)envp;
	int saved_errno = errno;
	shim_resolve_real();

	const char *socket_name = getenv(EVENT_SOCKET_ENV);
	const char *path = getenv(EVENT_SHIM_ENV);
	Dl_info self;
	if ((path == NULL || path[0] != '/') && dladdr((void *)shim_load, &self) != 0)
		path = self.dli_fname;
	if (socket_name == NULL || socket_name[0] == '\0' || path == NULL ||
	    strlen(socket_name) + 1 > sizeof monitor_address.sun_path ||
	    !join_with(socket_entry, sizeof socket_entry, EVENT_SOCKET_ENV, '=', socket_name) ||
	    !join_with(shim_entry, sizeof shim_entry, EVENT_SHIM_ENV, '=', path) ||
	    !join_with(preload_entry, sizeof preload_entry, "LD_PRELOAD", '=', path)) {
		errno = saved_errno;
		return; /* not under encapsulate: pass every call through */
	}
	shim_path = shim_entry + strlen(EVENT_SHIM_ENV "=");

	/* Abstract address: sun_path[0] is NUL, the name follows, and the
	 * length counts exactly the bytes used (unix(7)). */
	monitor_address.sun_family = AF_UNIX;
	size_t name_length = strlen(socket_name);
	memcpy(monitor_address.sun_path + 1, socket_name, name_length);
	monitor_address_length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + name_length);
	atomic_store(&event_socket, event_socket_open());
	shim_active = true;

	report_process(argc, argv);
	pthread_atfork(NULL, NULL, report_fork);
	errno = saved_errno;
}
