/*
 * main.c - encapsulate: run a build in a read-only view of this machine and
 * report every write it attempted outside the writable trees.
 *
 * Glue only: parse (cli.c), run the sandbox (monitor.c, which starts init
 * in namespaces.c), then summarise and write the report (report.c).
 * Exit status: the command's own; 125 our failure; 126/127 command not
 * executable/not found; 128+N killed by signal N; EXIT_VIOLATIONS (3) with
 * --fail-on-violation when the command succeeded but wrote outside.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cli.h"
#include "die.h"
#include "monitor.h"
#include "record.h"
#include "report.h"
#include "sandbox.h"

/* Finds libencapsulate.so: $ENCAPSULATE_SHIM when set, else beside our own
 * binary (../lib/ in the build tree, ../lib/encapsulate/ when installed).
 * Returns its canonical path; exits 125 when it is missing or its path
 * cannot go into LD_PRELOAD (spaces and colons separate entries there). */
static char *find_shim(void)
{
	const char *override = getenv(EVENT_SHIM_ENV);
	char candidates[3][PATH_MAX + 64];
	int count = 0;
	if (override != NULL && override[0] != '\0')
		snprintf(candidates[count++], sizeof candidates[0], "%s", override);
	char self[PATH_MAX];
	ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
	if (length > 0) {
		self[length] = '\0';
		char *slash = strrchr(self, '/');
		if (slash != NULL)
			*slash = '\0';
		snprintf(candidates[count++], sizeof candidates[0], "%s/../lib/libencapsulate.so",
			 self);
		snprintf(candidates[count++], sizeof candidates[0],
			 "%s/../lib/encapsulate/libencapsulate.so",
			 self);
	}
	for (int i = 0; i < count; i++) {
		char *canonical = realpath(candidates[i], NULL);
		if (canonical == NULL || access(canonical, R_OK) != 0) {
			free(canonical);
			continue;
		}
		if (strpbrk(canonical, " :\t\n") != NULL)
			die("shim %s: a space or colon in its path cannot go into LD_PRELOAD — "
			    "install encapsulate under a plain path",
			    canonical);
		return canonical;
	}
	errno = ENOENT;
	die_errno_hint("run 'make' first, or set ENCAPSULATE_SHIM to its path",
		       "libencapsulate.so not found beside %s", length > 0 ? self : "encapsulate");
}

int main(int argc, char **argv)
{
	die_set_owner();
	struct options options;
	cli_parse(argc, argv, &options);
	if (options.dry_run) {
		cli_print_plan(&options);
		cli_free(&options);
		return 0;
	}

	struct sandbox sandbox = {
		.options = &options,
		.shim_path = find_shim(),
		.uid = geteuid(),
		.gid = getegid(),
		.sync_fd = -1,
	};
	/* 128 random bits: with --share-net the name lives in the host's
	 * network namespace, where it must not be guessed (README says what
	 * a host process that reads /proc/net/unix can still do). */
	unsigned long long random_part[2] = { 0, 0 };
	if (getrandom(random_part, sizeof random_part, 0) != (ssize_t)sizeof random_part)
		die_errno("getrandom (naming the event socket)");
	snprintf(sandbox.socket_name, sizeof sandbox.socket_name, "encapsulate-%d-%016llx%016llx",
		 (int)getpid(), random_part[0], random_part[1]);

	/* The paths record.c classifies writes by, one NULL-terminated list
	 * per kind, each in cli.c's shallow-first order. */
	const char **writable = calloc(3 * (options.operation_count + 1), sizeof *writable);
	if (writable == NULL)
		die_errno("calloc");
	const char **tmpfs = writable + options.operation_count + 1;
	const char **hidden = tmpfs + options.operation_count + 1;
	size_t tree_count = 0, tmpfs_count = 0, hidden_count = 0;
	for (size_t i = 0; i < options.operation_count; i++) {
		const struct setup_operation *operation = &options.operations[i];
		if (operation->kind == SETUP_WRITABLE_TREE)
			writable[tree_count++] = operation->path;
		else if (operation->kind == SETUP_TMPFS)
			tmpfs[tmpfs_count++] = operation->path;
		else if (operation->kind == SETUP_HIDE)
			hidden[hidden_count++] = operation->path;
	}

	struct report_file report;
	if (options.report_path != NULL)
		report_open(&report, options.report_path);

	struct event_store store;
	record_init(&store, writable, tmpfs, hidden);
	struct command_end end = { 0 };
	monitor_run(&sandbox, &store, &end);

	/* The report first, and no SIGPIPE: a closed stderr must not cost the
	 * report or the command's status. */
	signal(SIGPIPE, SIG_IGN);
	int status = end.status;
	if (options.report_path != NULL && report_commit(&report, &options, &store, &end) != 0 &&
	    status == 0)
		status = EXIT_ENCAPSULATE_FAILURE;
	else if (options.fail_on_violation && status == 0 && store.violation_total > 0)
		status = EXIT_VIOLATIONS;
	if (!options.quiet || store.violation_total > 0)
		report_summary(stderr, &options, &store);

	record_free(&store);
	free(writable);
	free((char *)sandbox.shim_path);
	cli_free(&options);
	return status;
}
