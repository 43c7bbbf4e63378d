/*
 * init.h - pid 1 of the sandbox's pid namespace.
 *
 * Sources: pid_namespaces(7) (init's signal protection, orphans reparent to
 * init, all processes are killed when init exits), capabilities(7),
 * prctl(2) (PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS),
 * signalfd(2), netdevice(7) (SIOCSIFFLAGS), seccomp(2) and ioctl_tty(2)
 * (TIOCSTI, TIOCLINUX refused), kill(2) (kill(-1) from pid 1).
 */
#ifndef ENCAPSULATE_INIT_H
#define ENCAPSULATE_INIT_H

#include <stdnoreturn.h>

#include "sandbox.h"

/* Runs in the child made by namespaces_start_init(): waits for the id maps,
 * hands the monitor the event socket, builds the view, brings loopback up
 * (in its own network namespace: not with --share-net), sets --hostname,
 * drops every capability, refuses TIOCSTI/TIOCLINUX (seccomp), starts the
 * command with the shim preloaded, reaps orphans, forwards
 * SIGTERM/SIGINT/SIGHUP/SIGQUIT sent to it, and when the command ends stops
 * the processes left, lists them to the monitor (SYNC_KILLED_PROCESS) and
 * exits with the command's status (128+N when killed by signal N).  It dies with the
 * monitor (PR_SET_PDEATHSIG), and all processes of the sandbox die with it.
 * Exits 125 when setup fails, 126/127 when the command cannot be run. */
noreturn void init_main(struct sandbox *sandbox);

#endif
