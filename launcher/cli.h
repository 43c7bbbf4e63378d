/*
 * cli.h - the command line, parsed into options and an ordered list of
 * setup operations that init carries out later, in order.
 *
 * Parsing and doing are separate (as bubblewrap does): cli_parse() checks
 * everything it can before anything is created, and `--dry-run` prints the
 * plan without running it.
 */
#ifndef ENCAPSULATE_CLI_H
#define ENCAPSULATE_CLI_H

#include <stdbool.h>
#include <stddef.h>

/* Mount operations (view.c) come first, shallow paths first, so a nested
 * one lands on top of the one that contains it; the others (init.c) keep
 * their command-line order, since --clearenv --setenv A 1 differs from
 * --setenv A 1 --clearenv. */
enum setup_kind {
	SETUP_WRITABLE_TREE, /* bind the host's tree back, writable, at its own path */
	SETUP_TMPFS,         /* an empty, private, writable tmpfs at path */
	SETUP_HIDE,          /* an empty read-only directory or file over path */
	SETUP_HOSTNAME,      /* sethostname(name) in the new uts namespace */
	SETUP_SETENV,        /* name=value in the command's environment */
	SETUP_UNSETENV,      /* name removed from the command's environment */
	SETUP_CLEARENV,      /* the command's environment emptied */
};

struct setup_operation {
	enum setup_kind kind;
	char *path;         /* mount operations: canonical absolute path (realpath(3)) */
	char *given;        /* mount operations: the path as the user wrote it */
	const char *name;   /* the host name, or the variable (points into argv) */
	const char *value;  /* SETUP_SETENV's value (points into argv) */
	bool is_directory;  /* SETUP_HIDE: a directory gets a tmpfs, anything else a file */
	size_t position;    /* index on the command line, for a stable order */
};

/* True for the operations view.c carries out (they have a path). */
bool setup_is_mount(enum setup_kind kind);

struct options {
	struct setup_operation *operations; /* in the order init applies them */
	size_t operation_count;
	char **command;          /* NULL-terminated argv of the build */
	const char *report_path; /* --report FILE, or NULL */
	char *cwd;               /* the caller's working directory, canonical */
	bool verbose;
	bool quiet;
	bool fail_on_violation;
	bool dry_run;
	bool share_network; /* --share-net: keep the host's network namespace */
};

/* Exit status for --fail-on-violation when the command itself succeeded. */
#define EXIT_VIOLATIONS 3

/* Parses argv into *options.  Both forms are accepted:
 *   encapsulate [OPTIONS] 'DIR|DIR' COMMAND [ARG...]
 *   encapsulate [OPTIONS] -w DIR [-w DIR...] [--] COMMAND [ARG...]
 * Prints help or version and exits 0 when asked; on bad input prints one
 * line and exits 125 (a missing tree, a file given as a tree, a missing
 * --tmpfs or --hide path, one path given two meanings, no command). */
void cli_parse(int argc, char **argv, struct options *options);

/* Releases what cli_parse allocated. */
void cli_free(struct options *options);

/* Prints the ordered setup plan to stdout (--dry-run). */
void cli_print_plan(const struct options *options);

#endif
