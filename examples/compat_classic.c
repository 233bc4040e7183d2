/*
 * compat_classic: a program of the classic key-management tutorial,
 * written only against the classic wrapper API, which shmkit provides
 * (<shmkit/compat/myipc_shm.h>, <shmkit/compat/keymng_shmop.h>).
 *
 *   compat_classic [KEY]
 *
 * With System V key KEY (decimal or 0x hex; default 0x4b4d0001): make a
 * key store for 4 records, write three keys, overwrite one, read them
 * back, write until the store is full, and delete the segment. It prints
 * what happens at each step, never the keys, and exits 0 if every step
 * did what the classic API promises.
 *
 * Built against shmkit, the same calls get a store that is 0600, locked,
 * O(1) to search, and zeroises replaced keys; see shmkit_compat(3) for
 * each difference from the classic code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmkit/compat/keymng_shmop.h>
#include <shmkit/compat/myipc_shm.h>

#define MAXNODE 4

static int failures;

static void
check(const char *what, int got, int want)
{
	printf("%-36s %d%s\n", what, got, got == want ? "" : "  UNEXPECTED");
	if (got != want)
		failures++;
}

static void
make_node(NodeSHMInfo *n, const char *client, int keyid)
{
	int i;

	memset(n, 0, sizeof(*n));
	n->status = 0;
	strcpy(n->clientId, client);
	strcpy(n->serverId, "server1");
	n->seckeyid = keyid;
	for (i = 0; i < (int)sizeof(n->seckey); i++)
		n->seckey[i] = (unsigned char)(keyid * 7 + i);
}

int
main(int argc, char **argv)
{
	static const char *const clients[] = {"client1", "client2", "client3",
					      "client4", "client5"};
	int key = 0x4b4d0001, shmhdl = -1, i, rc;
	NodeSHMInfo node, got = {0};

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: compat_classic [KEY]\n");
		return 2;
	}
	if (argc == 2)
		key = (int)strtoul(argv[1], NULL, 0);

	check("KeyMng_ShmInit", KeyMng_ShmInit(key, MAXNODE, &shmhdl),
	      MYIPC_OK);
	if (failures)
		return 1;
	for (i = 0; i < 3; i++) {
		make_node(&node, clients[i], i + 1);
		check("KeyMng_ShmWrite (new)",
		      KeyMng_ShmWrite(shmhdl, MAXNODE, &node), MYIPC_OK);
	}
	make_node(&node, "client2", 22);
	check("KeyMng_ShmWrite (overwrite client2)",
	      KeyMng_ShmWrite(shmhdl, MAXNODE, &node), MYIPC_OK);

	for (i = 0; i < 3; i++) {
		rc = KeyMng_ShmRead(shmhdl, (char *)clients[i],
				    (char *)"server1", MAXNODE, &got);
		check("KeyMng_ShmRead", rc, MYIPC_OK);
		make_node(&node, clients[i], i == 1 ? 22 : i + 1);
		if (rc == MYIPC_OK)
			check("  record as written (1 = yes)",
			      memcmp(&got, &node, sizeof(got)) == 0, 1);
		printf("  %s/%s: key id %d\n", got.clientId, got.serverId,
		       rc == MYIPC_OK ? got.seckeyid : -1);
	}
	check("KeyMng_ShmRead (no such client)",
	      KeyMng_ShmRead(shmhdl, (char *)"nobody", (char *)"server1",
			     MAXNODE, &got),
	      KEYMNG_SHM_NOTFOUND);

	/* The fourth record fits, the fifth does not. */
	make_node(&node, clients[3], 4);
	check("KeyMng_ShmWrite (fills the store)",
	      KeyMng_ShmWrite(shmhdl, MAXNODE, &node), MYIPC_OK);
	make_node(&node, clients[4], 5);
	check("KeyMng_ShmWrite (store full)",
	      KeyMng_ShmWrite(shmhdl, MAXNODE, &node), KEYMNG_SHM_FULL);

	memset(&node, 0, sizeof(node));
	memset(&got, 0, sizeof(got));
	check("IPC_DelShm", IPC_DelShm(shmhdl), MYIPC_OK);
	check("IPC_OpenShm (after delete)", IPC_OpenShm(key, 0, &shmhdl),
	      MYIPC_NotEXISTErr);
	printf("%s\n", failures ? "FAILED" : "all steps as expected");
	return failures != 0;
}
