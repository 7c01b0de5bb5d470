/*
 * cdht certificate: the Learning Citizen recognition a person can hold (issue 5 item 6): name,
 * birth year, unit, title ("Công dân học tập", and "tiêu biểu" when exemplary), year, the
 * decision's number and date and its signer, and the compact offline proof string
 * `cdht-cert1:...` (proto/certstr.h) that `cdht verify` accepts and a QR code holds. The string
 * is cut from the record proof node/prove.c assembles for `cdht prove`, of the leaf that wrote
 * the approval row, and checked before it is printed. Read-only; names go to stdout only.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certstr.h"
#include "cli.h"
#include "commands.h"
#include "log.h"
#include "merge.h"
#include "proof.h"
#include "prove.h"
#include "replica.h"
#include "rules.h"
#include "schema.h"
#include "store.h"
#include "trust.h"

/* A person id (replica_new_id: 16 characters); longer ones are refused before any lookup. */
#define CERTIFICATE_PERSON_SIZE_MAX 32u
#define CERTIFICATE_YEAR_MIN 2000
#define CERTIFICATE_YEAR_MAX 2100
/* "exemplary" after this many consecutive recognised years when the framework says nothing
 * (244/QĐ-KHVN; node/seed.c publishes 5). */
#define CERTIFICATE_SPAN_DEFAULT 5

/* Byte-mode capacity of QR code versions 1..40 at error correction level L (ISO/IEC 18004:2015
 * table 7): the smallest version that holds the string is printed with it, so an operator
 * knows what a printer must render. */
static const unsigned certificate_qr_l[40] = {
    17,   32,   53,   78,   106,  134,  154,  192,  230,  271,  321,  367,  425,  458,
    520,  586,  644,  718,  792,  858,  929,  1003, 1091, 1171, 1273, 1367, 1465, 1528,
    1628, 1732, 1840, 1952, 2068, 2188, 2303, 2431, 2563, 2699, 2809, 2953};
static_assert(CERT_STRING_SIZE_MAX <= 2953u, "a certificate string fits QR version 40-L");

static unsigned
certificate_qr_version(size_t len)
{
    for (unsigned v = 0; v < 40; v++) {
        if (len <= certificate_qr_l[v]) {
            return v + 1;
        }
    }
    return 0;
}

/* What the certificate shows; strings empty when unknown. */
struct certificate {
    char id[CERTIFICATE_PERSON_SIZE_MAX + 16]; /* "<year>:<person>" */
    char status[32];
    char unit[UNIT_CODE_SIZE_MAX + 1];
    char framework[128];
    char name[PERSON_NAME_SIZE_MAX + 1]; /* personal data */
    int64_t birth_year;                  /* personal data; 0: unknown */
    char unit_name[UNIT_NAME_SIZE_MAX + 1];
    int exemplary;
    char text[CERT_STRING_SIZE_MAX + 1];
    size_t text_len;
    struct certstr_verdict v; /* the approval as the leaf holds it */
};

static void
certificate_copy(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? (const char *)src : "");
}

/* The assessment's derived status and the person's particulars. ERR_NOTFOUND: not registered. */
static err_code
certificate_read(struct replica *r, struct certificate *ct)
{
    sqlite3_stmt *q =
        store_stmt(r->st, "SELECT s.status, s.unit, s.framework, p.name, p.birth_year, "
                          "  u.name FROM assessment_state s "
                          "  LEFT JOIN person p ON p.id = s.person AND p._live "
                          "  LEFT JOIN unit u ON u.code = s.unit AND u._live "
                          "WHERE s.id = ?1");
    if (q == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(q, 1, ct->id, -1, SQLITE_STATIC);
    int src = sqlite3_step(q);
    err_code rc = ERR_OK;
    if (src == SQLITE_ROW) {
        certificate_copy(ct->status, sizeof ct->status, sqlite3_column_text(q, 0));
        certificate_copy(ct->unit, sizeof ct->unit, sqlite3_column_text(q, 1));
        certificate_copy(ct->framework, sizeof ct->framework, sqlite3_column_text(q, 2));
        certificate_copy(ct->name, sizeof ct->name, sqlite3_column_text(q, 3));
        ct->birth_year = sqlite3_column_int64(q, 4);
        certificate_copy(ct->unit_name, sizeof ct->unit_name, sqlite3_column_text(q, 5));
    } else if (src == SQLITE_DONE) {
        rc = ERR_NOTFOUND;
    } else {
        rc = store_err(r->st, src, "certificate");
    }
    sqlite3_reset(q);
    return rc;
}

/* rules_exemplary over the person's recognised years, with the span of the framework the
 * registration recorded (the same rule `cdht recognitions` shows). */
static err_code
certificate_exemplary(struct replica *r, const char *person, int year, struct certificate *ct)
{
    int span = CERTIFICATE_SPAN_DEFAULT, years[RULES_SPAN_MAX];
    size_t n = 0;
    sqlite3_stmt *q =
        store_stmt(r->st, "SELECT exemplary_years FROM framework WHERE id=?1 AND _live");
    if (q == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(q, 1, ct->framework, -1, SQLITE_STATIC);
    int src = sqlite3_step(q);
    if (src == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
        span = sqlite3_column_int(q, 0);
    }
    sqlite3_reset(q);
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        return store_err(r->st, src, "certificate framework");
    }
    ct->exemplary = 0;
    if (span < 1 || span > RULES_SPAN_MAX) {
        return ERR_OK;
    }
    q = store_stmt(r->st, "SELECT DISTINCT year FROM assessment_state WHERE person=?1 AND "
                          "status='approved' AND year>?2 AND year<=?3");
    if (q == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(q, 1, person, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, year - span);
    sqlite3_bind_int(q, 3, year);
    /* At most span (<= RULES_SPAN_MAX) distinct years lie in the range. */
    while ((src = sqlite3_step(q)) == SQLITE_ROW && n < RULES_SPAN_MAX) {
        years[n++] = sqlite3_column_int(q, 0);
    }
    sqlite3_reset(q);
    if (src != SQLITE_DONE && src != SQLITE_ROW) {
        return store_err(r->st, src, "certificate years");
    }
    ct->exemplary = rules_exemplary(years, n, year, span);
    return ERR_OK;
}

/* The leaf that wrote the approval row: every register of the row (approval rows are written
 * whole, node/flow.c) must come from one leaf, or no single leaf proves what the row says.
 * *amended 1 when they do not. */
static err_code
certificate_leaf(struct replica *r, const char *id, struct log_head *h, uint64_t *index,
                 int *amended)
{
    const struct schema_table *t = schema_table_find("approval");
    struct merge_clk regs[SCHEMA_COLS_MAX];
    int live = 0;
    ASSERT(t != NULL);
    ASSERT(t->ncols + 1 <= SCHEMA_COLS_MAX);
    int col = schema_col_find(t, "outcome");
    ASSERT(col >= 0);
    err_code rc = merge_row_clocks(r->st, "approval", id, regs, &live);
    if (rc != ERR_OK) {
        return rc;
    }
    const struct merge_clk *w = &regs[1 + col];
    *amended = 0;
    for (unsigned i = 0; i <= t->ncols; i++) {
        if (regs[i].author != 0 && (regs[i].author != w->author || regs[i].index != w->index)) {
            *amended = 1;
        }
    }
    if (w->author == 0) {
        return ERR_NOTFOUND; /* the view said approved: the row cannot lack an outcome */
    }
    *index = w->index;
    return log_get_by_id(r->st, w->author, h);
}

static void
certificate_html_text(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void
certificate_print_txt(FILE *f, const struct certificate *ct)
{
    const struct certstr_approval *a = &ct->v.approval;
    fprintf(f, "title: Công dân học tập%s\n", ct->exemplary ? " tiêu biểu" : "");
    fprintf(f, "name: %s\n", ct->name);
    if (ct->birth_year > 0) {
        fprintf(f, "birth_year: %lld\n", (long long)ct->birth_year);
    } else {
        fprintf(f, "birth_year: \n");
    }
    fprintf(f, "unit: %s\n", ct->unit_name[0] != '\0' ? ct->unit_name : ct->unit);
    fprintf(f, "unit_code: %s\n", ct->unit);
    fprintf(f, "year: %lld\n", (long long)a->year);
    fprintf(f, "decision: %s\n", a->number);
    fprintf(f, "date: %s\n", a->date);
    fprintf(f, "signer: %s\n", a->signer);
    fprintf(f, "person: %s\n", a->person);
    fprintf(f, "proof: %s\n", ct->text);
}

/* One self-contained page that prints on A5 and opens offline: no script, no external file. */
static void
certificate_print_html(FILE *f, const struct certificate *ct)
{
    const struct certstr_approval *a = &ct->v.approval;
    fputs("<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<title>Giấy chứng nhận Công dân học tập</title>\n<style>\n"
          "body{font-family:serif;max-width:40em;margin:2em auto;text-align:center}\n"
          "h1{font-size:1.6em;margin:.2em}h2{font-size:1.3em;color:#a00000;margin:.2em}\n"
          "table{margin:1.5em auto;text-align:left;border-collapse:collapse}\n"
          "td{padding:.2em .8em}td:first-child{color:#555}\n"
          ".proof{font-family:monospace;font-size:.7em;word-break:break-all;text-align:left;"
          "border:1px solid #999;padding:.5em}\n"
          "</style>\n</head>\n<body>\n"
          "<p>CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM<br>Độc lập - Tự do - Hạnh phúc</p>\n"
          "<h1>GIẤY CHỨNG NHẬN</h1>\n<h2>",
          f);
    fprintf(f, "Công dân học tập%s", ct->exemplary ? " tiêu biểu" : "");
    fprintf(f, "</h2>\n<p>năm %lld</p>\n<table>\n<tr><td>Họ và tên</td><td><b>",
            (long long)a->year);
    certificate_html_text(f, ct->name);
    fputs("</b></td></tr>\n<tr><td>Năm sinh</td><td>", f);
    if (ct->birth_year > 0) {
        fprintf(f, "%lld", (long long)ct->birth_year);
    }
    fputs("</td></tr>\n<tr><td>Đơn vị</td><td>", f);
    certificate_html_text(f, ct->unit_name[0] != '\0' ? ct->unit_name : ct->unit);
    fputs(" (", f);
    certificate_html_text(f, ct->unit);
    fputs(")</td></tr>\n<tr><td>Quyết định</td><td>số ", f);
    certificate_html_text(f, a->number);
    fputs(" ngày ", f);
    certificate_html_text(f, a->date);
    fputs("</td></tr>\n<tr><td>Người ký</td><td>", f);
    certificate_html_text(f, a->signer);
    fputs("</td></tr>\n<tr><td>Mã người</td><td>", f);
    certificate_html_text(f, a->person);
    fputs("</td></tr>\n</table>\n<p>Mã xác thực (kiểm tra ngoại tuyến: <code>cdht verify "
          "MÃ --trust-root KHÓA_GỐC</code>):</p>\n<p class=\"proof\">",
          f);
    certificate_html_text(f, ct->text);
    fputs("</p>\n</body>\n</html>\n", f);
}

/* Builds the proof string of the approval leaf and checks it as a verifier would. ERR_DENIED /
 * ERR_NOTFOUND / ERR_MSGSIZE with why: a refusal. */
static err_code
certificate_build(struct replica *r, const struct log_head *h, uint64_t index,
                  struct certificate *ct, char why[PROVE_WHY_SIZE])
{
    struct proof *p = NULL;
    struct certstr cs, back;
    uint8_t root[KEY_PUBLIC_SIZE];
    int pinned = 0;
    const char *w = NULL;
    err_code rc = prove_build(r->st, h->key, index, 0, &p, why);
    if (rc != ERR_OK) {
        return rc;
    }
    rc = certstr_from_proof(p, &cs, &w);
    if (rc == ERR_OK) {
        rc = certstr_encode(&cs, ct->text, &ct->text_len, &w);
    }
    if (rc == ERR_OK && (rc = trust_root(r->st, root, &pinned)) == ERR_OK) {
        /* The string checks itself before it is handed out: decode what was written and
         * verify it against this replica's pinned root (prove_build refused open mode). */
        ASSERT(pinned);
        rc = certstr_decode(ct->text, ct->text_len, &back, &w);
        ASSERT(rc == ERR_OK);
        if (certstr_verify(&back, root, &ct->v) != ERR_OK) {
            snprintf(why, PROVE_WHY_SIZE,
                     "the certificate string does not verify (%s): the replica is damaged",
                     ct->v.why);
            rc = ERR_CORRUPT;
        }
    } else if (rc == ERR_MSGSIZE || rc == ERR_INVAL) {
        snprintf(why, PROVE_WHY_SIZE, "%s", w);
        rc = rc == ERR_MSGSIZE ? ERR_MSGSIZE : ERR_CORRUPT;
    }
    proof_free(p);
    return rc;
}

int
cmd_certificate(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "certificate",
             "certificate --home DIR --person ID --year YYYY [--format txt|html] [-o FILE]");
    const char *person = NULL, *year_s = NULL, *fmt = NULL, *out_s = NULL;
    const struct cli_opt opts[] = {
        {"person", 0, &person, NULL},
        {"year", 0, &year_s, NULL},
        {"format", 0, &fmt, NULL},
        {"output", 'o', &out_s, NULL},
    };
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    int64_t year = 0;
    if (person == NULL || person[0] == '\0' || strlen(person) > CERTIFICATE_PERSON_SIZE_MAX ||
        strchr(person, ':') != NULL) {
        return cli_usage(&c, "--person ID is required: a person id (cdht person find prints it)");
    }
    if (year_s == NULL ||
        cli_parse_i64(year_s, CERTIFICATE_YEAR_MIN, CERTIFICATE_YEAR_MAX, &year) != 0) {
        return cli_usage(&c, "--year must be a year in %d..%d", CERTIFICATE_YEAR_MIN,
                         CERTIFICATE_YEAR_MAX);
    }
    fmt = fmt != NULL ? fmt : "txt";
    if (strcmp(fmt, "txt") != 0 && strcmp(fmt, "html") != 0) {
        return cli_usage(&c, "--format must be txt or html");
    }
    if (out_s != NULL && out_s[0] == '\0') {
        return cli_usage(&c, "-o FILE: the file name is empty");
    }
    struct certificate *ct = calloc(1, sizeof *ct);
    if (ct == NULL) {
        return cli_fail(&c, ERR_NOMEM, "out of memory");
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        free(ct);
        return ec;
    }
    char why[PROVE_WHY_SIZE];
    struct log_head h;
    uint64_t index = 0, cp_size = 0;
    int amended = 0;
    uint8_t note[NOTE_SIZE_MAX];
    size_t note_len = 0;
    snprintf(ct->id, sizeof ct->id, "%lld:%s", (long long)year, person);
    err_code rc = certificate_read(r, ct);
    if (rc == ERR_NOTFOUND || (rc == ERR_OK && strcmp(ct->status, "approved") != 0)) {
        replica_close(r);
        if (rc == ERR_NOTFOUND) {
            ec = cli_fail(&c, ERR_NOTFOUND,
                          "refusing: not recognised in %lld: person %s is not registered for "
                          "that year on this replica",
                          (long long)year, person);
        } else {
            ec = cli_fail(&c, ERR_NOTFOUND,
                          "refusing: not recognised in %lld: person %s has no approval for that "
                          "year (the assessment is %s)",
                          (long long)year, person, ct->status);
        }
        free(ct);
        return ec;
    }
    if (rc == ERR_OK) {
        rc = certificate_leaf(r, ct->id, &h, &index, &amended);
    }
    if (rc == ERR_OK && amended) {
        replica_close(r);
        free(ct);
        return cli_fail(&c, ERR_DENIED,
                        "refusing: the approval of %lld:%s was written by more than one leaf; a "
                        "certificate proves one decision (cdht prove --log KEY --index N proves each leaf)",
                        (long long)year, person);
    }
    if (rc == ERR_OK) {
        rc = log_checkpoint_get(r->st, h.id, note, &note_len, &cp_size);
        if (rc == ERR_NOTFOUND || (rc == ERR_OK && cp_size <= index)) {
            replica_close(r);
            free(ct);
            return cli_fail(&c, ERR_NOTFOUND,
                            "refusing: no signed checkpoint covers the approval yet (sync with "
                            "the commune first)");
        }
    }
    if (rc == ERR_OK) {
        rc = certificate_exemplary(r, person, (int)year, ct);
    }
    why[0] = '\0';
    if (rc == ERR_OK) {
        rc = certificate_build(r, &h, index, ct, why);
    }
    replica_close(r);
    if (rc == ERR_OK &&
        (strcmp(ct->v.approval.person, person) != 0 || ct->v.approval.year != year)) {
        rc = ERR_CORRUPT; /* the row's leaf approves someone else: the replica is damaged */
        snprintf(why, sizeof why, "the approval's leaf names another person or year");
    }
    if (rc != ERR_OK) {
        if (why[0] == '\0') {
            ec = cli_fail(&c, rc, "cannot build the certificate: %s", err_str(rc));
        } else if (rc == ERR_CORRUPT) {
            ec = cli_fail(&c, rc, "cannot build the certificate: %s", why);
        } else {
            ec = cli_fail(&c, rc, "refusing: %s", why);
        }
        free(ct);
        return ec;
    }
    FILE *f = stdout;
    if (out_s != NULL && (f = fopen(out_s, "wb")) == NULL) {
        free(ct);
        return cli_fail(&c, ERR_IO, "cannot create %s", out_s);
    }
    if (strcmp(fmt, "html") == 0) {
        certificate_print_html(f, ct);
    } else {
        certificate_print_txt(f, ct);
    }
    int bad = ferror(f);
    if (f != stdout) {
        bad |= fclose(f) != 0;
        if (bad) {
            remove(out_s);
        }
    } else {
        bad |= fflush(f) != 0;
    }
    if (bad) {
        free(ct);
        return cli_fail(&c, ERR_IO, "cannot write %s", out_s != NULL ? out_s : "stdout");
    }
    char k[48];
    cli_key_b64(h.key, k);
    fprintf(stderr,
            "cdht certificate: %s: leaf %llu of log %s, signed checkpoint size %llu; proof "
            "string of %zu characters (QR version %u at level L)\n",
            ct->id, (unsigned long long)index, k, (unsigned long long)ct->v.size, ct->text_len,
            certificate_qr_version(ct->text_len));
    free(ct);
    return CLI_OK;
}
