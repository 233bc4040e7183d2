/*
 * shmkit_test.h: the small test framework every tests/<module>_test.c uses.
 *
 * A test file defines its cases with SHMKIT_TESTS and, optionally, helper
 * entry points with SHMKIT_HELPERS (for cases that exec a second process).
 * tests/test_main.c is the runner:
 *   <module>_test --list           one case name per line (CTest discovery)
 *   <module>_test --run NAME       run one case in a forked child
 *   <module>_test                  run all cases, print "N passed, N failed"
 *   <module>_test --helper NAME .. run a helper; its return is the exit code
 * Each case runs in its own process under alarm(), so a crash or a hang
 * fails that case alone. After the case the runner removes everything
 * named with the case's prefix (see shmkit_test_name), even after a crash.
 *
 * Case names are identifiers (lower case, digits, '_'); CTest registers
 * each as <module>.<name>. Cases whose name contains "threads" also run
 * under ThreadSanitizer in CI.
 */
#ifndef SHMKIT_TEST_H
#define SHMKIT_TEST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <shmkit/error.h>

struct shmkit_test_case {
	const char *name;
	void (*fn)(void);
};

struct shmkit_test_helper {
	const char *name;
	int (*fn)(int argc, char **argv); /* argv[0] is the helper name */
};

#define SHMKIT_TESTS const struct shmkit_test_case shmkit_tests[]
#define SHMKIT_HELPERS const struct shmkit_test_helper shmkit_test_helpers[]

extern const struct shmkit_test_case shmkit_tests[];
extern const struct shmkit_test_helper shmkit_test_helpers[];

/* Exit code that tells CTest a case was skipped. */
#define SHMKIT_TEST_SKIP_CODE 77

void shmkit_test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
void shmkit_test_skip(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#define SHMKIT_SKIP(...) shmkit_test_skip(__VA_ARGS__)
#define SHMKIT_FAIL(...) shmkit_test_fail(__FILE__, __LINE__, __VA_ARGS__)

#define SHMKIT_ASSERT(cond)                                                    \
	do {                                                                   \
		if (!(cond))                                                   \
			SHMKIT_FAIL("assertion failed: %s", #cond);            \
	} while (0)

/* Integers (compared as long long); prints both and, if negative, the
 * error message of each. */
#define SHMKIT_ASSERT_EQ(a, b)                                                 \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		if (a_ != b_)                                                  \
			SHMKIT_FAIL("%s == %s: %lld (%s) != %lld (%s)", #a,    \
				    #b, a_, shmkit_test_errstr(a_), b_,         \
				    shmkit_test_errstr(b_));                    \
	} while (0)

#define SHMKIT_ASSERT_NE(a, b)                                                 \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		if (a_ == b_)                                                  \
			SHMKIT_FAIL("%s != %s: both %lld", #a, #b, a_);        \
	} while (0)

/* expr returns >= 0. */
#define SHMKIT_ASSERT_OK(expr)                                                 \
	do {                                                                   \
		long long r_ = (long long)(expr);                              \
		if (r_ < 0)                                                    \
			SHMKIT_FAIL("%s: %lld %s (%s)", #expr, r_,             \
				    shmkit_errname((int)r_),                    \
				    shmkit_strerror((int)r_));                  \
	} while (0)

/* expr returns exactly the (negative) error err. */
#define SHMKIT_ASSERT_ERR(expr, err) SHMKIT_ASSERT_EQ((expr), (err))

#define SHMKIT_ASSERT_STREQ(a, b)                                              \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)           \
			SHMKIT_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b,      \
				    a_ ? a_ : "(null)", b_ ? b_ : "(null)");    \
	} while (0)

#define SHMKIT_ASSERT_MEMEQ(a, b, n)                                           \
	do {                                                                   \
		if (memcmp((a), (b), (n)) != 0)                                \
			SHMKIT_FAIL("%s and %s differ in the first %zu bytes", \
				    #a, #b, (size_t)(n));                       \
	} while (0)

/* "ENOENT (No such file or directory)" for negative values, "" otherwise. */
const char *shmkit_test_errstr(long long v);

/*
 * Unique names. Every object a case creates must be named through these,
 * so the runner can remove leftovers after the case, even after a crash:
 *   shmkit_test_name("posix")  "posix:/sk-test-<casepid>-<n>"
 *   shmkit_test_name("sysv")   "sysv:0x53XXXXXX" (key from casepid and n)
 *   shmkit_test_name("file")   "file:<tmpdir>/f<n>"
 *   shmkit_test_name("memfd")  "memfd:sk-test-<n>"
 * Returns a static buffer that the next call overwrites (copy it).
 * <casepid> is the pid of the case process, inherited by forked children.
 */
const char *shmkit_test_name(const char *backend);

/* POSIX object prefix of this case: "sk-test-<casepid>-" (no slash). */
const char *shmkit_test_posix_prefix(void);

/* The System V key prefix of this case: keys are (prefix << 8) | n. */
unsigned shmkit_test_sysv_prefix(void);

/* A directory private to this case, removed with its contents after it. */
const char *shmkit_test_tmpdir(void);

/* Path of the running test executable (for exec'ing helpers). */
const char *shmkit_test_self(void);

/*
 * Fork: run fn(arg) in a child, which exits 0 when fn returns (a failed
 * assertion in the child exits non-zero). Returns the child's pid.
 */
pid_t shmkit_test_fork(void (*fn)(void *arg), void *arg);

/*
 * Start `<self> --helper NAME args...` (NULL-terminated list) with fork +
 * exec; returns the pid. The helper inherits the case's naming prefix.
 */
pid_t shmkit_test_spawn(const char *helper, ...);

/* Start any program (argv NULL-terminated, PATH searched); returns pid. */
pid_t shmkit_test_spawn_argv(char *const argv[]);

/* Wait for pid; returns the raw wait status. Fails the case on timeout
 * (the case's own alarm covers it) or waitpid error. */
int shmkit_test_wait(pid_t pid);

/* Wait for pid and fail the case unless it exited with status 0. */
#define SHMKIT_ASSERT_CHILD_OK(pid)                                            \
	shmkit_test_assert_exit(__FILE__, __LINE__, (pid), 0)
/* Wait for pid and fail unless it exited with the given status. */
#define SHMKIT_ASSERT_CHILD_EXIT(pid, code)                                    \
	shmkit_test_assert_exit(__FILE__, __LINE__, (pid), (code))
/* Wait for pid and fail unless it died of signal sig. */
#define SHMKIT_ASSERT_CHILD_SIGNAL(pid, sig)                                   \
	shmkit_test_assert_signal(__FILE__, __LINE__, (pid), (sig))

void shmkit_test_assert_exit(const char *file, int line, pid_t pid, int code);
void shmkit_test_assert_signal(const char *file, int line, pid_t pid,
			       int sig);

#endif /* SHMKIT_TEST_H */
