/*
 * event.h - the wire format of one event, shim -> monitor.
 *
 * Every event is ONE datagram on an AF_UNIX SOCK_DGRAM socket (unix(7)): the
 * kernel delivers a datagram whole or not at all, so events from any number of
 * parallel processes never interleave, and a blocking sendmsg(2) on a full
 * receive queue waits instead of dropping (the queue length is
 * /proc/sys/net/unix/max_dgram_qlen of the sandbox's network namespace).
 *
 * A datagram is a struct event_header followed by header.string_count
 * NUL-terminated strings, in an order fixed by header.kind:
 *   EVENT_PROCESS  cwd, exe, argv[0], argv[1], ...
 *   EVENT_WRITE    path as given, resolved absolute path
 *                  [, second path as given, second resolved path]  (rename, link, symlink)
 *   EVENT_EXEC     path as given, argv[0], argv[1], ...           (only failed execs;
 *                  a successful exec announces itself as the new image's EVENT_PROCESS)
 *   EVENT_FORK     no strings: sent by the child of fork(2), which runs its
 *                  parent's image until it execs (shell subshells)
 *   EVENT_UNTRACED path as given, the file checked (absolute when known),
 *                  reason ("static", "32-bit", "machine"), argv[0], argv[1], ...
 *                  An exec or spawn of a program the shim cannot load into
 *                  (statically linked, another ELF class or machine), so its
 *                  writes are refused but never reported.  header.result is
 *                  the pid the program runs as: the sender's own for the
 *                  exec family (sent before the exec; a failed exec of the
 *                  same path by the same pid, EVENT_EXEC, cancels it), the
 *                  child's for posix_spawn (sent after the spawn succeeded).
 * Strings may be truncated (header.flags & EVENT_TRUNCATED); the monitor
 * treats a missing terminator at the end of the datagram as the end of the
 * last string.  Both sides are built from this header, so there is no
 * byte-order or versioning concern beyond EVENT_MAGIC.
 */
#ifndef ENCAPSULATE_EVENT_H
#define ENCAPSULATE_EVENT_H

#include <stdint.h>

/* "ENC1": bumped when the layout below changes. */
#define EVENT_MAGIC 0x31434e45u

/* The environment variable naming the monitor's abstract socket (without the
 * leading NUL), and the one that carries the shim's own path for LD_PRELOAD. */
#define EVENT_SOCKET_ENV "ENCAPSULATE_SOCKET"
#define EVENT_SHIM_ENV "ENCAPSULATE_SHIM"

/* The largest datagram either side produces or accepts (bytes).  Far below
 * the default SO_SNDBUF (212992), so sendmsg never fails with EMSGSIZE. */
#define EVENT_MAX_BYTES 65536

enum event_kind {
	EVENT_PROCESS = 1,
	EVENT_WRITE = 2,
	EVENT_EXEC = 3,
	EVENT_FORK = 4,
	EVENT_UNTRACED = 5,
};

/* Bits of event_header.flags.  The open flags of the call (O_*) travel in
 * event_header.open_flags; these say things about the event itself. */
#define EVENT_TRUNCATED 0x1u   /* a string or argv was cut to fit */
#define EVENT_CHAR_DEVICE 0x2u /* the written file is a character device or FIFO */

/* The operation families of the report (DESIGN.md, "The report"). */
#define EVENT_OPERATIONS(X)                                                    \
	X(OP_NONE, "none")                                                     \
	X(OP_OPEN, "open")                                                     \
	X(OP_CREAT, "creat")                                                   \
	X(OP_MKDIR, "mkdir")                                                   \
	X(OP_RMDIR, "rmdir")                                                   \
	X(OP_UNLINK, "unlink")                                                 \
	X(OP_RENAME, "rename")                                                 \
	X(OP_LINK, "link")                                                     \
	X(OP_SYMLINK, "symlink")                                               \
	X(OP_TRUNCATE, "truncate")                                             \
	X(OP_CHMOD, "chmod")                                                   \
	X(OP_CHOWN, "chown")                                                   \
	X(OP_UTIME, "utime")                                                   \
	X(OP_MKNOD, "mknod")                                                   \
	X(OP_MKFIFO, "mkfifo")                                                 \
	X(OP_BIND, "bind")                                                     \
	X(OP_SETXATTR, "setxattr")                                             \
	X(OP_REMOVEXATTR, "removexattr")                                       \
	X(OP_MKSTEMP, "mkstemp")                                               \
	X(OP_TMPFILE, "tmpfile")                                               \
	X(OP_EXEC, "exec")

enum event_operation {
#define EVENT_OPERATION_ENUM(name, text) name,
	EVENT_OPERATIONS(EVENT_OPERATION_ENUM)
#undef EVENT_OPERATION_ENUM
	OP_COUNT
};

struct event_header {
	uint32_t magic;        /* EVENT_MAGIC */
	uint16_t kind;         /* enum event_kind */
	uint16_t operation;    /* enum event_operation; OP_NONE for EVENT_PROCESS */
	int32_t pid;           /* getpid() in the sandbox's pid namespace */
	int32_t ppid;          /* getppid() there */
	int32_t result;        /* the call's return value (-1 on failure, fd, 0...) */
	int32_t error;         /* errno after the call, 0 on success */
	uint32_t open_flags;   /* O_* flags of an open, 0 otherwise */
	uint32_t flags;        /* EVENT_TRUNCATED, EVENT_CHAR_DEVICE */
	uint32_t string_count; /* NUL-terminated strings that follow */
	uint32_t reserved;
};

#endif
