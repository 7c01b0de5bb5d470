/*
 * cdht cert: certificates and revocations (DESIGN.md section 5, node/trust.h). `issue` turns a
 * device's enrolment request (proto/enroll.h) into a certificate leaf of this device's log, and
 * `revoke` appends a revocation leaf; both reach other replicas in bundles like every leaf.
 * `list` and `show` print the trust state as last evaluated: who holds a valid chain to the
 * pinned root, with which grants, and where a revocation or equivocation cut their log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "domain.h"
#include "enroll.h"
#include "hlc.h"
#include "replica.h"
#include "trust.h"

#define CERT_MS_PER_DAY 86400000ll
/* The short form of a key in text listings: its first base64 characters (48 bits), enough to
 * tell a province's devices apart by eye; JSON always gives the whole key. */
#define CERT_KEY_SHORT_LEN 8u
/* A request file may hold the text and surrounding white space (a newline, CRLF, spaces from a
 * chat app); more than this much around a request is not a request file. */
#define CERT_REQUEST_FILE_SIZE_MAX (ENROLL_TEXT_SIZE_MAX + 64u)

static int
cert_is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Reads REQUEST: the text itself when it starts with the prefix, otherwise a file holding it.
 * Surrounding white space is dropped (chat apps and editors add it); everything else is the
 * decoder's to judge. 0 and *req on success; otherwise the exit code, after printing why. */
static int
cert_request_read(const struct cli *c, const char *arg, struct enroll_request *req)
{
    uint8_t *file = NULL;
    const char *text = arg;
    size_t len = strlen(arg);
    if (strncmp(arg, ENROLL_PREFIX, ENROLL_PREFIX_LEN) != 0) {
        err_code rc = ERR_OK;
        if (cli_read_file(arg, CERT_REQUEST_FILE_SIZE_MAX, &file, &len, &rc) != 0) {
            return cli_fail(c, rc, "cannot read the request file %s: %s", arg,
                            rc == ERR_MSGSIZE ? "it is larger than any enrolment request"
                                              : err_str(rc));
        }
        text = (const char *)file;
    }
    while (len > 0 && cert_is_space(text[0])) {
        text++;
        len--;
    }
    while (len > 0 && cert_is_space(text[len - 1])) {
        len--;
    }
    const char *why = NULL;
    err_code rc = enroll_decode(text, len, req, &why);
    free(file);
    if (rc != ERR_OK) {
        return cli_fail(c, rc, "not a valid enrolment request: %s; nothing was written", why);
    }
    return 0;
}

/* Days since 1970-01-01 today (UTC), from the clock the write path uses. */
static int64_t
cert_today_days(void)
{
    int64_t ms = hlc_wall_ms();
    return ms >= 0 ? ms / CERT_MS_PER_DAY : -((-ms + CERT_MS_PER_DAY - 1) / CERT_MS_PER_DAY);
}

static int
cert_issue(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "cert issue",
             "cert issue --home DIR REQUEST --role writer|approver|hub|auditor [--unit CODE] "
             "[--expires YYYY-MM-DD]");
    const char *role = NULL, *unit = NULL, *expires = NULL, *why = NULL;
    const struct cli_opt opts[] = {
        {"role", 0, &role, NULL},
        {"unit", 0, &unit, NULL},
        {"expires", 0, &expires, NULL},
    };
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 1,
                       "give one REQUEST: the cdht-enroll1: text, or a file holding it");
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    if (role == NULL) {
        return cli_usage(&c, "--role is required: writer, approver, hub, auditor or reporter");
    }
    unsigned role_bit = trust_role_parse(role);
    if (role_bit == 0) {
        return cli_usage(&c, "--role: must be writer, approver, hub, auditor or reporter");
    }
    if (unit != NULL && domain_unit_code_check(unit, &why) != ERR_OK) {
        return cli_usage(&c, "--unit: %s", why);
    }
    int64_t exp_days = 0;
    if (expires != NULL && domain_date_parse(expires, &exp_days, &why) != ERR_OK) {
        return cli_usage(&c, "--expires: %s", why);
    }
    struct enroll_request req;
    if ((ec = cert_request_read(&c, argv[optind], &req)) != 0) {
        return ec;
    }
    if (unit == NULL) {
        unit = req.unit;
    }
    if (expires != NULL && exp_days < cert_today_days()) {
        return cli_usage(&c, "--expires: the date is in the past (a certificate is valid up to "
                             "and including that day)");
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, REPLICA_WRITE, &r)) != 0) {
        return ec;
    }
    char network[REPLICA_META_SIZE_MAX];
    err_code rc = replica_meta(r, "network", network);
    if (rc != ERR_OK) {
        ec = cli_fail(&c, rc, "cannot read this replica's network: %s", err_str(rc));
        goto out;
    }
    if (strcmp(network, req.network) != 0) {
        ec = cli_fail(&c, ERR_INVAL,
                      "the request is for network %s, this replica is network %s; nothing was "
                      "written",
                      req.network, network);
        goto out;
    }
    int e = unit_exists(r, unit);
    if (e != 1) {
        ec = e < 0 ? cli_fail(&c, ERR_DB, "cannot read units")
                   : cli_fail(&c, ERR_NOTFOUND,
                              "unknown unit %s (cdht unit list shows the units this replica "
                              "holds; --unit picks another); nothing was written",
                              unit);
        goto out;
    }
    if (req.role[0] != '\0' && strcmp(req.role, role) != 0) {
        fprintf(stderr,
                "cdht cert issue: note: the request asked for role %s; issuing %s as "
                "--role says\n",
                req.role, role);
    }
    struct replica_txn *t = NULL;
    uint64_t index = 0;
    if ((rc = replica_txn_new(r, &t)) == ERR_OK &&
        (rc = replica_txn_cert(t, req.key, trust_role_name(role_bit), unit, expires,
                               req.name[0] != '\0' ? req.name : NULL)) != ERR_OK) {
        replica_txn_free(t);
    } else if (rc == ERR_OK) {
        rc = replica_txn_commit(r, t, &index); /* frees t */
    }
    if (rc != ERR_OK) {
        ec = cli_write_failed(&c, r, rc);
        goto out;
    }
    char k[48];
    cli_key_b64(req.key, k);
    printf("certified %s as %s of unit %s: leaf %llu of this device's log; deliver it in a "
           "bundle\n",
           k, trust_role_name(role_bit), unit, (unsigned long long)index);
    ec = CLI_OK;
out:
    replica_close(r);
    return ec;
}

static int
cert_revoke(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "cert revoke",
             "cert revoke --home DIR --subject KEY --last-index N|--none --reason TEXT");
    const char *subject = NULL, *last = NULL, *reason = NULL, *why = NULL;
    int none = 0;
    const struct cli_opt opts[] = {
        {"subject", 0, &subject, NULL},
        {"last-index", 0, &last, NULL},
        {"none", 0, NULL, &none},
        {"reason", 0, &reason, NULL},
    };
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    uint8_t key[KEY_PUBLIC_SIZE];
    uint64_t last_index = 0;
    if (subject == NULL) {
        return cli_usage(&c, "--subject KEY is required");
    }
    if (cli_parse_key(subject, key) != 0) {
        return cli_usage(&c, "--subject: not a base64 Ed25519 public key (44 characters)");
    }
    if ((last != NULL) == (none != 0)) {
        return cli_usage(&c, "give exactly one of --last-index N (its last valid leaf) and "
                             "--none (no leaf of it counts)");
    }
    if (last != NULL && cli_parse_u64(last, &last_index) != 0) {
        return cli_usage(&c, "--last-index: not a leaf index (0 or more)");
    }
    if (reason == NULL) {
        return cli_usage(&c, "--reason TEXT is required (\"laptop stolen\"; never personal data)");
    }
    char *norm = NULL;
    if (domain_name_normalize(reason, REVOKE_REASON_SIZE_MAX, &norm, &why) != ERR_OK) {
        return cli_usage(&c, "--reason: refused (%s; at most %u bytes)", why,
                         REVOKE_REASON_SIZE_MAX);
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, REPLICA_WRITE, &r)) != 0) {
        free(norm);
        return ec;
    }
    struct replica_txn *t = NULL;
    uint64_t index = 0;
    err_code rc = replica_txn_new(r, &t);
    if (rc == ERR_OK &&
        (rc = replica_txn_revoke(t, key, last != NULL, last_index, norm)) != ERR_OK) {
        replica_txn_free(t);
    } else if (rc == ERR_OK) {
        rc = replica_txn_commit(r, t, &index); /* frees t */
    }
    if (rc != ERR_OK) {
        ec = cli_write_failed(&c, r, rc);
        goto out;
    }
    char k[48];
    cli_key_b64(key, k);
    if (last != NULL) {
        printf("revoked %s after its leaf %llu: leaf %llu of this device's log; deliver it in a "
               "bundle\n",
               k, (unsigned long long)last_index, (unsigned long long)index);
    } else {
        printf("revoked %s, none of its leaves counts: leaf %llu of this device's log; deliver it "
               "in a bundle\n",
               k, (unsigned long long)index);
    }
    ec = CLI_OK;
out:
    free(norm);
    replica_close(r);
    return ec;
}

/* ---- Reading the trust state ---------------------------------------------------------------- */

/* A device as trust_devices/trust_device_get gave it, copied out of the callback. */
struct cert_dev {
    uint8_t key[KEY_PUBLIC_SIZE];
    unsigned depth;
    int limited;
    int64_t last_index;
    int has_reason;
    char reason[REVOKE_REASON_SIZE_MAX + 1];
};

static void
cert_dev_copy(struct cert_dev *o, const struct trust_device *d)
{
    memcpy(o->key, d->key, KEY_PUBLIC_SIZE);
    o->depth = d->depth;
    o->limited = d->limited;
    o->last_index = d->last_index;
    o->has_reason = d->reason != NULL;
    snprintf(o->reason, sizeof o->reason, "%s", d->reason != NULL ? d->reason : "");
}

/* The printing state of one device's grants (trust_grants callback). */
struct cert_print {
    int json;
    unsigned n;                      /* grants printed so far */
    const uint8_t *self;             /* the device whose grants these are */
    int has_issuer;                  /* the first grant issued by another key was seen */
    uint8_t issuer[KEY_PUBLIC_SIZE]; /* its issuer: the next link of the chain */
};

static err_code
cert_grant_cb(void *ctx, const struct trust_grant *g)
{
    struct cert_print *p = ctx;
    char ik[48];
    cli_key_b64(g->issuer, ik);
    if (p->json) {
        fputs(p->n > 0 ? ",{\"role\":" : "{\"role\":", stdout);
        cli_json_str(stdout, trust_role_name(g->role));
        fputs(",\"unit\":", stdout);
        cli_json_str(stdout, g->unit != NULL ? g->unit : "");
        fputs(",\"expires\":", stdout);
        if (g->expires != NULL) {
            cli_json_str(stdout, g->expires);
        } else {
            fputs("null", stdout);
        }
        printf(",\"issuer\":\"%s\",\"issuer_index\":%llu}", ik,
               (unsigned long long)g->issuer_index);
    } else {
        printf("%s%s %s", p->n > 0 ? "; " : "", trust_role_name(g->role),
               g->unit != NULL ? g->unit : "");
        if (g->expires != NULL) {
            printf(" until %s", g->expires);
        }
        printf(" by %.*s#%llu", (int)CERT_KEY_SHORT_LEN, ik, (unsigned long long)g->issuer_index);
    }
    if (!p->has_issuer && memcmp(g->issuer, p->self, KEY_PUBLIC_SIZE) != 0) {
        p->has_issuer = 1;
        memcpy(p->issuer, g->issuer, KEY_PUBLIC_SIZE);
    }
    p->n++;
    return ERR_OK;
}

/*
 * Prints one device: in text one line, KEY TAB "depth D" TAB grants TAB limit; in JSON one
 * object. *next (when not NULL) receives the issuer of its first grant from another key, the
 * next link towards the root; *has_next says whether there is one.
 */
static err_code
cert_device_print(struct replica *r, const struct cert_dev *d, int json,
                  uint8_t next[KEY_PUBLIC_SIZE], int *has_next)
{
    char k[48];
    struct cert_print p = {.json = json, .self = d->key};
    cli_key_b64(d->key, k);
    if (json) {
        printf("{\"key\":\"%s\",\"depth\":%u,\"grants\":[", k, d->depth);
    } else {
        printf("%s\tdepth %u\t", k, d->depth);
    }
    err_code rc = trust_grants(r->st, d->key, cert_grant_cb, &p);
    if (rc != ERR_OK && rc != ERR_NOTFOUND) {
        return rc;
    }
    if (json) {
        fputs("],\"limit\":", stdout);
        if (d->limited == 0) {
            fputs("null", stdout);
        } else {
            printf("{\"kind\":\"%s\",\"last_index\":",
                   d->limited == 1 ? "revoked" : "equivocation");
            if (d->last_index < 0) {
                fputs("null", stdout);
            } else {
                printf("%lld", (long long)d->last_index);
            }
            fputs(",\"reason\":", stdout);
            if (d->has_reason) {
                cli_json_str(stdout, d->reason);
            } else {
                fputs("null", stdout);
            }
            fputc('}', stdout);
        }
    } else {
        if (p.n == 0) {
            fputc('-', stdout);
        }
        fputc('\t', stdout);
        if (d->limited == 0) {
            fputc('-', stdout);
        } else {
            fputs(d->limited == 1 ? "revoked" : "equivocation", stdout);
            if (d->last_index < 0) {
                fputs(": no leaf counts", stdout);
            } else {
                printf(": leaves after %lld do not count", (long long)d->last_index);
            }
            if (d->has_reason) {
                printf(" (%s)", d->reason);
            }
        }
    }
    if (next != NULL) {
        *has_next = p.has_issuer;
        memcpy(next, p.issuer, KEY_PUBLIC_SIZE);
    }
    return ERR_OK;
}

/* Devices collected by trust_devices, so that their grants are read after it returns (the
 * callback's strings and statements are the trust layer's for the call only). */
struct cert_devs {
    struct cert_dev *v; /* owned */
    size_t n, cap;
};

static err_code
cert_devs_cb(void *ctx, const struct trust_device *d)
{
    struct cert_devs *ds = ctx;
    if (ds->n == ds->cap) {
        if (ds->cap >= BUNDLE_LOGS_MAX) {
            return ERR_MSGSIZE; /* more devices than logs a replica can hold */
        }
        size_t cap = ds->cap == 0 ? 64 : ds->cap * 2;
        struct cert_dev *v = realloc(ds->v, cap * sizeof *v);
        if (v == NULL) {
            return ERR_NOMEM;
        }
        ds->v = v;
        ds->cap = cap;
    }
    cert_dev_copy(&ds->v[ds->n++], d);
    return ERR_OK;
}

static err_code
cert_one_cb(void *ctx, const struct trust_device *d)
{
    cert_dev_copy(ctx, d);
    return ERR_OK;
}

/* 1 when a root is pinned; 0 in open mode, after saying so on stderr; -1 on error (printed). */
static int
cert_pinned(const struct cli *c, struct replica *r, int *ec)
{
    uint8_t root[KEY_PUBLIC_SIZE];
    int pinned = 0;
    err_code rc = trust_root(r->st, root, &pinned);
    if (rc != ERR_OK) {
        *ec = cli_fail(c, rc, "cannot read the pinned root: %s", err_str(rc));
        return -1;
    }
    if (!pinned) {
        fprintf(stderr, "open mode: no root pinned; nothing is authorised\n");
    }
    return pinned;
}

static int
cert_list(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "cert list", "cert list --home DIR [--json]");
    int json = 0;
    const struct cli_opt opts[] = {{"json", 0, NULL, &json}};
    int ec = cli_parse(&c, argc, argv, opts, 1, 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    struct cert_devs ds = {NULL, 0, 0};
    err_code rc = ERR_OK;
    int pinned = cert_pinned(&c, r, &ec);
    if (pinned < 0) {
        goto out;
    }
    if (pinned && (rc = trust_devices(r->st, cert_devs_cb, &ds)) != ERR_OK) {
        ec = cli_fail(&c, rc, "cannot read the certificates: %s", err_str(rc));
        goto out;
    }
    if (json) {
        fputc('[', stdout);
    }
    for (size_t i = 0; i < ds.n; i++) {
        if (json && i > 0) {
            fputc(',', stdout);
        }
        if ((rc = cert_device_print(r, &ds.v[i], json, NULL, NULL)) != ERR_OK) {
            fputc('\n', stdout);
            ec = cli_fail(&c, rc, "cannot read the grants: %s", err_str(rc));
            goto out;
        }
        if (!json) {
            fputc('\n', stdout);
        }
    }
    if (json) {
        fputs("]\n", stdout);
    }
    ec = CLI_OK;
out:
    free(ds.v);
    replica_close(r);
    return ec;
}

static int
cert_show(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "cert show", "cert show --home DIR KEY [--json]");
    int json = 0;
    const struct cli_opt opts[] = {{"json", 0, NULL, &json}};
    int ec = cli_parse(&c, argc, argv, opts, 1, 1, "give one KEY (base64, 44 characters)");
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    uint8_t key[KEY_PUBLIC_SIZE];
    if (cli_parse_key(argv[optind], key) != 0) {
        return cli_usage(&c, "KEY: not a base64 Ed25519 public key (44 characters)");
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    struct cert_dev d;
    uint8_t next[KEY_PUBLIC_SIZE];
    int has_next = 0;
    err_code rc = ERR_NOTFOUND;
    int pinned = cert_pinned(&c, r, &ec);
    if (pinned < 0) {
        goto out;
    }
    if (pinned) {
        rc = trust_device_get(r->st, key, cert_one_cb, &d);
    }
    if (rc != ERR_OK) {
        ec = rc == ERR_NOTFOUND ? cli_fail(&c, rc, "no valid certificate chain for this key")
                                : cli_fail(&c, rc, "cannot read the certificates: %s", err_str(rc));
        goto out;
    }
    if ((rc = cert_device_print(r, &d, json, next, &has_next)) != ERR_OK) {
        goto failed;
    }
    fputs(json ? ",\"chain\":[" : "\n", stdout);
    /* The chain towards the root: each link is the issuer of the previous one's first grant from
     * another key, at a smaller depth. TRUST_DEPTH_MAX bounds it (and a loop in a damaged state
     * cannot run on). */
    unsigned links = 0;
    for (unsigned step = 0; step < TRUST_DEPTH_MAX && d.depth > 0 && has_next; step++) {
        unsigned depth = d.depth;
        rc = trust_device_get(r->st, next, cert_one_cb, &d);
        if (rc == ERR_NOTFOUND || (rc == ERR_OK && d.depth >= depth)) {
            break; /* the issuer lost its chain since: the state says so, nothing to follow */
        }
        if (rc != ERR_OK) {
            goto failed;
        }
        if (json && links > 0) {
            fputc(',', stdout);
        }
        if ((rc = cert_device_print(r, &d, json, next, &has_next)) != ERR_OK) {
            goto failed;
        }
        if (!json) {
            fputc('\n', stdout);
        }
        links++;
    }
    if (json) {
        fputs("]}\n", stdout);
    }
    ec = CLI_OK;
    goto out;
failed:
    fputc('\n', stdout);
    ec = cli_fail(&c, rc, "cannot read the certificates: %s", err_str(rc));
out:
    replica_close(r);
    return ec;
}

int
cmd_cert(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } subs[] = {
        {"issue", cert_issue},
        {"revoke", cert_revoke},
        {"list", cert_list},
        {"show", cert_show},
    };
    for (size_t i = 0; argc >= 2 && i < sizeof subs / sizeof subs[0]; i++) {
        if (strcmp(argv[1], subs[i].name) == 0) {
            return subs[i].fn(argc - 1, argv + 1);
        }
    }
    int help = argc >= 2 && cli_is_help(argv[1]);
    fprintf(help ? stdout : stderr,
            "usage: cdht cert issue REQUEST --role writer|approver|hub|auditor [--unit CODE]\n"
            "                       [--expires YYYY-MM-DD]\n"
            "       cdht cert revoke --subject KEY --last-index N|--none --reason TEXT\n"
            "       cdht cert list [--json]\n"
            "       cdht cert show KEY [--json]\n"
            "REQUEST is the cdht-enroll1: text from `cdht enroll request`, or a file holding it.\n"
            "show prints the device's line, then each issuer up to the root.\n");
    return help ? CLI_OK : CLI_USAGE;
}
