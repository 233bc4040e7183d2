/*
 * Internal side of the classic wrapper API (the compat headers): how a
 * shmkit return value becomes a MYIPC_* code, and the hook by which
 * IPC_DelShm() drops the key stores KeyMng_Shm* keep open.
 */
#ifndef SHMKIT_COMPAT_IMPL_H
#define SHMKIT_COMPAT_IMPL_H

#include <shmkit/compat/keymng_shmop.h>
#include <shmkit/compat/myipc_shm.h>

/*
 * The MYIPC_* code of a shmkit return value: MYIPC_OK for >= 0,
 * MYIPC_ParamErr for arguments the system or shmkit refused (-EINVAL,
 * SHMKIT_ESIZE, -ENAMETOOLONG), MYIPC_NotEXISTErr for -ENOENT and
 * -EIDRM, MYIPC_CreateErr for anything else (permissions, limits, not a
 * key store).
 */
int shmkit__myipc_code(int rc);

/* Close the key stores this process holds open on shmid (at once, or as
 * soon as the calls using them return). */
void shmkit__compat_forget(int shmid);

/* "sysv-id:ID" into buf (at least SHMKIT__COMPAT_ADDRLEN bytes). */
#define SHMKIT__COMPAT_ADDRLEN 32
void shmkit__compat_id_addr(char *buf, int shmid);

#endif /* SHMKIT_COMPAT_IMPL_H */
