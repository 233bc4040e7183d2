/*
 * The test runner behind shmkit_test.h: lists cases for CTest, runs each
 * case in a forked child under alarm(), and afterwards removes whatever
 * the case left named with its prefix, failing the case if there was
 * anything, so a leak is reported and never left on the machine.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shmkit_test.h"

/* A file that defines no helpers gets this empty table. */
__attribute__((weak)) SHMKIT_HELPERS = {
	{ NULL, NULL },
};

static pid_t case_pid;          /* naming prefix, inherited by children */
static unsigned *name_counter;  /* shared with forked children */
static unsigned local_counter = 200; /* exec'd helpers: a separate range */
static char tmpdir[256];
static char self_path[4096];
static char name_buf[4096 + 64];
static char prefix_buf[64];

void
shmkit_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(1);
}

void
shmkit_test_skip(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "SKIP: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(SHMKIT_TEST_SKIP_CODE);
}

const char *
shmkit_test_errstr(long long v)
{
	/* Two buffers: SHMKIT_ASSERT_EQ prints both of its values. */
	static char buf[2][128];
	static int k;

	if (v >= 0 || v < -100000)
		return "";
	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), "%s: %s", shmkit_errname((int)v),
		 shmkit_strerror((int)v));
	return buf[k];
}

static void
load_case_env(void)
{
	const char *pid = getenv("SHMKIT_TEST_CASEPID");
	const char *dir = getenv("SHMKIT_TEST_TMPDIR");

	if (pid != NULL)
		case_pid = (pid_t)atoi(pid);
	if (dir != NULL)
		snprintf(tmpdir, sizeof(tmpdir), "%s", dir);
}

static unsigned
next_number(void)
{
	if (name_counter != NULL)
		return __atomic_fetch_add(name_counter, 1, __ATOMIC_RELAXED);
	return local_counter++;
}

unsigned
shmkit_test_sysv_prefix(void)
{
	return 0x530000u | ((unsigned)case_pid & 0xffffu);
}

const char *
shmkit_test_posix_prefix(void)
{
	snprintf(prefix_buf, sizeof(prefix_buf), "sk-test-%d-", (int)case_pid);
	return prefix_buf;
}

const char *
shmkit_test_name(const char *backend)
{
	unsigned n = next_number();

	if (strcmp(backend, "sysv") == 0) {
		/* Keys are (prefix << 8) | n: 255 per case, never 0. */
		snprintf(name_buf, sizeof(name_buf), "sysv:0x%08x",
			 (shmkit_test_sysv_prefix() << 8) | ((n % 255) + 1));
	} else if (strcmp(backend, "posix") == 0) {
		snprintf(name_buf, sizeof(name_buf), "posix:/%s%u",
			 shmkit_test_posix_prefix(), n);
	} else if (strcmp(backend, "file") == 0) {
		snprintf(name_buf, sizeof(name_buf), "file:%s/f%u",
			 shmkit_test_tmpdir(), n);
	} else if (strcmp(backend, "memfd") == 0) {
		snprintf(name_buf, sizeof(name_buf), "memfd:sk-test-%u", n);
	} else {
		SHMKIT_FAIL("shmkit_test_name: unknown backend %s", backend);
	}
	return name_buf;
}

const char *
shmkit_test_tmpdir(void)
{
	return tmpdir;
}

const char *
shmkit_test_self(void)
{
	return self_path;
}

pid_t
shmkit_test_fork(void (*fn)(void *arg), void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		SHMKIT_FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	return pid;
}

pid_t
shmkit_test_spawn_argv(char *const argv[])
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		SHMKIT_FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

pid_t
shmkit_test_spawn(const char *helper, ...)
{
	char *argv[64];
	va_list ap;
	int argc = 0;
	char *a;

	argv[argc++] = self_path;
	argv[argc++] = (char *)"--helper";
	argv[argc++] = (char *)helper;
	va_start(ap, helper);
	while ((a = va_arg(ap, char *)) != NULL && argc < 63)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return shmkit_test_spawn_argv(argv);
}

int
shmkit_test_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			SHMKIT_FAIL("waitpid(%d): %s", (int)pid,
				    strerror(errno));
	}
	return status;
}

void
shmkit_test_assert_exit(const char *file, int line, pid_t pid, int code)
{
	int st = shmkit_test_wait(pid);

	if (WIFSIGNALED(st))
		shmkit_test_fail(file, line, "child %d died of signal %d (%s)",
				 (int)pid, WTERMSIG(st), strsignal(WTERMSIG(st)));
	if (WEXITSTATUS(st) != code)
		shmkit_test_fail(file, line, "child %d exited %d, expected %d",
				 (int)pid, WEXITSTATUS(st), code);
}

void
shmkit_test_assert_signal(const char *file, int line, pid_t pid, int sig)
{
	int st = shmkit_test_wait(pid);

	if (!WIFSIGNALED(st))
		shmkit_test_fail(file, line,
				 "child %d exited %d, expected signal %d",
				 (int)pid, WEXITSTATUS(st), sig);
	if (WTERMSIG(st) != sig)
		shmkit_test_fail(file, line,
				 "child %d died of signal %d, expected %d",
				 (int)pid, WTERMSIG(st), sig);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

/*
 * Remove what case pid left: POSIX objects named with its prefix and System
 * V segments whose key carries it. Returns how many there were.
 */
static int
sweep_leftovers(pid_t pid)
{
	char prefix[64], line[512];
	unsigned kprefix = 0x530000u | ((unsigned)pid & 0xffffu);
	struct dirent *de;
	int found = 0;
	DIR *d;
	FILE *f;

	snprintf(prefix, sizeof(prefix), "sk-test-%d-", (int)pid);
	d = opendir("/dev/shm");
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		fprintf(stderr, "LEFTOVER posix:/%s\n", de->d_name);
		found++;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0)
			fprintf(stderr, "  cannot remove: %s\n", strerror(errno));
	}
	if (d != NULL)
		closedir(d);

	f = fopen("/proc/sysvipc/shm", "r");
	if (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			int key, id;

			if (sscanf(line, "%d %d", &key, &id) != 2)
				continue;
			if (((unsigned)key >> 8) != kprefix)
				continue;
			fprintf(stderr, "LEFTOVER sysv:0x%08x (id %d)\n",
				(unsigned)key, id);
			found++;
			if (shmctl(id, IPC_RMID, NULL) < 0)
				fprintf(stderr, "  cannot remove: %s\n",
					strerror(errno));
		}
	}
	if (f != NULL)
		fclose(f);
	return found;
}

static const struct shmkit_test_case *
find_case(const char *name)
{
	const struct shmkit_test_case *c;

	for (c = shmkit_tests; c->name != NULL; c++) {
		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

/* Runs one case in a child; returns 0 pass, 77 skip, 1 fail. */
static int
run_case(const struct shmkit_test_case *c)
{
	const char *env_timeout = getenv("SHMKIT_TEST_TIMEOUT");
	unsigned timeout = env_timeout ? (unsigned)atoi(env_timeout) : 60;
	const char *base = getenv("TMPDIR");
	int status, leftovers, result;
	pid_t pid;

	name_counter = mmap(NULL, sizeof(*name_counter),
			    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			    -1, 0);
	if (name_counter == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	*name_counter = 0;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		char num[32];

		/* Own process group: the runner kills stragglers after. */
		setpgid(0, 0);
		case_pid = getpid();
		snprintf(tmpdir, sizeof(tmpdir), "%s/sk-test-%d",
			 base ? base : "/tmp", (int)case_pid);
		if (mkdir(tmpdir, 0700) < 0)
			SHMKIT_FAIL("mkdir %s: %s", tmpdir, strerror(errno));
		snprintf(num, sizeof(num), "%d", (int)case_pid);
		setenv("SHMKIT_TEST_CASEPID", num, 1);
		setenv("SHMKIT_TEST_TMPDIR", tmpdir, 1);
		alarm(timeout);
		c->fn();
		fflush(NULL);
		_exit(0);
	}
	setpgid(pid, pid); /* also here, to win the race with the child */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	kill(-pid, SIGKILL);
	/* Reap any of our own children the case left (not in its group). */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	munmap(name_counter, sizeof(*name_counter));
	name_counter = NULL;

	snprintf(tmpdir, sizeof(tmpdir), "%s/sk-test-%d", base ? base : "/tmp",
		 (int)pid);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	leftovers = sweep_leftovers(pid);

	if (WIFSIGNALED(status)) {
		fprintf(stderr, "FAIL %s: killed by signal %d (%s)%s\n",
			c->name, WTERMSIG(status), strsignal(WTERMSIG(status)),
			WTERMSIG(status) == SIGALRM ? ": timed out" : "");
		return 1;
	}
	result = WEXITSTATUS(status);
	if (result == 0 && leftovers > 0) {
		fprintf(stderr, "FAIL %s: left %d object(s) behind\n", c->name,
			leftovers);
		return 1;
	}
	if (result == SHMKIT_TEST_SKIP_CODE)
		return SHMKIT_TEST_SKIP_CODE;
	return result == 0 ? 0 : 1;
}

static int
run_helper(int argc, char **argv)
{
	const struct shmkit_test_helper *h;

	load_case_env();
	for (h = shmkit_test_helpers; h->name != NULL; h++) {
		if (strcmp(h->name, argv[0]) == 0)
			return h->fn(argc, argv);
	}
	fprintf(stderr, "no helper named %s\n", argv[0]);
	return 127;
}

int
main(int argc, char **argv)
{
	const struct shmkit_test_case *c;
	int passed = 0, failed = 0, skipped = 0;
	ssize_t n;

	n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	if (n < 0) {
		perror("readlink /proc/self/exe");
		return 1;
	}
	self_path[n] = '\0';

	if (argc >= 2 && strcmp(argv[1], "--list") == 0) {
		for (c = shmkit_tests; c->name != NULL; c++)
			printf("%s\n", c->name);
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "--helper") == 0)
		return run_helper(argc - 2, argv + 2);
	if (argc >= 3 && strcmp(argv[1], "--run") == 0) {
		c = find_case(argv[2]);
		if (c == NULL) {
			fprintf(stderr, "no case named %s\n", argv[2]);
			return 2;
		}
		return run_case(c);
	}
	if (argc != 1) {
		fprintf(stderr,
			"usage: %s [--list | --run CASE | --helper NAME ...]\n",
			argv[0]);
		return 2;
	}
	for (c = shmkit_tests; c->name != NULL; c++) {
		int r = run_case(c);

		printf("%-4s %s\n", r == 0 ? "ok" : r == 77 ? "skip" : "FAIL",
		       c->name);
		if (r == 0)
			passed++;
		else if (r == SHMKIT_TEST_SKIP_CODE)
			skipped++;
		else
			failed++;
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
