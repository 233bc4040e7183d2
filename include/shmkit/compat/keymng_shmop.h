/*
 * shmkit/compat/keymng_shmop.h: the classic KeyMng_Shm* key store API,
 * implemented by libshmkit on a shmkit key store (<shmkit/keys.h>), so
 * key-management programs written against it build unchanged (C or C++).
 *
 * The store lives in a System V segment whose shmid is the handle, as
 * before, but it holds a shmkit key store, not an array of NodeSHMInfo:
 * lookups are O(1) and locked, replaced and deleted keys are zeroised,
 * the pages are kept out of swap and core dumps where the system allows,
 * and the segment is 0600. Use these functions (or <shmkit/keys.h>) to
 * reach the records; IPC_MapShm() on the handle shows shmkit's layout.
 * Every difference from the classic code is listed in shmkit_compat(3).
 *
 * Return values: MYIPC_OK (0), the MYIPC_* codes of
 * <shmkit/compat/myipc_shm.h>, and KEYMNG_SHM_FULL / KEYMNG_SHM_NOTFOUND
 * (both 102, the classic value). Every function is thread-safe.
 */
#ifndef SHMKIT_COMPAT_KEYMNG_SHMOP_H
#define SHMKIT_COMPAT_KEYMNG_SHMOP_H

#include <shmkit/common.h>
#include <shmkit/compat/myipc_shm.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KEYMNG_SHM_FULL	    102 /* KeyMng_ShmWrite: no room for a new pair */
#define KEYMNG_SHM_NOTFOUND 102 /* KeyMng_ShmRead: no record for the pair */

/*
 * One record. clientId and serverId are NUL-terminated strings of 1 to 11
 * bytes (bytes after the NUL are ignored); status is 0 (valid) or 1
 * (revoked); all 128 bytes of seckey are the key.
 */
typedef struct _NodeSHMInfo {
	int status;
	char clientId[12];
	char serverId[12];
	int seckeyid;
	unsigned char seckey[128];
} NodeSHMInfo;

/*
 * KeyMng_ShmInit - open the key store at System V key key, or create one
 * for maxnodenum records if there is none; *shmhdl receives its shmid.
 * An existing store must hold at least maxnodenum records
 * (MYIPC_ParamErr); a segment there that is not a key store gives
 * MYIPC_CreateErr.
 */
SHMKIT_API int KeyMng_ShmInit(int key, int maxnodenum, int *shmhdl);

/*
 * KeyMng_ShmWrite - store *pNodeInfo under its (clientId, serverId),
 * replacing the record of that pair if there is one. KEYMNG_SHM_FULL
 * when the pair is new and the store is full. maxnodenum is checked to be
 * positive; the capacity is the one KeyMng_ShmInit() gave the store.
 */
SHMKIT_API int KeyMng_ShmWrite(int shmhdl, int maxnodenum,
			       NodeSHMInfo *pNodeInfo);

/*
 * KeyMng_ShmRead - copy the record of (clientId, serverId) into
 * *pNodeInfo; KEYMNG_SHM_NOTFOUND (pNodeInfo untouched) if there is none.
 */
SHMKIT_API int KeyMng_ShmRead(int shmhdl, char *clientId, char *serverId,
			      int maxnodenum, NodeSHMInfo *pNodeInfo);

#ifdef __cplusplus
}
#endif

#endif /* SHMKIT_COMPAT_KEYMNG_SHMOP_H */
