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

enum setup_kind {
	SETUP_WRITABLE_TREE, /* bind the host's tree back, writable, at its own path */
};

struct setup_operation {
	enum setup_kind kind;
	char *path;  /* canonical absolute path (realpath(3)) */
	char *given; /* as the user wrote it */
};

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
};

/* Exit status for --fail-on-violation when the command itself succeeded. */
#define EXIT_VIOLATIONS 3

/* Parses argv into *options.  Both forms are accepted:
 *   encapsulate [OPTIONS] 'DIR|DIR' COMMAND [ARG...]
 *   encapsulate [OPTIONS] -w DIR [-w DIR...] [--] COMMAND [ARG...]
 * Prints help or version and exits 0 when asked; on bad input prints one
 * line and exits 125 (a missing tree, a file given as a tree, no command). */
void cli_parse(int argc, char **argv, struct options *options);

/* Releases what cli_parse allocated. */
void cli_free(struct options *options);

/* Prints the ordered setup plan to stdout (--dry-run). */
void cli_print_plan(const struct options *options);

#endif
