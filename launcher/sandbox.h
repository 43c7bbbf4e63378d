/*
 * sandbox.h - what the monitor and init share about one run.
 */
#ifndef ENCAPSULATE_SANDBOX_H
#define ENCAPSULATE_SANDBOX_H

#include <signal.h>
#include <sys/types.h>

#include "cli.h"

struct sandbox {
	const struct options *options;
	const char *shim_path;  /* absolute path of libencapsulate.so */
	char socket_name[64];   /* abstract name of the event socket, no leading NUL */
	uid_t uid;              /* the caller's ids, kept inside */
	gid_t gid;
	int sync_fd;            /* init's end of the monitor <-> init socket pair */
	sigset_t command_mask;  /* the caller's signal mask, for the command: init
				 * inherits the monitor's, with its signals blocked */
};

/* The signals that stop a build, which init forwards to the command when
 * they are sent to encapsulate or to init (not those from the terminal:
 * the command's process group receives them itself). */
#define FORWARDED_SIGNALS { SIGTERM, SIGINT, SIGHUP, SIGQUIT }

/* Messages on the sync socket pair (SOCK_SEQPACKET, one byte each, plus
 * ancillary data or a payload where noted). */
enum sync_message {
	SYNC_MAPS_WRITTEN = 'M', /* monitor -> init: uid/gid maps are in place */
	SYNC_EVENT_SOCKET = 'S', /* init -> monitor: SCM_RIGHTS carries the event socket */
	SYNC_COMMAND_STATUS = 'X', /* init -> monitor: followed by the command's wait status */
	SYNC_KILLED_PROCESS = 'K', /* init -> monitor, before 'X', one per process still
				    * running when the command ended: its pid (int), then
				    * at most SYNC_CMDLINE_MAX bytes of /proc/PID/cmdline */
};

#define SYNC_CMDLINE_MAX 4096

#endif
