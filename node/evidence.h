/*
 * The evidence file store (docs/DATA.md "The registry"): photos, certificates, attendance records
 * and documents a volunteer collects for an assessment, kept outside SQLite and named by their
 * SHA-256, under <home>/evidence/<first 2 hex>/<64 hex>. The replicated `evidence` row carries
 * the hash and the size; the file itself is optional to hold and travels only when asked for
 * (`cdht evidence export` / `import`, a folder of files named by their hash), so a replica may
 * hold a row whose file is elsewhere. Content addressing makes adding the same file
 * twice a no-op and lets anyone check a file against its row.
 */
#ifndef CDHT_EVIDENCE_H
#define CDHT_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"

/* Largest evidence file accepted: a phone photo or a scanned certificate is 1-5 MiB; 20 MiB
 * leaves room for a multi-page scan. Cost: the file is read whole into memory to hash it, and
 * a branch laptop's disk holds a few hundred of them. Larger: ERR_MSGSIZE, nothing stored. */
#define EVIDENCE_FILE_SIZE_MAX (20u * 1024u * 1024u)
#define EVIDENCE_DIR "evidence"
/* <home>/evidence/ab/<64 hex>: the home is at most REPLICA_PATH_MAX (4096). */
#define EVIDENCE_PATH_SIZE (4096u + 100u)
#define EVIDENCE_HEX_SIZE (2u * HASH_SIZE + 1u)

/* Lower-case hex of a hash, NUL-terminated. */
void evidence_hex(const uint8_t hash[HASH_SIZE], char out[EVIDENCE_HEX_SIZE]);
/* The path of the file with this hash under home. ERR_MSGSIZE when home is too long. */
err_code evidence_path(const char *home, const uint8_t hash[HASH_SIZE],
                       char out[EVIDENCE_PATH_SIZE]) WARN_UNUSED;

/* Reads the file at path whole: ERR_MSGSIZE beyond EVIDENCE_FILE_SIZE_MAX, ERR_INVAL when it is
 * empty or not a regular file, ERR_NOTFOUND when it does not exist. On ERR_OK *buf is malloc'd
 * and owned by the caller. */
err_code evidence_read(const char *path, uint8_t **buf, size_t *len) WARN_UNUSED;

/* Hashes buf and stores it under home (directories 0700, the file 0600, written to a temporary
 * file, fsynced, renamed, and the directory fsynced). When the file is already there nothing is
 * written (*stored 0). hash receives the SHA-256. stored may be NULL. */
err_code evidence_put(const char *home, const uint8_t *buf, size_t len, uint8_t hash[HASH_SIZE],
                      int *stored) WARN_UNUSED;

/* Writes buf as the file path in directory dir (which exists): to a temporary name in dir,
 * fsynced, renamed over path, and dir fsynced; a crash leaves no file or the whole file. */
err_code evidence_write_file(const char *dir, const char *path, const uint8_t *buf,
                             size_t len) WARN_UNUSED;
/* *yes 1 when the file with this hash is held under home (a regular file). */
err_code evidence_has(const char *home, const uint8_t hash[HASH_SIZE], int *yes) WARN_UNUSED;

#endif
