/*
 * shmkit/compat/myipc_shm.h: the classic IPC_*Shm wrapper API over
 * System V shared memory, implemented by libshmkit, so programs written
 * against it build unchanged (C or C++) and get shmkit's checks.
 *
 * A handle (shmhdl) is a System V shmid, as before: `ipcs -m` shows the
 * segment and ipcrm(1) or `shmkit rm sysv-id:ID` removes it. Where this
 * differs from the classic code (segments are 0600, not 0666; the error
 * codes of the calls that returned -1; key 0; the seed file's key) is
 * listed in shmkit_compat(3). Every function is thread-safe.
 */
#ifndef SHMKIT_COMPAT_MYIPC_SHM_H
#define SHMKIT_COMPAT_MYIPC_SHM_H

#include <shmkit/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes. */
#define MYIPC_OK	  0   /* success */
#define MYIPC_ParamErr	  301 /* a bad argument, or a size that does not fit */
#define MYIPC_NotEXISTErr 302 /* no segment with that key, file or handle */
#define MYIPC_CreateErr	  303 /* the system refused (permissions, limits) */

/*
 * IPC_CreatShm - open the segment with System V key key, or create it
 * with shmsize bytes and mode 0600 if there is none. *shmhdl receives
 * its shmid. An existing segment smaller than shmsize gives
 * MYIPC_ParamErr, as shmget(2) does. key 0 (IPC_PRIVATE) gives
 * MYIPC_ParamErr.
 */
SHMKIT_API int IPC_CreatShm(int key, int shmsize, int *shmhdl);

/*
 * IPC_OpenShm - the shmid of the existing segment with key key:
 * MYIPC_NotEXISTErr if there is none. shmsize 0 accepts any size; a
 * larger shmsize is the least size the caller needs (MYIPC_ParamErr if
 * the segment is smaller).
 */
SHMKIT_API int IPC_OpenShm(int key, int shmsize, int *shmhdl);

/*
 * IPC_CreatShmBySeedName - IPC_CreatShm() with the key ftok(shmname,
 * 'c'); the file must exist (MYIPC_NotEXISTErr otherwise).
 */
SHMKIT_API int IPC_CreatShmBySeedName(char *shmname, int shmsize, int *shmhdl);

/*
 * IPC_MapShm - attach the segment read-write; *mapaddr receives the
 * address, valid until IPC_UnMapShm(). Each call makes a new mapping.
 */
SHMKIT_API int IPC_MapShm(int shmhdl, void **mapaddr);

/* IPC_UnMapShm - detach a mapping made by IPC_MapShm() (or shmat(2)). */
SHMKIT_API int IPC_UnMapShm(void *unmapaddr);

/*
 * IPC_DelShm - remove the segment: it loses its key at once and is
 * freed when the last process detaches. Key stores this process opened
 * with KeyMng_ShmInit() on it are closed.
 */
SHMKIT_API int IPC_DelShm(int shmhdl);

#ifdef __cplusplus
}
#endif

#endif /* SHMKIT_COMPAT_MYIPC_SHM_H */
