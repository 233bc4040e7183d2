/*
 * Error codes: the reserved band, messages and names for both errno values
 * and shmkit's own codes.
 */
#include <errno.h>
#include <limits.h>

#include "shmkit_test.h"

static void
test_errno_values_have_libc_messages(void)
{
	SHMKIT_ASSERT_STREQ(shmkit_strerror(-ENOENT), "No such file or directory");
	SHMKIT_ASSERT_STREQ(shmkit_errname(-ENOENT), "ENOENT");
	SHMKIT_ASSERT_STREQ(shmkit_errname(-EACCES), "EACCES");
}

static void
test_own_codes_have_names_and_messages(void)
{
	SHMKIT_ASSERT_STREQ(shmkit_errname(SHMKIT_ECORRUPT), "SHMKIT_ECORRUPT");
	SHMKIT_ASSERT_STREQ(shmkit_strerror(SHMKIT_ECORRUPT),
			    "shared object is corrupt");
	SHMKIT_ASSERT_STREQ(shmkit_errname(SHMKIT_EVERSION), "SHMKIT_EVERSION");
	SHMKIT_ASSERT_STREQ(shmkit_errname(SHMKIT_ESIZE), "SHMKIT_ESIZE");
}

static void
test_own_codes_are_in_reserved_band(void)
{
#define CHECK_BAND(name, value, msg)                                           \
	SHMKIT_ASSERT(name <= SHMKIT_ERROR_BAND_FIRST &&                       \
		      name >= SHMKIT_ERROR_BAND_LAST);
	SHMKIT_ERROR_LIST(CHECK_BAND)
#undef CHECK_BAND
}

static void
test_success_and_unknown_values(void)
{
	SHMKIT_ASSERT_STREQ(shmkit_strerror(0), "success");
	SHMKIT_ASSERT_STREQ(shmkit_errname(5), "OK");
	SHMKIT_ASSERT_STREQ(shmkit_strerror(-4999), "unknown error");
	SHMKIT_ASSERT_STREQ(shmkit_errname(INT_MIN), "UNKNOWN");
	SHMKIT_ASSERT_STREQ(shmkit_strerror(-3999), "unknown error");
}

SHMKIT_TESTS = {
	{ "errno_values_have_libc_messages", test_errno_values_have_libc_messages },
	{ "own_codes_have_names_and_messages", test_own_codes_have_names_and_messages },
	{ "own_codes_are_in_reserved_band", test_own_codes_are_in_reserved_band },
	{ "success_and_unknown_values", test_success_and_unknown_values },
	{ NULL, NULL },
};
