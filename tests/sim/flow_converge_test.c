/*
 * Convergence of the yearly workflow (node/flow.h) under concurrent writes. The devices are
 * those of the trust deployment (tests/support/deploy.h: root R, hub H, writers A of village
 * V1 and B of V2) and two approvers P and Q of the commune. In each random schedule they write
 * the workflow rows of a few persons and years: registrations, self scores, submissions,
 * reviews and reviewers' returns, resubmissions in a new round, approvals, rejections and
 * approvers' returns. Each device acts on its own replica, from what it has heard so far. The
 * gossip between steps is random, so approvers race each other and the writer. The steps also
 * include writes a real client refuses, made by a modified cdht (CDHT_TEST_UNCHECKED_WRITES):
 * a writer's or the hub's approval, another village's review, an approval naming an old round,
 * and a review after the decision. Then every replica gets every log in a random order. A late
 * replica gets them in reverse order, so the certificates arrive last. Afterwards all replicas
 * must agree on the state hash, the quarantine and the derived status of every assessment key.
 * The view and rules_status must agree on that status. Every writer's and hub's approval stays
 * held, an approval of an old round never decides, and the audit's re-evaluation finds nothing.
 * Seeded: CDHT_SIM_SEED=N replays one schedule; CDHT_SIM_SCHEDULES sets how many run.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "deploy.h"
#include "exchange.h"
#include "flow.h"
#include "replica.h"
#include "rules.h"
#include "scope.h"
#include "seed.h"
#include "store.h"
#include "support.h"
#include "trust.h"

/* 40 schedules take a few seconds. The coverage checks at the end of a default run require
 * that each race happened at least once. */
#define FSIM_SCHEDULES_DEFAULT 40
#define FSIM_STEPS 96
#define FSIM_PERSONS 4 /* 0 and 1 in V1 (written by A), 2 and 3 in V2 (written by B) */
#define FSIM_YEARS 2
#define FSIM_YEAR0 2025
#define FSIM_HELD_MAX FSIM_STEPS /* at most one forged leaf per step */
/* 2026-11-01T00:00Z. Setup runs here, the steps 1 h later and the final delivery 2 h later, so
 * no clock ever falls HLC_BEHIND_REFUSE_MS behind a leaf already held. */
#define FSIM_BASE_MS 1793491200000ll
#define FSIM_VILLAGE_A "4400101"
#define FSIM_VILLAGE_B "4400102"
#define FSIM_COMMUNE "44001"

/* The writing devices. The late replica gets their logs in reverse order: Q first, R last. */
enum fsim_dev { FSIM_R, FSIM_H, FSIM_A, FSIM_B, FSIM_P, FSIM_Q, FSIM_DEVS };
#define FSIM_LATE FSIM_DEVS /* fed only at the end, in reverse device order */
#define FSIM_REPLICAS (FSIM_DEVS + 1)
static const char *const fsim_name[FSIM_REPLICAS] = {"R", "H", "A", "B", "P", "Q", "L"};

/* A forged leaf that every replica must hold in quarantine, for reason why. */
struct fsim_held {
    unsigned dev;
    uint64_t index;
    enum trust_reason why;
};

struct fsim {
    uint64_t seed, rng;
    char *dir;                        /* owned (deploy_suite_init) */
    struct deploy w;                  /* owns R, H, A, B */
    struct replica *r[FSIM_REPLICAS]; /* R, H, A, B borrowed from w; P, Q and the late owned */
    char person[FSIM_PERSONS][17];
    struct fsim_held held[FSIM_HELD_MAX];
    unsigned n_held;
    /* Per key: the approver that last decided it through flow_approve/flow_return, and the
     * round it decided (a second approver deciding the same round never saw the first). */
    int dec_dev[FSIM_PERSONS * FSIM_YEARS];
    int64_t dec_round[FSIM_PERSONS * FSIM_YEARS];
};

/* What the schedules did, summed over a run, so that a default run can show each case ran. */
struct fsim_cover {
    unsigned long written, refused;
    unsigned long resubmitted, approved, rejected, returned_review, returned_approval;
    unsigned long concurrent;  /* two approvers decided the same key and round */
    unsigned long late_review; /* a review written on a key this device saw decided */
    unsigned long old_forged;  /* an approver's approval naming round - 1 */
    unsigned long held_writer, held_hub, held_foreign;
    unsigned long end_old;     /* keys whose live approval names an older round, at the end */
    unsigned long end_raced;   /* ... with a real decision (approved/rejected), not forged */
    unsigned long end_decided; /* keys an approval decides at the end */
    unsigned statuses;         /* bit per rules_state seen at the end */
};
static struct fsim_cover fsim_cover;

static const struct flow_scores fsim_good = {{9, 9, 8, 8, 8, 8, 8, 8, 8, 8},
                                             {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}; /* 82: passes */
static const struct flow_scores fsim_low = {{8, 8, 8, 8, 8, 8, 8, 8, 6, 6},
                                            {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}; /* 76: fails */
static const struct flow_scores fsim_high = {{10, 10, 9, 9, 9, 9, 9, 9, 9, 9},
                                             {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}; /* 92 */

/* xorshift64*, as tests/sim/converge_test.c: small, seedable, the same everywhere. */
static uint64_t
fsim_rand(struct fsim *s)
{
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return s->rng * 2685821657736338717ull;
}

static unsigned
fsim_pick(struct fsim *s, unsigned n)
{
    return (unsigned)(fsim_rand(s) % n);
}

static void
fsim_clock_at(long long ms)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", ms);
    setenv("CDHT_FAKE_NOW_MS", buf, 1);
}

/* A coarse clock (1 s steps) so that concurrent commits share milliseconds, a third of the time
 * up to 20 minutes ahead: ties and skew, as in sim/converge. */
static void
fsim_clock(struct fsim *s)
{
    long long ms = FSIM_BASE_MS + 3600000ll + (long long)fsim_pick(s, 30) * 1000;
    if (fsim_pick(s, 3) == 0) {
        ms += (long long)fsim_pick(s, 20) * 60000;
    }
    fsim_clock_at(ms);
}

/* Key k is person k / FSIM_YEARS in year FSIM_YEAR0 + k % FSIM_YEARS. */
static int
fsim_year(unsigned k)
{
    return FSIM_YEAR0 + (int)(k % FSIM_YEARS);
}

static const char *
fsim_person(const struct fsim *s, unsigned k)
{
    return s->person[k / FSIM_YEARS];
}

/* A key of village V1 (own 1) or V2 (own 0) for writer A; the reverse for B. */
static unsigned
fsim_key_of(struct fsim *s, unsigned dev, int own)
{
    unsigned first = (dev == FSIM_A) == (own != 0) ? 0 : 2; /* V1's persons are 0 and 1 */
    return (first + fsim_pick(s, 2)) * FSIM_YEARS + fsim_pick(s, FSIM_YEARS);
}

/* The whole log of every device to every target, through one bundle per device. Setup feeds the
 * devices in device order. The final delivery feeds every replica in its own random order and
 * the late one in reverse (Q, P, B, A, H, R), so that data reaches it before the certificates
 * that make it count. */
static void
fsim_deliver(struct fsim *s, int final)
{
    char *full[FSIM_DEVS];
    for (unsigned i = 0; i < FSIM_DEVS; i++) {
        char name[32];
        snprintf(name, sizeof name, "full-%s.cdht", fsim_name[i]);
        full[i] = support_path(s->dir, name);
        deploy_export(s->r[i], full[i]);
    }
    unsigned targets = final ? FSIM_REPLICAS : FSIM_DEVS;
    for (unsigned i = 0; i < targets; i++) {
        unsigned order[FSIM_DEVS];
        for (unsigned j = 0; j < FSIM_DEVS; j++) {
            order[j] = i == FSIM_LATE ? FSIM_DEVS - 1 - j : j;
        }
        for (unsigned j = FSIM_DEVS - 1; final && i != FSIM_LATE && j > 0; j--) {
            unsigned m = fsim_pick(s, j + 1); /* Fisher-Yates */
            unsigned t = order[j];
            order[j] = order[m];
            order[m] = t;
        }
        for (unsigned j = 0; j < FSIM_DEVS; j++) {
            struct exchange_report rep = {0};
            err_code rc = exchange_import(s->r[i], full[order[j]], &rep);
            cr_assert_eq(rc, ERR_OK, "seed %llu: %s <- %s: %s (%s)", (unsigned long long)s->seed,
                         fsim_name[i], fsim_name[order[j]], err_str(rc), rep.msg);
        }
    }
    if (final) {
        /* A duplicate delivery changes nothing. */
        struct exchange_report rep = {0};
        unsigned i = fsim_pick(s, FSIM_REPLICAS);
        cr_assert_eq(exchange_import(s->r[i], full[fsim_pick(s, FSIM_DEVS)], &rep), ERR_OK, "%s",
                     rep.msg);
    }
    for (unsigned i = 0; i < FSIM_DEVS; i++) {
        free(full[i]);
    }
}

static void fsim_sync(struct fsim *s, unsigned from, unsigned to, int lacking);

/* One exchange between two devices: mostly a laptop and the hub (the deployment's star), now and
 * then two laptops directly; half the time only what the receiver lacks. */
static void
fsim_gossip(struct fsim *s)
{
    unsigned from, to;
    if (fsim_pick(s, 10) < 7) {
        static const unsigned spokes[] = {FSIM_R, FSIM_A, FSIM_B, FSIM_P, FSIM_Q};
        unsigned d = spokes[fsim_pick(s, 5)];
        int up = fsim_pick(s, 2) == 0;
        from = up ? d : FSIM_H;
        to = up ? FSIM_H : d;
    } else {
        from = fsim_pick(s, FSIM_DEVS);
        to = fsim_pick(s, FSIM_DEVS - 1);
        to += to >= from;
    }
    fsim_sync(s, from, to, fsim_pick(s, 2) == 0);
}

/* What from holds goes to to through one bundle: with lacking, only what to lacks. */
static void
fsim_sync(struct fsim *s, unsigned from, unsigned to, int lacking)
{
    char *path = support_path(s->dir, "gossip.cdht");
    struct heads_entry *h = NULL;
    size_t hn = 0;
    struct exchange_report rep = {0};
    if (lacking) {
        cr_assert_eq(exchange_heads(s->r[to], &h, &hn), ERR_OK);
    }
    err_code rc = exchange_export(s->r[from], path, h, hn, &rep);
    cr_assert_eq(rc, ERR_OK, "seed %llu: export: %s", (unsigned long long)s->seed, rep.msg);
    rc = exchange_import(s->r[to], path, &rep);
    cr_assert_eq(rc, ERR_OK, "seed %llu: %s <- %s: %s (%s)", (unsigned long long)s->seed,
                 fsim_name[to], fsim_name[from], err_str(rc), rep.msg);
    free(h);
    free(path);
}

/* One row change as its own leaf (one leaf per decision, as flow.c commits). */
static err_code
fsim_put(struct replica *r, const char *table, const char *pk, const struct replica_cell *c,
         size_t n, uint64_t *index)
{
    struct replica_txn *t = NULL;
    err_code rc = replica_txn_new(r, &t);
    if (rc != ERR_OK) {
        return rc;
    }
    if ((rc = replica_txn_put(t, table, pk, 1, c, n, 0)) != ERR_OK) {
        replica_txn_free(t);
        return rc;
    }
    return replica_txn_commit(r, t, index);
}

static const char *
fsim_unit(const struct flow_state *st)
{
    return st->unit[0] != '\0' ? st->unit : st->person_unit;
}

/* A whole review row for st's key, as flow_review writes it, whatever the status. */
static err_code
fsim_review_raw(struct replica *r, const struct flow_state *st, const char *outcome,
                const struct flow_scores *sc, uint64_t *index)
{
    static const char *const cols[RULES_IND_MAX] = {"s01", "s02", "s03", "s04", "s05",
                                                    "s06", "s07", "s08", "s09", "s10"};
    struct replica_cell c[3 + RULES_IND_MAX] = {
        {.col = "unit", .type = SCHEMA_TEXT, .s = fsim_unit(st)},
        {.col = "round", .type = SCHEMA_INT, .i = st->round_null ? 1 : st->round},
        {.col = "outcome", .type = SCHEMA_TEXT, .s = outcome},
    };
    for (unsigned i = 0; i < RULES_IND_MAX; i++) {
        c[3 + i] = (struct replica_cell){.col = cols[i], .type = SCHEMA_INT, .i = sc->v[i]};
    }
    return fsim_put(r, "review", st->id, c, sizeof c / sizeof c[0], index);
}

/* A whole approval row for st's key naming round, as flow_approve writes it. number marks who
 * forged it: a live approval row never carries a "forged-" number (it is held). */
static err_code
fsim_approval_raw(struct replica *r, const struct flow_state *st, int64_t round,
                  const char *outcome, const char *number, uint64_t *index)
{
    const struct replica_cell c[] = {
        {.col = "unit", .type = SCHEMA_TEXT, .s = fsim_unit(st)},
        {.col = "person", .type = SCHEMA_TEXT, .s = st->person},
        {.col = "year", .type = SCHEMA_INT, .i = st->year},
        {.col = "round", .type = SCHEMA_INT, .i = round},
        {.col = "outcome", .type = SCHEMA_TEXT, .s = outcome},
        {.col = "total", .type = SCHEMA_INT, .i = 82},
        {.col = "number", .type = SCHEMA_TEXT, .s = number},
        {.col = "date", .type = SCHEMA_TEXT, .s = "2026-11-20"},
        {.col = "signer", .type = SCHEMA_TEXT, .s = "Lê Văn Chủ tịch"},
        {.col = "note", .type = SCHEMA_TEXT, .is_null = 1},
    };
    return fsim_put(r, "approval", st->id, c, sizeof c / sizeof c[0], index);
}

static void
fsim_read(struct fsim *s, unsigned dev, unsigned k, struct flow_state *st)
{
    char why[FLOW_WHY_SIZE] = "";
    err_code rc = flow_read(s->r[dev], fsim_person(s, k), fsim_year(k), st, why);
    cr_assert_eq(rc, ERR_OK, "seed %llu: flow_read: %s %s", (unsigned long long)s->seed,
                 err_str(rc), why);
}

#define FSIM_S(st) (1u << (st))

/* A key for dev to act on. Three times in four it is one whose status, as dev sees it, is in
 * want, so that schedules get far enough for the races; otherwise any key of its village (a
 * writer's; with stray, one time in eight in the other village, where the flow refuses it). */
static unsigned
fsim_choose(struct fsim *s, unsigned dev, unsigned want, int stray)
{
    unsigned cand[FSIM_PERSONS * FSIM_YEARS], n = 0;
    int writer = dev == FSIM_A || dev == FSIM_B;
    for (unsigned k = 0; k < FSIM_PERSONS * FSIM_YEARS; k++) {
        struct flow_state st;
        if (writer && (k / FSIM_YEARS < 2) != (dev == FSIM_A)) {
            continue; /* the other village */
        }
        fsim_read(s, dev, k, &st);
        if (want & FSIM_S(st.status)) {
            cand[n++] = k;
        }
    }
    if (n > 0 && fsim_pick(s, 4) != 0) {
        return cand[fsim_pick(s, n)];
    }
    if (!writer) {
        return fsim_pick(s, FSIM_PERSONS * FSIM_YEARS);
    }
    return fsim_key_of(s, dev, !stray || fsim_pick(s, 8) != 0);
}

/* A forged leaf that every replica must hold: the modified cdht writes it all the same. */
static void
fsim_forge_held(struct fsim *s, unsigned dev, unsigned k, enum trust_reason why)
{
    struct flow_state st;
    uint64_t index = 0;
    err_code rc;
    fsim_read(s, dev, k, &st);
    setenv("CDHT_TEST_UNCHECKED_WRITES", "1", 1);
    if (why == TRUST_UNIT) {
        rc = fsim_review_raw(s->r[dev], &st, "reviewed", &fsim_high, &index);
    } else {
        rc = fsim_approval_raw(s->r[dev], &st, st.round_null ? 1 : st.round,
                               fsim_pick(s, 3) ? "approved" : "rejected",
                               dev == FSIM_H ? "forged-hub" : "forged-writer", &index);
    }
    unsetenv("CDHT_TEST_UNCHECKED_WRITES");
    cr_assert_eq(rc, ERR_OK, "seed %llu: forged write on %s: %s", (unsigned long long)s->seed,
                 fsim_name[dev], err_str(rc));
    cr_assert_lt(s->n_held, FSIM_HELD_MAX);
    s->held[s->n_held++] = (struct fsim_held){.dev = dev, .index = index, .why = why};
}

/* A write a real client refuses. The held ones are forged with CDHT_TEST_UNCHECKED_WRITES. The
 * others (an approver's approval naming an old round, a review after the decision) are refused
 * by flow.c only because of the status, so the merge-time check must let them through: they are
 * committed checked. */
static void
fsim_forge(struct fsim *s)
{
    unsigned writer = fsim_pick(s, 2) ? FSIM_A : FSIM_B;
    unsigned approver = fsim_pick(s, 2) ? FSIM_P : FSIM_Q;
    struct flow_state st;
    uint64_t index = 0;
    err_code rc = ERR_OK;
    unsigned dev = approver;
    switch (fsim_pick(s, 5)) {
    case 0: /* a writer approves (its own village: the role is missing, not the unit) */
        fsim_forge_held(s, writer, fsim_key_of(s, writer, 1), TRUST_ROLE);
        fsim_cover.held_writer++;
        return;
    case 1: /* the hub approves: a hub publishes frameworks, it does not decide */
        fsim_forge_held(s, FSIM_H, fsim_key_of(s, writer, fsim_pick(s, 2)), TRUST_ROLE);
        fsim_cover.held_hub++;
        return;
    case 2: /* a writer reviews the other village's person */
        fsim_forge_held(s, writer, fsim_key_of(s, writer, 0), TRUST_UNIT);
        fsim_cover.held_foreign++;
        return;
    case 3: { /* an approver's decision naming the round before the one it sees */
        unsigned k = fsim_choose(s, approver, ~FSIM_S(RULES_ST_NONE), 0);
        fsim_read(s, approver, k, &st);
        if (!st.a_live) {
            return; /* no round to be older than */
        }
        int64_t round = (st.round_null ? 1 : st.round) - 1;
        rc = fsim_approval_raw(s->r[approver], &st, round,
                               fsim_pick(s, 3) ? "approved" : "rejected", "old-round", &index);
        fsim_cover.old_forged++;
        break;
    }
    default: { /* a review out of turn, typically after the decision */
        dev = fsim_pick(s, 2) ? approver : writer;
        unsigned k = fsim_choose(s, dev, FSIM_S(RULES_ST_APPROVED) | FSIM_S(RULES_ST_REJECTED), 0);
        fsim_read(s, dev, k, &st);
        if (!st.a_live) {
            return;
        }
        if (st.status == RULES_ST_APPROVED || st.status == RULES_ST_REJECTED) {
            fsim_cover.late_review++;
        }
        rc = fsim_review_raw(s->r[dev], &st, fsim_pick(s, 2) ? "reviewed" : "returned",
                             fsim_pick(s, 2) ? &fsim_low : &fsim_high, &index);
        break;
    }
    }
    cr_assert_eq(rc, ERR_OK, "seed %llu: checked write on %s refused: %s %s",
                 (unsigned long long)s->seed, fsim_name[dev], err_str(rc), s->r[dev]->denied);
}

/* A flow step's answer: written, or refused with a sentence and nothing written. A refusal with
 * an empty sentence would be the merge-time check refusing what flow_check allowed. */
static int
fsim_flow_done(struct fsim *s, unsigned dev, const char *what, err_code rc, const char *why,
               uint64_t leaves_before)
{
    struct replica *r = s->r[dev];
    if (rc == ERR_OK) {
        cr_assert_eq(support_total_leaves(r), leaves_before + 1, "seed %llu: %s on %s",
                     (unsigned long long)s->seed, what, fsim_name[dev]);
        fsim_cover.written++;
        return 1;
    }
    cr_assert_eq(rc, ERR_DENIED, "seed %llu: %s on %s: %s (%s)", (unsigned long long)s->seed, what,
                 fsim_name[dev], err_str(rc), why);
    cr_assert(why[0] != '\0', "seed %llu: %s on %s: refused at commit: %s",
              (unsigned long long)s->seed, what, fsim_name[dev], r->denied);
    cr_assert_eq(support_total_leaves(r), leaves_before, "seed %llu: a refused %s wrote a leaf",
                 (unsigned long long)s->seed, what);
    fsim_cover.refused++;
    return 0;
}

/* An approver decided key k in round: count a race with the other approver. */
static void
fsim_decided(struct fsim *s, unsigned dev, unsigned k, int64_t round)
{
    if (s->dec_round[k] == round && s->dec_dev[k] >= 0 && (unsigned)s->dec_dev[k] != dev) {
        fsim_cover.concurrent++;
    }
    s->dec_dev[k] = (int)dev;
    s->dec_round[k] = round;
}

/* One step of the workflow through node/flow.h, chosen from the status this device sees. */
static void
fsim_act(struct fsim *s)
{
    static const unsigned actors[] = {FSIM_A, FSIM_B, FSIM_P, FSIM_Q};
    static const struct flow_decision approve = {
        .number = "12/QĐ-KH", .date = "2026-11-20", .signer = "Lê Văn Chủ tịch"};
    static const struct flow_decision reject = {.number = "13/QĐ-KH",
                                                .date = "2026-11-21",
                                                .signer = "Lê Văn Chủ tịch",
                                                .reason = "chưa đạt",
                                                .reject = 1};
    unsigned dev = actors[fsim_pick(s, 4)];
    int writer = dev == FSIM_A || dev == FSIM_B;
    unsigned k =
        fsim_choose(s, dev,
                    writer ? FSIM_S(RULES_ST_NONE) | FSIM_S(RULES_ST_DRAFT) |
                                 FSIM_S(RULES_ST_RETURNED) | FSIM_S(RULES_ST_SELF_SUBMITTED)
                           : FSIM_S(RULES_ST_SELF_SUBMITTED) | FSIM_S(RULES_ST_BRANCH_REVIEWED),
                    1);
    struct replica *r = s->r[dev];
    const char *p = fsim_person(s, k);
    int y = fsim_year(k);
    struct flow_state st;
    fsim_read(s, dev, k, &st);
    int64_t round = st.round_null ? 1 : st.round;
    const struct flow_scores *sc = fsim_pick(s, 3) ? &fsim_good : &fsim_low;
    uint64_t leaves = support_total_leaves(r);
    char why[FLOW_WHY_SIZE] = "";
    const char *what = "?";
    err_code rc;
    int total = 0, changed = 0;
    if (writer) {
        switch (st.status) {
        case RULES_ST_NONE: {
            const struct flow_register_args a = {
                .person = p, .year = y, .group = fsim_pick(s, 2) ? "farmer" : "worker"};
            what = "register";
            rc = flow_register(r, &a, &changed, why);
            break;
        }
        case RULES_ST_DRAFT:
        case RULES_ST_RETURNED: {
            const struct flow_assess_args a = {
                .person = p, .year = y, .scores = sc, .submit = fsim_pick(s, 3) != 0};
            what = a.submit ? (st.status == RULES_ST_RETURNED ? "resubmit" : "submit") : "assess";
            rc = flow_assess(r, &a, why);
            if (rc == ERR_OK && a.submit && st.status == RULES_ST_RETURNED) {
                fsim_cover.resubmitted++;
            }
            break;
        }
        case RULES_ST_SELF_SUBMITTED:
        case RULES_ST_BRANCH_REVIEWED:
            if (fsim_pick(s, 3) != 0 || st.status == RULES_ST_BRANCH_REVIEWED) {
                /* NULL confirms the self scores; a status reached through a forged review
                 * may have none, and the reviewer then gives its own (flow refuses NULL). */
                what = "review";
                rc = flow_review(r, p, y, st.s_live && fsim_pick(s, 2) ? NULL : sc, NULL, why);
            } else {
                what = "return (review)";
                rc = flow_return(r, p, y, "thiếu minh chứng", why);
                fsim_cover.returned_review += rc == ERR_OK;
            }
            break;
        default: {
            /* Decided: final for the year, the flow refuses. */
            const struct flow_assess_args a = {.person = p, .year = y, .scores = sc, .submit = 1};
            what = "assess after the decision";
            rc = flow_assess(r, &a, why);
            break;
        }
        }
    } else {
        switch (st.status) {
        case RULES_ST_SELF_SUBMITTED:
            if (fsim_pick(s, 3) != 0) {
                what = "review";
                rc = flow_review(r, p, y, st.s_live && fsim_pick(s, 2) ? NULL : &fsim_high, NULL,
                                 why);
            } else {
                what = "return (review)";
                rc = flow_return(r, p, y, "cần xác nhận", why);
                fsim_cover.returned_review += rc == ERR_OK;
            }
            break;
        case RULES_ST_BRANCH_REVIEWED: {
            unsigned c = fsim_pick(s, 4);
            if (c < 2) {
                what = "approve";
                rc = flow_approve(r, p, y, &approve, &total, why);
                fsim_cover.approved += rc == ERR_OK;
            } else if (c == 2) {
                what = "reject";
                rc = flow_approve(r, p, y, &reject, &total, why);
                fsim_cover.rejected += rc == ERR_OK;
            } else {
                what = "return (approval)";
                rc = flow_return(r, p, y, "cần xác nhận của trưởng thôn", why);
                fsim_cover.returned_approval += rc == ERR_OK;
            }
            if (rc == ERR_OK) {
                fsim_decided(s, dev, k, round);
            }
            break;
        }
        default:
            if (fsim_pick(s, 4) != 0) {
                /* Nothing to decide here yet: an approver mostly fetches from the hub. */
                fsim_sync(s, FSIM_H, dev, 1);
                return;
            }
            what = "approve out of turn";
            rc = flow_approve(r, p, y, &approve, &total, why);
            break;
        }
    }
    fsim_flow_done(s, dev, what, rc, why, leaves);
}

static void
fsim_step(struct fsim *s)
{
    fsim_clock(s);
    unsigned roll = fsim_pick(s, 10);
    if (roll < 4) {
        fsim_gossip(s);
    } else if (roll < 5) {
        fsim_forge(s);
    } else {
        fsim_act(s);
    }
}

/* The quarantine as "log key index reason" lines, for comparing replicas (sim/converge). */
static void
fsim_quarantine(struct replica *r, char *out, size_t cap)
{
    sqlite3_stmt *q = NULL;
    size_t n = 0;
    out[0] = '\0';
    cr_assert_eq(sqlite3_prepare_v2(r->st->db,
                                    "SELECT hex(l.key), q.id & 1099511627775, q.reason FROM "
                                    "quarantine q JOIN log l ON l.id = (q.id >> 40) ORDER BY 1, 2",
                                    -1, &q, NULL),
                 SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) {
        int w = snprintf(out + n, cap - n, "%s %lld %d\n", sqlite3_column_text(q, 0),
                         sqlite3_column_int64(q, 1), sqlite3_column_int(q, 2));
        cr_assert(w > 0 && (size_t)w < cap - n);
        n += (size_t)w;
    }
    sqlite3_finalize(q);
}

/* Every forged leaf is held on replica i, for the reason it was forged to hit. */
static void
fsim_check_held(const struct fsim *s, unsigned i)
{
    sqlite3_stmt *q = NULL;
    cr_assert_eq(sqlite3_prepare_v2(s->r[i]->st->db,
                                    "SELECT q.reason FROM quarantine q JOIN log l ON l.id = "
                                    "(q.id >> 40) WHERE l.key = ?1 AND "
                                    "(q.id & 1099511627775) = ?2",
                                    -1, &q, NULL),
                 SQLITE_OK);
    for (unsigned h = 0; h < s->n_held; h++) {
        const struct fsim_held *f = &s->held[h];
        sqlite3_bind_blob(q, 1, s->r[f->dev]->pk, KEY_PUBLIC_SIZE, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, (int64_t)f->index);
        cr_assert_eq(sqlite3_step(q), SQLITE_ROW,
                     "seed %llu: %s's forged leaf %llu is effective on %s",
                     (unsigned long long)s->seed, fsim_name[f->dev], (unsigned long long)f->index,
                     fsim_name[i]);
        cr_assert_eq(sqlite3_column_int(q, 0), (int)f->why, "seed %llu: held on %s as %d",
                     (unsigned long long)s->seed, fsim_name[i], sqlite3_column_int(q, 0));
        sqlite3_reset(q);
    }
    sqlite3_finalize(q);
}

static const char *
fsim_text(sqlite3_stmt *q, int col)
{
    return (const char *)sqlite3_column_text(q, col); /* NULL for NULL */
}

/* For every key with a workflow row on replica i: the status the view gives, the one
 * rules_status gives on the rows, and flow_read's, all equal; an approval decides only for the
 * assessment's own round and unit, and no forged approval ever shows. out gets one "key status"
 * line per key, for comparing replicas; count 1 adds this replica's keys to the coverage. */
static void
fsim_statuses(const struct fsim *s, unsigned i, char *out, size_t cap, int count)
{
    struct replica *r = s->r[i];
    sqlite3_stmt *q = NULL;
    size_t n = 0;
    out[0] = '\0';
    cr_assert_eq(
        sqlite3_prepare_v2(r->st->db,
                           "SELECT k.id, a._live, a.unit, a.round, a.stage, r._live, r.unit, "
                           "  r.round, r.outcome, p._live, p.unit, p.round, p.outcome, p.number, "
                           "  (SELECT status FROM assessment_state v WHERE v.id = k.id) "
                           "FROM (SELECT id FROM assessment UNION SELECT id FROM review "
                           "      UNION SELECT id FROM approval) k "
                           "LEFT JOIN assessment a ON a.id = k.id LEFT JOIN review r ON "
                           "r.id = k.id LEFT JOIN approval p ON p.id = k.id ORDER BY k.id",
                           -1, &q, NULL),
        SQLITE_OK, "%s", sqlite3_errmsg(r->st->db));
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *id = fsim_text(q, 0);
        struct rules_rows rows = {
            .a_live = sqlite3_column_int(q, 1),
            .a_unit = fsim_text(q, 2),
            .a_round = sqlite3_column_int64(q, 3),
            .a_round_null = sqlite3_column_type(q, 3) == SQLITE_NULL,
            .a_stage = fsim_text(q, 4),
            .r_live = sqlite3_column_int(q, 5),
            .r_unit = fsim_text(q, 6),
            .r_round = sqlite3_column_int64(q, 7),
            .r_round_null = sqlite3_column_type(q, 7) == SQLITE_NULL,
            .r_outcome = fsim_text(q, 8),
            .p_live = sqlite3_column_int(q, 9),
            .p_unit = fsim_text(q, 10),
            .p_round = sqlite3_column_int64(q, 11),
            .p_round_null = sqlite3_column_type(q, 11) == SQLITE_NULL,
            .p_outcome = fsim_text(q, 12),
        };
        const char *number = fsim_text(q, 13);
        const char *view = fsim_text(q, 14);
        enum rules_state st = rules_status(&rows);
        enum rules_state vst = view != NULL ? rules_state_parse(view) : RULES_ST_NONE;
        cr_assert_eq(vst, st, "seed %llu: %s %s: view %s, rules_status %s",
                     (unsigned long long)s->seed, fsim_name[i], id, view ? view : "(none)",
                     rules_state_name(st));
        cr_assert_neq(st, RULES_ST_UNKNOWN, "seed %llu: %s %s", (unsigned long long)s->seed,
                      fsim_name[i], id);
        /* flow_read, which every command acts on, says the same. */
        int year = 0;
        char person[FLOW_PERSON_SIZE_MAX + 1];
        struct flow_state fs;
        char why[FLOW_WHY_SIZE] = "";
        cr_assert_eq(sscanf(id, "%d:%32s", &year, person), 2, "%s", id);
        cr_assert_eq(flow_read(r, person, year, &fs, why), ERR_OK, "%s", why);
        cr_assert_eq(fs.status, st, "seed %llu: %s %s: flow_read %s, rules_status %s",
                     (unsigned long long)s->seed, fsim_name[i], id, rules_state_name(fs.status),
                     rules_state_name(st));
        if (rows.p_live) {
            cr_assert(number == NULL || strncmp(number, "forged-", 7) != 0,
                      "seed %llu: %s %s: a held approval (%s) was applied",
                      (unsigned long long)s->seed, fsim_name[i], id, number);
            int current = rows.a_live && !rows.a_round_null && !rows.p_round_null &&
                          rows.p_round == rows.a_round && rows.a_unit != NULL &&
                          rows.p_unit != NULL && strcmp(rows.a_unit, rows.p_unit) == 0;
            if (current) {
                /* The decision of the current round decides, whatever the review says. */
                cr_assert_eq(st, rules_state_parse(rows.p_outcome), "seed %llu: %s %s",
                             (unsigned long long)s->seed, fsim_name[i], id);
                fsim_cover.end_decided += count;
            } else {
                /* An approval of another round is as if it were not there. */
                struct rules_rows without = rows;
                without.p_live = 0;
                cr_assert_eq(st, rules_status(&without),
                             "seed %llu: %s %s: an approval of round %lld decided round %lld",
                             (unsigned long long)s->seed, fsim_name[i], id, (long long)rows.p_round,
                             (long long)rows.a_round);
                if (rows.a_live && !rows.p_round_null && rows.p_round < rows.a_round) {
                    fsim_cover.end_old += count;
                    fsim_cover.end_raced += count && rows.p_outcome != NULL &&
                                            strcmp(rows.p_outcome, "returned") &&
                                            (number == NULL || strcmp(number, "old-round") != 0);
                }
            }
        }
        if (count) {
            fsim_cover.statuses |= 1u << st;
        }
        int w = snprintf(out + n, cap - n, "%s %s\n", id, rules_state_name(st));
        cr_assert(w > 0 && (size_t)w < cap - n);
        n += (size_t)w;
    }
    sqlite3_finalize(q);
}

static void
fsim_no_finding(void *ctx, const struct audit_finding *f)
{
    cr_assert_fail("seed %llu: audit finding %s: %s", (unsigned long long)*(uint64_t *)ctx, f->kind,
                   f->reason);
}

/* The deployment of one schedule: R, H, A, B from deploy_world, approvers P and Q of the
 * commune, the late replica L (province), the seed framework from the root, two persons per
 * village, and everything the devices wrote delivered to every device (not to L). */
static void
fsim_world(struct fsim *s)
{
    static const char *const names[FSIM_PERSONS] = {"Nguyễn Văn An", "Trần Thị Bình",
                                                    "Lê Văn Cường", "Phạm Thị Dung"};
    fsim_clock_at(FSIM_BASE_MS);
    deploy_world(&s->w, s->dir, "w", 2);
    s->r[FSIM_R] = s->w.R;
    s->r[FSIM_H] = s->w.H;
    s->r[FSIM_A] = s->w.A;
    s->r[FSIM_B] = s->w.B;
    s->r[FSIM_P] = deploy_replica(s->dir, "w-P", FSIM_COMMUNE, 0, s->w.R->pk);
    s->r[FSIM_Q] = deploy_replica(s->dir, "w-Q", FSIM_COMMUNE, 0, s->w.R->pk);
    s->r[FSIM_LATE] = deploy_replica(s->dir, "w-L", "44", 0, s->w.R->pk);
    cr_assert_eq(deploy_cert(s->w.H, s->r[FSIM_P], "approver", FSIM_COMMUNE, NULL), ERR_OK, "%s",
                 s->w.H->denied);
    cr_assert_eq(deploy_cert(s->w.H, s->r[FSIM_Q], "approver", FSIM_COMMUNE, NULL), ERR_OK, "%s",
                 s->w.H->denied);
    struct replica_txn *t = NULL;
    cr_assert_eq(replica_txn_new(s->w.R, &t), ERR_OK);
    cr_assert_eq(seed_framework_put(t, "*"), ERR_OK);
    cr_assert_eq(replica_txn_commit(s->w.R, t, NULL), ERR_OK, "%s", s->w.R->denied);
    /* Every replica keeps every log (node/scope.h, "unless configured"), as in
     * sim/converge_trust: the property is that replicas holding the same leaves agree, not
     * which logs each may hold. */
    for (unsigned i = 0; i < FSIM_REPLICAS; i++) {
        cr_assert_eq(
            store_meta_put(s->r[i]->st, SCOPE_META, SCOPE_META_ALL, strlen(SCOPE_META_ALL)),
            ERR_OK);
    }
    for (unsigned p = 0; p < FSIM_PERSONS; p++) {
        struct replica *w = p < 2 ? s->w.A : s->w.B;
        err_code rc = support_person_add(w, names[p], 1970 + p,
                                         p < 2 ? FSIM_VILLAGE_A : FSIM_VILLAGE_B, s->person[p]);
        cr_assert_eq(rc, ERR_OK, "%s %s", err_str(rc), w->denied);
    }
    fsim_deliver(s, 0);
}

static void
fsim_run(uint64_t seed)
{
    struct fsim s;
    memset(&s, 0, sizeof s);
    s.seed = seed;
    s.rng = seed * 0x9e3779b97f4a7c15ull + 1;
    s.dir = deploy_suite_init();
    for (unsigned k = 0; k < FSIM_PERSONS * FSIM_YEARS; k++) {
        s.dec_dev[k] = -1;
        s.dec_round[k] = -1;
    }
    fsim_world(&s);
    for (unsigned k = 0; k < FSIM_STEPS; k++) {
        fsim_step(&s);
    }
    fsim_clock_at(FSIM_BASE_MS + 2 * 3600000ll);
    fsim_deliver(&s, 1);

    static char want[1 << 16], got[1 << 16];
    char hwant[65], hgot[65];
    support_state_hex(s.r[0], hwant);
    uint64_t leaves = support_total_leaves(s.r[0]);
    for (unsigned i = 1; i < FSIM_REPLICAS; i++) {
        support_state_hex(s.r[i], hgot);
        cr_assert_str_eq(hgot, hwant, "seed %llu: %s diverged from R", (unsigned long long)seed,
                         fsim_name[i]);
        cr_assert_eq(support_total_leaves(s.r[i]), leaves, "seed %llu: %s",
                     (unsigned long long)seed, fsim_name[i]);
    }
    fsim_quarantine(s.r[0], want, sizeof want);
    for (unsigned i = 1; i < FSIM_REPLICAS; i++) {
        fsim_quarantine(s.r[i], got, sizeof got);
        cr_assert_str_eq(got, want, "seed %llu: %s holds another quarantine",
                         (unsigned long long)seed, fsim_name[i]);
    }
    fsim_statuses(&s, 0, want, sizeof want, 1);
    for (unsigned i = 0; i < FSIM_REPLICAS; i++) {
        if (i > 0) {
            fsim_statuses(&s, i, got, sizeof got, 0);
            cr_assert_str_eq(got, want, "seed %llu: %s derives other statuses",
                             (unsigned long long)seed, fsim_name[i]);
        }
        fsim_check_held(&s, i);
    }
    /* The audit's independent re-evaluation (every leaf replayed through admission) gives
     * the tables and quarantine of R, and of L, which got the certificates last. The other
     * replicas have the same state hash and quarantine, so replaying them adds only time. */
    static const unsigned audited[] = {FSIM_R, FSIM_LATE};
    for (unsigned j = 0; j < sizeof audited / sizeof audited[0]; j++) {
        struct audit_summary sum;
        err_code rc = audit_run(s.r[audited[j]]->st, AUDIT_STATE, fsim_no_finding, &s.seed, &sum);
        cr_assert_eq(rc, ERR_OK, "seed %llu: audit: %s", (unsigned long long)seed, err_str(rc));
        cr_assert_eq(sum.leaves, leaves);
    }
    replica_close(s.r[FSIM_P]);
    replica_close(s.r[FSIM_Q]);
    replica_close(s.r[FSIM_LATE]);
    deploy_world_free(&s.w);
    deploy_suite_fini(s.dir);
}

Test(sim, flow_converge, .timeout = 600)
{
    const char *one = getenv("CDHT_SIM_SEED");
    if (one != NULL) {
        fsim_run(strtoull(one, NULL, 10));
        return;
    }
    const char *n_s = getenv("CDHT_SIM_SCHEDULES");
    unsigned n = n_s ? (unsigned)strtoul(n_s, NULL, 10) : FSIM_SCHEDULES_DEFAULT;
    memset(&fsim_cover, 0, sizeof fsim_cover);
    for (unsigned seed = 1; seed <= n; seed++) {
        fsim_run(seed);
    }
    const struct fsim_cover *c = &fsim_cover;
    cr_log_info("%u workflow schedules converged: %lu steps written, %lu refused; %lu approved, "
                "%lu rejected, %lu returned by review, %lu by approval, %lu resubmitted; %lu "
                "concurrent decisions, %lu late reviews, %lu old-round approvals forged; held: "
                "%lu writer, %lu hub approvals, %lu foreign reviews; at the end %lu decided, %lu "
                "old-round approvals (%lu raced decisions); statuses 0x%x",
                n, c->written, c->refused, c->approved, c->rejected, c->returned_review,
                c->returned_approval, c->resubmitted, c->concurrent, c->late_review, c->old_forged,
                c->held_writer, c->held_hub, c->held_foreign, c->end_decided, c->end_old,
                c->end_raced, c->statuses);
    if (n >= FSIM_SCHEDULES_DEFAULT) {
        /* The schedules must reach the races they are here for, or the test proves little. */
        cr_assert_gt(c->approved, 0);
        cr_assert_gt(c->rejected, 0);
        cr_assert_gt(c->returned_review, 0);
        cr_assert_gt(c->returned_approval, 0);
        cr_assert_gt(c->resubmitted, 0);
        cr_assert_gt(c->concurrent, 0, "no two approvers ever decided the same round");
        cr_assert_gt(c->late_review, 0, "no review ever came after a decision");
        cr_assert_gt(c->held_writer, 0);
        cr_assert_gt(c->held_hub, 0);
        cr_assert_gt(c->held_foreign, 0);
        cr_assert_gt(c->end_decided, 0);
        cr_assert_gt(c->end_old, 0, "no approval of an old round survived to the end");
        cr_assert_gt(c->end_raced, 0, "no resubmission ever raced a decision");
        for (unsigned st = RULES_ST_DRAFT; st <= RULES_ST_RETURNED; st++) {
            cr_assert(c->statuses & (1u << st), "no key ended %s",
                      rules_state_name((enum rules_state)st));
        }
    }
}
