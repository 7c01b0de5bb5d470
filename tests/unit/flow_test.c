/*
 * The yearly workflow (node/flow.h) on the test deployment: root R (province 44) publishes the
 * seed framework, hub H (commune 44001), writers A (village 4400101) and B (4400102), approver P
 * (4400101) and approver Q (4400102, outside A's village; B and Q also audit the commune, so
 * that they hold A's records). Every step is taken by every role;
 * each refusal is checked for its exact sentence and for writing nothing (the state digest and
 * the leaf count unchanged). An assessment submitted and reviewed on A, approved on P, shows as
 * approved on A after the bundles travel back.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "deploy.h"
#include "evidence.h"
#include "flow.h"
#include "replica.h"
#include "seed.h"
#include "store.h"
#include "support.h"

#define Y 2026

static char *dir;

static void
suite_init(void)
{
    dir = deploy_suite_init();
}

static void
suite_fini(void)
{
    deploy_suite_fini(dir);
}

TestSuite(flow, .init = suite_init, .fini = suite_fini);

struct world {
    struct deploy w;
    struct replica *P, *Q; /* approvers of 4400101 and 4400102 */
    char person[17];       /* a person of village 4400101, written by A */
};

static void
relay(struct replica *from, struct replica *via, struct replica *to)
{
    deploy_sync(dir, from, via);
    deploy_sync(dir, via, to);
}

/* The world; framework 1 publishes the seed framework from the root and hands it down. */
static void
world_new(struct world *x, const char *tag, int framework)
{
    char name[64];
    deploy_world(&x->w, dir, tag, 2);
    snprintf(name, sizeof name, "%s-P", tag);
    x->P = deploy_replica(dir, name, "4400101", 0, x->w.R->pk);
    snprintf(name, sizeof name, "%s-Q", tag);
    x->Q = deploy_replica(dir, name, "4400102", 0, x->w.R->pk);
    cr_assert_eq(deploy_cert(x->w.H, x->P, "approver", "4400101", NULL), ERR_OK);
    cr_assert_eq(deploy_cert(x->w.H, x->Q, "approver", "4400102", NULL), ERR_OK);
    /* B and Q also audit the commune, so they hold village 4400101's logs (node/scope.h):
     * their writer and approver grants still stop at their own village. */
    cr_assert_eq(deploy_cert(x->w.H, x->w.B, "auditor", "44001", NULL), ERR_OK);
    cr_assert_eq(deploy_cert(x->w.H, x->Q, "auditor", "44001", NULL), ERR_OK);
    if (framework) {
        struct replica_txn *t = NULL;
        cr_assert_eq(replica_txn_new(x->w.R, &t), ERR_OK);
        cr_assert_eq(seed_framework_put(t, "*"), ERR_OK);
        cr_assert_eq(replica_txn_commit(x->w.R, t, NULL), ERR_OK, "%s", x->w.R->denied);
        deploy_sync(dir, x->w.R, x->w.H);
    }
    deploy_sync(dir, x->w.H, x->w.A);
    deploy_sync(dir, x->w.H, x->w.B);
    deploy_sync(dir, x->w.H, x->P);
    deploy_sync(dir, x->w.H, x->Q);
    cr_assert_eq(support_person_add(x->w.A, "Nguyễn Văn An", 1980, "4400101", x->person), ERR_OK);
}

static void
world_free(struct world *x)
{
    replica_close(x->P);
    replica_close(x->Q);
    deploy_world_free(&x->w);
}

/* What a replica holds, to prove a refusal wrote nothing. */
struct snap {
    char hex[65];
    uint64_t leaves;
};
static struct snap
snap(struct replica *r)
{
    struct snap s;
    support_state_hex(r, s.hex);
    s.leaves = support_total_leaves(r);
    return s;
}
static void
unchanged(struct replica *r, struct snap before)
{
    struct snap after = snap(r);
    cr_assert_str_eq(after.hex, before.hex, "a refused step changed the state");
    cr_assert_eq(after.leaves, before.leaves, "a refused step wrote a leaf");
}

static enum rules_state
status(struct replica *r, const char *person)
{
    struct flow_state s;
    char why[FLOW_WHY_SIZE];
    cr_assert_eq(flow_read(r, person, Y, &s, why), ERR_OK, "%s", why);
    /* The C rule and the SQL view agree. */
    if (s.a_live) {
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT status = '%s' FROM assessment_state WHERE id = '%d:%s'",
                 rules_state_name(s.status), Y, person);
        cr_assert_eq(deploy_q_int(r, sql), 1, "view and rules_status disagree on %s",
                     rules_state_name(s.status));
    }
    return s.status;
}

static const struct flow_scores good = {{9, 9, 8, 8, 8, 8, 8, 8, 8, 8},
                                        {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}};
static const struct flow_scores low = {{8, 8, 8, 8, 8, 8, 8, 8, 6, 6},
                                       {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}};
static const struct flow_decision decision = {
    .number = "12/QĐ-KH", .date = "2026-11-20", .signer = "Lê Văn Chủ tịch"};

static err_code
do_register(struct replica *r, const char *person, const char *group, char why[FLOW_WHY_SIZE])
{
    int changed = 0;
    const struct flow_register_args a = {.person = person, .year = Y, .group = group};
    return flow_register(r, &a, &changed, why);
}

static err_code
do_assess(struct replica *r, const char *person, const struct flow_scores *sc, int submit,
          char why[FLOW_WHY_SIZE])
{
    const struct flow_assess_args a = {
        .person = person, .year = Y, .scores = sc, .submit = submit, .digital = "basic"};
    return flow_assess(r, &a, why);
}

static err_code
do_evidence(struct replica *r, const char *person, const char *content, int *changed,
            char why[FLOW_WHY_SIZE])
{
    uint8_t hash[HASH_SIZE];
    const struct flow_evidence_args a = {.person = person,
                                         .year = Y,
                                         .kind = "certificate",
                                         .indicator = "1.3",
                                         .description = "giấy chứng nhận",
                                         .buf = (const uint8_t *)content,
                                         .len = strlen(content)};
    return flow_evidence_add(r, &a, hash, changed, why);
}

/* Runs a step expected to be refused with exactly rc and sentence, and checks nothing changed. */
#define REFUSED(r, want_rc, want_why, call)                                                        \
    do {                                                                                           \
        struct snap before_ = snap(r);                                                             \
        char why[FLOW_WHY_SIZE] = "";                                                              \
        err_code got_ = (call);                                                                    \
        cr_assert_eq(got_, (want_rc), "%s: %s", err_str(got_), why);                               \
        cr_assert_str_eq(why, (want_why));                                                         \
        unchanged((r), before_);                                                                   \
    } while (0)

#define OK(call)                                                                                   \
    do {                                                                                           \
        char why[FLOW_WHY_SIZE] = "";                                                              \
        err_code got_ = (call);                                                                    \
        cr_assert_eq(got_, ERR_OK, "%s: %s", err_str(got_), why);                                  \
    } while (0)

/* The path: self-submitted and reviewed on the branch (writer A), approved by the
 * commune's approver P, approved on A after a sync; the approval row is whole. */
Test(flow, branch_submit_commune_approve)
{
    struct world x;
    world_new(&x, "path", 1);
    struct replica *A = x.w.A;
    const char *p = x.person;
    cr_assert_eq(status(A, p), RULES_ST_NONE);
    OK(do_register(A, p, "farmer", why));
    cr_assert_eq(status(A, p), RULES_ST_DRAFT);
    /* The same registration again writes nothing. */
    struct snap before = snap(A);
    int changed = 1;
    const struct flow_register_args ra = {.person = p, .year = Y, .group = "farmer"};
    char why0[FLOW_WHY_SIZE];
    cr_assert_eq(flow_register(A, &ra, &changed, why0), ERR_OK);
    cr_assert_eq(changed, 0);
    unchanged(A, before);
    cr_assert_eq(deploy_q_int(A, "SELECT count(*) FROM assessment WHERE framework = "
                                 "'*/244-2022/1' AND stage = 'draft' AND round = 1"),
                 1);
    OK(do_assess(A, p, &good, 0, why));
    OK(do_evidence(A, p, "scan of a certificate", &changed, why));
    cr_assert_eq(changed, 1);
    OK(do_assess(A, p, NULL, 1, why));
    cr_assert_eq(status(A, p), RULES_ST_SELF_SUBMITTED);
    OK(flow_review(A, p, Y, NULL, "đủ minh chứng", why));
    cr_assert_eq(status(A, p), RULES_ST_BRANCH_REVIEWED);
    relay(A, x.w.H, x.P);
    cr_assert_eq(status(x.P, p), RULES_ST_BRANCH_REVIEWED);
    int total = 0;
    OK(flow_approve(x.P, p, Y, &decision, &total, why));
    cr_assert_eq(total, 82);
    cr_assert_eq(status(x.P, p), RULES_ST_APPROVED);
    relay(x.P, x.w.H, A);
    cr_assert_eq(status(x.w.H, p), RULES_ST_APPROVED);
    cr_assert_eq(status(A, p), RULES_ST_APPROVED);
    cr_assert_eq(deploy_q_int(A, "SELECT count(*) FROM approval WHERE _live AND outcome = "
                                 "'approved' AND total = 82 AND number = '12/QĐ-KH' AND date = "
                                 "'2026-11-20' AND signer IS NOT NULL AND round = 1 AND "
                                 "person IS NOT NULL AND year = 2026 AND note IS NULL"),
                 1);
    cr_assert_eq(deploy_q_int(A, "SELECT count(*) FROM quarantine"), 0);
    /* Final for the year, for every role. */
    REFUSED(A, ERR_DENIED, "the assessment is approved: final for the year",
            do_assess(A, p, &low, 0, why));
    REFUSED(x.P, ERR_DENIED, "the assessment is approved: final for the year",
            flow_approve(x.P, p, Y, &decision, &total, why));
    REFUSED(x.P, ERR_DENIED, "the assessment is approved: final for the year",
            flow_return(x.P, p, Y, "thiếu", why));
    REFUSED(A, ERR_DENIED, "the assessment is approved: final for the year",
            flow_review(A, p, Y, &low, NULL, why));
    REFUSED(A, ERR_DENIED, "the assessment is approved: final for the year",
            do_register(A, p, "worker", why));
    world_free(&x);
}

/* Who may take which step: a writer cannot approve, a hub neither approves nor registers, an
 * approver of another village is outside its subtree, and the approver cannot register. */
Test(flow, roles_refused)
{
    struct world x;
    world_new(&x, "role", 1);
    struct replica *A = x.w.A;
    const char *p = x.person;
    int total = 0;
    relay(A, x.w.H, x.P);
    deploy_sync(dir, x.w.H, x.w.B);
    REFUSED(x.P, ERR_DENIED, "this device holds no writer grant covering unit 4400101",
            do_register(x.P, p, "farmer", why));
    REFUSED(x.w.H, ERR_DENIED, "this device holds no writer grant covering unit 4400101",
            do_register(x.w.H, p, "farmer", why));
    REFUSED(x.w.B, ERR_DENIED, "writer grant for 4400102 does not cover unit 4400101",
            do_register(x.w.B, p, "farmer", why));
    OK(do_register(A, p, "farmer", why));
    OK(do_assess(A, p, &good, 1, why));
    OK(flow_review(A, p, Y, NULL, NULL, why));
    REFUSED(A, ERR_DENIED,
            "this device holds no approver grant covering unit 4400101 (a writer cannot approve)",
            flow_approve(A, p, Y, &decision, &total, why));
    struct flow_decision rej = decision;
    rej.reject = 1;
    rej.reason = "thiếu minh chứng";
    REFUSED(A, ERR_DENIED,
            "this device holds no approver grant covering unit 4400101 (a writer cannot approve)",
            flow_approve(A, p, Y, &rej, &total, why));
    REFUSED(A, ERR_DENIED, "this device holds no approver grant covering unit 4400101",
            flow_return(A, p, Y, "thiếu minh chứng", why));
    /* The other village's writer cannot review here either. */
    relay(A, x.w.H, x.w.B);
    relay(A, x.w.H, x.Q);
    REFUSED(x.w.B, ERR_DENIED,
            "the assessment is branch_reviewed; self scores can no longer "
            "change",
            do_assess(x.w.B, p, &good, 0, why));
    REFUSED(x.w.B, ERR_DENIED, "writer grant for 4400102 does not cover unit 4400101",
            flow_review(x.w.B, p, Y, NULL, NULL, why));
    REFUSED(x.w.H, ERR_DENIED, "this device holds no approver grant covering unit 4400101",
            flow_approve(x.w.H, p, Y, &decision, &total, why));
    REFUSED(x.Q, ERR_DENIED, "approver grant for 4400102 does not cover unit 4400101",
            flow_approve(x.Q, p, Y, &decision, &total, why));
    /* The right approver may also review (always) and add evidence (not after review). */
    relay(A, x.w.H, x.P);
    OK(flow_review(x.P, p, Y, &good, "xem lại", why));
    int changed = 0;
    REFUSED(x.P, ERR_DENIED,
            "the assessment is branch_reviewed; evidence is added to a draft or "
            "returned assessment only",
            do_evidence(x.P, p, "late photo", &changed, why));
    OK(flow_approve(x.P, p, Y, &decision, &total, why));
    world_free(&x);
}

/* Each step from a status that does not allow it is refused with the status and what it needs. */
Test(flow, invalid_transitions)
{
    struct world x;
    world_new(&x, "bad", 1);
    struct replica *A = x.w.A, *P = x.P;
    const char *p = x.person;
    int total = 0, changed = 0;
    /* none */
    REFUSED(A, ERR_DENIED, "the person is not registered for 2026 (cdht register first)",
            do_assess(A, p, &good, 0, why));
    REFUSED(A, ERR_DENIED, "the person is not registered for 2026 (cdht register first)",
            flow_review(A, p, Y, &good, NULL, why));
    REFUSED(A, ERR_DENIED, "the person is not registered for 2026 (cdht register first)",
            do_evidence(A, p, "x", &changed, why));
    REFUSED(A, ERR_NOTFOUND, "unknown person id (cdht person list shows ids)",
            do_register(A, "0000000000000000", "farmer", why));
    REFUSED(A, ERR_INVAL, "group soldier is not in framework */244-2022/1",
            do_register(A, p, "soldier", why));
    REFUSED(A, ERR_INVAL,
            "the person has no target group: give --group (farmer, worker or "
            "official)",
            do_register(A, p, NULL, why));
    /* draft */
    OK(do_register(A, p, "farmer", why));
    REFUSED(A, ERR_DENIED,
            "the assessment is draft; it must be self-submitted first (cdht "
            "assess --submit)",
            flow_review(A, p, Y, &good, NULL, why));
    REFUSED(A, ERR_DENIED,
            "the assessment is draft; return needs self_submitted or "
            "branch_reviewed",
            flow_return(A, p, Y, "thiếu", why));
    relay(A, x.w.H, P);
    REFUSED(P, ERR_DENIED,
            "the assessment is draft; approve needs branch_reviewed (cdht assess "
            "--submit, then cdht review)",
            flow_approve(P, p, Y, &decision, &total, why));
    struct flow_scores nine = good;
    nine.have[9] = 0;
    REFUSED(A, ERR_INVAL, "--submit: 9 of 10 scores given (3.2 missing)",
            do_assess(A, p, &nine, 1, why));
    /* A draft may change its group; the same values change nothing. */
    OK(do_register(A, p, "worker", why));
    OK(do_register(A, p, "farmer", why));
    /* self_submitted */
    OK(do_assess(A, p, &low, 1, why));
    REFUSED(A, ERR_DENIED, "the assessment is self_submitted; self scores can no longer change",
            do_assess(A, p, &good, 0, why));
    REFUSED(A, ERR_DENIED, "the assessment is self_submitted; it was submitted already",
            do_assess(A, p, NULL, 1, why));
    REFUSED(A, ERR_DENIED, "the assessment is self_submitted: its group can no longer change",
            do_register(A, p, "worker", why));
    REFUSED(A, ERR_DENIED,
            "the assessment is self_submitted; evidence is added to a draft or "
            "returned assessment only",
            do_evidence(A, p, "x", &changed, why));
    relay(A, x.w.H, P);
    REFUSED(P, ERR_DENIED,
            "the assessment is self_submitted; approve needs branch_reviewed (cdht "
            "review first)",
            flow_approve(P, p, Y, &decision, &total, why));
    /* branch_reviewed with a failing total: approving it is refused, rejecting it is not. */
    OK(flow_review(A, p, Y, NULL, NULL, why));
    relay(A, x.w.H, P);
    REFUSED(P, ERR_DENIED, "total 76 does not meet the criteria (80); use --reject or return it",
            flow_approve(P, p, Y, &decision, &total, why));
    struct flow_decision rej = decision;
    rej.reject = 1;
    REFUSED(P, ERR_INVAL, "--reason is required", flow_approve(P, p, Y, &rej, &total, why));
    struct flow_decision bad = decision;
    bad.date = "2026-02-30";
    REFUSED(P, ERR_INVAL, "--date: date is not a calendar day (no such day in that month)",
            flow_approve(P, p, Y, &bad, &total, why));
    rej.reason = "chưa đạt";
    OK(flow_approve(P, p, Y, &rej, &total, why));
    cr_assert_eq(total, 76);
    cr_assert_eq(status(P, p), RULES_ST_REJECTED);
    REFUSED(P, ERR_DENIED, "the assessment is rejected: final for the year",
            flow_approve(P, p, Y, &decision, &total, why));
    relay(P, x.w.H, A);
    cr_assert_eq(status(A, p), RULES_ST_REJECTED);
    REFUSED(A, ERR_DENIED, "the assessment is rejected: final for the year",
            do_assess(A, p, &good, 1, why));
    world_free(&x);
}

/* The return loop: the reviewer returns a self-submitted sheet, the writer adds evidence and
 * resubmits (round 2), the approver returns the reviewed sheet, round 3 is approved; a
 * decision about an older round no longer counts. */
Test(flow, return_loop_rounds)
{
    struct world x;
    world_new(&x, "ret", 1);
    struct replica *A = x.w.A, *P = x.P;
    const char *p = x.person;
    int total = 0, changed = 0;
    OK(do_register(A, p, "farmer", why));
    OK(do_assess(A, p, &low, 1, why));
    OK(flow_return(A, p, Y, "thiếu ảnh sinh hoạt câu lạc bộ", why));
    cr_assert_eq(status(A, p), RULES_ST_RETURNED);
    REFUSED(A, ERR_INVAL, "--reason is required", flow_return(A, p, Y, "", why));
    OK(do_evidence(A, p, "club photo", &changed, why));
    OK(do_assess(A, p, &good, 0, why));
    cr_assert_eq(status(A, p), RULES_ST_RETURNED);
    OK(do_assess(A, p, NULL, 1, why));
    cr_assert_eq(status(A, p), RULES_ST_SELF_SUBMITTED);
    cr_assert_eq(deploy_q_int(A, "SELECT round FROM assessment WHERE _live"), 2);
    cr_assert_eq(deploy_q_int(A, "SELECT round FROM self_score WHERE _live"), 2);
    OK(flow_review(A, p, Y, NULL, NULL, why));
    relay(A, x.w.H, P);
    OK(flow_return(P, p, Y, "cần xác nhận của trưởng thôn", why));
    cr_assert_eq(status(P, p), RULES_ST_RETURNED);
    cr_assert_eq(deploy_q_int(P, "SELECT count(*) FROM approval WHERE outcome = 'returned' AND "
                                 "round = 2 AND total = 82 AND number IS NULL"),
                 1);
    relay(P, x.w.H, A);
    cr_assert_eq(status(A, p), RULES_ST_RETURNED);
    OK(do_assess(A, p, NULL, 1, why));
    cr_assert_eq(status(A, p), RULES_ST_SELF_SUBMITTED); /* round 3: the return is old news */
    OK(flow_review(A, p, Y, NULL, NULL, why));
    relay(A, x.w.H, P);
    OK(flow_approve(P, p, Y, &decision, &total, why));
    cr_assert_eq(status(P, p), RULES_ST_APPROVED);
    cr_assert_eq(deploy_q_int(P, "SELECT round FROM approval"), 3);
    world_free(&x);
}

/* Evidence is stored by its SHA-256 under the home, 0600; the same file again changes nothing. */
Test(flow, evidence_content_addressed)
{
    struct world x;
    world_new(&x, "evi", 1);
    struct replica *A = x.w.A;
    const char *p = x.person;
    int changed = 0;
    OK(do_register(A, p, "farmer", why));
    OK(do_evidence(A, p, "abc", &changed, why));
    cr_assert_eq(changed, 1);
    /* sha256("abc") */
    static const char hex[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    char path[EVIDENCE_PATH_SIZE];
    snprintf(path, sizeof path, "%s/evidence/ba/%s", A->home, hex);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0, "%s", path);
    cr_assert_eq(sb.st_mode & 0777, 0600);
    cr_assert_eq(sb.st_size, 3);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM evidence WHERE id = '%d:%s:%s' AND size = 3 "
             "AND ind = 3 AND kind = 'certificate' AND length(sha256) = 32",
             Y, p, hex);
    cr_assert_eq(deploy_q_int(A, sql), 1);
    struct snap before = snap(A);
    OK(do_evidence(A, p, "abc", &changed, why));
    cr_assert_eq(changed, 0);
    unchanged(A, before);
    REFUSED(A, ERR_INVAL, "the file is empty", do_evidence(A, p, "", &changed, why));
    uint8_t hash[HASH_SIZE];
    const struct flow_evidence_args big = {.person = p,
                                           .year = Y,
                                           .kind = "photo",
                                           .buf = (const uint8_t *)"x",
                                           .len = EVIDENCE_FILE_SIZE_MAX + 1u};
    REFUSED(A, ERR_MSGSIZE, "the file is larger than 20 MiB",
            flow_evidence_add(A, &big, hash, &changed, why));
    const struct flow_evidence_args kind = {
        .person = p, .year = Y, .kind = "video", .buf = (const uint8_t *)"x", .len = 1};
    REFUSED(A, ERR_INVAL, "--kind must be photo, certificate, attendance, document or other",
            flow_evidence_add(A, &kind, hash, &changed, why));
    world_free(&x);
}

/* No framework published: registration says where to get one, and writes nothing. */
Test(flow, no_framework)
{
    struct world x;
    world_new(&x, "nofw", 0);
    REFUSED(x.w.A, ERR_NOTFOUND,
            "no framework published for unit 4400101 and year 2026 (ask the commune: cdht "
            "framework list)",
            do_register(x.w.A, x.person, "farmer", why));
    world_free(&x);
}

/* The root holds every role; a replica in open mode skips the role check but keeps the steps. */
Test(flow, root_and_open_mode)
{
    struct world x;
    world_new(&x, "root", 1);
    struct replica *A = x.w.A, *R = x.w.R;
    const char *p = x.person;
    int total = 0;
    OK(do_register(A, p, "farmer", why));
    OK(do_assess(A, p, &good, 1, why));
    OK(flow_review(A, p, Y, NULL, NULL, why));
    relay(A, x.w.H, R);
    OK(flow_approve(R, p, Y, &decision, &total, why));
    cr_assert_eq(status(R, p), RULES_ST_APPROVED);
    world_free(&x);

    char *home = support_path(dir, "open");
    struct replica *o = support_replica(home, "4400101");
    free(home);
    struct replica_txn *t = NULL;
    cr_assert_eq(replica_txn_new(o, &t), ERR_OK);
    cr_assert_eq(seed_framework_put(t, "*"), ERR_OK);
    cr_assert_eq(replica_txn_commit(o, t, NULL), ERR_OK);
    char q[17];
    cr_assert_eq(support_person_add(o, "Trần Thị Bình", 1985, "4400101", q), ERR_OK);
    OK(do_register(o, q, "worker", why));
    REFUSED(o, ERR_DENIED,
            "the assessment is draft; approve needs branch_reviewed (cdht assess "
            "--submit, then cdht review)",
            flow_approve(o, q, Y, &decision, &total, why));
    OK(do_assess(o, q, &good, 1, why));
    OK(flow_review(o, q, Y, NULL, NULL, why));
    OK(flow_approve(o, q, Y, &decision, &total, why));
    cr_assert_eq(status(o, q), RULES_ST_APPROVED);
    replica_close(o);
}

/* Scores parse against the group: exact counts, maxima, codes. */
Test(flow, scores_parse)
{
    struct flow_group g = {.grp = "farmer"};
    seed_group_rules(&g.g);
    for (int i = 0; i < g.g.n; i++) {
        snprintf(g.code[i], sizeof g.code[i], "%s", seed_indicators[i].code);
    }
    struct flow_scores sc;
    char why[FLOW_WHY_SIZE];
    cr_assert_eq(flow_scores_parse(&g, "8,9,7,10,8,9,6,7,9,8", NULL, 0, &sc, why), ERR_OK);
    cr_assert_eq(sc.v[3], 10);
    cr_assert_eq(flow_scores_parse(&g, "8,9,7,10,8,11,6,7,9,8", NULL, 0, &sc, why), ERR_INVAL);
    cr_assert_str_eq(why, "--scores: indicator 2.2 is 11; its maximum is 10");
    cr_assert_eq(flow_scores_parse(&g, "8,9,7", NULL, 0, &sc, why), ERR_INVAL);
    cr_assert_str_eq(why, "--scores: 3 values given; group farmer has 10 indicators (use --score "
                          "CODE=N for one)");
    const char *pairs[] = {"1.2=5", "3.2=10"};
    cr_assert_eq(flow_scores_parse(&g, NULL, pairs, 2, &sc, why), ERR_OK);
    cr_assert(sc.have[1] && sc.v[1] == 5 && sc.have[9] && !sc.have[0]);
    const char *bad[] = {"9.9=1"};
    cr_assert_eq(flow_scores_parse(&g, NULL, bad, 1, &sc, why), ERR_INVAL);
    char line[FLOW_WHY_SIZE];
    flow_preview(&g, &good, 0, line, NULL, NULL);
    cr_assert_str_eq(line, "total 82/100: meets the criteria (80; minimum 5)");
    flow_preview(&g, &low, 0, line, NULL, NULL);
    cr_assert_str_eq(line, "total 76/100: does not meet the criteria (80; minimum 5)");
    flow_preview(&g, &low, 1, line, NULL, NULL);
    cr_assert_str_eq(line, "total 76/100: meets the criteria (70, disadvantaged area; minimum 5)");
}
