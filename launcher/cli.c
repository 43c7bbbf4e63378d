/*
 * cli.c - command-line parsing; see cli.h.  getopt_long(3) with a leading
 * '+' stops at the first non-option, so the build's own options are never
 * taken for ours.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "die.h"

#ifndef ENCAPSULATE_VERSION
#define ENCAPSULATE_VERSION "0.1"
#endif

static const char usage_text[] =
	"Usage: encapsulate [OPTIONS] -w DIR [-w DIR...] [--] COMMAND [ARG...]\n"
	"       encapsulate [OPTIONS] 'DIR|DIR...' COMMAND [ARG...]\n"
	"\n"
	"Runs COMMAND and all its children in a read-only view of this machine in which\n"
	"only the writable trees DIR can be changed, then lists every write the command\n"
	"attempted outside them.\n"
	"\n"
	"Options:\n"
	"  -w, --writable DIR     make DIR (and everything below it) writable; repeatable\n"
	"  -r, --report FILE      write the JSON report to FILE (written by the monitor,\n"
	"                         outside the view, so FILE may be anywhere)\n"
	"  -v, --verbose          also list the writes inside the writable trees, and say\n"
	"                         so when there were no violations\n"
	"  -q, --quiet            print the summary only when there were violations\n"
	"      --fail-on-violation\n"
	"                         exit 3 when the command succeeded but violations were seen\n"
	"      --dry-run          print the setup plan and exit\n"
	"  -h, --help             show this help\n"
	"      --version          show the version\n"
	"\n"
	"Exit status: the command's own; 125 when encapsulate fails; 126 command not\n"
	"executable; 127 command not found; 128+N when the command was killed by signal N.\n";

static void add_operation(struct options *options, enum setup_kind kind, const char *given)
{
	if (given[0] == '\0')
		die("writable tree: empty path — give a directory, e.g. -w \"$PWD\"");
	char *canonical = realpath(given, NULL);
	if (canonical == NULL)
		die_errno_hint(strchr(given, '/') == NULL && errno == ENOENT
				       ? "create it first; or, if this is the command, name the "
					 "writable trees first: encapsulate -w DIR -- COMMAND"
				       : "create it first or fix the path",
			       "writable tree %s", given);
	struct stat status;
	if (stat(canonical, &status) != 0)
		die_errno("writable tree %s: stat", given);
	if (!S_ISDIR(status.st_mode)) {
		errno = ENOTDIR;
		die_errno_hint("a writable tree must be a directory", "writable tree %s", given);
	}
	struct setup_operation *grown = realloc(
		options->operations, (options->operation_count + 1) * sizeof *options->operations);
	if (grown == NULL)
		die_errno("realloc");
	options->operations = grown;
	grown[options->operation_count++] = (struct setup_operation){
		.kind = kind,
		.path = canonical,
		.given = strdup(given),
	};
	if (grown[options->operation_count - 1].given == NULL)
		die_errno("strdup");
}

/* The original form: "DIR|DIR|..."; empty items are skipped. */
static void add_tree_list(struct options *options, const char *list)
{
	char *copy = strdup(list);
	if (copy == NULL)
		die_errno("strdup");
	char *save = NULL;
	for (char *item = strtok_r(copy, "|", &save); item != NULL; item = strtok_r(NULL, "|", &save))
		add_operation(options, SETUP_WRITABLE_TREE, item);
	free(copy);
}

/* Shallow trees first, so that a nested tree is bound after (on top of) the
 * tree that contains it; equal trees are kept once. */
static int compare_operations(const void *a, const void *b)
{
	const struct setup_operation *x = a, *y = b;
	size_t lx = strlen(x->path), ly = strlen(y->path);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->path, y->path);
}

static void sort_and_deduplicate(struct options *options)
{
	qsort(options->operations, options->operation_count, sizeof *options->operations,
	      compare_operations);
	size_t kept = 0;
	for (size_t i = 0; i < options->operation_count; i++) {
		if (kept > 0 && strcmp(options->operations[kept - 1].path,
				       options->operations[i].path) == 0) {
			free(options->operations[i].path);
			free(options->operations[i].given);
			continue;
		}
		options->operations[kept++] = options->operations[i];
	}
	options->operation_count = kept;
}

void cli_parse(int argc, char **argv, struct options *options)
{
	enum { OPTION_FAIL_ON_VIOLATION = 256, OPTION_VERSION, OPTION_DRY_RUN };
	static const struct option long_options[] = {
		{ "writable", required_argument, NULL, 'w' },
		{ "report", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "fail-on-violation", no_argument, NULL, OPTION_FAIL_ON_VIOLATION },
		{ "dry-run", no_argument, NULL, OPTION_DRY_RUN },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPTION_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	memset(options, 0, sizeof *options);
	bool trees_given = false;
	opterr = 0;
	for (;;) {
		/* A leading ':' (after '+') makes a missing argument ':' rather
		 * than '?', so "-w" alone is not called an unknown option. */
		int option = getopt_long(argc, argv, "+:w:r:vqh", long_options, NULL);
		if (option == -1)
			break;
		switch (option) {
		case 'w':
			add_operation(options, SETUP_WRITABLE_TREE, optarg);
			trees_given = true;
			break;
		case 'r':
			if (optarg[0] == '\0')
				die("--report: empty file name");
			options->report_path = optarg;
			break;
		case 'v':
			options->verbose = true;
			break;
		case 'q':
			options->quiet = true;
			break;
		case OPTION_FAIL_ON_VIOLATION:
			options->fail_on_violation = true;
			break;
		case OPTION_DRY_RUN:
			options->dry_run = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case OPTION_VERSION:
			printf("encapsulate %s\n", ENCAPSULATE_VERSION);
			exit(0);
		case ':':
			die("option %s needs an argument — see encapsulate --help", argv[optind - 1]);
		default:
			if (optopt != 0 && optopt < 256)
				die("unknown option -%c — see encapsulate --help", optopt);
			die("unknown or incomplete option %s — see encapsulate --help",
			    argv[optind - 1]);
		}
	}
	if (!trees_given) {
		if (optind >= argc)
			die("no writable trees and no command — see encapsulate --help");
		add_tree_list(options, argv[optind++]);
	}
	if (optind >= argc)
		die("no command given — usage: encapsulate -w DIR -- COMMAND [ARG...]");
	options->command = argv + optind;
	sort_and_deduplicate(options);

	options->cwd = getcwd(NULL, 0);
	if (options->cwd == NULL)
		die_errno_hint("cd to an existing directory first", "getcwd");
}

void cli_free(struct options *options)
{
	for (size_t i = 0; i < options->operation_count; i++) {
		free(options->operations[i].path);
		free(options->operations[i].given);
	}
	free(options->operations);
	free(options->cwd);
	memset(options, 0, sizeof *options);
}

void cli_print_plan(const struct options *options)
{
	for (size_t i = 0; i < options->operation_count; i++) {
		const struct setup_operation *operation = &options->operations[i];
		switch (operation->kind) {
		case SETUP_WRITABLE_TREE:
			printf("writable %s", operation->path);
			if (strcmp(operation->path, operation->given) != 0)
				printf("   (given as %s)", operation->given);
			putchar('\n');
			break;
		}
	}
	printf("cwd %s\ncommand", options->cwd);
	for (char **word = options->command; *word != NULL; word++)
		printf(" %s", *word);
	putchar('\n');
}
