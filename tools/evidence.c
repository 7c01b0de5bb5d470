/*
 * cdht evidence: add a file as evidence for a person's assessment, and list the evidence rows
 * with whether each file is held on this device (node/evidence.h). The file is stored under the
 * home by its SHA-256; the replicated row carries the hash, the size, the kind and who added it,
 * so adding the same file again changes nothing.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "evidence.h"
#include "flow.h"
#include "replica.h"
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

int
cmd_evidence(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "add") == 0) {
        return evidence_add(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "list") == 0) {
        return evidence_list(argc - 1, argv + 1);
    }
    int help = argc >= 2 && cli_is_help(argv[1]);
    fprintf(help ? stdout : stderr,
            "usage: cdht evidence add --person ID --year YYYY --kind KIND [--indicator 1.3] "
            "[--description TEXT] [--added-by NAME] FILE\n"
            "       cdht evidence list --person ID --year YYYY\n");
    return help ? CLI_OK : CLI_USAGE;
}
