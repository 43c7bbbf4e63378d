/*
 * view.h - the read-only view of the machine, built by init inside its new
 * mount namespace, and the pivot into it.
 *
 * Sources: mount_namespaces(7) (propagation), mount_setattr(2) (recursive
 * read-only, Linux 5.12+), pivot_root(2) (the "pivot_root(".", ".")" idiom),
 * proc(5), mq_overview(7).
 */
#ifndef ENCAPSULATE_VIEW_H
#define ENCAPSULATE_VIEW_H

#include "sandbox.h"

/* Builds the view and makes it the root, in this order: every mount
 * private; a private tmpfs as staging root; the whole host tree bound
 * recursively and made read-only (every submount, keeping its own
 * nosuid/nodev/noexec); each writable tree bound back from the host,
 * writable, at its own path, each --tmpfs (empty, writable) and --hide
 * (an empty read-only tmpfs over a directory, an empty read-only file over
 * anything else) in the same shallow-first order; a fresh /proc, private /dev/shm and
 * /dev/mqueue; pivot_root and detach of the old root; chdir to the caller's
 * cwd.  Exits 125 with a one-line message naming the mount and errno on
 * any failure; nothing can leak to the host, whose mounts are never
 * touched (propagation is private first). */
void view_build(const struct sandbox *sandbox);

#endif
