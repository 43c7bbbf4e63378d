/*
 * monitor.c - see monitor.h.  One poll loop over the event socket, the
 * sync pair (for init's report of the command's status) and a signalfd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "die.h"
#include "monitor.h"
#include "namespaces.h"

/* Receives the event socket from init (SCM_RIGHTS); -1 when init ended
 * before sending it (its setup failed and it said why). */
static int receive_event_socket(int sync_fd)
{
	char message = 0;
	struct iovec iov = { &message, 1 };
	union {
		char buffer[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr header = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buffer,
		.msg_controllen = sizeof control.buffer,
	};
	ssize_t received;
	do
		received = recvmsg(sync_fd, &header, MSG_CMSG_CLOEXEC);
	while (received < 0 && errno == EINTR);
	if (received != 1 || message != SYNC_EVENT_SOCKET)
		return -1;
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&header);
	if (cmsg == NULL || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
	return fd;
}

/* Reads every queued event without blocking. */
static void drain_events(int event_fd, struct event_store *store, char *buffer)
{
	for (;;) {
		ssize_t length = recv(event_fd, buffer, EVENT_MAX_BYTES, MSG_DONTWAIT | MSG_TRUNC);
		if (length < 0) {
			if (errno == EINTR)
				continue;
			return; /* EAGAIN: queue empty */
		}
		record_event(store, buffer, (size_t)length > EVENT_MAX_BYTES ? 0 : (size_t)length);
	}
}

static void end_from_status(struct command_end *end, int status)
{
	if (WIFSIGNALED(status)) {
		end->signal_number = WTERMSIG(status);
		end->status = 128 + end->signal_number;
	} else {
		end->signal_number = 0;
		end->status = WEXITSTATUS(status);
	}
}

/* Reads one message init sent on the sync pair: a process killed at the
 * end (into the store) or the command's wait status (into *end, and
 * *status_relayed set).  Returns 1 after a message, 0 when none is
 * queued, -1 when init has closed its end. */
static int receive_sync_message(int sync_fd, struct event_store *store, struct command_end *end,
				bool *status_relayed)
{
	static char message[1 + sizeof(int) + SYNC_CMDLINE_MAX];
	ssize_t length;
	do
		length = recv(sync_fd, message, sizeof message, MSG_DONTWAIT);
	while (length < 0 && errno == EINTR);
	if (length < 0)
		return errno == EAGAIN ? 0 : -1;
	if (length == 0)
		return -1;
	int number;
	if ((size_t)length < 1 + sizeof number)
		return 1; /* not ours: ignored */
	memcpy(&number, message + 1, sizeof number);
	if (message[0] == SYNC_COMMAND_STATUS && (size_t)length == 1 + sizeof number) {
		end_from_status(end, number);
		*status_relayed = true;
	} else if (message[0] == SYNC_KILLED_PROCESS) {
		record_killed(store, (pid_t)number, message + 1 + sizeof number,
			      (size_t)length - 1 - sizeof number);
	}
	return 1;
}

void monitor_run(struct sandbox *sandbox, struct event_store *store, struct command_end *end)
{
	static const int forwarded[] = FORWARDED_SIGNALS;
	sigset_t signals;
	sigemptyset(&signals);
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		sigaddset(&signals, forwarded[i]);
	sigaddset(&signals, SIGCHLD);
	/* Blocked before init exists, so no signal is lost; init inherits this
	 * mask, so it gives the command the caller's own (command_mask). */
	sigset_t original;
	sigprocmask(SIG_BLOCK, &signals, &original);
	sandbox->command_mask = original;
	int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
	if (signal_fd < 0)
		die_errno("signalfd");

	int sync_fd;
	pid_t init = namespaces_start_init(sandbox, &sync_fd);
	int event_fd = receive_event_socket(sync_fd);

	char *buffer = malloc(EVENT_MAX_BYTES);
	if (buffer == NULL)
		die_errno("malloc");
	bool status_relayed = false, sync_open = true, init_done = false;
	int init_status = 0;
	while (!init_done) {
		struct pollfd fds[3] = {
			{ .fd = event_fd, .events = POLLIN },
			{ .fd = signal_fd, .events = POLLIN },
			{ .fd = sync_open ? sync_fd : -1, .events = POLLIN },
		};
		if (poll(fds, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			die_errno("poll");
		}
		if (fds[0].revents & POLLIN)
			drain_events(event_fd, store, buffer);
		if (fds[2].revents & (POLLIN | POLLHUP)) {
			/* Killed processes come first, the status last: after
			 * it, or when init is gone without one, stop reading. */
			int received;
			while ((received = receive_sync_message(sync_fd, store, end,
								&status_relayed)) > 0 &&
			       !status_relayed)
				continue;
			if (received < 0 || status_relayed)
				sync_open = false;
		}
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo info;
			while (read(signal_fd, &info, sizeof info) == (ssize_t)sizeof info) {
				if (info.ssi_signo == SIGCHLD) {
					pid_t reaped = waitpid(init, &init_status, WNOHANG);
					if (reaped == init)
						init_done = true;
				} else if (info.ssi_code != SI_KERNEL) {
					kill(init, (int)info.ssi_signo);
				}
			}
		}
	}
	if (event_fd >= 0) {
		drain_events(event_fd, store, buffer);
		close(event_fd);
	}
	free(buffer);
	close(signal_fd);
	sigprocmask(SIG_SETMASK, &original, NULL);

	/* init relays the command's own wait status; without it (setup failed,
	 * init killed) init's own status stands for the run.  The status (and
	 * the killed processes before it) may still sit in the pair when init's
	 * SIGCHLD was read first. */
	while (!status_relayed && sync_open &&
	       receive_sync_message(sync_fd, store, end, &status_relayed) > 0)
		continue;
	if (!status_relayed)
		end_from_status(end, init_status);
	close(sync_fd);
}
