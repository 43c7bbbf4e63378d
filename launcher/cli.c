/*
 * cli.c - command-line parsing; see cli.h.  getopt_long(3) with a leading
 * '+' stops at the first non-option, so the build's own options are never
 * taken for ours.  Every option that changes the sandbox becomes a setup
 * operation (writable tree, tmpfs, hide, hostname, environment), checked
 * here and carried out later by view.c and init.c, in the order sorted here.
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
	"      --tmpfs DIR        an empty, private, writable tmpfs at DIR (e.g. /tmp);\n"
	"                         nothing written there reaches this machine; repeatable\n"
	"      --hide PATH        an empty read-only directory (or an empty file) over\n"
	"                         PATH, e.g. ~/.ssh; writes there are violations; repeatable\n"
	"      --share-net        keep this machine's network (default: loopback only)\n"
	"      --hostname NAME    the host name inside (default: this machine's)\n"
	"      --setenv VAR VALUE, --unsetenv VAR, --clearenv\n"
	"                         change the command's environment, in the order given\n"
	"                         (the shim's own variables are always added)\n"
	"      --dry-run          print the setup plan and exit\n"
	"  -h, --help             show this help\n"
	"      --version          show the version\n"
	"\n"
	"Exit status: the command's own; 125 when encapsulate fails; 126 command not\n"
	"executable; 127 command not found; 128+N when the command was killed by signal N.\n";

bool setup_is_mount(enum setup_kind kind)
{
	return kind == SETUP_WRITABLE_TREE || kind == SETUP_TMPFS || kind == SETUP_HIDE;
}

/* How the messages name each mount operation's path. */
static const char *mount_operation_name(enum setup_kind kind)
{
	return kind == SETUP_TMPFS ? "--tmpfs" : kind == SETUP_HIDE ? "--hide" : "writable tree";
}

static struct setup_operation *append_operation(struct options *options, enum setup_kind kind)
{
	struct setup_operation *grown = realloc(
		options->operations, (options->operation_count + 1) * sizeof *options->operations);
	if (grown == NULL)
		die_errno("realloc");
	options->operations = grown;
	struct setup_operation *operation = &grown[options->operation_count];
	*operation = (struct setup_operation){ .kind = kind, .position = options->operation_count };
	options->operation_count++;
	return operation;
}

/* A writable tree, a tmpfs or a hidden path.  Each must exist now: the view
 * is read-only, so a missing mount point could not be made inside it. */
static void add_operation(struct options *options, enum setup_kind kind, const char *given)
{
	const char *what = mount_operation_name(kind);
	if (given[0] == '\0' && kind == SETUP_WRITABLE_TREE)
		die("writable tree: empty path — give a directory, e.g. -w \"$PWD\"");
	if (given[0] == '\0')
		die("%s: empty path — give an existing path", what);
	char *canonical = realpath(given, NULL);
	if (canonical == NULL)
		die_errno_hint(kind == SETUP_WRITABLE_TREE && strchr(given, '/') == NULL &&
					       errno == ENOENT
				       ? "create it first; or, if this is the command, name the "
					 "writable trees first: encapsulate -w DIR -- COMMAND"
				       : "create it first or fix the path",
			       "%s %s", what, given);
	struct stat status;
	if (stat(canonical, &status) != 0)
		die_errno("%s %s: stat", what, given);
	bool is_directory = S_ISDIR(status.st_mode);
	if (!is_directory && kind != SETUP_HIDE) {
		free(canonical); /* exit handlers (LeakSanitizer) run after die() */
		errno = ENOTDIR;
		die_errno_hint(kind == SETUP_TMPFS ? "a tmpfs goes on a directory; --hide hides a file"
						   : "a writable tree must be a directory",
			       "%s %s", what, given);
	}
	struct setup_operation *operation = append_operation(options, kind);
	operation->path = canonical;
	operation->given = strdup(given);
	operation->is_directory = is_directory;
	if (operation->given == NULL)
		die_errno("strdup");
}

/* --hostname, --setenv, --unsetenv: checked here so that a bad one stops us
 * before anything runs. */
static void add_hostname(struct options *options, const char *name)
{
	if (name[0] == '\0' || strlen(name) > HOST_NAME_MAX)
		die("--hostname %s: give 1 to %d characters", name, HOST_NAME_MAX);
	append_operation(options, SETUP_HOSTNAME)->name = name;
}

static void check_variable_name(const char *option, const char *name)
{
	if (name[0] == '\0' || strchr(name, '=') != NULL)
		die("%s '%s': a variable name must be non-empty and without '='", option, name);
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

/* Mount operations first, shallow paths first, so that a nested one is
 * mounted after (on top of) the one that contains it; the others keep their
 * command-line order. */
static int compare_operations(const void *a, const void *b)
{
	const struct setup_operation *x = a, *y = b;
	bool mx = setup_is_mount(x->kind), my = setup_is_mount(y->kind);
	if (mx != my)
		return mx ? -1 : 1;
	if (!mx)
		return x->position < y->position ? -1 : x->position > y->position;
	size_t lx = strlen(x->path), ly = strlen(y->path);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	int order = strcmp(x->path, y->path);
	if (order != 0)
		return order;
	return x->position < y->position ? -1 : x->position > y->position;
}

/* A path given twice with the same meaning is kept once; with two meanings
 * (-w X --hide X) one would silently win, so it is an error. */
static void sort_and_deduplicate(struct options *options)
{
	qsort(options->operations, options->operation_count, sizeof *options->operations,
	      compare_operations);
	size_t kept = 0;
	for (size_t i = 0; i < options->operation_count; i++) {
		struct setup_operation *operation = &options->operations[i];
		struct setup_operation *previous = kept > 0 ? &options->operations[kept - 1] : NULL;
		if (previous != NULL && setup_is_mount(operation->kind) &&
		    setup_is_mount(previous->kind) && strcmp(previous->path, operation->path) == 0) {
			if (previous->kind != operation->kind)
				die("%s: given both as %s and as %s — give it once", operation->path,
				    mount_operation_name(previous->kind),
				    mount_operation_name(operation->kind));
			free(operation->path);
			free(operation->given);
			continue;
		}
		options->operations[kept++] = *operation;
	}
	options->operation_count = kept;
}

void cli_parse(int argc, char **argv, struct options *options)
{
	enum {
		OPTION_FAIL_ON_VIOLATION = 256,
		OPTION_VERSION,
		OPTION_DRY_RUN,
		OPTION_TMPFS,
		OPTION_HIDE,
		OPTION_SHARE_NET,
		OPTION_HOSTNAME,
		OPTION_SETENV,
		OPTION_UNSETENV,
		OPTION_CLEARENV,
	};
	static const struct option long_options[] = {
		{ "writable", required_argument, NULL, 'w' },
		{ "report", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "fail-on-violation", no_argument, NULL, OPTION_FAIL_ON_VIOLATION },
		{ "dry-run", no_argument, NULL, OPTION_DRY_RUN },
		{ "tmpfs", required_argument, NULL, OPTION_TMPFS },
		{ "hide", required_argument, NULL, OPTION_HIDE },
		{ "share-net", no_argument, NULL, OPTION_SHARE_NET },
		{ "hostname", required_argument, NULL, OPTION_HOSTNAME },
		{ "setenv", required_argument, NULL, OPTION_SETENV },
		{ "unsetenv", required_argument, NULL, OPTION_UNSETENV },
		{ "clearenv", no_argument, NULL, OPTION_CLEARENV },
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
		case OPTION_TMPFS:
			add_operation(options, SETUP_TMPFS, optarg);
			break;
		case OPTION_HIDE:
			add_operation(options, SETUP_HIDE, optarg);
			break;
		case OPTION_SHARE_NET:
			options->share_network = true;
			break;
		case OPTION_HOSTNAME:
			add_hostname(options, optarg);
			break;
		case OPTION_SETENV: {
			/* Two arguments, as bubblewrap's --setenv: getopt gives
			 * the first, the value is the next word. */
			check_variable_name("--setenv", optarg);
			if (optind >= argc)
				die("--setenv %s needs a value: --setenv VAR VALUE", optarg);
			struct setup_operation *operation = append_operation(options, SETUP_SETENV);
			operation->name = optarg;
			operation->value = argv[optind++];
			break;
		}
		case OPTION_UNSETENV:
			check_variable_name("--unsetenv", optarg);
			append_operation(options, SETUP_UNSETENV)->name = optarg;
			break;
		case OPTION_CLEARENV:
			append_operation(options, SETUP_CLEARENV);
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
	if (options->share_network)
		puts("share-net");
	for (size_t i = 0; i < options->operation_count; i++) {
		const struct setup_operation *operation = &options->operations[i];
		switch (operation->kind) {
		case SETUP_WRITABLE_TREE:
		case SETUP_TMPFS:
		case SETUP_HIDE:
			printf("%s %s",
			       operation->kind == SETUP_WRITABLE_TREE ? "writable"
			       : operation->kind == SETUP_TMPFS	      ? "tmpfs"
								      : "hide",
			       operation->path);
			if (strcmp(operation->path, operation->given) != 0)
				printf("   (given as %s)", operation->given);
			putchar('\n');
			break;
		case SETUP_HOSTNAME:
			printf("hostname %s\n", operation->name);
			break;
		case SETUP_SETENV:
			printf("setenv %s %s\n", operation->name, operation->value);
			break;
		case SETUP_UNSETENV:
			printf("unsetenv %s\n", operation->name);
			break;
		case SETUP_CLEARENV:
			puts("clearenv");
			break;
		}
	}
	printf("cwd %s\ncommand", options->cwd);
	for (char **word = options->command; *word != NULL; word++)
		printf(" %s", *word);
	putchar('\n');
}
