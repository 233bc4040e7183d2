/*
 * shmkit/obj.h: the header at the start of every structured shmkit object
 * (channels, tables, key stores), and the probe that recognises one.
 *
 * Segments stay raw; only structured objects put this 64-byte header at
 * offset 0. Opening an object validates all of it, and so does
 * shmkit_obj_probe(), which tools use to tell a shmkit object from other
 * data and a healthy one from a corrupt one without trusting a byte.
 *
 * Layout (little-endian on every Linux shmkit supports; a byte-swapped
 * magic reads as "not an object"):
 *   magic        "SHMK" (SHMKIT_OBJ_MAGIC)
 *   kind         SHMKIT_OBJ_* below
 *   version      layout version of that kind
 *   fingerprint  sizes and alignment of the build that made it, so 32- and
 *                64-bit builds with different layouts refuse each other
 *   state        SHMKIT_OBJ_STATE_*
 *   size         total bytes of the object, <= the segment
 *   creator_pid  and its start time (clock ticks since boot, from
 *                /proc/PID/stat), which together tell a dead creator from
 *                a recycled pid
 */
#ifndef SHMKIT_OBJ_H
#define SHMKIT_OBJ_H

#include <stddef.h>
#include <stdint.h>

#include <shmkit/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHMKIT_OBJ_MAGIC 0x4b4d4853u /* "SHMK" in memory order */

/* Kinds of structured object. Values are ABI. */
typedef enum shmkit_obj_kind {
	SHMKIT_OBJ_CHAN = 1,
	SHMKIT_OBJ_TABLE = 2,
	SHMKIT_OBJ_KEYS = 3,
} shmkit_obj_kind_t;

/* Life cycle of an object, in the header's state word. */
typedef enum shmkit_obj_state {
	SHMKIT_OBJ_STATE_INIT = 1,   /* being initialised by its creator */
	SHMKIT_OBJ_STATE_READY = 2,  /* initialised, usable */
	SHMKIT_OBJ_STATE_BROKEN = 3, /* a peer found it corrupt */
} shmkit_obj_state_t;

/* The header as it lies in shared memory. Readers must go through
 * shmkit_obj_probe() (or the object's open), never trust it directly. */
typedef struct shmkit_obj_hdr {
	uint32_t magic;
	uint16_t kind;
	uint16_t version;
	uint32_t fingerprint;
	uint32_t state;
	uint64_t size;
	int32_t creator_pid;
	uint32_t reserved0;
	uint64_t creator_start;
	uint8_t reserved[24];
} shmkit_obj_hdr_t;

#define SHMKIT_OBJ_HDR_SIZE 64

/* What shmkit_obj_probe() learned, copied out of shared memory. */
typedef struct shmkit_obj_info {
	shmkit_obj_kind_t kind;
	unsigned version;
	shmkit_obj_state_t state;
	uint64_t size;
	int creator_pid;
	uint64_t creator_start;
	int creator_alive; /* 1 alive, 0 dead (or pid reused), -1 unknown */
} shmkit_obj_info_t;

/*
 * shmkit_obj_probe - is mem the start of a shmkit object of len bytes
 * (e.g. a read-only mapping of a segment and its size), and is its header
 * sound?
 *
 * Only the first SHMKIT_OBJ_HDR_SIZE bytes of mem are read (when len is at
 * least that), so a copy of the header with the segment's size as len
 * works too: tools read headers with pread(2) rather than map files a
 * peer might truncate.
 * Reads each header field once into local memory before checking it, so
 * a peer changing it meanwhile cannot make the checks disagree. Returns 0
 * and fills *info for a sound header; SHMKIT_ENOTOBJ when the magic is
 * absent or len is shorter than the header; SHMKIT_ECORRUPT for a header
 * with the magic but an unknown kind or state, or a size outside
 * [SHMKIT_OBJ_HDR_SIZE, len]; SHMKIT_EABI for another build's layout;
 * SHMKIT_EVERSION for a layout version this library does not know, or
 * no longer opens (a channel of version 1)
 * (*info is filled in the last three cases too, as far as it could be
 * read, so tools can show what they found). -EINVAL for NULL arguments.
 * Thread-safe; reads only.
 */
SHMKIT_API int shmkit_obj_probe(const void *mem, size_t len,
				shmkit_obj_info_t *info);

/* Name of a kind: "chan", "table", "keys"; "?" if unknown. */
SHMKIT_API const char *shmkit_obj_kind_name(shmkit_obj_kind_t kind);

/* Name of a state: "init", "ready", "broken"; "?" if unknown. */
SHMKIT_API const char *shmkit_obj_state_name(shmkit_obj_state_t state);

#ifdef __cplusplus
}
#endif

#endif /* SHMKIT_OBJ_H */
