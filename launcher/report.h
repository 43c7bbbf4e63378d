/*
 * report.h - what the monitor tells the user when the command has ended:
 * the summary on stderr and the JSON report (schema 1, DESIGN.md and
 * docs/report.md).
 */
#ifndef ENCAPSULATE_REPORT_H
#define ENCAPSULATE_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "cli.h"
#include "record.h"

/* How the command ended. */
struct command_end {
	int status;        /* exit status, or 128+signal */
	int signal_number; /* 0 unless killed by a signal */
};

/* Prints the summary of violations to `out`, grouped by directory, at most
 * a screenful; prints nothing when there were none unless verbose (one line
 * then, plus the writes inside the trees). */
void report_summary(FILE *out, const struct options *options, const struct event_store *store);

/* A report file being written: created before the command runs (so a bad
 * path fails early, with 125), made visible under its name only when
 * complete (report_commit), and never left half-written. */
struct report_file {
	const char *path;     /* as given */
	char *target;         /* the regular file written: path, with symlinks resolved */
	int fd;
	char *temporary_path; /* only when O_TMPFILE is not supported */
	bool in_place;        /* not a regular file (/dev/stdout, a FIFO): written
				 directly at the end, never replaced */
	int standard_fd;      /* "-", /dev/stdout, /dev/fd/N: that descriptor, else -1 */
};

/* Opens an anonymous file in the report's directory (O_TMPFILE, or a
 * hidden temporary name removed at exit).  A report path that is a symlink
 * keeps the link and replaces its target; one that names a device, FIFO or
 * /dev/stdout is written into directly, never replaced ("-" is stdout).  Exits 125 naming
 * the path when it is a directory or cannot be written. */
void report_open(struct report_file *file, const char *path);

/* Writes the JSON report into the file and gives it its name (linkat(2) +
 * rename(2)).  Returns 0, or -1 with a message printed. */
int report_commit(struct report_file *file, const struct options *options,
		  const struct event_store *store, const struct command_end *end);

#endif
