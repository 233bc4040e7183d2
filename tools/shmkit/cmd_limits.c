/*
 * shmkit limits: the kernel's System V limits (as ipcs -l shows them) and
 * how full /dev/shm, where POSIX objects live, is.
 */
#include "cli.h"
#include "fmt.h"
#include "objects.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/statvfs.h>
#include <unistd.h>

static void
usage(void)
{
	printf("Usage: shmkit limits [--bytes]\n\n"
	       "Show the kernel's shared memory limits (as ipcs -l) and the\n"
	       "use of /dev/shm, where POSIX objects live.\n\n"
	       "Options:\n"
	       "  -b, --bytes   sizes in bytes\n"
	       "  -h, --help    this help\n");
}

static int
read_ull(const char *path, unsigned long long *v)
{
	FILE *f = fopen(path, "re");
	int ok;

	if (f == NULL)
		return -errno;
	ok = fscanf(f, "%llu", v) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

int
cmd_limits(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bytes", no_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long shmmax = 0, shmall = 0, shmmni = 0, used = 0;
	unsigned long long page = (unsigned long long)sysconf(_SC_PAGESIZE);
	struct obj *objs = NULL;
	size_t count = 0, i, nsysv = 0;
	struct statvfs vfs;
	char b1[32], b2[32], b3[32];
	int c, bytes = 0;

	while ((c = getopt_long(argc, argv, ":bh", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bytes = 1;
			break;
		case 'h':
			usage();
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("limits", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("limits", "unexpected argument: '%s'",
				       argv[optind]);
	read_ull("/proc/sys/kernel/shmmax", &shmmax);
	read_ull("/proc/sys/kernel/shmall", &shmall);
	read_ull("/proc/sys/kernel/shmmni", &shmmni);
	if (objects_list(OBJ_WANT_SYSV, &objs, &count) == 0) {
		for (i = 0; i < count; i++)
			used += objs[i].size;
		nsysv = count;
		free(objs);
	}
	printf("System V shared memory\n");
	printf("  max number of segments       %llu (in use: %zu)\n", shmmni,
	       nsysv);
	printf("  max segment size             %s\n",
	       fmt_size(shmmax, bytes, b1, sizeof(b1)));
	printf("  max total shared memory      %s (in use: %s)\n",
	       shmall > ~0ull / page ? "unlimited" :
				       fmt_size(shmall * page, bytes, b2,
						sizeof(b2)),
	       fmt_size(used, bytes, b3, sizeof(b3)));
	printf("  min segment size             1B\n");
	if (statvfs("/dev/shm", &vfs) == 0) {
		unsigned long long total = (unsigned long long)vfs.f_blocks *
					   vfs.f_frsize;
		unsigned long long avail = (unsigned long long)vfs.f_bavail *
					   vfs.f_frsize;

		printf("POSIX shared memory (/dev/shm)\n");
		printf("  size                         %s\n",
		       fmt_size(total, bytes, b1, sizeof(b1)));
		printf("  used                         %s\n",
		       fmt_size(total - avail, bytes, b2, sizeof(b2)));
		printf("  available                    %s\n",
		       fmt_size(avail, bytes, b3, sizeof(b3)));
	} else {
		printf("POSIX shared memory: /dev/shm is not mounted\n");
	}
	return CLI_EXIT_OK;
}
