/*
 * shim.h - what the parts of libencapsulate.so share.
 *
 * The shim is loaded into every process of the sandbox by LD_PRELOAD
 * (ld.so(8)).  The interposed functions listed in interpose.def are defined
 * by wrappers.c (the write calls, one template per shape), exec.c (the exec
 * family and posix_spawn), spawn.c (system, popen, pclose), syscall.c
 * (syscall) and file_actions.c (posix_spawn_file_actions_*); untraced.c
 * reads the ELF header of programs about to be executed; report.c owns the
 * event socket, path resolution and the process record sent at load.
 *
 * Rules the wrappers follow, because they run inside arbitrary programs, in
 * vfork(2) children and on small clone(2) stacks:
 *   - async-signal-safe: no malloc, no stdio, no locks (signal-safety(7)),
 *     except in spawn.c and file_actions.c, whose real functions allocate
 *     and lock themselves (each file's header says how it stays safe);
 *   - errno is as the real function left it when the wrapper returns;
 *   - stack use stays within two or three PATH_MAX buffers.
 */
#ifndef ENCAPSULATE_SHIM_H
#define ENCAPSULATE_SHIM_H

#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>
#include <sys/xattr.h>
#include <utime.h>

#include "event.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

/* The fortified entry points (_FORTIFY_SOURCE) have no prototype unless the
 * headers are in fortify mode; the shim is built without it. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

/* The old stat-versioned mknod entry points: no longer in the headers since
 * glibc 2.33, still exported (default version) by the x86_64 glibc 2.36, so
 * binaries linked against older glibcs (and new ones that declare them)
 * call them.  `version` is _MKNOD_VER, 0 on x86_64. */
int __xmknod(int version, const char *path, mode_t mode, dev_t *device);
int __xmknodat(int version, int dirfd, const char *path, mode_t mode, dev_t *device);

/* Pointers to the next definition of every interposed symbol (dlsym(3)
 * RTLD_NEXT), filled by shim_resolve_real() in the constructor so that no
 * wrapper ever calls the dynamic linker (it takes locks). */
#define SHIM(shape, name, operation) extern __typeof__(name) *real_##name;
#include "interpose.def"
#undef SHIM

/* Looks up every real_* pointer; a symbol the libc lacks stays NULL and its
 * wrapper then fails with ENOSYS.  Keeps errno. */
void shim_resolve_real(void);

/* True once shim_resolve_real() has run.  A wrapper can be called before the
 * shim's constructor: ld.so may run another library's constructor first, and
 * that one may open or exec.  SHIM_REAL(name) is real_name, looked up on the
 * spot in that case (only then does a wrapper call the dynamic linker). */
extern bool shim_real_resolved;
#define SHIM_REAL(name) (shim_real_resolved ? real_##name : (shim_resolve_real(), real_##name))

/* True when the shim is connected to a monitor (ENCAPSULATE_SOCKET was set
 * at load); without one the wrappers only pass calls through. */
extern bool shim_active;

/* Reads the kernel's name of fd (/proc/self/fd/<fd>; /proc/self/cwd for
 * AT_FDCWD) into out, NUL-terminated.  Returns its length, or -1 (errno from
 * readlink(2)).  /proc/self, never /proc/<getpid()>: in a pid namespace of
 * the build's own the two differ. */
ssize_t shim_fd_path(int fd, char *out, size_t size);

/* Reports a write attempt on one path (path2 == NULL) or two (rename, link,
 * symlink: path2 is the new name, dirfd2 its directory).  `error` is the
 * errno the call left; `result` its return value, negative when the call
 * failed (on success `error` is stale and the event carries 0).  `follow` says whether the
 * call follows a symlink in the last component (chmod yes, lchown no), so
 * the resolved path names what was really written.  A path of "" names the
 * dirfd itself (fchmod, futimens...: read from /proc/self/fd); when that is
 * no file on a mounted filesystem (pipe, socket, anonymous inode, memfd,
 * invalid fd) nothing is reported.  Keeps errno. */
void shim_report_write(enum event_operation operation, int dirfd, const char *path, int dirfd2,
		       const char *path2, bool follow, unsigned open_flags, int result, int error);

/* Reports an open that a posix_spawn child made for the caller (a
 * posix_spawn_file_actions_addopen action): like shim_report_write(OP_OPEN,
 * AT_FDCWD, path, ...), but `result` (0 or -1) is no descriptor of this
 * process, so the path is resolved by name against the current cwd.  Keeps
 * errno. */
void shim_report_spawn_open(const char *path, unsigned open_flags, int result, int error);

/* posix_spawn_file_actions_addopen(3) opens happen in the child, through
 * calls the shim cannot see: file_actions.c remembers the write-opens of
 * each actions object, and the posix_spawn wrappers call this after the
 * real spawn (`error` its result) to report them.  Takes the bookkeeping
 * lock only when some actions object has a write-open, and never while
 * reporting.  Keeps errno. */
void shim_report_file_actions(const posix_spawn_file_actions_t *actions, int error);

/* Reports a failed exec of `path` with its argv (may be NULL) and errno.
 * Keeps errno. */
void shim_report_exec(const char *path, char *const argv[], int error);

/* Why the program an exec is about to start cannot load the shim: "static"
 * (no PT_INTERP: statically linked, static-pie), "32-bit" (ELFCLASS32),
 * "machine" (another e_machine), or NULL when it can (a dynamic executable
 * of our ABI, ld.so itself) or when it cannot be read (the exec will say).
 * `#!` scripts are judged by their interpreter.  The file is `path` relative
 * to dirfd (AT_EMPTY_PATH with "": dirfd itself); with `search`, a name
 * without '/' is looked up in $PATH as execvp(3) does.  `resolved` (size
 * bytes) receives the absolute name of the file checked.  Async-signal-safe,
 * about 1.5 KiB of stack.  Keeps errno. */
const char *shim_untraced_reason(int dirfd, const char *path, bool search, int flags,
				 char *resolved, size_t size);

/* Reports that `pid` runs a program the shim cannot follow (EVENT_UNTRACED).
 * Keeps errno. */
void shim_report_untraced(const char *path, const char *resolved, const char *reason,
			  char *const argv[], pid_t pid);

/* Says whether envp already carries the shim (false) or how much storage
 * shim_environment() needs to add it (true): `entries` pointers and
 * `text_size` bytes for the LD_PRELOAD entry.  For callers that may
 * allocate (system, popen), so that nothing is left mapped. */
bool shim_environment_needed(char *const envp[], size_t *entries, size_t *text_size);

/* Returns envp if it already carries LD_PRELOAD with the shim and the
 * shim's variables; otherwise a copy with them added, built in `storage`
 * (capacity entries) or, when that is too small, in fresh anonymous pages
 * (mmap(2); SHIM_RELEASE_ENVIRONMENT unmaps them when the call returns).  Never modifies envp or environ.
 * `text` holds the rebuilt LD_PRELOAD entry.  Returns envp unchanged when the
 * shim is inactive or no memory can be had (the exec then goes on, untraced,
 * rather than failing). */
char *const *shim_environment(char *const envp[], char **storage, size_t capacity, char *text,
			      size_t text_size);

/* Environments up to this many entries are copied on the stack by the exec
 * wrappers; room for "LD_PRELOAD=<shim> <user's preloads>" there. */
#define SHIM_ENVIRONMENT_ON_STACK 128
#define SHIM_PRELOAD_TEXT_ON_STACK 512

/* Declares the storage shim_environment() may use, and `name` pointing at the
 * environment to hand on. */
#define SHIM_WITH_ENVIRONMENT(name, envp)                                                          \
	char *environment_storage_[SHIM_ENVIRONMENT_ON_STACK];                                     \
	char preload_text_[SHIM_PRELOAD_TEXT_ON_STACK];                                            \
	char *const *name =                                                                        \
		shim_environment((envp), environment_storage_, SHIM_ENVIRONMENT_ON_STACK,          \
				 preload_text_, sizeof preload_text_)

/* Unmaps what shim_environment() mapped for `name`, once the exec failed or
 * the spawn returned (after a successful exec nothing is left to free).
 * Keeps errno. */
#define SHIM_RELEASE_ENVIRONMENT(name, envp)                                                       \
	shim_environment_release((name), (envp), environment_storage_, preload_text_)
void shim_environment_release(char *const *environment, char *const envp[], char **storage,
			      const char *text);

/* True when open flags can change the filesystem (open(2)): write access,
 * creation, truncation, append or an unnamed temporary file. */
static inline bool shim_open_writes(int flags)
{
	return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)) != 0 ||
	       (flags & O_TMPFILE) == O_TMPFILE;
}

/* Hides a pointer's value from the optimiser: glibc declares path arguments
 * nonnull, and the wrappers must still not crash (or skip the real call)
 * when a program passes NULL. */
#define SHIM_OPAQUE(pointer)                                                                       \
	({                                                                                         \
		__typeof__(pointer) opaque_ = (pointer);                                           \
		__asm__("" : "+r"(opaque_));                                                       \
		opaque_;                                                                           \
	})

#endif
