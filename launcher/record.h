/*
 * record.h - the monitor's store of process records and write attempts,
 * aggregated as events arrive (identical attempts by one process are one
 * record with a count), and classified against the writable trees.
 */
#ifndef ENCAPSULATE_RECORD_H
#define ENCAPSULATE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../shim/event.h"

struct process_record {
	int id;           /* 1, 2, ... in order of first sight */
	pid_t pid, ppid;  /* in the sandbox's pid namespace */
	int parent;       /* id of the parent's record, 0 when unknown */
	char **argv;      /* NULL-terminated */
	char *cwd, *exe;
	bool forked;      /* seen only through a write: a fork that did not exec;
			     argv, cwd and exe are its parent's */
};

enum write_class {
	WRITE_INSIDE,    /* succeeded inside a writable tree: what the build produced */
	WRITE_VIOLATION, /* attempted outside the writable trees, whatever its errno */
	WRITE_IGNORED,   /* pseudo files and devices (/dev, /proc), EEXIST (nothing
			    changed), failures inside the trees */
};

struct write_record {
	int process; /* process_record.id */
	enum event_operation operation;
	int error;           /* errno, 0 on success */
	unsigned open_flags; /* O_* for opens */
	char *path;          /* resolved absolute path */
	char *to;            /* second path (rename, link: resolved; symlink: the target) */
	size_t count;
	enum write_class class;
	bool outside_is_to; /* a violation only through `to` (rename or link from a
			       writable tree to outside): `to` is what it names */
};

struct failed_exec {
	int process;
	int error;
	char *path;
	char **argv;
};

/* A program the shim cannot load into (EVENT_UNTRACED): it ran, but its
 * writes are not reported. */
struct untraced_record {
	int process;   /* the record of the process that started it */
	pid_t pid;     /* the pid it runs as */
	char *given;   /* the path as the exec call named it */
	char *path;    /* the file checked, absolute when known */
	char *reason;  /* "static", "32-bit", "machine" */
	char **argv;
	bool cancelled; /* the exec then failed */
};

/* A process still running when the command ended, killed with the sandbox
 * (init's list, sent on the sync pair). */
struct killed_process {
	pid_t pid;    /* in the sandbox's pid namespace */
	char **argv;  /* from /proc/PID/cmdline, NULL-terminated */
};

struct event_store {
	const char *const *writable; /* canonical trees, NULL-terminated */
	const char *const *tmpfs;    /* --tmpfs directories: writable too, NULL-terminated */
	const char *const *hidden;   /* --hide paths: read-only, NULL-terminated */
	struct process_record *processes;
	size_t process_count, process_capacity;
	struct write_record *writes; /* open-addressing hash table */
	size_t write_count, write_capacity;
	struct failed_exec *failed_execs;
	size_t failed_exec_count;
	struct untraced_record *untraced;
	size_t untraced_count;
	struct killed_process *killed;
	size_t killed_count;
	int *pid_slots; /* pid -> index+1 of the latest record, open addressing */
	size_t pid_capacity;
	size_t events;          /* datagrams accepted */
	size_t malformed;       /* datagrams rejected */
	size_t violation_total; /* sum of counts of WRITE_VIOLATION records */
};

/* Prepares an empty store; the three lists must outlive it. */
void record_init(struct event_store *store, const char *const *writable,
		 const char *const *tmpfs, const char *const *hidden);

/* Adds one datagram (event.h) of `length` bytes.  Malformed datagrams are
 * counted and dropped.  Exits 125 when memory runs out. */
void record_event(struct event_store *store, const void *datagram, size_t length);

/* Adds a process killed at the end: `cmdline` is /proc/PID/cmdline's
 * content (NUL-separated, possibly truncated), `length` bytes. */
void record_killed(struct event_store *store, pid_t pid, const char *cmdline, size_t length);

/* Releases everything the store holds. */
void record_free(struct event_store *store);

/* The record with this id (1-based), or NULL. */
const struct process_record *record_process(const struct event_store *store, int id);

/* True when path lies in one of the writable trees or tmpfs directories
 * (component-wise) and not in a hidden path nested deeper in it; the
 * deepest of them decides, as the mount on top does. */
bool record_is_writable(const struct event_store *store, const char *path);

#endif
