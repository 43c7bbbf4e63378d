/*
 * namespaces.h - creating init in new user, mount, pid, ipc, net and uts
 * namespaces, and mapping the caller's uid and gid into them.
 *
 * Sources: user_namespaces(7) (uid_map/gid_map rules, setgroups "deny"),
 * clone(2), pid_namespaces(7).
 */
#ifndef ENCAPSULATE_NAMESPACES_H
#define ENCAPSULATE_NAMESPACES_H

#include <sys/types.h>

#include "sandbox.h"

/* Starts init in the new namespaces and returns its pid (in our namespace)
 * with *monitor_sync_fd set to the monitor's end of the sync pair.  The child
 * never returns from here: it runs init_main().  Writes init's uid/gid maps
 * (the caller's own ids; as root, all ids) and then tells init to go on.
 * Exits 125 with a hint naming the sysctl when user namespaces are off. */
pid_t namespaces_start_init(struct sandbox *sandbox, int *monitor_sync_fd);

#endif
