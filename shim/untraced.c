/*
 * untraced.c - tells, before an exec, whether the program about to run can
 * load the shim at all.
 *
 * LD_PRELOAD is honoured by the dynamic linker only, so a statically linked
 * program (no PT_INTERP: ldconfig, Go binaries, static-pie), a 32-bit one
 * (ELFCLASS32: its ld.so skips our 64-bit library) or one of another machine
 * (binfmt_misc emulation) runs without it: its writes are still refused by
 * the read-only view, but none is reported.  The exec wrappers ask here and
 * send EVENT_UNTRACED so that the report says so instead of staying silent.
 *
 * Sources: elf(5) (the ELF header, program headers, PT_INTERP, PT_DYNAMIC,
 * DT_SONAME), execve(2) ("#!" interpreters, up to 4 levels), exec(3)
 * (execvp's PATH search, default path).  The dynamic linker run as a program
 * (ldd runs `ld.so --verify`) has no PT_INTERP but honours LD_PRELOAD; it is
 * told apart from a static-pie by its DT_SONAME.
 *
 * Runs in exec wrappers: async-signal-safe (open, pread, readlink, close),
 * no malloc, small stack buffers; errno is kept.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#if defined(__x86_64__)
#define SHIM_ELF_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define SHIM_ELF_MACHINE EM_AARCH64
#elif defined(__riscv)
#define SHIM_ELF_MACHINE EM_RISCV
#elif defined(__powerpc64__)
#define SHIM_ELF_MACHINE EM_PPC64
#elif defined(__s390x__)
#define SHIM_ELF_MACHINE EM_S390
#endif

/* Longest "#!" line looked at, and longest PATH candidate built. */
#define SHEBANG_BYTES 128
#define CANDIDATE_BYTES 512
/* The kernel follows at most 4 levels of interpreters (BINPRM_MAX_RECURSION). */
#define INTERPRETER_LEVELS 4

static bool read_exactly(int fd, void *buffer, size_t size, off_t offset)
{
	ssize_t got;
	do
		got = pread(fd, buffer, size, offset);
	while (got < 0 && errno == EINTR);
	return got == (ssize_t)size;
}

/* True when the dynamic section at [offset, offset + size) has a DT_SONAME:
 * a shared object (the dynamic linker) rather than a static-pie. */
static bool has_soname(int fd, uint64_t offset, uint64_t size)
{
	Elf64_Dyn entries[16];
	uint64_t total = size / sizeof entries[0];
	for (uint64_t done = 0; done < total && done < 1024;) {
		size_t chunk = total - done < 16 ? (size_t)(total - done) : 16;
		if (!read_exactly(fd, entries, chunk * sizeof entries[0],
				  (off_t)(offset + done * sizeof entries[0])))
			return false;
		for (size_t i = 0; i < chunk; i++) {
			if (entries[i].d_tag == DT_NULL)
				return false;
			if (entries[i].d_tag == DT_SONAME)
				return true;
		}
		done += chunk;
	}
	return false;
}

/* The reason an ELF file cannot load the shim, or NULL.  Not an ELF file
 * (the exec will fail or binfmt_misc takes it): NULL. */
static const char *elf_reason(int fd)
{
	Elf64_Ehdr header;
	if (!read_exactly(fd, &header, sizeof header, 0) ||
	    memcmp(header.e_ident, ELFMAG, SELFMAG) != 0)
		return NULL;
	if (header.e_ident[EI_CLASS] == ELFCLASS32)
		return "32-bit";
	if (header.e_ident[EI_CLASS] != ELFCLASS64)
		return NULL;
#ifdef SHIM_ELF_MACHINE
	if (header.e_machine != SHIM_ELF_MACHINE)
		return "machine";
#endif
	if (header.e_phentsize != sizeof(Elf64_Phdr))
		return NULL;
	bool dynamic = false;
	uint64_t dynamic_offset = 0, dynamic_size = 0;
	Elf64_Phdr headers[8];
	for (unsigned done = 0; done < header.e_phnum;) {
		unsigned chunk = header.e_phnum - done < 8 ? header.e_phnum - done : 8;
		if (!read_exactly(fd, headers, chunk * sizeof headers[0],
				  (off_t)(header.e_phoff + done * sizeof headers[0])))
			return NULL;
		for (unsigned i = 0; i < chunk; i++) {
			if (headers[i].p_type == PT_INTERP)
				return NULL;
			if (headers[i].p_type == PT_DYNAMIC) {
				dynamic = true;
				dynamic_offset = headers[i].p_offset;
				dynamic_size = headers[i].p_filesz;
			}
		}
		done += chunk;
	}
	if (dynamic && header.e_type == ET_DYN && has_soname(fd, dynamic_offset, dynamic_size))
		return NULL; /* ld.so run as a program: it loads LD_PRELOAD */
	return "static";
}

/* Opens `file` as execvp(3) would find it: as given when it holds a '/',
 * else in each directory of $PATH (default "/bin:/usr/bin") the first
 * executable regular file.  The name opened goes to `candidate`. */
static int open_on_path(const char *file, char *candidate, size_t size)
{
	size_t file_length = strlen(file);
	const char *path = getenv("PATH");
	if (path == NULL)
		path = "/bin:/usr/bin";
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		size_t length = (size_t)(end - p);
		if (length == 0) { /* an empty entry is the current directory */
			p = ".";
			length = 1;
		}
		if (length + 1 + file_length + 1 <= size) {
			memcpy(candidate, p, length);
			candidate[length] = '/';
			memcpy(candidate + length + 1, file, file_length + 1);
			struct stat status;
			if (access(candidate, X_OK) == 0 && stat(candidate, &status) == 0 &&
			    S_ISREG(status.st_mode)) {
				int fd = real_openat(AT_FDCWD, candidate, O_RDONLY | O_CLOEXEC);
				if (fd >= 0)
					return fd;
			}
		}
		if (*end == '\0')
			return -1;
		p = end;
	}
}

/* Writes the kernel's name of fd into out, or leaves out as it is. */
static void name_of(int fd, char *out, size_t size)
{
	char name[CANDIDATE_BYTES];
	ssize_t length = shim_fd_path(fd, name, sizeof name);
	if (length > 0 && (size_t)length < sizeof name - 1 && (size_t)length < size && name[0] == '/')
		memcpy(out, name, (size_t)length + 1);
}

/* The interpreter of a "#!" script open at fd, copied into out; false when
 * the file is no script. */
static bool interpreter_of(int fd, char *out, size_t size)
{
	char line[SHEBANG_BYTES];
	ssize_t got;
	do
		got = pread(fd, line, sizeof line - 1, 0);
	while (got < 0 && errno == EINTR);
	if (got < 3 || line[0] != '#' || line[1] != '!')
		return false;
	line[got] = '\0';
	char *start = line + 2;
	while (*start == ' ' || *start == '\t')
		start++;
	size_t length = strcspn(start, " \t\n");
	if (length == 0 || length >= size)
		return false;
	memcpy(out, start, length);
	out[length] = '\0';
	return true;
}

const char *shim_untraced_reason(int dirfd, const char *path, bool search, int flags,
				 char *resolved, size_t size)
{
	if (!shim_active || SHIM_OPAQUE(path) == NULL || SHIM_REAL(openat) == NULL || size == 0)
		return NULL;
	int saved_errno = errno;
	const char *reason = NULL;
	char candidate[CANDIDATE_BYTES];
	int fd;
	bool own_fd = true;
	if (path[0] == '\0' && (flags & AT_EMPTY_PATH)) {
		fd = dirfd; /* fexecve, execveat(fd, "", AT_EMPTY_PATH) */
		own_fd = false;
	} else if (search && strchr(path, '/') == NULL) {
		fd = path[0] != '\0' ? open_on_path(path, candidate, sizeof candidate) : -1;
	} else {
		fd = real_openat(dirfd, path,
				 O_RDONLY | O_CLOEXEC |
					 ((flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0));
	}
	resolved[0] = '\0';
	for (int level = 0; fd >= 0 && level <= INTERPRETER_LEVELS; level++) {
		if (level == 0) {
			strncpy(resolved, path, size - 1);
			resolved[size - 1] = '\0';
			name_of(fd, resolved, size);
		}
		char interpreter[SHEBANG_BYTES];
		bool script = interpreter_of(fd, interpreter, sizeof interpreter);
		if (!script)
			reason = elf_reason(fd);
		if (own_fd)
			close(fd);
		fd = -1;
		if (!script)
			break;
		fd = real_openat(AT_FDCWD, interpreter, O_RDONLY | O_CLOEXEC);
		own_fd = true;
	}
	if (fd >= 0 && own_fd)
		close(fd);
	errno = saved_errno;
	return reason;
}
