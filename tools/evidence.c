/*
 * cdht evidence: add a file as evidence for a person's assessment, and list the evidence rows
 * with whether each file is held on this device (node/evidence.h). The file is stored under the
 * home by its SHA-256; the replicated row carries the hash, the size, the kind and who added it,
 * so adding the same file again changes nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "evidence.h"
#include "flow.h"
#include "replica.h"
#include "sha256.h"
#include "store.h"

static int
evidence_year(const struct cli *c, const char *person, const char *year_s, int64_t *year)
{
    if (person == NULL || year_s == NULL) {
        return cli_usage(c, "--person and --year are required");
    }
    if (cli_parse_i64(year_s, FLOW_YEAR_MIN, FLOW_YEAR_MAX, year) != 0) {
        return cli_usage(c, "--year must be a year in %d..%d", FLOW_YEAR_MIN, FLOW_YEAR_MAX);
    }
    return 0;
}

static int
evidence_add(int argc, char **argv)
{
    struct cli c;
    const char *person = NULL, *year_s = NULL, *kind = NULL, *ind = NULL, *desc = NULL, *by = NULL;
    cli_init(&c, "evidence add",
             "evidence add --home DIR --person ID --year YYYY --kind "
             "photo|certificate|attendance|document|other [--indicator 1.3] "
             "[--description TEXT] [--added-by NAME] FILE");
    const struct cli_opt opts[] = {
        {"person", 0, &person, NULL}, {"year", 0, &year_s, NULL},      {"kind", 0, &kind, NULL},
        {"indicator", 0, &ind, NULL}, {"description", 0, &desc, NULL}, {"added-by", 0, &by, NULL},
    };
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 1, "one FILE is needed");
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    int64_t year = 0;
    if ((ec = evidence_year(&c, person, year_s, &year)) != 0) {
        return ec;
    }
    if (kind == NULL) {
        return cli_usage(&c, "--kind is required");
    }
    const char *path = argv[optind];
    uint8_t *buf = NULL;
    size_t len = 0;
    err_code rc = evidence_read(path, &buf, &len);
    if (rc != ERR_OK) {
        /* The file name is the operator's own argument, not a value from the data. */
        return cli_fail(&c, rc == ERR_NOTFOUND || rc == ERR_IO ? ERR_INVAL : rc,
                        "refusing: %s %s; nothing was written", path,
                        rc == ERR_MSGSIZE    ? "is larger than 20 MiB"
                        : rc == ERR_INVAL    ? "is empty or not a regular file"
                        : rc == ERR_NOTFOUND ? "does not exist"
                                             : err_str(rc));
    }
    static_assert(EVIDENCE_FILE_SIZE_MAX == 20u * 1024u * 1024u, "the message says 20 MiB");
    struct replica *r = NULL;
    if ((ec = cli_open(&c, REPLICA_WRITE, &r)) != 0) {
        free(buf);
        return ec;
    }
    char why[FLOW_WHY_SIZE] = "";
    uint8_t hash[HASH_SIZE];
    int changed = 0;
    const struct flow_evidence_args a = {.person = person,
                                         .year = (int)year,
                                         .kind = kind,
                                         .indicator = ind,
                                         .description = desc,
                                         .added_by = by,
                                         .buf = buf,
                                         .len = len};
    rc = flow_evidence_add(r, &a, hash, &changed, why);
    if (rc != ERR_OK) {
        ec = why[0] ? cli_fail(&c, rc, "refusing: %s; nothing was written", why)
                    : cli_write_failed(&c, r, rc);
    } else {
        char hex[EVIDENCE_HEX_SIZE];
        evidence_hex(hash, hex);
        printf("%s %zu\n", hex, len);
        if (!changed) {
            fprintf(stderr, "cdht evidence add: already recorded; nothing changed\n");
        }
    }
    free(buf);
    replica_close(r);
    return ec;
}

static int
evidence_list(int argc, char **argv)
{
    struct cli c;
    const char *person = NULL, *year_s = NULL;
    cli_init(&c, "evidence list", "evidence list --home DIR --person ID --year YYYY");
    const struct cli_opt opts[] = {{"person", 0, &person, NULL}, {"year", 0, &year_s, NULL}};
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    int64_t year = 0;
    if ((ec = evidence_year(&c, person, year_s, &year)) != 0) {
        return ec;
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    char aid[FLOW_ID_SIZE];
    snprintf(aid, sizeof aid, "%d:%s", (int)year, person);
    sqlite3_stmt *q = NULL;
    int src = sqlite3_prepare_v2(r->st->db,
                                 "SELECT sha256, size, kind, ind FROM evidence WHERE "
                                 "assessment=?1 AND _live ORDER BY id",
                                 -1, &q, NULL);
    err_code rc = src == SQLITE_OK ? ERR_OK : store_err(r->st, src, "evidence");
    if (rc == ERR_OK) {
        sqlite3_bind_text(q, 1, aid, -1, SQLITE_STATIC);
    }
    while (rc == ERR_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
        char hex[EVIDENCE_HEX_SIZE];
        int held = 0;
        if (sqlite3_column_bytes(q, 0) != HASH_SIZE) {
            continue; /* not a hash: the audit's to report */
        }
        const uint8_t *h = sqlite3_column_blob(q, 0);
        evidence_hex(h, hex);
        if ((rc = evidence_has(r->home, h, &held)) != ERR_OK) {
            break;
        }
        const char *kind = (const char *)sqlite3_column_text(q, 2);
        printf("%s\t%lld\t%s\t%s\t%s\n", hex, (long long)sqlite3_column_int64(q, 1),
               kind ? kind : "",
               sqlite3_column_type(q, 3) == SQLITE_NULL ? "-"
                                                        : (const char *)sqlite3_column_text(q, 3),
               held ? "held" : "not-held");
    }
    if (rc == ERR_OK && src != SQLITE_DONE) {
        rc = store_err(r->st, src, "evidence");
    }
    sqlite3_finalize(q);
    replica_close(r);
    return rc == ERR_OK ? CLI_OK : cli_fail(&c, rc, "cannot list evidence: %s", err_str(rc));
}

/* Files one `evidence import` takes: a stick holding a commune's year of photos has a few
 * thousand; more is refused before anything is read (each file is read whole to hash it). */
#define EVIDENCE_IMPORT_FILES_MAX 100000u

/* `cdht evidence export -o FOLDER [--year Y]`: the evidence files held here for the live evidence
 * rows (of year Y), copied into FOLDER under their SHA-256 (a folder on a USB stick). The files
 * are personal data: the folder is made 0700 and each file 0600. */
static int
evidence_export(int argc, char **argv)
{
    struct cli c;
    const char *out = NULL, *year_s = NULL;
    cli_init(&c, "evidence export", "evidence export --home DIR -o FOLDER [--year YYYY]");
    const struct cli_opt opts[] = {{"year", 0, &year_s, NULL}, {"out", 'o', &out, NULL}};
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    int64_t year = 0;
    if (out == NULL) {
        return cli_usage(&c, "-o FOLDER is required (a folder, created if missing)");
    }
    if (year_s != NULL && cli_parse_i64(year_s, FLOW_YEAR_MIN, FLOW_YEAR_MAX, &year) != 0) {
        return cli_usage(&c, "--year must be a year in %d..%d", FLOW_YEAR_MIN, FLOW_YEAR_MAX);
    }
    if (mkdir(out, 0700) != 0 && errno != EEXIST) {
        return cli_fail(&c, err_from_errno(errno), "-o: cannot create folder %s", out);
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    sqlite3_stmt *q = NULL;
    int src = sqlite3_prepare_v2(r->st->db,
                                 "SELECT DISTINCT sha256 FROM evidence WHERE _live AND "
                                 "(?1 = 0 OR substr(id, 1, 5) = ?1 || ':') ORDER BY sha256",
                                 -1, &q, NULL);
    err_code rc = src == SQLITE_OK ? ERR_OK : store_err(r->st, src, "evidence");
    unsigned long copied = 0, already = 0, missing = 0;
    if (rc == ERR_OK) {
        sqlite3_bind_int64(q, 1, year);
    }
    while (rc == ERR_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(q, 0) != HASH_SIZE) {
            continue; /* not a hash: the audit's to report */
        }
        const uint8_t *h = sqlite3_column_blob(q, 0);
        char hex[EVIDENCE_HEX_SIZE], from[EVIDENCE_PATH_SIZE], to[EVIDENCE_PATH_SIZE];
        int held = 0;
        struct stat st;
        evidence_hex(h, hex);
        if ((rc = evidence_has(r->home, h, &held)) != ERR_OK) {
            break;
        }
        if (!held) {
            missing++;
            continue;
        }
        if ((size_t)snprintf(to, sizeof to, "%s/%s", out, hex) >= sizeof to) {
            rc = ERR_MSGSIZE;
            break;
        }
        if (stat(to, &st) == 0) {
            already++;
            continue;
        }
        uint8_t *buf = NULL;
        size_t len = 0;
        if ((rc = evidence_path(r->home, h, from)) == ERR_OK &&
            (rc = evidence_read(from, &buf, &len)) == ERR_OK) {
            rc = evidence_write_file(out, to, buf, len);
            copied += rc == ERR_OK;
        }
        free(buf);
    }
    if (rc == ERR_OK && src != SQLITE_DONE) {
        rc = store_err(r->st, src, "evidence");
    }
    sqlite3_finalize(q);
    replica_close(r);
    if (rc != ERR_OK) {
        return cli_fail(&c, rc, "cannot export evidence to %s: %s", out, err_str(rc));
    }
    fprintf(stderr,
            "exported %lu evidence files to %s (%lu there already; %lu rows whose file is not "
            "held here)\n",
            copied, out, already, missing);
    return CLI_OK;
}

/* Whether name is 64 lower-case hex digits; its bytes into hash. */
static int
evidence_name_hash(const char *name, uint8_t hash[HASH_SIZE])
{
    static const char hexd[] = "0123456789abcdef";
    if (strlen(name) != 2 * HASH_SIZE) {
        return 0;
    }
    for (size_t i = 0; i < HASH_SIZE; i++) {
        const char *a = strchr(hexd, name[2 * i]), *b = strchr(hexd, name[2 * i + 1]);
        if (name[2 * i] == '\0' || name[2 * i + 1] == '\0' || a == NULL || b == NULL) {
            return 0;
        }
        hash[i] = (uint8_t)((a - hexd) << 4 | (b - hexd));
    }
    return 1;
}

/* `cdht evidence import FOLDER`: the files of FOLDER named by a SHA-256 that a live evidence row
 * here names, each checked against its name, stored content-addressed. Any file whose content
 * does not match its name refuses the whole import (nothing stored): the folder was altered.
 * Files no row here names are left (evidence of units outside this replica's scope). */
static int
evidence_import(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "evidence import", "evidence import --home DIR FOLDER");
    int ec = cli_parse(&c, argc, argv, NULL, 0, 1, "one FOLDER (written by cdht evidence export)");
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    const char *folder = argv[optind];
    DIR *d = opendir(folder);
    if (d == NULL) {
        return cli_fail(&c, err_from_errno(errno), "%s: cannot open the folder", folder);
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 1, &r)) != 0) {
        closedir(d);
        return ec;
    }
    sqlite3_stmt *q = NULL;
    int src = sqlite3_prepare_v2(r->st->db,
                                 "SELECT 1 FROM evidence WHERE _live AND sha256 = ?1 LIMIT 1", -1,
                                 &q, NULL);
    err_code rc = src == SQLITE_OK ? ERR_OK : store_err(r->st, src, "evidence");
    unsigned long stored = 0, held = 0, unnamed = 0, files = 0;
    char bad[EVIDENCE_HEX_SIZE] = "";
    /* Two passes over the folder: check every file, then store them, so that an altered file
     * stores nothing. */
    for (int pass = 0; pass < 2 && rc == ERR_OK && bad[0] == '\0'; pass++) {
        rewinddir(d);
        struct dirent *e;
        files = 0;
        while (rc == ERR_OK && (e = readdir(d)) != NULL) {
            uint8_t want[HASH_SIZE], got[HASH_SIZE];
            char path[EVIDENCE_PATH_SIZE];
            if (!evidence_name_hash(e->d_name, want)) {
                unnamed += pass == 0 && e->d_name[0] != '.';
                continue;
            }
            if (++files > EVIDENCE_IMPORT_FILES_MAX) {
                rc = ERR_MSGSIZE;
                break;
            }
            sqlite3_bind_blob(q, 1, want, HASH_SIZE, SQLITE_STATIC);
            src = sqlite3_step(q);
            sqlite3_reset(q);
            if (src != SQLITE_ROW) {
                if (src != SQLITE_DONE) {
                    rc = store_err(r->st, src, "evidence");
                }
                continue; /* no row here names it */
            }
            int have = 0;
            if ((rc = evidence_has(r->home, want, &have)) != ERR_OK) {
                break;
            }
            if (have) {
                held += pass == 1;
                continue;
            }
            uint8_t *buf = NULL;
            size_t len = 0;
            if ((size_t)snprintf(path, sizeof path, "%s/%s", folder, e->d_name) >= sizeof path) {
                rc = ERR_MSGSIZE;
                break;
            }
            if ((rc = evidence_read(path, &buf, &len)) != ERR_OK) {
                break;
            }
            if (pass == 0) {
                struct sha256 h;
                sha256_init(&h);
                sha256_update(&h, buf, len);
                sha256_final(&h, got);
                if (memcmp(got, want, HASH_SIZE) != 0) {
                    memcpy(bad, e->d_name, sizeof bad - 1);
                    free(buf);
                    break;
                }
            } else {
                int put = 0;
                rc = evidence_put(r->home, buf, len, got, &put);
                stored += (unsigned long)put;
            }
            free(buf);
        }
    }
    sqlite3_finalize(q);
    closedir(d);
    replica_close(r);
    if (bad[0] != '\0') {
        return cli_fail(&c, ERR_CORRUPT,
                        "%s/%s: its content does not match its name (altered or damaged); "
                        "nothing was imported",
                        folder, bad);
    }
    if (rc == ERR_MSGSIZE && files > EVIDENCE_IMPORT_FILES_MAX) {
        return cli_fail(&c, rc, "%s: more than %u evidence files; nothing more was imported",
                        folder, EVIDENCE_IMPORT_FILES_MAX);
    }
    if (rc != ERR_OK) {
        return cli_fail(&c, rc, "cannot import evidence from %s: %s", folder, err_str(rc));
    }
    fprintf(stderr,
            "imported %lu evidence files (%lu held already); %lu other files left alone\n",
            stored, held, unnamed);
    return CLI_OK;
}

int
cmd_evidence(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "add") == 0) {
        return evidence_add(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "list") == 0) {
        return evidence_list(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "export") == 0) {
        return evidence_export(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "import") == 0) {
        return evidence_import(argc - 1, argv + 1);
    }
    int help = argc >= 2 && cli_is_help(argv[1]);
    fprintf(help ? stdout : stderr,
            "usage: cdht evidence add --person ID --year YYYY --kind KIND [--indicator 1.3] "
            "[--description TEXT] [--added-by NAME] FILE\n"
            "       cdht evidence list --person ID --year YYYY\n"
            "       cdht evidence export -o FOLDER [--year YYYY]   (the files, for a USB stick)\n"
            "       cdht evidence import FOLDER\n");
    return help ? CLI_OK : CLI_USAGE;
}
