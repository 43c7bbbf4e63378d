/*
 * monitor.h - the process that stays in the caller's namespaces: starts
 * init, receives every event, forwards signals, and learns how the command
 * ended.
 *
 * Sources: poll(2), signalfd(2), unix(7) (SCM_RIGHTS, datagram sockets),
 * wait(2).
 */
#ifndef ENCAPSULATE_MONITOR_H
#define ENCAPSULATE_MONITOR_H

#include "record.h"
#include "report.h"
#include "sandbox.h"

/* Runs the sandbox to its end, adding every event to `store`, and fills
 * *end with how the command ended (or init's own status when setup failed:
 * then end->status is 125).  SIGTERM, SIGINT, SIGHUP and SIGQUIT sent to
 * encapsulate by kill(2) are forwarded to the command through init; the
 * same signals from the terminal already reach the command's process group
 * and are not sent twice. */
void monitor_run(struct sandbox *sandbox, struct event_store *store, struct command_end *end);

#endif
