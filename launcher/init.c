/*
 * init.c - see init.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
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
#include <termios.h>
#include <unistd.h>

#include "../shim/event.h"
#include "die.h"
#include "init.h"
#include "view.h"

/* The signals init handles itself, and their dispositions as the caller
 * left them (the monitor changes only its mask): the command gets them
 * back, so a caller's SIG_IGN (nohup, trap '') stays in force. */
static const int handled_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD };
static struct sigaction caller_dispositions[sizeof handled_signals / sizeof handled_signals[0]];
#define HANDLED_COUNT (sizeof handled_signals / sizeof handled_signals[0])

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

#if !defined(__x86_64__)
#error "refuse_terminal_injection: add this architecture's AUDIT_ARCH and ioctl numbers"
#endif

/* Syscall numbers of ioctl for each ABI an x86-64 kernel accepts: the
 * native one, x32 (same AUDIT_ARCH, numbers with __X32_SYSCALL_BIT set: its
 * ioctl is 514, syscall_64.tbl) and i386 through int 0x80 (syscall_32.tbl),
 * which 32-bit programs of a multilib build use. */
#define IOCTL_X86_64 16u
#define X32_SYSCALL_BIT 0x40000000u
#define IOCTL_X32 (X32_SYSCALL_BIT | 514u)
#define IOCTL_I386 54u

/* Makes ioctl(fd, TIOCSTI) and ioctl(fd, TIOCLINUX) fail with EPERM in
 * init and everything it starts: TIOCSTI pushes keystrokes into the
 * caller's terminal, which its shell reads once we end (ioctl_tty(2),
 * CVE-2017-5226 for bubblewrap), and TIOCLINUX can paste the console's
 * selection the same way.  Only the low 32 bits of the request are
 * compared, as the kernel does: a filter on the whole 64-bit argument is
 * passed by setting a high bit (CVE-2019-10063, flatpak).  Every other
 * ioctl, job control (TIOCSPGRP, TIOCGPGRP) included, passes.  A deny list
 * suffices here: the filter guards two requests, not the kernel.
 * Needs PR_SET_NO_NEW_PRIVS (set in drop_capabilities); seccomp(2). */
static void refuse_terminal_injection(void)
{
	/* Jump offsets count from the next instruction; the numbers on the
	 * left are the indices they land on. */
	struct sock_filter filter[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 4), /* else 6 */
		/* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IOCTL_X86_64, 5, 0), /* to 9 */
		/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IOCTL_X32, 4, 0),    /* to 9 */
		/* 5 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, 5), /* else 12 */
		/* 7 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		/* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IOCTL_I386, 0, 3),   /* else 12 */
		/* 9: the low half of args[1], the request (x86 is little-endian) */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		/* 10 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 2, 0),   /* to 13 */
		/* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, 1, 0), /* to 13 */
		/* 12 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* 13 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
	};
	struct sock_fprog program = {
		.len = (unsigned short)(sizeof filter / sizeof filter[0]),
		.filter = filter,
	};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0)
		die_errno_hint("the kernel needs CONFIG_SECCOMP_FILTER",
			       "seccomp(SECCOMP_SET_MODE_FILTER) refusing TIOCSTI");
}

/* --hostname: in the new uts namespace only (uts_namespaces(7)); needs
 * CAP_SYS_ADMIN there, so before drop_capabilities(). */
static void set_hostname(const struct options *options)
{
	for (size_t i = 0; i < options->operation_count; i++) {
		const struct setup_operation *operation = &options->operations[i];
		if (operation->kind == SETUP_HOSTNAME &&
		    sethostname(operation->name, strlen(operation->name)) != 0)
			die_errno("sethostname %s", operation->name);
	}
}

/* --setenv, --unsetenv, --clearenv in the order given, in the command's
 * environment only; set_shim_environment() runs after, so the shim's
 * variables stay whatever was asked. */
static void apply_environment_operations(const struct options *options)
{
	for (size_t i = 0; i < options->operation_count; i++) {
		const struct setup_operation *operation = &options->operations[i];
		int failed = 0;
		switch (operation->kind) {
		case SETUP_SETENV:
			failed = setenv(operation->name, operation->value, 1);
			break;
		case SETUP_UNSETENV:
			failed = unsetenv(operation->name);
			break;
		case SETUP_CLEARENV:
			failed = clearenv();
			break;
		default:
			break;
		}
		if (failed != 0)
			die_errno("changing the environment (%s)",
				  operation->name != NULL ? operation->name : "clearenv");
	}
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
	for (size_t i = 0; i < HANDLED_COUNT; i++)
		sigaction(handled_signals[i], &caller_dispositions[i], NULL);
	sigprocmask(SIG_SETMASK, &sandbox->command_mask, NULL);
	apply_environment_operations(sandbox->options);
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

/* Tells the monitor which processes are still running now that the
 * command has ended (daemons, forgotten background jobs): they die with us
 * (pid_namespaces(7)), and the report names them.  They are stopped first:
 * kill(-1) from pid 1 reaches every other process of the namespace
 * (kill(2)), and a fork racing with it is restarted, so the list is
 * complete and nothing writes after the command ended.  Our /proc is the
 * sandbox's own, so it lists exactly them. */
static void report_leftover_processes(int sync_fd)
{
	if (kill(-1, SIGSTOP) != 0)
		return; /* ESRCH: nobody left */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		continue; /* orphans that ended meanwhile are not killed */
	DIR *proc = opendir("/proc");
	if (proc == NULL)
		return;
	struct dirent *entry;
	while ((entry = readdir(proc)) != NULL) {
		char *end;
		long pid = strtol(entry->d_name, &end, 10);
		if (*end != '\0' || pid <= 1)
			continue;
		char path[64];
		snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* gone meanwhile */
		char message[1 + sizeof(int) + SYNC_CMDLINE_MAX];
		message[0] = SYNC_KILLED_PROCESS;
		int pid_number = (int)pid;
		memcpy(message + 1, &pid_number, sizeof pid_number);
		size_t length = 0;
		ssize_t got;
		while (length < SYNC_CMDLINE_MAX &&
		       (got = read(fd, message + 1 + sizeof pid_number + length,
				   SYNC_CMDLINE_MAX - length)) > 0)
			length += (size_t)got;
		close(fd);
		if (length == 0)
			continue; /* a zombie: it had ended already */
		(void)send(sync_fd, message, 1 + sizeof pid_number + length, MSG_NOSIGNAL);
	}
	closedir(proc);
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
	if (!sandbox->options->share_network)
		bring_up_loopback(); /* with --share-net, the host's loopback */
	set_hostname(sandbox->options);
	drop_capabilities();
	refuse_terminal_injection();

	/* pid 1 receives only signals it has a handler for (pid_namespaces(7)):
	 * install one, block the signals and read them from a signalfd. */
	sigset_t handled;
	sigemptyset(&handled);
	struct sigaction action = { .sa_handler = ignore_signal };
	sigemptyset(&action.sa_mask);
	for (size_t i = 0; i < HANDLED_COUNT; i++) {
		sigaddset(&handled, handled_signals[i]);
		sigaction(handled_signals[i], &action, &caller_dispositions[i]);
	}
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
			if (reaped == command) {
				report_leftover_processes(sandbox->sync_fd);
				finish(sandbox->sync_fd, status);
			}
	}
}
