/*
 * record.c - see record.h.  Two open-addressing hash tables with linear
 * probing, grown at half load: one maps pids to their latest process
 * record, one aggregates write attempts by (process, operation, errno,
 * flags, path, to).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "die.h"
#include "record.h"

static void *allocate(size_t count, size_t size)
{
	void *memory = calloc(count, size);
	if (memory == NULL)
		die_errno("calloc");
	return memory;
}

static char *copy_string(const char *text)
{
	char *copy = strdup(text != NULL ? text : "");
	if (copy == NULL)
		die_errno("strdup");
	return copy;
}

static char **copy_argv(char *const *argv, size_t count)
{
	char **copy = allocate(count + 1, sizeof *copy);
	for (size_t i = 0; i < count; i++)
		copy[i] = copy_string(argv[i]);
	return copy;
}

void record_init(struct event_store *store, const char *const *writable,
		 const char *const *tmpfs, const char *const *hidden)
{
	memset(store, 0, sizeof *store);
	store->writable = writable;
	store->tmpfs = tmpfs;
	store->hidden = hidden;
	store->pid_capacity = 1024;
	store->pid_slots = allocate(store->pid_capacity, sizeof *store->pid_slots);
	store->write_capacity = 1024;
	store->writes = allocate(store->write_capacity, sizeof *store->writes);
}

static void free_argv(char **argv)
{
	for (size_t i = 0; argv != NULL && argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

void record_free(struct event_store *store)
{
	for (size_t i = 0; i < store->process_count; i++) {
		free_argv(store->processes[i].argv);
		free(store->processes[i].cwd);
		free(store->processes[i].exe);
	}
	for (size_t i = 0; i < store->write_capacity; i++) {
		free(store->writes[i].path);
		free(store->writes[i].to);
	}
	for (size_t i = 0; i < store->failed_exec_count; i++) {
		free(store->failed_execs[i].path);
		free_argv(store->failed_execs[i].argv);
	}
	for (size_t i = 0; i < store->untraced_count; i++) {
		free(store->untraced[i].given);
		free(store->untraced[i].path);
		free(store->untraced[i].reason);
		free_argv(store->untraced[i].argv);
	}
	for (size_t i = 0; i < store->killed_count; i++)
		free_argv(store->killed[i].argv);
	free(store->killed);
	free(store->untraced);
	free(store->processes);
	free(store->writes);
	free(store->failed_execs);
	free(store->pid_slots);
	memset(store, 0, sizeof *store);
}

void record_killed(struct event_store *store, pid_t pid, const char *cmdline, size_t length)
{
	size_t count = 0;
	for (size_t i = 0; i < length; i++)
		count += cmdline[i] == '\0' || i + 1 == length;
	char **argv = allocate(count + 1, sizeof *argv);
	for (size_t i = 0, start = 0; i < count; i++) {
		size_t end = start;
		while (end < length && cmdline[end] != '\0')
			end++;
		argv[i] = strndup(cmdline + start, end - start);
		if (argv[i] == NULL)
			die_errno("strndup");
		start = end + 1;
	}
	struct killed_process *grown =
		realloc(store->killed, (store->killed_count + 1) * sizeof *store->killed);
	if (grown == NULL)
		die_errno("realloc");
	store->killed = grown;
	store->killed[store->killed_count++] = (struct killed_process){ .pid = pid, .argv = argv };
}

const struct process_record *record_process(const struct event_store *store, int id)
{
	if (id < 1 || (size_t)id > store->process_count)
		return NULL;
	return &store->processes[id - 1];
}

/* Length of the longest path of `list` that contains path, 0 when none;
 * "/" counts as 1. */
static size_t deepest_container(const char *const *list, const char *path)
{
	size_t deepest = 0;
	for (const char *const *tree = list; tree != NULL && *tree != NULL; tree++) {
		size_t length = strlen(*tree);
		if (strcmp(*tree, "/") == 0)
			length = 0;
		if (strncmp(path, *tree, length) == 0 && (path[length] == '\0' || path[length] == '/'))
			deepest = length + 1 > deepest ? length + 1 : deepest;
	}
	return deepest;
}

bool record_is_writable(const struct event_store *store, const char *path)
{
	size_t writable = deepest_container(store->writable, path);
	size_t tmpfs = deepest_container(store->tmpfs, path);
	if (tmpfs > writable)
		writable = tmpfs;
	return writable > 0 && writable > deepest_container(store->hidden, path);
}

/* ---- pid -> process ----------------------------------------------------- */

static size_t pid_slot(const struct event_store *store, pid_t pid)
{
	size_t mask = store->pid_capacity - 1;
	size_t slot = ((size_t)(uint32_t)pid * 2654435761u) & mask;
	while (store->pid_slots[slot] != 0 &&
	       store->processes[store->pid_slots[slot] - 1].pid != pid)
		slot = (slot + 1) & mask;
	return slot;
}

static int find_process(const struct event_store *store, pid_t pid)
{
	return store->pid_slots[pid_slot(store, pid)];
}

static void remember_pid(struct event_store *store, pid_t pid, int id)
{
	/* Distinct pids held stay below half the capacity. */
	if (find_process(store, pid) == 0 && (store->process_count + 1) * 2 > store->pid_capacity) {
		int *old = store->pid_slots;
		size_t old_capacity = store->pid_capacity;
		store->pid_capacity *= 2;
		store->pid_slots = allocate(store->pid_capacity, sizeof *store->pid_slots);
		for (size_t i = 0; i < old_capacity; i++)
			if (old[i] != 0)
				store->pid_slots[pid_slot(store, store->processes[old[i] - 1].pid)] =
					old[i];
		free(old);
	}
	store->pid_slots[pid_slot(store, pid)] = id;
}

static struct process_record *add_process(struct event_store *store, pid_t pid, pid_t ppid)
{
	if (store->process_count == store->process_capacity) {
		size_t capacity = store->process_capacity ? store->process_capacity * 2 : 64;
		struct process_record *grown =
			realloc(store->processes, capacity * sizeof *store->processes);
		if (grown == NULL)
			die_errno("realloc");
		store->processes = grown;
		store->process_capacity = capacity;
	}
	struct process_record *process = &store->processes[store->process_count++];
	memset(process, 0, sizeof *process);
	process->id = (int)store->process_count;
	process->pid = pid;
	process->ppid = ppid;
	process->parent = find_process(store, ppid);
	remember_pid(store, pid, process->id);
	return process;
}

/* A new record for a fork that has not exec'd: it runs its parent's image,
 * so it carries its parent's argv, cwd and exe. */
static int add_forked_process(struct event_store *store, pid_t pid, pid_t ppid)
{
	int parent_id = find_process(store, ppid);
	struct process_record *process = add_process(store, pid, ppid);
	process->forked = true;
	const struct process_record *parent = record_process(store, parent_id);
	if (parent != NULL) {
		size_t count = 0;
		while (parent->argv[count] != NULL)
			count++;
		process->argv = copy_argv(parent->argv, count);
		process->cwd = copy_string(parent->cwd);
		process->exe = copy_string(parent->exe);
	} else {
		process->argv = allocate(1, sizeof *process->argv);
		process->cwd = copy_string("");
		process->exe = copy_string("");
	}
	return process->id;
}

/* The record a write by `pid` belongs to; a pid never announced (its fork
 * event lost to a closed socket) is taken for a fork of its parent. */
static int process_for_write(struct event_store *store, pid_t pid, pid_t ppid)
{
	int id = find_process(store, pid);
	return id != 0 ? id : add_forked_process(store, pid, ppid);
}

/* ---- writes ---------------------------------------------------------------- */

static uint64_t hash_bytes(uint64_t hash, const void *data, size_t length)
{
	const unsigned char *bytes = data;
	for (size_t i = 0; i < length; i++)
		hash = (hash ^ bytes[i]) * 1099511628211u; /* FNV-1a */
	return hash;
}

static uint64_t hash_write(const struct write_record *write)
{
	uint64_t hash = 14695981039346656037u;
	hash = hash_bytes(hash, &write->process, sizeof write->process);
	hash = hash_bytes(hash, &write->operation, sizeof write->operation);
	hash = hash_bytes(hash, &write->error, sizeof write->error);
	hash = hash_bytes(hash, &write->open_flags, sizeof write->open_flags);
	hash = hash_bytes(hash, write->path, strlen(write->path) + 1);
	if (write->to != NULL)
		hash = hash_bytes(hash, write->to, strlen(write->to) + 1);
	return hash;
}

static bool same_write(const struct write_record *a, const struct write_record *b)
{
	return a->process == b->process && a->operation == b->operation && a->error == b->error &&
	       a->open_flags == b->open_flags && strcmp(a->path, b->path) == 0 &&
	       ((a->to == NULL && b->to == NULL) ||
		(a->to != NULL && b->to != NULL && strcmp(a->to, b->to) == 0));
}

static struct write_record *write_slot(struct write_record *table, size_t capacity,
				       const struct write_record *key)
{
	size_t mask = capacity - 1;
	size_t slot = (size_t)hash_write(key) & mask;
	while (table[slot].path != NULL && !same_write(&table[slot], key))
		slot = (slot + 1) & mask;
	return &table[slot];
}

static void grow_writes(struct event_store *store)
{
	size_t capacity = store->write_capacity * 2;
	struct write_record *table = allocate(capacity, sizeof *table);
	for (size_t i = 0; i < store->write_capacity; i++)
		if (store->writes[i].path != NULL)
			*write_slot(table, capacity, &store->writes[i]) = store->writes[i];
	free(store->writes);
	store->writes = table;
	store->write_capacity = capacity;
}

static bool has_path_prefix(const char *path, const char *prefix)
{
	size_t length = strlen(prefix);
	return strncmp(path, prefix, length) == 0 && (path[length] == '\0' || path[length] == '/');
}

/* Writes that change no file on the host (DESIGN.md, "Events"): the
 * sandbox's own private /dev/shm and /dev/mqueue; a process's own /proc
 * entries (/proc/self, /proc/<pid>: its fds, its attributes); and device
 * nodes, FIFOs, sockets and the symlinks of /dev (/dev/null, /dev/tty,
 * /dev/stdout), as the host shows them: /dev inside is the host's, bound
 * read-only.  Anything else under /dev, /proc or /sys (mknod /dev/foo,
 * /proc/sys/...) stays a violation. */
static bool is_pseudo_path(const char *path)
{
	if (has_path_prefix(path, "/dev/shm") || has_path_prefix(path, "/dev/mqueue") ||
	    has_path_prefix(path, "/proc/self") || has_path_prefix(path, "/proc/thread-self"))
		return true;
	if (strncmp(path, "/proc/", 6) == 0 && path[6] >= '0' && path[6] <= '9') {
		const char *end = path + 6 + strspn(path + 6, "0123456789");
		return *end == '\0' || *end == '/';
	}
	struct stat status;
	if (strncmp(path, "/dev/", 5) == 0 && lstat(path, &status) == 0)
		return S_ISCHR(status.st_mode) || S_ISBLK(status.st_mode) ||
		       S_ISFIFO(status.st_mode) || S_ISSOCK(status.st_mode) ||
		       S_ISLNK(status.st_mode);
	return false;
}

static enum write_class classify(const struct event_store *store, struct write_record *write)
{
	if (is_pseudo_path(write->path) || write->error == EEXIST)
		return WRITE_IGNORED;
	bool inside = record_is_writable(store, write->path);
	/* A rename or link also writes its second name. */
	if (inside && write->to != NULL && write->operation != OP_SYMLINK &&
	    !record_is_writable(store, write->to) && !is_pseudo_path(write->to)) {
		write->outside_is_to = true;
		inside = false;
	}
	if (!inside)
		return WRITE_VIOLATION;
	return write->error == 0 ? WRITE_INSIDE : WRITE_IGNORED;
}

static void add_write(struct event_store *store, struct write_record *key)
{
	if ((store->write_count + 1) * 2 > store->write_capacity)
		grow_writes(store);
	struct write_record *slot = write_slot(store->writes, store->write_capacity, key);
	if (slot->path == NULL) {
		*slot = *key;
		slot->path = copy_string(key->path);
		slot->to = key->to != NULL ? copy_string(key->to) : NULL;
		slot->class = classify(store, slot);
		store->write_count++;
	}
	slot->count++;
	if (slot->class == WRITE_VIOLATION)
		store->violation_total++;
}

/* ---- datagrams ------------------------------------------------------------- */

/* Splits the strings after the header into `strings` (at most `capacity`);
 * returns how many, or -1 when the datagram lies about its contents. */
static long split_strings(const char *data, size_t length, uint32_t expected, char **strings,
			  size_t capacity, char *terminated_copy)
{
	memcpy(terminated_copy, data, length);
	terminated_copy[length] = '\0';
	size_t count = 0, offset = 0;
	while (count < expected && offset < length) {
		if (count == capacity)
			return -1;
		strings[count++] = terminated_copy + offset;
		offset += strlen(terminated_copy + offset) + 1;
	}
	return count == expected ? (long)count : -1;
}

/* An exec announces an untraced program before it runs (afterwards the
 * caller is gone); when that exec fails instead, the program never ran. */
static void cancel_untraced(struct event_store *store, pid_t pid, const char *given)
{
	for (size_t i = store->untraced_count; i-- > 0;) {
		struct untraced_record *untraced = &store->untraced[i];
		if (untraced->pid == pid && untraced->process == find_process(store, pid) &&
		    !untraced->cancelled) {
			if (strcmp(untraced->given, given) == 0)
				untraced->cancelled = true;
			return;
		}
	}
}

void record_event(struct event_store *store, const void *datagram, size_t length)
{
	struct event_header header;
	if (length < sizeof header) {
		store->malformed++;
		return;
	}
	memcpy(&header, datagram, sizeof header);
	if (header.magic != EVENT_MAGIC || header.operation >= OP_COUNT ||
	    header.string_count > EVENT_MAX_BYTES) {
		store->malformed++;
		return;
	}
	static char copy[EVENT_MAX_BYTES + 1];
	static char *strings[EVENT_MAX_BYTES / 2];
	size_t payload = length - sizeof header;
	if (payload > EVENT_MAX_BYTES) {
		store->malformed++;
		return;
	}
	long count = split_strings((const char *)datagram + sizeof header, payload,
				   header.string_count, strings,
				   sizeof strings / sizeof strings[0], copy);
	if (count < 0) {
		store->malformed++;
		return;
	}
	store->events++;

	switch (header.kind) {
	case EVENT_PROCESS: {
		if (count < 2) {
			store->malformed++;
			return;
		}
		struct process_record *process = add_process(store, header.pid, header.ppid);
		process->cwd = copy_string(strings[0]);
		process->exe = copy_string(strings[1]);
		process->argv = copy_argv(strings + 2, (size_t)count - 2);
		break;
	}
	case EVENT_WRITE: {
		/* The resolved paths are absolute; anything else did not come
		 * from the shim, and would break grouping by directory. */
		bool two_paths = header.operation == OP_RENAME || header.operation == OP_LINK ||
				 header.operation == OP_SYMLINK;
		if (count != (two_paths ? 4 : 2) || header.operation == OP_NONE ||
		    header.operation == OP_EXEC || strings[1][0] != '/' ||
		    (count == 4 && header.operation != OP_SYMLINK && strings[3][0] != '/')) {
			store->malformed++;
			return;
		}
		struct write_record key = {
			.process = process_for_write(store, header.pid, header.ppid),
			.operation = (enum event_operation)header.operation,
			.error = header.error,
			.open_flags = header.open_flags,
			.path = strings[1],
			/* symlink: "to" is the target as written; rename/link: resolved */
			.to = count == 4 ? (header.operation == OP_SYMLINK ? strings[2] : strings[3])
					 : NULL,
		};
		add_write(store, &key);
		break;
	}
	case EVENT_FORK:
		add_forked_process(store, header.pid, header.ppid);
		break;
	case EVENT_EXEC: {
		if (count < 1) {
			store->malformed++;
			return;
		}
		struct failed_exec *grown = realloc(store->failed_execs,
						    (store->failed_exec_count + 1) * sizeof *grown);
		if (grown == NULL)
			die_errno("realloc");
		store->failed_execs = grown;
		cancel_untraced(store, header.pid, strings[0]);
		grown[store->failed_exec_count++] = (struct failed_exec){
			.process = process_for_write(store, header.pid, header.ppid),
			.error = header.error,
			.path = copy_string(strings[0]),
			.argv = copy_argv(strings + 1, (size_t)count - 1),
		};
		break;
	}
	case EVENT_UNTRACED: {
		if (count < 3) {
			store->malformed++;
			return;
		}
		struct untraced_record *grown =
			realloc(store->untraced, (store->untraced_count + 1) * sizeof *grown);
		if (grown == NULL)
			die_errno("realloc");
		store->untraced = grown;
		grown[store->untraced_count++] = (struct untraced_record){
			.process = process_for_write(store, header.pid, header.ppid),
			.pid = header.result,
			.given = copy_string(strings[0]),
			.path = copy_string(strings[1]),
			.reason = copy_string(strings[2]),
			.argv = copy_argv(strings + 3, (size_t)count - 3),
		};
		break;
	}
	default:
		store->malformed++;
		store->events--;
		break;
	}
}
