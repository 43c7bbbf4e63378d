/*
 * init.c - see init.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../shim/event.h"
#include "die.h"
#include "init.h"
#include "view.h"

static const int forwarded_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };

/* Blocks until the monitor has written our id maps; exits quietly if the
 * monitor is gone.  PR_SET_PDEATHSIG is set first, then the pair is checked
 * again, so a monitor that dies at any moment takes init with it. */
static void wait_for_monitor(int sync_fd)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		die_errno("prctl(PR_SET_PDEATHSIG)");
	char message = 0;
	if (recv(sync_fd, &message, 1, 0) != 1 || message != SYNC_MAPS_WRITTEN)
		_exit(EXIT_ENCAPSULATE_FAILURE);
	struct pollfd check = { .fd = sync_fd, .events = POLLIN };
	if (poll(&check, 1, 0) > 0 && (check.revents & (POLLHUP | POLLERR)) != 0)
		_exit(EXIT_ENCAPSULATE_FAILURE);
}

/* Creates the event socket at its abstract name in the new network
 * namespace and passes it to the monitor (SCM_RIGHTS, unix(7)); the monitor
 * stays outside and reads events from it. */
static void hand_over_event_socket(const struct sandbox *sandbox)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die_errno("socket(AF_UNIX, SOCK_DGRAM)");
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	size_t length = strlen(sandbox->socket_name);
	memcpy(address.sun_path + 1, sandbox->socket_name, length);
	if (bind(fd, (struct sockaddr *)&address,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + length)) != 0)
		die_errno("bind @%s", sandbox->socket_name);

	char message = SYNC_EVENT_SOCKET;
	struct iovec iov = { &message, 1 };
	union {
		char buffer[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	memset(&control, 0, sizeof control);
	struct msghdr header = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buffer,
		.msg_controllen = sizeof control.buffer,
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&header);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
	if (sendmsg(sandbox->sync_fd, &header, MSG_NOSIGNAL) != 1)
		die_errno("passing the event socket to the monitor");
	close(fd);
}

/* Loopback up, so builds that talk to 127.0.0.1 (test servers, distcc on
 * localhost) work while the network stays cut off. */
static void bring_up_loopback(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die_errno("socket(AF_INET) for loopback");
	struct ifreq request;
	memset(&request, 0, sizeof request);
	strcpy(request.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &request) != 0)
		die_errno("ioctl(SIOCGIFFLAGS, lo)");
	request.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &request) != 0)
		die_errno("ioctl(SIOCSIFFLAGS, lo up)");
	close(fd);
}

/* Drops every capability from every set, so nothing inside can remount the
 * view writable, even as root; PR_SET_NO_NEW_PRIVS keeps setuid binaries
 * from getting any back. */
static void drop_capabilities(void)
{
	for (int capability = 0; capability <= 63; capability++)
		if (prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 && errno != EINVAL)
			die_errno("prctl(PR_CAPBSET_DROP, %d)", capability);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		die_errno("prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	if (syscall(SYS_capset, &header, data) != 0)
		die_errno("capset (dropping all capabilities)");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		die_errno("prctl(PR_SET_NO_NEW_PRIVS)");
}

/* Prepends the shim to LD_PRELOAD and names the event socket. */
static void set_shim_environment(const struct sandbox *sandbox)
{
	const char *existing = getenv("LD_PRELOAD");
	char *preload = NULL;
	if (existing != NULL && existing[0] != '\0') {
		if (asprintf(&preload, "%s %s", sandbox->shim_path, existing) < 0)
			die_errno("asprintf");
	}
	if (setenv("LD_PRELOAD", preload != NULL ? preload : sandbox->shim_path, 1) != 0 ||
	    setenv(EVENT_SOCKET_ENV, sandbox->socket_name, 1) != 0 ||
	    setenv(EVENT_SHIM_ENV, sandbox->shim_path, 1) != 0)
		die_errno("setenv");
	free(preload);
}

/* In the forked child: restore what init changed, then exec the command. */
static noreturn void exec_command(const struct sandbox *sandbox)
{
	for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
		signal(forwarded_signals[i],
		       sigismember(&sandbox->command_ignored, forwarded_signals[i]) == 1 ? SIG_IGN
											  : SIG_DFL);
	signal(SIGCHLD, sigismember(&sandbox->command_ignored, SIGCHLD) == 1 ? SIG_IGN : SIG_DFL);
	sigprocmask(SIG_SETMASK, &sandbox->command_mask, NULL);
	set_shim_environment(sandbox);
	char **command = sandbox->options->command;
	execvp(command[0], command);
	int error = errno;
	if (error == ENOENT) {
		fprintf(stderr, "encapsulate: %s: command not found — check the name and PATH\n",
			command[0]);
		_exit(EXIT_NOT_FOUND);
	}
	fprintf(stderr, "encapsulate: %s: cannot execute: %s\n", command[0], strerror(error));
	_exit(EXIT_NOT_EXECUTABLE);
}

static void ignore_signal(int signal_number)
{
	(void)signal_number;
}

/* Sends the command's raw wait status to the monitor, then exits with the
 * shell's convention for it. */
static noreturn void finish(int sync_fd, int status)
{
	char message[1 + sizeof status];
	message[0] = SYNC_COMMAND_STATUS;
	memcpy(message + 1, &status, sizeof status);
	(void)send(sync_fd, message, sizeof message, MSG_NOSIGNAL);
	if (WIFSIGNALED(status))
		_exit(128 + WTERMSIG(status));
	_exit(WEXITSTATUS(status));
}

void init_main(struct sandbox *sandbox)
{
	wait_for_monitor(sandbox->sync_fd);
	hand_over_event_socket(sandbox);
	view_build(sandbox);
	bring_up_loopback();
	drop_capabilities();

	/* pid 1 receives only signals it has a handler for (pid_namespaces(7)):
	 * install one, block the signals and read them from a signalfd. */
	sigset_t handled;
	sigemptyset(&handled);
	struct sigaction action = { .sa_handler = ignore_signal };
	sigemptyset(&action.sa_mask);
	for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++) {
		sigaddset(&handled, forwarded_signals[i]);
		sigaction(forwarded_signals[i], &action, NULL);
	}
	sigaddset(&handled, SIGCHLD);
	sigaction(SIGCHLD, &action, NULL);
	sigprocmask(SIG_BLOCK, &handled, NULL);
	int signal_fd = signalfd(-1, &handled, SFD_CLOEXEC);
	if (signal_fd < 0)
		die_errno("signalfd");

	fflush(NULL);
	pid_t command = fork();
	if (command < 0)
		die_errno("fork");
	if (command == 0)
		exec_command(sandbox);

	for (;;) {
		struct signalfd_siginfo info;
		ssize_t length = read(signal_fd, &info, sizeof info);
		if (length != (ssize_t)sizeof info) {
			if (length < 0 && errno == EINTR)
				continue;
			die_errno("read(signalfd)");
		}
		if (info.ssi_signo != SIGCHLD) {
			/* Signals from the terminal reach the command's process
			 * group by themselves; forward only those sent to us. */
			if (info.ssi_code == SI_USER || info.ssi_code == SI_QUEUE)
				kill(command, (int)info.ssi_signo);
			continue;
		}
		int status;
		pid_t reaped;
		while ((reaped = waitpid(-1, &status, WNOHANG)) > 0)
			if (reaped == command)
				finish(sandbox->sync_fd, status);
	}
}
