/*
 * report.c - see report.h.
 *
 * JSON is written by hand (RFC 8259): strings are escaped, and bytes that
 * are not valid UTF-8 (paths are bytes) are written as \u00XX, each byte
 * its own escape, so a reader can map them back.  errno names come from
 * strerrorname_np(3) (glibc 2.32+).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "die.h"
#include "report.h"

static const char *const operation_names[] = {
#define OPERATION_NAME(name, text) text,
	EVENT_OPERATIONS(OPERATION_NAME)
#undef OPERATION_NAME
};

static const char *errno_name(int error)
{
	if (error == 0)
		return NULL;
	const char *name = strerrorname_np(error);
	return name != NULL ? name : "EUNKNOWN";
}

/* ---- ordering ------------------------------------------------------------- */

/* The path a record is listed under: the one outside the writable trees. */
static const char *shown_path(const struct write_record *write)
{
	return write->outside_is_to ? write->to : write->path;
}

static int compare_writes(const void *a, const void *b)
{
	const struct write_record *x = *(const struct write_record *const *)a;
	const struct write_record *y = *(const struct write_record *const *)b;
	int order = strcmp(shown_path(x), shown_path(y));
	if (order != 0)
		return order;
	if (x->operation != y->operation)
		return x->operation < y->operation ? -1 : 1;
	if (x->error != y->error)
		return x->error < y->error ? -1 : 1;
	return x->process - y->process;
}

/* The records of one class, sorted by path; caller frees the array. */
static const struct write_record **collect(const struct event_store *store, enum write_class class,
					   size_t *count)
{
	const struct write_record **list = calloc(store->write_count + 1, sizeof *list);
	if (list == NULL)
		die_errno("calloc");
	size_t n = 0;
	for (size_t i = 0; i < store->write_capacity; i++)
		if (store->writes[i].path != NULL && store->writes[i].class == class)
			list[n++] = &store->writes[i];
	qsort(list, n, sizeof *list, compare_writes);
	*count = n;
	return list;
}

/* ---- summary --------------------------------------------------------------- */

#define SUMMARY_DIRECTORIES 12
#define SUMMARY_PATHS_PER_DIRECTORY 6
#define SUMMARY_COMMAND_WIDTH 60

#define PRINTABLE_SIZE 1024

static size_t utf8_sequence(const unsigned char *text);

/* `text` made safe for a terminal: control characters (a newline in a file
 * name, an escape sequence in an argv) and bytes that are not UTF-8 become
 * \n, \t or \xNN, so the summary keeps its layout, stays valid text and
 * cannot drive the terminal.  Cut to fit buffer. */
static const char *printable(const char *text, char *buffer, size_t size)
{
	size_t used = 0, length;
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
		char escape[8];
		if (*p == '\n')
			strcpy(escape, "\\n");
		else if (*p == '\t')
			strcpy(escape, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			snprintf(escape, sizeof escape, "\\x%02x", *p);
		else if (*p < 0x80)
			escape[0] = (char)*p, escape[1] = '\0';
		else if ((length = utf8_sequence(p)) > 0) {
			/* a whole valid UTF-8 character, as it is */
			if (used + length + 1 > size)
				break;
			memcpy(buffer + used, p, length);
			used += length;
			p += length - 1;
			continue;
		} else
			snprintf(escape, sizeof escape, "\\x%02x", *p);
		length = strlen(escape);
		if (used + length + 1 > size)
			break;
		memcpy(buffer + used, escape, length);
		used += length;
	}
	buffer[used] = '\0';
	return buffer;
}

/* "argv joined", cut to width with an ellipsis. */
static void format_command(char *out, size_t size, const struct process_record *process)
{
	size_t used = 0;
	out[0] = '\0';
	for (char **word = process != NULL ? process->argv : NULL; word != NULL && *word != NULL;
	     word++) {
		int written = snprintf(out + used, size - used, "%s%s", used ? " " : "", *word);
		if (written < 0 || (size_t)written >= size - used) {
			used = size - 1;
			break;
		}
		used += (size_t)written;
	}
	if (used > SUMMARY_COMMAND_WIDTH)
		strcpy(out + SUMMARY_COMMAND_WIDTH - 3, "...");
	if (out[0] == '\0')
		snprintf(out, size, "(pid %d)", process != NULL ? (int)process->pid : 0);
}

/* "make > sh > install": the exe names up the parent chain, outermost first. */
static void format_chain(char *out, size_t size, const struct event_store *store,
			 const struct process_record *process)
{
	const char *names[6];
	int n = 0;
	for (const struct process_record *p = process; p != NULL && n < 6;
	     p = record_process(store, p->parent)) {
		const char *name = p->argv != NULL && p->argv[0] != NULL ? p->argv[0] : p->exe;
		const char *slash = strrchr(name, '/');
		names[n++] = slash != NULL ? slash + 1 : name;
	}
	size_t used = 0;
	out[0] = '\0';
	for (int i = n - 1; i >= 0 && used < size; i--)
		used += (size_t)snprintf(out + used, size - used, "%s%s", names[i], i ? " > " : "");
}

static size_t directory_length(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash == NULL || slash == path ? 1 : (size_t)(slash - path);
}

static void print_writes(FILE *out, const struct event_store *store,
			 const struct write_record **list, size_t count)
{
	size_t directories = 0;
	for (size_t start = 0; start < count;) {
		const char *group = shown_path(list[start]);
		size_t dir_length = directory_length(group);
		size_t end = start, attempts = 0;
		while (end < count && directory_length(shown_path(list[end])) == dir_length &&
		       strncmp(shown_path(list[end]), group, dir_length) == 0) {
			attempts += list[end]->count;
			end++;
		}
		if (++directories > SUMMARY_DIRECTORIES) {
			size_t rest = 0;
			for (size_t i = start; i < count; i++)
				rest += list[i]->count;
			fprintf(out, "  ... and %zu more attempts in other directories (see --report)\n",
				rest);
			return;
		}
		char text[2][PRINTABLE_SIZE];
		snprintf(text[0], sizeof text[0], "%.*s", (int)dir_length, group);
		fprintf(out, "  %s/  (%zu attempt%s)\n",
			dir_length == 1 ? "" : printable(text[0], text[1], sizeof text[1]), attempts,
			attempts == 1 ? "" : "s");
		for (size_t i = start; i < end; i++) {
			if (i - start == SUMMARY_PATHS_PER_DIRECTORY) {
				fprintf(out, "      ... and %zu more\n", end - i);
				break;
			}
			const struct write_record *write = list[i];
			const struct process_record *process = record_process(store, write->process);
			char command[256], chain[256], count_text[32] = "";
			format_command(command, sizeof command, process);
			format_chain(chain, sizeof chain, store, process);
			if (write->count > 1)
				snprintf(count_text, sizeof count_text, " x%zu", write->count);
			/* the name inside the group, and the other end of a rename/link */
			const char *name = shown_path(write) + (dir_length == 1 ? 1 : dir_length + 1);
			const char *other = write->outside_is_to ? write->path : write->to;
			fprintf(out, "      %-8s %-7s %s%s%s%s\n", operation_names[write->operation],
				write->error ? errno_name(write->error) : "ok",
				printable(name, text[0], sizeof text[0]),
				other == NULL ? "" : write->outside_is_to ? " <- " : " -> ",
				other == NULL ? "" : printable(other, text[1], sizeof text[1]), count_text);
			fprintf(out, "               by %s   [%s]\n",
				printable(command, text[0], sizeof text[0]),
				printable(chain, text[1], sizeof text[1]));
		}
		start = end;
	}
}

/* Programs the shim could not follow: their writes were refused, unseen. */
static void print_untraced(FILE *out, const struct event_store *store)
{
	size_t count = 0, shown = 0;
	for (size_t i = 0; i < store->untraced_count; i++)
		count += !store->untraced[i].cancelled;
	if (count == 0)
		return;
	fprintf(out, "encapsulate: %zu program%s ran untraced (their writes were refused but not "
		     "reported):\n",
		count, count == 1 ? "" : "s");
	for (size_t i = 0; i < store->untraced_count; i++) {
		const struct untraced_record *untraced = &store->untraced[i];
		if (untraced->cancelled)
			continue;
		if (shown++ == SUMMARY_PATHS_PER_DIRECTORY) {
			fprintf(out, "      ... and %zu more (see --report)\n", count - SUMMARY_PATHS_PER_DIRECTORY);
			break;
		}
		char chain[256], text[2][PRINTABLE_SIZE];
		format_chain(chain, sizeof chain, store, record_process(store, untraced->process));
		fprintf(out, "      %-8s %s   [%s]\n", untraced->reason,
			printable(untraced->path, text[0], sizeof text[0]),
			printable(chain, text[1], sizeof text[1]));
	}
}

/* One line for the processes still running when the command ended (and
 * killed with the sandbox): a build that leaves daemons behind would keep
 * them at home, so the user should know. */
static void print_killed(FILE *out, const struct event_store *store)
{
	if (store->killed_count == 0)
		return;
	fprintf(out, "encapsulate: %zu process%s still running at the end, killed:",
		store->killed_count, store->killed_count == 1 ? "" : "es");
	for (size_t i = 0; i < store->killed_count && i < 5; i++) {
		const struct killed_process *killed = &store->killed[i];
		struct process_record shown = { .argv = killed->argv };
		char command[PRINTABLE_SIZE], text[PRINTABLE_SIZE];
		format_command(command, sizeof command, &shown);
		fprintf(out, "%s %s (pid %d)", i ? "," : "", printable(command, text, sizeof text),
			(int)killed->pid);
	}
	fputs(store->killed_count > 5 ? ", ...\n" : "\n", out);
}

void report_summary(FILE *out, const struct options *options, const struct event_store *store)
{
	print_untraced(out, store);
	print_killed(out, store);
	size_t violation_count, inside_count;
	const struct write_record **violations = collect(store, WRITE_VIOLATION, &violation_count);
	if (options->verbose) {
		const struct write_record **inside = collect(store, WRITE_INSIDE, &inside_count);
		if (inside_count > 0) {
			fprintf(out, "encapsulate: writes inside the writable trees:\n");
			print_writes(out, store, inside, inside_count);
		}
		free(inside);
	}
	if (violation_count == 0) {
		if (options->verbose)
			fprintf(out, "encapsulate: no writes outside the writable trees (%zu process%s "
				     "seen)\n",
				store->process_count, store->process_count == 1 ? "" : "es");
		free(violations);
		return;
	}
	size_t processes = 0, paths = 0;
	int *seen = calloc(store->process_count + 1, sizeof *seen);
	if (seen == NULL)
		die_errno("calloc");
	for (size_t i = 0; i < violation_count; i++) {
		if (!seen[violations[i]->process]++)
			processes++;
		if (i == 0 || strcmp(shown_path(violations[i]), shown_path(violations[i - 1])) != 0)
			paths++;
	}
	free(seen);
	fprintf(out,
		"encapsulate: %zu write attempt%s outside the writable trees (%zu path%s, %zu "
		"process%s):\n",
		store->violation_total, store->violation_total == 1 ? "" : "s", paths,
		paths == 1 ? "" : "s", processes, processes == 1 ? "" : "es");
	print_writes(out, store, violations, violation_count);
	fprintf(out, "  writable:");
	for (const char *const *tree = store->writable; *tree != NULL; tree++) {
		char text[PRINTABLE_SIZE];
		fprintf(out, " %s", printable(*tree, text, sizeof text));
	}
	if (options->report_path != NULL)
		fprintf(out, "   report: %s", options->report_path);
	fputc('\n', out);
	free(violations);
}

/* ---- JSON ------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at text, or 0 when it is not one. */
static size_t utf8_sequence(const unsigned char *text)
{
	unsigned char c = text[0];
	size_t length;
	uint32_t minimum, code;
	if (c >= 0xc2 && c <= 0xdf) {
		length = 2, minimum = 0x80, code = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		length = 3, minimum = 0x800, code = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		length = 4, minimum = 0x10000, code = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < length; i++) {
		if ((text[i] & 0xc0) != 0x80)
			return 0;
		code = (code << 6) | (text[i] & 0x3f);
	}
	if (code < minimum || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
		return 0;
	return length;
}

static void json_string(FILE *out, const char *text)
{
	if (text == NULL) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0';) {
		unsigned char c = *p;
		if (c == '"' || c == '\\') {
			fputc('\\', out);
			fputc(c, out);
			p++;
		} else if (c == '\n') {
			fputs("\\n", out), p++;
		} else if (c == '\t') {
			fputs("\\t", out), p++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(out, "\\u%04x", c), p++;
		} else if (c < 0x80) {
			fputc(c, out), p++;
		} else {
			size_t length = utf8_sequence(p);
			if (length == 0) {
				fprintf(out, "\\u%04x", c), p++;
			} else {
				fwrite(p, 1, length, out);
				p += length;
			}
		}
	}
	fputc('"', out);
}

static void json_string_array(FILE *out, char *const *strings)
{
	fputc('[', out);
	for (size_t i = 0; strings != NULL && strings[i] != NULL; i++) {
		if (i)
			fputs(", ", out);
		json_string(out, strings[i]);
	}
	fputc(']', out);
}

static void json_open_flags(FILE *out, unsigned flags)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ O_CREAT, "O_CREAT" },       { O_EXCL, "O_EXCL" },
		{ O_TRUNC, "O_TRUNC" },       { O_APPEND, "O_APPEND" },
		{ O_NOFOLLOW, "O_NOFOLLOW" }, { O_CLOEXEC, "O_CLOEXEC" },
		{ O_NONBLOCK, "O_NONBLOCK" }, { O_SYNC, "O_SYNC" },
	};
	fputc('[', out);
	if ((flags & O_TMPFILE) == O_TMPFILE) {
		fputs("\"O_TMPFILE\"", out);
		flags &= ~(unsigned)(O_TMPFILE & ~O_DIRECTORY);
	} else {
		int access = (int)(flags & O_ACCMODE);
		fputs(access == O_WRONLY ? "\"O_WRONLY\"" : access == O_RDWR ? "\"O_RDWR\"" : "\"O_RDONLY\"",
		      out);
	}
	/* (a flag of several bits, O_SYNC = __O_SYNC | O_DSYNC, only when all are set) */
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if ((flags & names[i].bit) == names[i].bit)
			fprintf(out, ", \"%s\"", names[i].name);
	fputc(']', out);
}

/* "EROFS", or null for 0. */
static void json_errno(FILE *out, int error)
{
	const char *name = errno_name(error);
	if (name != NULL)
		fprintf(out, "\"%s\"", name);
	else
		fputs("null", out);
}

static void json_writes(FILE *out, const struct write_record **list, size_t count)
{
	fputc('[', out);
	for (size_t i = 0; i < count; i++) {
		const struct write_record *write = list[i];
		fputs(i ? ",\n    " : "\n    ", out);
		fputs("{\"path\": ", out);
		json_string(out, write->path);
		if (write->to != NULL) {
			fputs(", \"to\": ", out);
			json_string(out, write->to);
		}
		fprintf(out, ", \"op\": \"%s\", \"flags\": ", operation_names[write->operation]);
		if (write->operation == OP_OPEN || write->operation == OP_CREAT)
			json_open_flags(out, write->open_flags);
		else
			fputs("[]", out);
		fputs(", \"errno\": ", out);
		json_errno(out, write->error);
		fprintf(out, ", \"process\": %d, \"count\": %zu}", write->process, write->count);
	}
	fputs(count ? "\n  ]" : "]", out);
}

static void json_report(FILE *out, const struct options *options, const struct event_store *store,
			const struct command_end *end)
{
	fputs("{\n  \"encapsulate_report\": 1,\n  \"command\": ", out);
	json_string_array(out, options->command);
	fputs(",\n  \"cwd\": ", out);
	json_string(out, options->cwd);
	fputs(",\n  \"writable\": ", out);
	json_string_array(out, (char *const *)store->writable);
	fputs(",\n  \"tmpfs\": ", out);
	json_string_array(out, (char *const *)store->tmpfs);
	fputs(",\n  \"hidden\": ", out);
	json_string_array(out, (char *const *)store->hidden);
	fprintf(out, ",\n  \"exit\": {\"status\": %d, \"signal\": ", end->status);
	if (end->signal_number != 0)
		fprintf(out, "\"SIG%s\"",
			sigabbrev_np(end->signal_number) ? sigabbrev_np(end->signal_number) : "UNKNOWN");
	else
		fputs("null", out);
	fputs("},\n  \"processes\": [", out);
	for (size_t i = 0; i < store->process_count; i++) {
		const struct process_record *process = &store->processes[i];
		fputs(i ? ",\n    " : "\n    ", out);
		fprintf(out, "{\"id\": %d, \"pid\": %d, \"ppid\": %d, \"parent\": ", process->id,
			(int)process->pid, (int)process->ppid);
		if (process->parent)
			fprintf(out, "%d", process->parent);
		else
			fputs("null", out);
		fputs(", \"argv\": ", out);
		json_string_array(out, process->argv);
		fputs(", \"cwd\": ", out);
		json_string(out, process->cwd);
		fputs(", \"exe\": ", out);
		json_string(out, process->exe);
		fprintf(out, ", \"forked\": %s}", process->forked ? "true" : "false");
	}
	fputs(store->process_count ? "\n  ],\n  \"violations\": " : "],\n  \"violations\": ", out);
	size_t count;
	const struct write_record **list = collect(store, WRITE_VIOLATION, &count);
	json_writes(out, list, count);
	free(list);
	fputs(",\n  \"writes\": ", out);
	list = collect(store, WRITE_INSIDE, &count);
	json_writes(out, list, count);
	free(list);
	fputs(",\n  \"failed_execs\": [", out);
	for (size_t i = 0; i < store->failed_exec_count; i++) {
		const struct failed_exec *failure = &store->failed_execs[i];
		fputs(i ? ",\n    " : "\n    ", out);
		fputs("{\"path\": ", out);
		json_string(out, failure->path);
		fputs(", \"argv\": ", out);
		json_string_array(out, failure->argv);
		fputs(", \"errno\": ", out);
		json_errno(out, failure->error);
		fprintf(out, ", \"process\": %d}", failure->process);
	}
	fputs(store->failed_exec_count ? "\n  ]" : "]", out);
	fputs(",\n  \"untraced\": [", out);
	size_t listed = 0;
	for (size_t i = 0; i < store->untraced_count; i++) {
		const struct untraced_record *untraced = &store->untraced[i];
		if (untraced->cancelled)
			continue;
		fputs(listed++ ? ",\n    " : "\n    ", out);
		fputs("{\"path\": ", out);
		json_string(out, untraced->path);
		fputs(", \"argv\": ", out);
		json_string_array(out, untraced->argv);
		fputs(", \"reason\": ", out);
		json_string(out, untraced->reason);
		fprintf(out, ", \"pid\": %d, \"process\": %d}", (int)untraced->pid, untraced->process);
	}
	fputs(listed ? "\n  ]" : "]", out);
	fputs(",\n  \"killed\": [", out);
	for (size_t i = 0; i < store->killed_count; i++) {
		fprintf(out, "%s{\"pid\": %d, \"argv\": ", i ? ",\n    " : "\n    ",
			(int)store->killed[i].pid);
		json_string_array(out, store->killed[i].argv);
		fputc('}', out);
	}
	fputs(store->killed_count ? "\n  ]" : "]", out);
	fprintf(out, ",\n  \"events\": %zu\n}\n", store->events);
}

/* ---- the file ---------------------------------------------------------------- */

static char *pending_temporary; /* removed at exit unless committed */

static void remove_pending_temporary(void)
{
	/* Only the monitor gets here: its forks leave through _exit (die.c). */
	if (pending_temporary != NULL)
		unlink(pending_temporary);
}

/* The descriptor "-", /dev/stdout, /dev/stderr and /dev/fd/N stand for, or
 * -1.  Used as it is: reopening it through /proc may be refused (a pipe
 * owned by another user). */
static int standard_stream(const char *path)
{
	if (strcmp(path, "-") == 0 || strcmp(path, "/dev/stdout") == 0)
		return STDOUT_FILENO;
	if (strcmp(path, "/dev/stderr") == 0)
		return STDERR_FILENO;
	const char *number = NULL;
	if (strncmp(path, "/dev/fd/", 8) == 0)
		number = path + 8;
	else if (strncmp(path, "/proc/self/fd/", 14) == 0)
		number = path + 14;
	if (number == NULL || *number == '\0' || strspn(number, "0123456789") != strlen(number))
		return -1;
	int fd = atoi(number);
	return fcntl(fd, F_GETFD) >= 0 ? fd : -1;
}

/* The file a dangling symlink points to (up to 40 links), so that the
 * report is created there and the link kept; NULL when path is no link. */
static char *dangling_link_target(const char *path)
{
	char *current = strdup(path);
	for (int depth = 0; current != NULL && depth < 40; depth++) {
		char target[PATH_MAX];
		ssize_t length = readlink(current, target, sizeof target - 1);
		if (length <= 0)
			return depth == 0 ? (free(current), NULL) : current;
		target[length] = '\0';
		char *next = NULL;
		if (target[0] == '/') {
			next = strdup(target);
		} else {
			char *directory = strdup(current);
			if (directory != NULL && asprintf(&next, "%s/%s", dirname(directory), target) < 0)
				next = NULL;
			free(directory);
		}
		free(current);
		current = next;
	}
	return current;
}

void report_open(struct report_file *file, const char *path)
{
	memset(file, 0, sizeof *file);
	file->path = path;
	file->standard_fd = standard_stream(path);
	if (file->standard_fd >= 0) {
		file->in_place = true;
		file->fd = -1;
		return;
	}
	struct stat status;
	if (stat(path, &status) == 0) {
		if (S_ISDIR(status.st_mode)) {
			errno = EISDIR;
			die_errno_hint("name a file, e.g. --report report.json", "--report %s", path);
		}
		if (!S_ISREG(status.st_mode)) {
			if (access(path, W_OK) != 0)
				die_errno("--report %s", path);
			file->in_place = true;
			file->fd = -1;
			return;
		}
		file->target = realpath(path, NULL);
	} else {
		file->target = dangling_link_target(path);
	}
	if (file->target == NULL && (file->target = strdup(path)) == NULL)
		die_errno("strdup");
	char *copy = strdup(file->target);
	if (copy == NULL)
		die_errno("strdup");
	const char *directory = dirname(copy);
	file->fd = open(directory, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (file->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		/* No O_TMPFILE on this file system: a hidden name beside the
		 * report, removed at exit if never committed. */
		if (asprintf(&file->temporary_path, "%s/.encapsulate-report.XXXXXX", directory) < 0)
			die_errno("asprintf");
		file->fd = mkostemp(file->temporary_path, O_CLOEXEC);
		if (file->fd >= 0) {
			fchmod(file->fd, 0644);
			pending_temporary = file->temporary_path;
			atexit(remove_pending_temporary);
		}
	}
	if (file->fd < 0)
		die_errno_hint("choose a directory you can write", "--report %s", path);
	free(copy);
}

int report_commit(struct report_file *file, const struct options *options,
		  const struct event_store *store, const struct command_end *end)
{
	if (file->in_place)
		file->fd = file->standard_fd >= 0 ? fcntl(file->standard_fd, F_DUPFD_CLOEXEC, 3)
						  : open(file->path, O_WRONLY | O_CLOEXEC);
	FILE *out = file->fd >= 0 ? fdopen(file->fd, "w") : NULL;
	if (out == NULL) {
		warn("--report %s: %s — the report was not written", file->path, strerror(errno));
		if (file->fd >= 0)
			close(file->fd);
		return -1;
	}
	json_report(out, options, store, end);
	if (fflush(out) != 0 || (!file->in_place && fsync(file->fd) != 0)) {
		warn("--report %s: writing: %s — the report was not written", file->path,
		     strerror(errno));
		fclose(out);
		return -1;
	}
	int result = 0;
	if (file->in_place) {
		/* written where it is, never replaced */
	} else if (file->temporary_path != NULL) {
		if (rename(file->temporary_path, file->target) != 0) {
			warn("--report %s: rename: %s", file->path, strerror(errno));
			result = -1;
		} else {
			pending_temporary = NULL;
		}
	} else {
		/* Give the anonymous file a temporary name, then move it over
		 * the report's name in one step (linkat(2) cannot replace). */
		char source[64], *temporary = NULL;
		snprintf(source, sizeof source, "/proc/self/fd/%d", file->fd);
		if (asprintf(&temporary, "%s.%d.tmp", file->target, (int)getpid()) < 0)
			die_errno("asprintf");
		if (linkat(AT_FDCWD, source, AT_FDCWD, temporary, AT_SYMLINK_FOLLOW) != 0 ||
		    rename(temporary, file->target) != 0) {
			warn("--report %s: %s", file->path, strerror(errno));
			unlink(temporary);
			result = -1;
		}
		free(temporary);
	}
	fclose(out);
	free(file->target);
	file->target = NULL;
	return result;
}
