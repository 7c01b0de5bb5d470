/*
 * make bench: cdht's own benchmark (never a timed test). Every figure is measured in this run
 * and, where a target is a ratio, against a baseline measured in the same run on the same
 * disk (these machines are shared and noisy). Prints a table and writes one JSON object of
 * name -> number (build/bench.json). Issue 2's figures: bulk commit against plain SQLite,
 * single-commit latency, bundle export+import rate, bundle bytes against `zstd -3` of the same
 * rows as CSV, audit rate, and the import's peak RSS (measured on the real cdht process).
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdnoreturn.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "exchange.h"
#include "heads.h"
#include "replica.h"
#include "report.h"
#include "report_fmt.h"
#include "seed.h"
#include "session.h"
#include "store.h"
#include "transport.h"
#include "trust.h"
#include <utf8proc.h>

#define BENCH_BULK_ROWS 100000u
#define BENCH_BULK_PER_COMMIT 1000u
#define BENCH_SINGLE_COMMITS 10000u
#define BENCH_RESULTS_MAX 48u
#define BENCH_ROUNDS 5u /* bulk and baseline rounds; the medians are compared */

struct bench_row {
    char id[REPLICA_ID_SIZE + 1];
    char name[96];
    int64_t year;
    const char *gender, *unit, *group;
    uint8_t cid[HASH_SIZE];
};

static struct {
    const char *name;
    double value;
} bench_results[BENCH_RESULTS_MAX];
static unsigned bench_n;

static void
bench_put(const char *name, double v)
{
    if (bench_n < BENCH_RESULTS_MAX) {
        bench_results[bench_n].name = name;
        bench_results[bench_n].value = v;
        bench_n++;
    }
}

static double
bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
bench_die(const char *what, err_code rc)
{
    fprintf(stderr, "bench: %s: %s\n", what, err_str(rc));
    exit(3);
}

/* Realistic rows: Vietnamese names from common family, middle and given names. */
static void
bench_rows(struct bench_row *rows, unsigned n)
{
    static const char *const fam[] = {"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng",
                                      "Huỳnh",  "Phan", "Vũ", "Võ",   "Đặng",
                                      "Bùi",    "Đỗ",   "Hồ", "Ngô",  "Dương"};
    static const char *const mid[] = {"Văn",   "Thị",  "Hữu",   "Đức",  "Minh",
                                      "Thanh", "Ngọc", "Quang", "Xuân", "Thu"};
    static const char *const giv[] = {
        "An",     "Bình",  "Cường", "Dũng", "Giang", "Hà",    "Hải",    "Hạnh", "Hiếu", "Hoa",
        "Hùng",   "Hương", "Khánh", "Lan",  "Linh",  "Long",  "Mai",    "Nam",  "Nga",  "Phúc",
        "Phương", "Quân",  "Sơn",   "Tâm",  "Thảo",  "Trang", "Trường", "Tuấn", "Vân",  "Yến"};
    static const char *const units[] = {"44001001", "44001002", "44001003", "44001004",
                                        "44001005", "44001006", "44001007", "44001008"};
    static const char *const groups[] = {"farmer", "worker", "official"};
    for (unsigned i = 0; i < n; i++) {
        uint32_t r = randombytes_random();
        replica_new_id(rows[i].id);
        snprintf(rows[i].name, sizeof rows[i].name, "%s %s %s", fam[r % 15], mid[(r >> 4) % 10],
                 giv[(r >> 8) % 30]);
        rows[i].year = 1950 + (r >> 13) % 55;
        rows[i].gender = (r >> 20) & 1 ? "female" : "male";
        rows[i].unit = units[(r >> 21) % 8];
        rows[i].group = groups[(r >> 24) % 3];
        randombytes_buf(rows[i].cid, HASH_SIZE);
    }
}

static void
bench_cells(const struct bench_row *row, struct replica_cell cells[6])
{
    cells[0] = (struct replica_cell){.col = "name", .type = SCHEMA_TEXT, .s = row->name};
    cells[1] = (struct replica_cell){.col = "birth_year", .type = SCHEMA_INT, .i = row->year};
    cells[2] = (struct replica_cell){.col = "gender", .type = SCHEMA_TEXT, .s = row->gender};
    cells[3] = (struct replica_cell){.col = "unit", .type = SCHEMA_TEXT, .s = row->unit};
    cells[4] = (struct replica_cell){.col = "target_group", .type = SCHEMA_TEXT, .s = row->group};
    cells[5] = (struct replica_cell){
        .col = "cid_hash", .type = SCHEMA_BLOB, .b = row->cid, .b_len = HASH_SIZE};
}

/* The baseline: the same rows into a table of the same shape (same columns, same text primary
 * key, WITHOUT ROWID like ours), same pragmas, one transaction, one prepared statement. */
__attribute__((noinline)) static double
bench_sqlite_baseline(const char *path, const struct bench_row *rows, unsigned n)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        bench_die("baseline open", ERR_DB);
    }
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "CREATE TABLE person(id TEXT PRIMARY KEY NOT NULL, name TEXT, birth_year INTEGER,"
                 " gender TEXT, unit TEXT, target_group TEXT, cid_hash BLOB) WITHOUT ROWID;",
                 NULL, NULL, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO person VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &s, NULL);
    double t0 = bench_now();
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (unsigned i = 0; i < n; i++) {
        sqlite3_bind_text(s, 1, rows[i].id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, rows[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, rows[i].year);
        sqlite3_bind_text(s, 4, rows[i].gender, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, rows[i].unit, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, rows[i].group, -1, SQLITE_STATIC);
        sqlite3_bind_blob(s, 7, rows[i].cid, HASH_SIZE, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE) {
            bench_die("baseline insert", ERR_DB);
        }
        sqlite3_reset(s);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    double t = bench_now() - t0;
    sqlite3_finalize(s);
    sqlite3_close(db);
    return t;
}

/* 100 commits of 1,000 rows. batch: in one SQLite transaction, like the baseline (a bulk
 * import is one user action); otherwise each commit is its own durable transaction. */
static double
bench_bulk(struct replica *r, const struct bench_row *rows, unsigned n, int batch)
{
    double t0 = bench_now();
    err_code brc = batch ? replica_batch_begin(r) : ERR_OK;
    if (brc != ERR_OK) {
        bench_die("batch", brc);
    }
    for (unsigned i = 0; i < n; i += BENCH_BULK_PER_COMMIT) {
        struct replica_txn *t = NULL;
        err_code rc = replica_txn_new(r, &t);
        for (unsigned j = i; rc == ERR_OK && j < i + BENCH_BULK_PER_COMMIT && j < n; j++) {
            struct replica_cell cells[6];
            bench_cells(&rows[j], cells);
            rc = replica_txn_put(t, "person", rows[j].id, 1, cells, 6, 1);
        }
        if (rc != ERR_OK || (rc = replica_txn_commit(r, t, NULL)) != ERR_OK) {
            bench_die("bulk commit", rc);
        }
    }
    if (batch && (brc = replica_batch_commit(r)) != ERR_OK) {
        bench_die("batch commit", brc);
    }
    return bench_now() - t0;
}

static int
bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void
bench_single(struct replica *r, const struct bench_row *rows, unsigned n, double *p50, double *p99)
{
    double *lat = malloc(n * sizeof *lat);
    for (unsigned i = 0; i < n; i++) {
        struct replica_cell cells[6];
        struct replica_txn *t = NULL;
        bench_cells(&rows[i], cells);
        double t0 = bench_now();
        err_code rc = replica_txn_new(r, &t);
        if (rc == ERR_OK) {
            rc = replica_txn_put(t, "person", rows[i].id, 1, cells, 6, 1);
        }
        if (rc != ERR_OK || (rc = replica_txn_commit(r, t, NULL)) != ERR_OK) {
            bench_die("single commit", rc);
        }
        lat[i] = (bench_now() - t0) * 1000.0;
    }
    qsort(lat, n, sizeof *lat, bench_cmp_double);
    *p50 = lat[n / 2];
    *p99 = lat[(size_t)n * 99 / 100];
    free(lat);
}

static long
bench_file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* `zstd -3` of the rows as CSV, by the real zstd command. */
static long
bench_zstd_csv(const char *dir, const struct bench_row *rows, unsigned n)
{
    char csv[512], zst[512], cmd[1200];
    snprintf(csv, sizeof csv, "%s/rows.csv", dir);
    snprintf(zst, sizeof zst, "%s/rows.csv.zst", dir);
    FILE *f = fopen(csv, "w");
    fprintf(f, "id,name,birth_year,gender,unit,target_group,cid_hash\n");
    for (unsigned i = 0; i < n; i++) {
        fprintf(f, "%s,%s,%lld,%s,%s,%s,", rows[i].id, rows[i].name, (long long)rows[i].year,
                rows[i].gender, rows[i].unit, rows[i].group);
        for (unsigned k = 0; k < HASH_SIZE; k++) {
            fprintf(f, "%02x", rows[i].cid[k]);
        }
        fputc('\n', f);
    }
    fclose(f);
    snprintf(cmd, sizeof cmd, "zstd -3 -q -f -o '%s' '%s'", zst, csv);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench: zstd failed (is the zstd command installed?)\n");
        exit(3);
    }
    return bench_file_size(zst);
}

/* The peak resident set of a running process since its exec (VmHWM), in MiB; 0 when gone, or
 * while it is still the forked copy of this process (its name is not yet the exec'd one's). */
static double
bench_vmhwm_mib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    int exec_done = fgets(line, sizeof line, f) != NULL && strcmp(line, "cdht\n") == 0;
    fclose(f);
    if (!exec_done) {
        return 0;
    }
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    double kib = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kib = strtod(line + 6, NULL);
            break;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return kib / 1024.0;
}

/* Runs `cdht bundle import` as its own process and returns its peak RSS in MiB. */
static double
bench_import_rss(const char *cdht, const char *home, const char *bundle, double *secs)
{
    double t0 = bench_now();
    pid_t pid = fork();
    if (pid == 0) {
        execl(cdht, cdht, "bundle", "import", "--home", home, bundle, (char *)NULL);
        _exit(127);
    }
    /* Not wait4's ru_maxrss: it keeps the high-water mark of the forked copy of this (large)
     * process from before exec. /proc's VmHWM is the exec'd program's own, polled until it
     * exits (the mark only grows, so the last reading is the peak but for the last poll). */
    double peak = 0;
    int status = 0;
    for (;;) {
        double hwm = bench_vmhwm_mib(pid);
        peak = hwm > peak ? hwm : peak;
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            break;
        }
        if (w < 0) {
            bench_die("import wait", ERR_IO);
        }
        struct timespec ts = {0, 2 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench: cdht bundle import failed\n");
        exit(3);
    }
    *secs = bench_now() - t0;
    return peak;
}

static struct replica *
bench_replica(const char *dir, const char *name)
{
    char home[512];
    snprintf(home, sizeof home, "%s/%s", dir, name);
    struct replica_init_opts o = {.unit = "44001", .name = name};
    err_code rc = replica_init(home, &o);
    struct replica *r = NULL;
    if (rc != ERR_OK || (rc = replica_open(&r, home, REPLICA_WRITE, NULL, 0, NULL)) != ERR_OK) {
        bench_die("replica", rc);
    }
    return r;
}

static void
bench_audit_visit(void *ctx, const struct audit_finding *f)
{
    (void)ctx;
    fprintf(stderr, "bench: unexpected audit finding: %s\n", f->reason);
    exit(3);
}

/* ---- Trust (issue 3): an audit of 1,000,000 changes from 200 certified devices, and a
 * revocation that withdraws 10,000 leaves. Root R draws the tree and certifies hub H for the
 * commune; H certifies the writers; an auditor replica X holds everything. */
#define BENCH_TRUST_DEVICES 200u
#define BENCH_TRUST_LEAVES_PER_DEVICE 50u
#define BENCH_TRUST_ROWS_PER_LEAF 100u
#define BENCH_REVOKE_LEAVES 10000u

static struct replica *
bench_trust_replica(const char *dir, const char *name, const char *unit, int root,
                    const uint8_t *trust_root)
{
    char home[512];
    snprintf(home, sizeof home, "%s/%s", dir, name);
    struct replica_init_opts o = {.unit = unit, .root = root, .trust_root = trust_root};
    err_code rc = replica_init(home, &o);
    struct replica *r = NULL;
    if (rc != ERR_OK || (rc = replica_open(&r, home, REPLICA_WRITE, NULL, 0, NULL)) != ERR_OK) {
        bench_die("trust replica", rc);
    }
    return r;
}

static void
bench_move(struct replica *from, struct replica *to, const char *path)
{
    struct exchange_report rep;
    err_code rc = exchange_export(from, path, NULL, 0, &rep);
    if (rc != ERR_OK || (rc = exchange_import(to, path, &rep)) != ERR_OK) {
        bench_die("trust bundle", rc);
    }
}

/* rows of one village, written by r as leaves of per_leaf rows each (one batch). */
static void
bench_trust_write(struct replica *r, struct bench_row *rows, unsigned leaves, unsigned per_leaf,
                  const char *unit)
{
    err_code rc = replica_batch_begin(r);
    for (unsigned l = 0; rc == ERR_OK && l < leaves; l++) {
        struct replica_txn *t = NULL;
        rc = replica_txn_new(r, &t);
        for (unsigned j = 0; rc == ERR_OK && j < per_leaf; j++) {
            struct bench_row *row = &rows[(size_t)l * per_leaf + j];
            struct replica_cell cells[6];
            replica_new_id(row->id);
            row->unit = unit;
            bench_cells(row, cells);
            rc = replica_txn_put(t, "person", row->id, 1, cells, 6, 1);
        }
        rc = rc == ERR_OK ? replica_txn_commit(r, t, NULL) : rc;
    }
    if (rc != ERR_OK) {
        replica_batch_abort(r);
        bench_die("trust write", rc);
    }
    if ((rc = replica_batch_commit(r)) != ERR_OK) {
        bench_die("trust batch", rc);
    }
}

static void
bench_trust(const char *dir, struct bench_row *rows)
{
    char path[600], name[64], unit[32];
    snprintf(path, sizeof path, "%s/t.bundle", dir);
    struct replica *R = bench_trust_replica(dir, "tR", "44", 1, NULL);
    struct replica *H = bench_trust_replica(dir, "tH", "44001", 0, R->pk);
    struct replica *X = bench_trust_replica(dir, "tX", "44", 0, R->pk);
    /* The tree: province, commune, and one village per device, in one leaf by the root. */
    struct replica_txn *t = NULL;
    err_code rc = replica_txn_new(R, &t);
    for (unsigned i = 0; rc == ERR_OK && i <= BENCH_TRUST_DEVICES + 1; i++) {
        const char *code = i == 0 ? "44" : i == 1 ? "44001" : unit;
        if (i > 1) {
            snprintf(unit, sizeof unit, "44001%03u", i - 2);
        }
        struct replica_cell cells[] = {
            {.col = "parent",
             .type = SCHEMA_TEXT,
             .s = i == 0   ? NULL
                  : i == 1 ? "44"
                           : "44001",
             .is_null = i == 0},
            {.col = "kind",
             .type = SCHEMA_TEXT,
             .s = i == 0   ? "province"
                  : i == 1 ? "commune"
                           : "village"},
        };
        rc = replica_txn_put(t, "unit", code, 1, cells, 2, 0);
    }
    /* Units-tree writes and certificates may not share a leaf: two commits. */
    if (rc != ERR_OK || (rc = replica_txn_commit(R, t, NULL)) != ERR_OK ||
        (rc = replica_txn_new(R, &t)) != ERR_OK ||
        (rc = replica_txn_cert(t, H->pk, "hub", "44001", NULL, NULL)) != ERR_OK ||
        (rc = replica_txn_commit(R, t, NULL)) != ERR_OK) {
        bench_die("trust tree", rc);
    }
    bench_move(R, H, path);
    /* The devices, certified by the hub in one leaf. */
    struct replica **dev = calloc(BENCH_TRUST_DEVICES + 1, sizeof *dev);
    if ((rc = replica_txn_new(H, &t)) != ERR_OK) {
        bench_die("trust certs", rc);
    }
    for (unsigned i = 0; i <= BENCH_TRUST_DEVICES; i++) {
        snprintf(name, sizeof name, "tW%u", i);
        snprintf(unit, sizeof unit, "44001%03u", i % BENCH_TRUST_DEVICES);
        dev[i] = bench_trust_replica(dir, name, unit, 0, R->pk);
        if ((rc = replica_txn_cert(t, dev[i]->pk, "writer", unit, NULL, NULL)) != ERR_OK) {
            bench_die("trust cert", rc);
        }
    }
    if ((rc = replica_txn_commit(H, t, NULL)) != ERR_OK) {
        bench_die("trust certs commit", rc);
    }
    bench_move(H, X, path);
    /* Each device learns its certificate, writes its village's people, and ships its log. */
    unsigned per = BENCH_TRUST_LEAVES_PER_DEVICE * BENCH_TRUST_ROWS_PER_LEAF;
    for (unsigned i = 0; i <= BENCH_TRUST_DEVICES; i++) {
        snprintf(unit, sizeof unit, "44001%03u", i % BENCH_TRUST_DEVICES);
        bench_move(H, dev[i], path);
        if (i < BENCH_TRUST_DEVICES) {
            bench_trust_write(dev[i], rows, BENCH_TRUST_LEAVES_PER_DEVICE,
                              BENCH_TRUST_ROWS_PER_LEAF, unit);
        } else {
            /* The laptop that will be revoked: 10,000 one-row leaves. */
            bench_trust_write(dev[i], rows, BENCH_REVOKE_LEAVES, 1, unit);
        }
        bench_move(dev[i], X, path);
        replica_close(dev[i]);
    }
    free(dev);
    /* The audit: chains, authorisation of every change (the replay through trust), proofs. */
    /* The audit: signatures, roots, chains and the authorisation of every change, judged by an
     * evaluation in memory against the quarantine (cdht audit --logs-only); then the full audit,
     * which also replays every leaf into a scratch replica to compare the tables. */
    struct audit_summary sum;
    double t0 = bench_now();
    if ((rc = audit_run(X->st, AUDIT_TRUST, bench_audit_visit, NULL, &sum)) != ERR_OK) {
        bench_die("trust audit", rc);
    }
    double t_audit = bench_now() - t0;
    double changes = (double)BENCH_TRUST_DEVICES * per + BENCH_REVOKE_LEAVES;
    bench_put("audit_changes_per_s", changes / t_audit);
    t0 = bench_now();
    if ((rc = audit_run(X->st, AUDIT_STATE | AUDIT_TRUST, bench_audit_visit, NULL, &sum)) !=
        ERR_OK) {
        bench_die("trust audit with replay", rc);
    }
    bench_put("audit_replay_changes_per_s", changes / (bench_now() - t0));
    bench_put("audit_changes", changes);
    /* The revocation: the hub withdraws every leaf of the last laptop; X receives it. */
    struct heads_entry *heads = NULL;
    size_t nheads = 0;
    struct exchange_report rep;
    if ((rc = exchange_heads(X, &heads, &nheads)) != ERR_OK ||
        (rc = replica_txn_new(H, &t)) != ERR_OK) {
        bench_die("revocation", rc);
    }
    uint8_t victim[KEY_PUBLIC_SIZE];
    snprintf(name, sizeof name, "%s/tW%u", dir, BENCH_TRUST_DEVICES);
    struct replica *v = NULL;
    if ((rc = replica_open(&v, name, 0, NULL, 0, NULL)) != ERR_OK) {
        bench_die("revocation victim", rc);
    }
    memcpy(victim, v->pk, KEY_PUBLIC_SIZE);
    replica_close(v);
    if ((rc = replica_txn_revoke(t, victim, 0, 0, "bench")) != ERR_OK ||
        (rc = replica_txn_commit(H, t, NULL)) != ERR_OK ||
        (rc = exchange_export(H, path, heads, nheads, &rep)) != ERR_OK) {
        bench_die("revocation", rc);
    }
    free(heads);
    t0 = bench_now();
    if ((rc = exchange_import(X, path, &rep)) != ERR_OK) {
        bench_die("revocation import", rc);
    }
    double t_rev = bench_now() - t0;
    uint64_t held = 0;
    if ((rc = trust_quarantine_count(X->st, &held)) != ERR_OK || held != BENCH_REVOKE_LEAVES) {
        fprintf(stderr, "bench: revocation held %llu leaves, not %u\n", (unsigned long long)held,
                BENCH_REVOKE_LEAVES);
        exit(3);
    }
    bench_put("revocation_10k_s", t_rev);
    replica_close(R);
    replica_close(H);
    replica_close(X);
}

/* ---- Network (issue 4): a branch pushes the bulk rows to a hub over TCP on 127.0.0.1, the
 * whole path (handshake, heads, batches, zstd, encryption, verification, admission, merge). The
 * hub's serve loop runs in a thread of this process. */
#define BENCH_SYNC_PORT_BASE 47000
#define BENCH_SYNC_PORT_SPAN 2000

struct bench_hub {
    uv_loop_t loop;
    uv_async_t stop;
    struct transport *t;
    struct session_server s;
    char url[64];
};

static void
bench_hub_request(void *ctx, struct transport *t, const void *buf, size_t len)
{
    struct bench_hub *h = ctx;
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (session_server_handle(&h->s, buf, len, &out, &out_len) != ERR_OK ||
        transport_send(t, out ? out : (const uint8_t *)"", out_len) != ERR_OK) {
        fprintf(stderr, "bench: the hub failed a request\n");
        exit(3);
    }
    free(out);
}

static void
bench_hub_stop(uv_async_t *a)
{
    struct bench_hub *h = a->data;
    transport_close(h->t);
    uv_close((uv_handle_t *)&h->stop, NULL);
}

static void *
bench_hub_main(void *arg)
{
    struct bench_hub *h = arg;
    uv_run(&h->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* Seconds to sync everything branch holds into hub; *wire gets the bytes both ways. */
static double
bench_sync(struct replica *branch, struct replica *hub, double *wire)
{
    struct bench_hub *h = calloc(1, sizeof *h);
    err_code rc = ERR_AGAIN;
    if (h == NULL || uv_loop_init(&h->loop) != 0 || session_server_init(&h->s, hub) != ERR_OK) {
        bench_die("sync hub", ERR_NOMEM);
    }
    unsigned start = (unsigned)getpid() % BENCH_SYNC_PORT_SPAN;
    for (unsigned k = 0; k < 50 && rc == ERR_AGAIN; k++) {
        snprintf(h->url, sizeof h->url, "tcp://127.0.0.1:%u",
                 BENCH_SYNC_PORT_BASE + (start + k) % BENCH_SYNC_PORT_SPAN);
        rc = transport_open(&h->t, &h->loop, TRANSPORT_LISTEN, h->url, bench_hub_request, h, NULL);
    }
    if (rc != ERR_OK) {
        bench_die("sync listen", rc);
    }
    uv_async_init(&h->loop, &h->stop, bench_hub_stop);
    h->stop.data = h;
    pthread_t th;
    if (pthread_create(&th, NULL, bench_hub_main, h) != 0) {
        bench_die("sync thread", ERR_NOMEM);
    }
    struct session_report rep;
    double t0 = bench_now();
    rc = session_sync(branch, h->url, hub->pk, 600000, &rep);
    double t = bench_now() - t0;
    uv_async_send(&h->stop);
    pthread_join(th, NULL);
    if (rc != ERR_OK) {
        fprintf(stderr, "bench: sync: %s (%s)\n", rep.msg, err_str(rc));
        exit(3);
    }
    *wire = (double)(rep.bytes_sent + rep.bytes_received);
    session_server_free(&h->s);
    uv_loop_close(&h->loop);
    free(h);
    return t;
}

/* Starts `cdht serve --home home --listen url` with its stderr in log, and waits (bounded: 5 s)
 * for its "listening" line. Returns its PID; the caller kills it (SIGTERM) and waits for it. A
 * serve that exits first (the port is taken) or stays silent stops the bench with its log's
 * name. */
static pid_t
bench_serve_start(const char *cdht, const char *home, const char *url, const char *log)
{
    pid_t pid = fork();
    if (pid < 0) {
        bench_die("serve fork", ERR_IO);
    }
    if (pid == 0) {
        if (freopen(log, "w", stderr) == NULL) {
            _exit(126);
        }
        execl(cdht, cdht, "serve", "--home", home, "--listen", url, (char *)NULL);
        _exit(127);
    }
    for (int k = 0; k < 100; k++) {
        char buf[256] = "";
        FILE *f = fopen(log, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f) {
            fclose(f);
        }
        buf[n] = '\0';
        if (strstr(buf, "listening") != NULL) {
            return pid;
        }
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "bench: cdht serve on %s exited early (see %s)\n", url, log);
            exit(3);
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    fprintf(stderr, "bench: cdht serve on %s did not start listening (see %s)\n", url, log);
    exit(3);
}

/* Fan-in: BENCH_FANIN_BRANCHES branches of BENCH_FANIN_ROWS rows each sync at once into one
 * hub, a real `cdht serve` process whose peak RSS is read when it exits (SIGTERM). */
#define BENCH_FANIN_BRANCHES 50u
#define BENCH_FANIN_ROWS 2000u

struct bench_fanin_arg {
    struct replica *r;
    const char *url;
    const uint8_t *hub_pk;
    err_code rc;
};

static void *
bench_fanin_main(void *p)
{
    struct bench_fanin_arg *a = p;
    struct session_report rep;
    a->rc = session_sync(a->r, a->url, a->hub_pk, 600000, &rep);
    if (a->rc != ERR_OK) {
        fprintf(stderr, "bench: fan-in sync: %s\n", rep.msg);
    }
    return NULL;
}

static void
bench_fanin(const char *cdht, const char *dir, struct bench_row *rows)
{
    struct replica *hub = bench_replica(dir, "fanin-hub");
    uint8_t hub_pk[KEY_PUBLIC_SIZE];
    char home[600], url[64], log[700];
    memcpy(hub_pk, hub->pk, KEY_PUBLIC_SIZE);
    snprintf(home, sizeof home, "%s/fanin-hub", dir);
    replica_close(hub);
    struct replica **br = calloc(BENCH_FANIN_BRANCHES, sizeof *br);
    struct bench_fanin_arg *args = calloc(BENCH_FANIN_BRANCHES, sizeof *args);
    pthread_t *th = calloc(BENCH_FANIN_BRANCHES, sizeof *th);
    for (unsigned i = 0; i < BENCH_FANIN_BRANCHES; i++) {
        char name[32];
        snprintf(name, sizeof name, "fanin-%u", i);
        br[i] = bench_replica(dir, name);
        for (unsigned j = 0; j < BENCH_FANIN_ROWS; j++) {
            replica_new_id(rows[j].id);
        }
        bench_bulk(br[i], rows, BENCH_FANIN_ROWS, 1);
    }
    snprintf(url, sizeof url, "tcp://127.0.0.1:%u",
             BENCH_SYNC_PORT_BASE + BENCH_SYNC_PORT_SPAN + (unsigned)getpid() % 1000u);
    snprintf(log, sizeof log, "%s/fanin-serve.log", dir);
    pid_t pid = bench_serve_start(cdht, home, url, log);
    double t0 = bench_now();
    for (unsigned i = 0; i < BENCH_FANIN_BRANCHES; i++) {
        args[i] = (struct bench_fanin_arg){.r = br[i], .url = url, .hub_pk = hub_pk};
        pthread_create(&th[i], NULL, bench_fanin_main, &args[i]);
    }
    int failed = 0;
    for (unsigned i = 0; i < BENCH_FANIN_BRANCHES; i++) {
        pthread_join(th[i], NULL);
        failed |= args[i].rc != ERR_OK;
    }
    double t = bench_now() - t0;
    /* The hub's own peak (VmHWM since its exec; not wait4's, which counts the forked copy of
     * this process), read before it is stopped. */
    double hub_rss = bench_vmhwm_mib(pid);
    kill(pid, SIGTERM);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || failed) {
        fprintf(stderr, "bench: fan-in failed\n");
        exit(3);
    }
    bench_put("fanin_s", t);
    bench_put("hub_peak_rss_mib", hub_rss);
    for (unsigned i = 0; i < BENCH_FANIN_BRANCHES; i++) {
        replica_close(br[i]);
    }
    free(br);
    free(args);
    free(th);
}

/* Removes the benchmark's temporary folder (hundreds of MB): every exit path calls it. */
static int
bench_cleanup(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 3;
}

/* ---- No-op sync (issue 4 item 8): a caller and a callee (a real `cdht serve`) that hold the
 * same BENCH_NOOP_LOGS device logs sync again and find nothing to move. Each timed sync is a
 * whole session: dial, handshake, hello, the callee's heads (paged) and ours, the check round
 * of heads again, done. The baseline is the same session between two replicas holding one
 * device log, measured in the same run and interleaved with it, so that the ratio says what the
 * 1,000 logs cost and not what the machine was doing. Each side also holds its own empty log,
 * which no sync moves (size 0): 1,001 heads against 2. Open mode, like the fan-in: no scope
 * check per log. */
#define BENCH_NOOP_LOGS 1000u
#define BENCH_NOOP_SYNCS 20u
#define BENCH_NOOP_LEAVES_MAX 5u /* device i writes 1 + i % 5 leaves of one person each */
#define BENCH_NOOP_PORT_BASE (BENCH_SYNC_PORT_BASE + BENCH_SYNC_PORT_SPAN + 1000)
#define BENCH_NOOP_TIMEOUT_MS 60000

struct bench_noop_pair {
    unsigned logs;
    char callee_home[600], caller_home[600];
    char url[64];
    uint8_t callee_pk[KEY_PUBLIC_SIZE];
    struct replica *caller; /* open while the syncs run */
    pid_t serve;            /* the callee's cdht serve; 0 when not running */
    double ms[BENCH_NOOP_SYNCS];
    double cpu_ms[BENCH_NOOP_SYNCS], serve_cpu_ms[BENCH_NOOP_SYNCS]; /* ours, the serve's */
    uint64_t requests, wire_bytes; /* of the last timed sync */
    size_t held;                   /* logs the caller holds: the devices' and its own */
};

/* Stops what the phase started (the serve processes by their PIDs, the callers) and the
 * benchmark, after the caller printed why: every failure of the phase once the serves run ends
 * here, so no serve is left behind. */
static noreturn void
bench_noop_fail(const char *dir, struct bench_noop_pair *pairs, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (pairs[i].serve > 0) {
            kill(pairs[i].serve, SIGTERM);
            waitpid(pairs[i].serve, NULL, 0);
            pairs[i].serve = 0;
        }
        replica_close(pairs[i].caller);
        pairs[i].caller = NULL;
    }
    (void)bench_cleanup(dir);
    exit(3);
}

/* Builds p->logs device logs (each its own replica: one log per device key; device i writes
 * 1 + i % BENCH_NOOP_LEAVES_MAX leaves of one person). Device 0 collects the others' bundles,
 * and its one bundle of every log goes to the callee and to the caller: both end with the same
 * heads. The devices are scratch, on /dev/shm when there is one (like tests/support): a home is
 * six new files, and on this ext4 /tmp inode allocation and the fsyncs took most of a 15 s
 * set-up; the callee and caller, whose reads are measured, stay in dir. Everything is closed on
 * return (the serve must take the callee's write lock). */
static void
bench_noop_build(const char *dir, const char *tag, struct bench_noop_pair *p,
                 struct bench_row *rows)
{
    char name[64], bundle[600], scratch[512];
    struct stat sb;
    snprintf(scratch, sizeof scratch, "%s/cdht-bench-noop-XXXXXX",
             stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : dir);
    if (mkdtemp(scratch) == NULL) {
        bench_die("noop scratch", ERR_IO);
    }
    snprintf(bundle, sizeof bundle, "%s/noop.bundle", scratch);
    err_code rc = ERR_OK;
    struct exchange_report rep;
    struct replica *col = bench_replica(scratch, "d0");
    bench_trust_write(col, rows, 1, 1, "44001001");
    for (unsigned i = 1; i < p->logs && rc == ERR_OK; i++) {
        snprintf(name, sizeof name, "d%u", i);
        struct replica *dev = bench_replica(scratch, name);
        bench_trust_write(dev, rows, 1 + i % BENCH_NOOP_LEAVES_MAX, 1, "44001001");
        rc = exchange_export(dev, bundle, NULL, 0, &rep);
        replica_close(dev);
        rc = rc == ERR_OK ? exchange_import(col, bundle, &rep) : rc;
    }
    rc = rc == ERR_OK ? exchange_export(col, bundle, NULL, 0, &rep) : rc;
    replica_close(col);
    snprintf(name, sizeof name, "%s-callee", tag);
    struct replica *callee = bench_replica(dir, name);
    memcpy(p->callee_pk, callee->pk, KEY_PUBLIC_SIZE);
    snprintf(p->callee_home, sizeof p->callee_home, "%s/%s", dir, name);
    snprintf(name, sizeof name, "%s-caller", tag);
    struct replica *caller = bench_replica(dir, name);
    snprintf(p->caller_home, sizeof p->caller_home, "%s/%s", dir, name);
    rc = rc == ERR_OK ? exchange_import(callee, bundle, &rep) : rc;
    rc = rc == ERR_OK ? exchange_import(caller, bundle, &rep) : rc;
    replica_close(callee);
    replica_close(caller);
    (void)bench_cleanup(scratch); /* before reporting a failure: /dev/shm is memory */
    if (rc != ERR_OK) {
        bench_die("noop bundles", rc);
    }
}

/* CPU time of this process so far (every thread, also the exited ones), in ms. */
static double
bench_cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* CPU time of a running process's threads so far, in ms (the first field of each
 * /proc/PID/task/TID/schedstat is its time on a CPU in ns: finer than utime's ticks). */
static double
bench_proc_cpu_ms(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    double ns = 0;
    for (struct dirent *e = d ? readdir(d) : NULL; e != NULL; e = readdir(d)) {
        char f[300];
        unsigned long long t = 0;
        snprintf(f, sizeof f, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        FILE *fp = e->d_name[0] != '.' ? fopen(f, "r") : NULL;
        if (fp != NULL) {
            if (fscanf(fp, "%llu", &t) == 1) {
                ns += (double)t;
            }
            fclose(fp);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return ns / 1e6;
}

/* One timed session; a failure, or any leaf moved, stops the phase. The CPU times are read
 * outside the timed span. */
static void
bench_noop_once(const char *dir, struct bench_noop_pair *pairs, unsigned n, unsigned which,
                unsigned k)
{
    struct bench_noop_pair *p = &pairs[which];
    struct session_report rep;
    /* Ours read innermost, so that reading the serve's /proc files is not counted as ours. */
    double serve0 = bench_proc_cpu_ms(p->serve), cpu0 = bench_cpu_ms();
    double t0 = bench_now();
    err_code rc = session_sync(p->caller, p->url, p->callee_pk, BENCH_NOOP_TIMEOUT_MS, &rep);
    double ms = (bench_now() - t0) * 1000.0;
    p->cpu_ms[k] = bench_cpu_ms() - cpu0;
    p->serve_cpu_ms[k] = bench_proc_cpu_ms(p->serve) - serve0;
    if (rc != ERR_OK) {
        fprintf(stderr, "bench: noop: sync %u with %s failed: %s (%s)\n", k, p->url, rep.msg,
                err_str(rc));
        bench_noop_fail(dir, pairs, n);
    }
    if (rep.pulled != 0 || rep.pushed != 0) {
        fprintf(stderr,
                "bench: noop: sync %u with %u logs was no no-op: %llu leaves pulled, %llu pushed\n",
                k, p->logs, (unsigned long long)rep.pulled, (unsigned long long)rep.pushed);
        bench_noop_fail(dir, pairs, n);
    }
    p->ms[k] = ms;
    p->requests = rep.requests;
    p->wire_bytes = rep.bytes_sent + rep.bytes_received;
}

static void
bench_noop(const char *cdht, const char *dir, struct bench_row *rows)
{
    static const char *const tags[2] = {"noop1", "noop"};
    struct bench_noop_pair pairs[2];
    memset(pairs, 0, sizeof pairs);
    pairs[0].logs = 1;
    pairs[1].logs = BENCH_NOOP_LOGS;
    double t0 = bench_now();
    printf("noop: building 1 + %u device logs (1-%u leaves each) by bundle...\n", BENCH_NOOP_LOGS,
           BENCH_NOOP_LEAVES_MAX);
    fflush(stdout);
    for (unsigned i = 0; i < 2; i++) {
        bench_noop_build(dir, tags[i], &pairs[i], rows);
    }
    double t_build = bench_now() - t0;
    /* The serves start with no replica open here, so they inherit none of our databases. */
    unsigned port = BENCH_NOOP_PORT_BASE + (unsigned)getpid() % 500u * 2u; /* and port + 1 */
    for (unsigned i = 0; i < 2; i++) {
        char log[700];
        snprintf(pairs[i].url, sizeof pairs[i].url, "tcp://127.0.0.1:%u", port + i);
        snprintf(log, sizeof log, "%s/%s-serve.log", dir, tags[i]);
        pairs[i].serve = bench_serve_start(cdht, pairs[i].callee_home, pairs[i].url, log);
    }
    for (unsigned i = 0; i < 2; i++) {
        struct heads_entry *heads = NULL;
        size_t nheads = 0;
        struct session_report rep;
        err_code rc = replica_open(&pairs[i].caller, pairs[i].caller_home, REPLICA_WRITE, NULL, 0,
                                   NULL);
        if (rc != ERR_OK) {
            fprintf(stderr, "bench: noop: open %s: %s\n", pairs[i].caller_home, err_str(rc));
            bench_noop_fail(dir, pairs, 2);
        }
        /* A first session, untimed: it would move whatever set-up left unequal (nothing). */
        rc = session_sync(pairs[i].caller, pairs[i].url, pairs[i].callee_pk,
                          BENCH_NOOP_TIMEOUT_MS, &rep);
        if (rc != ERR_OK) {
            fprintf(stderr, "bench: noop: first sync with %s failed: %s (%s)\n", pairs[i].url,
                    rep.msg, err_str(rc));
            bench_noop_fail(dir, pairs, 2);
        }
        if ((rc = exchange_heads(pairs[i].caller, &heads, &nheads)) != ERR_OK) {
            fprintf(stderr, "bench: noop: heads: %s\n", err_str(rc));
            bench_noop_fail(dir, pairs, 2);
        }
        free(heads);
        pairs[i].held = nheads;
        if (nheads < pairs[i].logs) {
            fprintf(stderr, "bench: noop: the caller holds %zu logs, fewer than %u\n", nheads,
                    pairs[i].logs);
            bench_noop_fail(dir, pairs, 2);
        }
    }
    printf("noop: set-up %.1f s; %u no-op syncs with each, interleaved...\n",
           bench_now() - t0, BENCH_NOOP_SYNCS);
    fflush(stdout);
    for (unsigned k = 0; k < BENCH_NOOP_SYNCS; k++) {
        bench_noop_once(dir, pairs, 2, 0, k);
        bench_noop_once(dir, pairs, 2, 1, k);
    }
    for (unsigned i = 0; i < 2; i++) {
        kill(pairs[i].serve, SIGTERM);
        int status = 0;
        if (waitpid(pairs[i].serve, &status, 0) != pairs[i].serve || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            fprintf(stderr, "bench: noop: cdht serve on %s did not stop cleanly\n",
                    pairs[i].url);
        }
        pairs[i].serve = 0;
        replica_close(pairs[i].caller);
        pairs[i].caller = NULL;
        qsort(pairs[i].ms, BENCH_NOOP_SYNCS, sizeof pairs[i].ms[0], bench_cmp_double);
        qsort(pairs[i].cpu_ms, BENCH_NOOP_SYNCS, sizeof pairs[i].cpu_ms[0], bench_cmp_double);
        qsort(pairs[i].serve_cpu_ms, BENCH_NOOP_SYNCS, sizeof pairs[i].serve_cpu_ms[0],
              bench_cmp_double);
    }
    const unsigned mid = BENCH_NOOP_SYNCS / 2;
    double med1 = pairs[0].ms[mid], med = pairs[1].ms[mid];
    double p90 = pairs[1].ms[BENCH_NOOP_SYNCS * 9 / 10];
    /* Wall time waits for the CPU on a busy machine; the CPU time spent by both ends, each
     * median on its own, does much less, and says how much of the wall time is work. */
    for (unsigned i = 0; i < 2; i++) {
        printf("noop: %u device log%s (%zu held): median %.2f ms, p90 %.2f ms, min %.2f ms; CPU "
               "median %.2f ms caller + %.2f ms serve; %llu requests, %llu bytes both ways\n",
               pairs[i].logs, pairs[i].logs == 1 ? "" : "s", pairs[i].held, pairs[i].ms[mid],
               pairs[i].ms[BENCH_NOOP_SYNCS * 9 / 10], pairs[i].ms[0], pairs[i].cpu_ms[mid],
               pairs[i].serve_cpu_ms[mid], (unsigned long long)pairs[i].requests,
               (unsigned long long)pairs[i].wire_bytes);
    }
    printf("noop: ratio %.2f; logs built in %.1f s\n", med / med1, t_build);
    bench_put("noop_sync_ms", med);
    bench_put("noop_sync_p90_ms", p90);
    bench_put("noop_sync_wire_bytes", (double)pairs[1].wire_bytes);
    bench_put("noop_sync_cpu_ms", pairs[1].cpu_ms[mid] + pairs[1].serve_cpu_ms[mid]);
    bench_put("noop_sync_1log_ms", med1);
    bench_put("noop_sync_1000_vs_1_logs", med / med1);
}

/* Issue 5: `cdht import` of a 100,000-row person CSV (the template's Vietnamese headers; names
 * from bench_rows, every third one in NFD as some keyboards type them; valid, distinct citizen
 * ids) into a fresh replica holding the units, timed as a real process like the CLI phases.
 * The same run's baseline is plain SQLite inserting the same rows (bench_sqlite_baseline). */
static void
bench_import_csv(const char *cdht, const char *dir, const struct bench_row *shared, unsigned n)
{
    char csv[600], home[600], db[600];
    /* Rows of its own: the earlier phases change the shared ones (tombstones, moves). */
    (void)shared;
    struct bench_row *own = malloc(n * sizeof *own);
    if (own == NULL) {
        bench_die("import rows", ERR_NOMEM);
    }
    bench_rows(own, n);
    const struct bench_row *rows = own;
    snprintf(csv, sizeof csv, "%s/people.csv", dir);
    FILE *f = fopen(csv, "w");
    if (f == NULL) {
        bench_die("import csv", ERR_IO);
    }
    fputs("\xef\xbb\xbfSTT,H\xe1\xbb\x8d v\xc3\xa0 t\xc3\xaan,N\xc4\x83m sinh,Gi\xe1\xbb\x9bi t\xc3\xadnh,"
          "M\xc3\xa3 \xc4\x91\xc6\xa1n v\xe1\xbb\x8b,Nh\xc3\xb3m \xc4\x91\xe1\xbb\x91i t\xc6\xb0\xe1\xbb\xa3ng,"
          "S\xe1\xbb\x91 CCCD\r\n", f);
    for (unsigned i = 0; i < n; i++) {
        const struct bench_row *w = &rows[i];
        int female = strcmp(w->gender, "female") == 0;
        const char *g = strcmp(w->group, "farmer") == 0   ? "N\xc3\xb4ng d\xc3\xa2n"
                        : strcmp(w->group, "worker") == 0 ? "C\xc3\xb4ng nh\xc3\xa2n"
                                                          : "C\xc3\xa1n b\xe1\xbb\x99";
        char *nfd = i % 3 == 0 ? (char *)utf8proc_NFD((const utf8proc_uint8_t *)w->name) : NULL;
        /* Province 001..096, century/gender digit, two year digits, then i: distinct ids. */
        fprintf(f, "%u,%s,%lld,%s,%s,%s,%03u%d%02lld%06u\r\n", i + 1, nfd ? nfd : w->name,
                (long long)w->year, female ? "N\xe1\xbb\xaf" : "Nam", w->unit, g, 1 + i % 96,
                (int)((w->year - 1900) / 100 * 2 + female), (long long)(w->year % 100), i);
        free(nfd);
    }
    fclose(f);
    struct replica *r = bench_replica(dir, "imp");
    snprintf(home, sizeof home, "%s/imp", dir);
    static const char *const units[] = {"44001001", "44001002", "44001003", "44001004",
                                        "44001005", "44001006", "44001007", "44001008"};
    struct replica_txn *t = NULL;
    err_code rc = replica_txn_new(r, &t);
    struct replica_cell c0[3] = {
        {.col = "kind", .type = SCHEMA_TEXT, .s = "commune"},
        {.col = "name", .type = SCHEMA_TEXT, .s = "X\xc3\xa3 M\xe1\xbb\x99t"},
    };
    if (rc == ERR_OK) {
        rc = replica_txn_put(t, "unit", "44001", 1, c0, 2, 1);
    }
    for (unsigned k = 0; rc == ERR_OK && k < 8; k++) {
        struct replica_cell cu[3] = {
            {.col = "parent", .type = SCHEMA_TEXT, .s = "44001"},
            {.col = "kind", .type = SCHEMA_TEXT, .s = "village"},
            {.col = "name", .type = SCHEMA_TEXT, .s = units[k]},
        };
        rc = replica_txn_put(t, "unit", units[k], 1, cu, 3, 1);
    }
    if (rc != ERR_OK || (rc = replica_txn_commit(r, t, NULL)) != ERR_OK) {
        bench_die("import units", rc);
    }
    replica_close(r);
    double t0 = bench_now();
    pid_t pid = fork();
    if (pid == 0) {
        execl(cdht, cdht, "import", "--home", home, csv, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench: cdht import failed\n");
        exit(3);
    }
    double t_imp = bench_now() - t0;
    /* Again: nothing changes, so this is the cost of reading, checking and matching alone. */
    t0 = bench_now();
    pid = fork();
    if (pid == 0) {
        execl(cdht, cdht, "import", "--home", home, csv, (char *)NULL);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench: cdht import (again) failed\n");
        exit(3);
    }
    double t_again = bench_now() - t0;
    snprintf(db, sizeof db, "%s/import-plain.db", dir);
    double t_sql = bench_sqlite_baseline(db, rows, n);
    bench_put("import_csv_rows_per_s", n / t_imp);
    bench_put("import_csv_vs_sqlite", t_imp / t_sql);
    bench_put("import_csv_again_rows_per_s", n / t_again);
    free(own);
}

/* ---- issue 5: report_province_s ------------------------------------------------------------ */

/* A province of BENCH_REPORT_PEOPLE people with one year (2026) of assessments: 100 communes of
 * 10 villages (ten more communes closed by the 2025 reform and succeeded, so their villages' rows
 * roll up through the succession map), and in 2026 60 % reviewed, 40 % decided (30 % approved,
 * 5 % rejected, 5 % returned), 5 % of the people in recognised families of four. Timed: opening
 * the replica read-only, report_build for the province and the table written to /dev/null,
 * which is `cdht report --unit 44 --year 2026` without the process start (best of 3). */
#define BENCH_REPORT_PEOPLE 1000000u
#define BENCH_REPORT_PER_COMMIT 2500u /* rows of 4 tables at most: below COMMIT_CHANGES_MAX */
#define BR_TXT(c, v)                                                                               \
    {                                                                                              \
        .col = (c), .type = SCHEMA_TEXT, .s = (v), .is_null = (v) == NULL                          \
    }

static void
bench_report_put(struct replica_txn *t, const char *table, const char *pk,
                 const struct replica_cell *cells, size_t n)
{
    err_code rc = replica_txn_put(t, table, pk, 1, cells, n, 1);
    if (rc != ERR_OK) {
        bench_die(table, rc);
    }
}

static void
bench_report_units(struct replica *r)
{
    struct replica_txn *t = NULL;
    err_code rc = replica_txn_new(r, &t);
    if (rc != ERR_OK) {
        bench_die("report units", rc);
    }
    struct replica_cell p[] = {BR_TXT("parent", NULL), BR_TXT("kind", "province"),
                               BR_TXT("name", "Tỉnh Quảng Bình")};
    bench_report_put(t, "unit", "44", p, 3);
    for (unsigned c = 0; c < 110; c++) {
        char code[16], name[64];
        snprintf(code, sizeof code, "44%03u", c);
        snprintf(name, sizeof name, "Xã Số %u", c);
        /* Communes 100..109 closed on 2025-06-30; each succeeded by commune c - 100. */
        struct replica_cell cc[] = {BR_TXT("parent", "44"), BR_TXT("kind", "commune"),
                                    BR_TXT("name", name),
                                    BR_TXT("valid_to", c >= 100 ? "2025-06-30" : NULL)};
        bench_report_put(t, "unit", code, cc, 4);
        if (c >= 100) {
            char succ[16];
            snprintf(succ, sizeof succ, "44%03u", c - 100);
            struct replica_cell sc[] = {BR_TXT("new_code", succ),
                                        BR_TXT("effective", "2025-07-01")};
            bench_report_put(t, "unit_succession", code, sc, 2);
        }
        for (unsigned v = 0; v < 10; v++) {
            char vcode[24], vname[64];
            snprintf(vcode, sizeof vcode, "%s-V%u", code, v);
            snprintf(vname, sizeof vname, "Thôn %u", v);
            struct replica_cell vc[] = {BR_TXT("parent", code), BR_TXT("kind", "village"),
                                        BR_TXT("name", vname)};
            bench_report_put(t, "unit", vcode, vc, 3);
        }
    }
    if ((rc = seed_framework_put(t, "*")) != ERR_OK || (rc = seed_plan_national_put(t)) != ERR_OK ||
        (rc = replica_txn_commit(r, t, NULL)) != ERR_OK) {
        bench_die("report units", rc);
    }
}

/* One person's rows of 2026; i picks unit, group, status and digital level deterministically. */
static void
bench_report_person(struct replica_txn *t, unsigned i)
{
    static const char *const groups[3] = {"farmer", "worker", "official"};
    static const char *const digital[3] = {"none", "basic", "proficient"};
    char pid[REPLICA_ID_SIZE + 1], pk[32], unit[24], fam[24];
    snprintf(pid, sizeof pid, "P%015u", i);
    snprintf(pk, sizeof pk, "2026:%s", pid);
    snprintf(unit, sizeof unit, "44%03u-V%u", (i / 7) % 110, (i / 3) % 10);
    unsigned st = (i * 7919u) % 100; /* 0-39 not reviewed, 40-59 reviewed, 60-99 decided */
    struct replica_cell a[] = {
        BR_TXT("person", pid),
        {.col = "year", .type = SCHEMA_INT, .i = 2026},
        BR_TXT("unit", unit),
        BR_TXT("target_group", groups[i % 3]),
        BR_TXT("framework", "*/244-2022/1"),
        BR_TXT("digital", digital[(i / 11) % 3]),
        {.col = "round", .type = SCHEMA_INT, .i = 1},
        BR_TXT("stage", st < 20 ? "draft" : "self_submitted"),
    };
    bench_report_put(t, "assessment", pk, a, 8);
    if (st >= 40) {
        struct replica_cell rv[] = {BR_TXT("unit", unit),
                                    {.col = "round", .type = SCHEMA_INT, .i = 1},
                                    BR_TXT("outcome", "reviewed")};
        bench_report_put(t, "review", pk, rv, 3);
    }
    if (st >= 60) {
        const char *out = st < 90 ? "approved" : st < 95 ? "rejected" : "returned";
        struct replica_cell ap[] = {BR_TXT("unit", unit),
                                    BR_TXT("person", pid),
                                    {.col = "year", .type = SCHEMA_INT, .i = 2026},
                                    {.col = "round", .type = SCHEMA_INT, .i = 1},
                                    BR_TXT("outcome", out)};
        bench_report_put(t, "approval", pk, ap, 5);
    }
    if (i % 20 == 0) { /* 5 %: a member of family i / 80 (four members each), with a person row */
        snprintf(fam, sizeof fam, "F%015u", i / 80);
        char mk[48];
        snprintf(mk, sizeof mk, "%s:%s", pid, fam);
        struct replica_cell m[] = {BR_TXT("unit", unit), BR_TXT("collective", fam),
                                   BR_TXT("person", pid), BR_TXT("kind", "family")};
        bench_report_put(t, "collective_member", mk, m, 4);
        struct replica_cell pe[] = {
            BR_TXT("name", "Nguyễn Văn An"),
            {.col = "birth_year", .type = SCHEMA_INT, .i = 1950 + (int64_t)(i % 70)},
            BR_TXT("unit", unit)};
        bench_report_put(t, "person", pid, pe, 3);
        if (i % 80 == 0) {
            char rk[32];
            snprintf(rk, sizeof rk, "2026:%s", fam);
            struct replica_cell rc[] = {BR_TXT("unit", unit), BR_TXT("collective", fam),
                                        BR_TXT("outcome", "approved")};
            bench_report_put(t, "collective_recognition", rk, rc, 3);
        }
    }
}

static void
bench_report(const char *dir)
{
    struct replica *r = bench_replica(dir, "report");
    char home[REPLICA_PATH_MAX];
    memcpy(home, r->home, sizeof home);
    bench_report_units(r);
    double t0 = bench_now();
    err_code rc = replica_batch_begin(r);
    for (unsigned i = 0; rc == ERR_OK && i < BENCH_REPORT_PEOPLE; i += BENCH_REPORT_PER_COMMIT) {
        struct replica_txn *t = NULL;
        if ((rc = replica_txn_new(r, &t)) != ERR_OK) {
            break;
        }
        for (unsigned j = i; j < i + BENCH_REPORT_PER_COMMIT && j < BENCH_REPORT_PEOPLE; j++) {
            bench_report_person(t, j);
        }
        rc = replica_txn_commit(r, t, NULL);
    }
    if (rc != ERR_OK || (rc = replica_batch_commit(r)) != ERR_OK) {
        bench_die("report dataset", rc);
    }
    replica_close(r);
    double t_setup = bench_now() - t0;

    FILE *devnull = fopen("/dev/null", "w");
    if (devnull == NULL) {
        bench_die("/dev/null", ERR_IO);
    }
    double best = 0;
    for (unsigned round = 0; round < 3; round++) {
        t0 = bench_now();
        struct report *rep = NULL;
        if ((rc = replica_open(&r, home, 0, NULL, 0, NULL)) != ERR_OK ||
            (rc = report_build(r->st, "44", 2026, NULL, &rep, NULL)) != ERR_OK) {
            bench_die("report", rc);
        }
        if (report_write(devnull, rep, REPORT_FMT_TABLE, REPORT_VI) != 0) {
            bench_die("report write", ERR_IO);
        }
        double t = bench_now() - t0;
        if (round == 0 || t < best) {
            best = t;
        }
        if (round == 0) {
            printf("report: %lld registered, %lld passed, %zu communes, setup %.1f s\n",
                   (long long)rep->all.registered, (long long)rep->all.passed, rep->nchildren,
                   t_setup);
        }
        report_free(rep);
        replica_close(r);
    }
    fclose(devnull);
    bench_put("report_province_s", best);
}
#undef BR_TXT

int
main(int argc, char **argv)
{
    const char *cdht = "build/release/cdht", *out = "build/bench.json";
    /* --only bulk: stop after the bulk phase (for `perf record` of one phase); likewise bundle,
     * fanin, trust, noop, import and report (docs/HACKING.md). */
    const char *only = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--cdht") == 0) {
            cdht = argv[i + 1];
        } else if (strcmp(argv[i], "--out") == 0) {
            out = argv[i + 1];
        } else if (strcmp(argv[i], "--only") == 0) {
            only = argv[i + 1];
        }
    }
    if (sodium_init() < 0) {
        return 3;
    }
    char dir[] = "/tmp/cdht-bench-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        return 3;
    }
    unsigned n = BENCH_BULK_ROWS;
    struct bench_row *rows = malloc((n + BENCH_SINGLE_COMMITS) * sizeof *rows);
    bench_rows(rows, n + BENCH_SINGLE_COMMITS);
    if (only != NULL && strcmp(only, "trust") == 0) {
        bench_trust(dir, rows);
        for (unsigned i = 0; i < bench_n; i++) {
            printf("%-28s %16.3f\n", bench_results[i].name, bench_results[i].value);
        }
        return bench_cleanup(dir);
    }
    if (only != NULL && strcmp(only, "import") == 0) {
        bench_import_csv(cdht, dir, rows, n);
        for (unsigned i = 0; i < bench_n; i++) {
            printf("%-28s %16.3f\n", bench_results[i].name, bench_results[i].value);
        }
        free(rows);
        return bench_cleanup(dir);
    }
    if (only != NULL && strcmp(only, "report") == 0) {
        bench_report(dir);
        for (unsigned i = 0; i < bench_n; i++) {
            printf("%-28s %16.3f\n", bench_results[i].name, bench_results[i].value);
        }
        free(rows);
        return bench_cleanup(dir);
    }
    if (only != NULL && strcmp(only, "noop") == 0) {
        bench_noop(cdht, dir, rows);
        for (unsigned i = 0; i < bench_n; i++) {
            printf("%-28s %16.3f\n", bench_results[i].name, bench_results[i].value);
        }
        free(rows);
        return bench_cleanup(dir);
    }

    /* 1. Bulk commit against plain SQLite: BENCH_ROUNDS interleaved rounds of each, fresh
     * files every time, and the ratio of the medians (one round of either swings by half on a
     * shared machine). The last round's replica is the one the later phases use. */
    char path[600];
    double t_sqls[BENCH_ROUNDS], t_bulks[BENCH_ROUNDS];
    struct replica *a = NULL;
    for (unsigned k = 0; k < BENCH_ROUNDS; k++) {
        char name[32];
        snprintf(path, sizeof path, "%s/plain%u.db", dir, k);
        t_sqls[k] = bench_sqlite_baseline(path, rows, n);
        snprintf(name, sizeof name, "a%u", k);
        replica_close(a);
        a = bench_replica(dir, name);
        t_bulks[k] = bench_bulk(a, rows, n, 1);
    }
    qsort(t_sqls, BENCH_ROUNDS, sizeof t_sqls[0], bench_cmp_double);
    qsort(t_bulks, BENCH_ROUNDS, sizeof t_bulks[0], bench_cmp_double);
    double t_sql = t_sqls[BENCH_ROUNDS / 2], t_bulk = t_bulks[BENCH_ROUNDS / 2];
    bench_put("commit_bulk_vs_sqlite", t_bulk / t_sql);
    bench_put("commit_bulk_rows_per_s", n / t_bulk);
    bench_put("sqlite_plain_rows_per_s", n / t_sql);
    /* The same rows again, each 1,000-row commit durable on its own (100 fsyncs against the
     * baseline's one): reported, not a target. */
    struct replica *e = bench_replica(dir, "e");
    double t_each = bench_bulk(e, rows, n, 0);
    replica_close(e);
    bench_put("commit_bulk_each_durable_vs_sqlite", t_each / t_sql);
    if (only != NULL && strcmp(only, "bulk") == 0) {
        printf("bulk: %.3f s (each durable %.3f s), plain sqlite %.3f s, ratio %.2f\n", t_bulk,
               t_each, t_sql, t_bulk / t_sql);
        replica_close(a);
        return bench_cleanup(dir);
    }

    /* 2. Bundle export + import of the bulk rows, in process. */
    char bundle[600], half[600];
    snprintf(bundle, sizeof bundle, "%s/a.bundle", dir);
    struct replica *b = bench_replica(dir, "b");
    struct exchange_report rep;
    double t0 = bench_now();
    err_code rc = exchange_export(a, bundle, NULL, 0, &rep);
    if (rc != ERR_OK || (rc = exchange_import(b, bundle, &rep)) != ERR_OK) {
        bench_die("bundle", rc);
    }
    double t_bundle = bench_now() - t0;
    bench_put("bundle_import_rows_per_s", n / t_bundle);
    long zcsv = bench_zstd_csv(dir, rows, n);
    long bsize = bench_file_size(bundle);
    bench_put("bundle_vs_zstd_csv", (double)bsize / (double)zcsv);
    bench_put("bundle_bytes", (double)bsize);
    /* The same rows over the network, branch to hub. */
    struct replica *hub = bench_replica(dir, "sync-hub");
    double wire = 0;
    double t_sync = bench_sync(a, hub, &wire);
    replica_close(hub);
    bench_put("sync_changes_per_s", n / t_sync);
    bench_put("sync_wire_vs_zstd_csv", wire / (double)zcsv);
    if (only != NULL && strcmp(only, "fanin") == 0) {
        bench_fanin(cdht, dir, rows);
        for (unsigned i = 0; i < bench_n; i++) {
            printf("%-28s %16.3f\n", bench_results[i].name, bench_results[i].value);
        }
        replica_close(a);
        replica_close(b);
        return bench_cleanup(dir);
    }
    bench_put("zstd_csv_bytes", (double)zcsv);
    if (only != NULL && strcmp(only, "bundle") == 0) {
        printf("bundle: export+import %.3f s (%.0f rows/s), %ld bytes, zstd -3 csv %ld bytes\n",
               t_bundle, n / t_bundle, bsize, zcsv);
        printf("sync: %.3f s (%.0f rows/s), %.0f bytes on the wire (%.3f x zstd -3 csv)\n", t_sync,
               n / t_sync, wire, wire / (double)zcsv);
        /* Audit of the imported replica: the same leaves, no single commits. */
        struct audit_summary s0;
        double ta = bench_now();
        if ((rc = audit_run(b->st, 0, bench_audit_visit, NULL, &s0)) != ERR_OK) {
            bench_die("audit", rc);
        }
        ta = bench_now() - ta;
        printf("audit: %llu leaves in %.3f s\n", (unsigned long long)s0.leaves, ta);
        replica_close(a);
        replica_close(b);
        return bench_cleanup(dir);
    }
    replica_close(b);

    /* 3. Peak RSS of the real import process, for the full bundle and for half of it: flat
     * means the same figure. */
    struct replica *hsrc = bench_replica(dir, "h");
    bench_bulk(hsrc, rows, n / 2, 1);
    snprintf(half, sizeof half, "%s/half.bundle", dir);
    if ((rc = exchange_export(hsrc, half, NULL, 0, &rep)) != ERR_OK) {
        bench_die("half bundle", rc);
    }
    replica_close(hsrc);
    char home_c[600], home_d[600];
    snprintf(home_c, sizeof home_c, "%s/c", dir);
    snprintf(home_d, sizeof home_d, "%s/d", dir);
    replica_close(bench_replica(dir, "c"));
    replica_close(bench_replica(dir, "d"));
    double t_imp = 0, t_imp_half = 0;
    double rss = bench_import_rss(cdht, home_c, bundle, &t_imp);
    double rss_half = bench_import_rss(cdht, home_d, half, &t_imp_half);
    bench_put("import_peak_rss_mib", rss);
    bench_put("import_peak_rss_half_mib", rss_half);
    bench_put("cli_import_rows_per_s", n / t_imp);

    /* 4. Single-row commits. */
    double p50 = 0, p99 = 0;
    bench_single(a, rows + n, BENCH_SINGLE_COMMITS, &p50, &p99);
    bench_put("commit_single_p50_ms", p50);
    bench_put("commit_single_p99_ms", p99);

    /* 5. Audit of everything a holds (the bulk leaves and the single-row leaves). */
    /* Logs only (signatures, roots, decoding: issue 2's audit), then with the replay that
     * checks the tables against the logs (cdht audit's default). */
    struct audit_summary sum;
    t0 = bench_now();
    if ((rc = audit_run(a->st, 0, bench_audit_visit, NULL, &sum)) != ERR_OK) {
        bench_die("audit", rc);
    }
    double t_audit = bench_now() - t0;
    bench_put("audit_leaves_per_s", (double)sum.leaves / t_audit);
    bench_put("audit_leaves", (double)sum.leaves);
    t0 = bench_now();
    if ((rc = audit_run(a->st, AUDIT_STATE, bench_audit_visit, NULL, &sum)) != ERR_OK) {
        bench_die("audit with replay", rc);
    }
    double t_replay = bench_now() - t0;
    bench_put("audit_replay_leaves_per_s", (double)sum.leaves / t_replay);
    bench_put("audit_replay_rows_per_s", (double)(n + BENCH_SINGLE_COMMITS) / t_replay);
    replica_close(a);

    /* 6. Network fan-in into a real cdht serve. */
    bench_fanin(cdht, dir, rows);

    /* 7. Trust: the audit of a deployment, and a revocation. */
    bench_trust(dir, rows);

    /* 8. A no-op sync with 1,000 logs held on both sides, against one with 1 log. */
    bench_noop(cdht, dir, rows);

    /* 9. Issue 5: a 100,000-row person CSV through `cdht import`. */
    bench_import_csv(cdht, dir, rows, n);

    /* 10. Issue 5: the report of a 1,000,000-person province. */
    bench_report(dir);

    static const struct {
        const char *name, *target;
    } targets[] = {
        {"commit_bulk_vs_sqlite", "<= 2.0"},
        {"bundle_import_rows_per_s", ">= 100000"},
        {"bundle_vs_zstd_csv", "<= 1.1"},
        {"audit_leaves_per_s", ">= 500000"},
        {"commit_single_p99_ms", "< 20"},
        {"import_peak_rss_mib", "< 64, flat"},
        {"audit_changes_per_s", ">= 300000"},
        {"revocation_10k_s", "< 2"},
        {"sync_changes_per_s", ">= 100000"},
        {"sync_wire_vs_zstd_csv", "<= 1.1"},
        {"fanin_s", "< 5"},
        {"hub_peak_rss_mib", "< 64"},
        {"noop_sync_ms", "< 50"},
        {"import_csv_rows_per_s", ">= 50000"},
        {"report_province_s", "< 5"},
    };
    FILE *f = fopen(out, "w");
    fprintf(f, "{");
    printf("%-28s %16s  %s\n", "measure", "value", "target");
    for (unsigned i = 0; i < bench_n; i++) {
        const char *tg = "";
        for (size_t k = 0; k < sizeof targets / sizeof targets[0]; k++) {
            if (strcmp(targets[k].name, bench_results[i].name) == 0) {
                tg = targets[k].target;
            }
        }
        printf("%-28s %16.3f  %s\n", bench_results[i].name, bench_results[i].value, tg);
        fprintf(f, "%s\n  \"%s\": %.6g", i ? "," : "", bench_results[i].name,
                bench_results[i].value);
    }
    fprintf(f, "\n}\n");
    fclose(f);
    printf("wrote %s\n", out);
    free(rows);
    return bench_cleanup(dir);
}
