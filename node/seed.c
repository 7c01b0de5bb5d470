/*
 * The built-in framework and plans (seed.h) and the changes that publish them. The numbers come
 * from DOMAIN.md: 244/QĐ-KHVN (3 competencies, 10 indicators scored 0-10, pass at 80 with no
 * indicator below 5, 70 in a disadvantaged unit, exemplary after 5 recognised years), Decision
 * 677/QĐ-TTg's national targets, and the Quảng Vinh commune plan's targets (reference text,
 * published 29/08/2022, with no plan number). The indicator wording is DOMAIN's short English,
 * translated: the framework's title says so, and a hub replaces it by publishing a new version.
 */
#include "seed.h"

#include <stdio.h>
#include <string.h>

#include "replica.h"
#include "schema.h"

const struct seed_indicator seed_indicators[RULES_IND_MAX] = {
    {"1.1", "Tự học, học tập suốt đời",
     "Đọc và cập nhật thông tin (sách, báo, truyền hình, điện thoại)",
     "Reads and keeps informed (books, press, TV, phone)"},
    {"1.2", "Tự học, học tập suốt đời", "Có kế hoạch học tập của cá nhân",
     "Has a personal learning plan"},
    {"1.3", "Tự học, học tập suốt đời",
     "Tham gia học tập ở cộng đồng (nhà văn hoá, câu lạc bộ, thư viện, trung tâm học tập cộng "
     "đồng)",
     "Takes part in community learning (cultural house, clubs, library, community learning "
     "centre)"},
    {"1.4", "Tự học, học tập suốt đời", "Động viên người thân, đồng nghiệp học tập",
     "Encourages family members or colleagues to learn"},
    {"2.1", "Sử dụng các công cụ tương tác",
     "Sử dụng công nghệ thông tin, thiết bị số (kỹ năng số)",
     "Uses IT and digital devices (digital skills)"},
    {"2.2", "Sử dụng các công cụ tương tác", "Sử dụng ngoại ngữ theo yêu cầu công việc",
     "Foreign language as the work needs"},
    {"2.3", "Sử dụng các công cụ tương tác",
     "Tính toán, vận dụng kiến thức để cải thiện công việc",
     "Numeracy; applies knowledge to improve work"},
    {"2.4", "Sử dụng các công cụ tương tác", "Tư duy phản biện, sáng tạo",
     "Critical and creative thinking"},
    {"3.1", "Quan hệ xã hội", "Quan hệ thân thiện, tránh xung đột",
     "Friendly relations; avoids conflict"},
    {"3.2", "Quan hệ xã hội", "Hợp tác, chia sẻ trong công việc và cộng đồng",
     "Cooperates and shares in work and community"},
};

const struct seed_group seed_groups[SEED_GROUPS] = {
    {"farmer", "Nông dân, lao động nông thôn", "Farmers and rural workers"},
    {"worker", "Công nhân, thợ thủ công, lao động tự do",
     "Workers, craftspeople, freelance workers"},
    {"official", "Cán bộ, công chức, viên chức", "Officials, civil servants, public employees"},
};

void
seed_group_rules(struct rules_group *out)
{
    memset(out, 0, sizeof *out);
    out->n = (int)RULES_IND_MAX;
    out->pass_total = 80;
    out->pass_total_disadv = 70;
    for (unsigned i = 0; i < RULES_IND_MAX; i++) {
        out->max[i] = 10;
        out->min[i] = 5;
    }
}

/* "a/b/v", or "a/b" when v < 0; ERR_MSGSIZE when it does not fit. */
static err_code
seed_pk(char pk[SEED_PK_SIZE], const char *a, const char *b, int v)
{
    int n = v >= 0 ? snprintf(pk, SEED_PK_SIZE, "%s/%s/%d", a, b, v)
                   : snprintf(pk, SEED_PK_SIZE, "%s/%s", a, b);
    return n > 0 && (size_t)n < SEED_PK_SIZE ? ERR_OK : ERR_MSGSIZE;
}

err_code
seed_framework_pk(const char *unit, char pk[SEED_PK_SIZE])
{
    return seed_pk(pk, unit, SEED_FRAMEWORK_CODE, SEED_FRAMEWORK_VERSION);
}

#define TXT(c, v) {.col = (c), .type = SCHEMA_TEXT, .s = (v)}
#define INT(c, v) {.col = (c), .type = SCHEMA_INT, .i = (v)}
#define NUL(c, t) {.col = (c), .type = (t), .is_null = 1}
#define PUT(t, table, pk, cells)                                                                   \
    replica_txn_put((t), (table), (pk), 1, (cells), sizeof(cells) / sizeof(cells)[0], 0)

err_code
seed_framework_put(struct replica_txn *t, const char *unit)
{
    char fw[SEED_PK_SIZE], pk[SEED_PK_SIZE + 16];
    err_code rc = seed_framework_pk(unit, fw);
    if (rc != ERR_OK) {
        return rc;
    }
    struct rules_group g;
    seed_group_rules(&g);
    ASSERT(rules_group_check(&g, NULL) == ERR_OK);
    const struct replica_cell fcells[] = {
        TXT("unit", unit),
        TXT("code", SEED_FRAMEWORK_CODE),
        INT("version", SEED_FRAMEWORK_VERSION),
        TXT("title", "Bộ tiêu chí Công dân học tập 244/QĐ-KHVN (28/7/2022), diễn đạt rút gọn "
                     "(short wording)"),
        INT("year_from", 2022),
        NUL("year_to", SCHEMA_INT),
        INT("exemplary_years", 5),
        INT("adult_age", 18),
        TXT("collective_rule", RULES_COLLECTIVE_DEFAULT),
        TXT("review_role", "writer"),
    };
    if ((rc = PUT(t, "framework", fw, fcells)) != ERR_OK) {
        return rc;
    }
    for (unsigned k = 0; k < SEED_GROUPS; k++) {
        const struct seed_group *sg = &seed_groups[k];
        snprintf(pk, sizeof pk, "%s/%s", fw, sg->grp);
        const struct replica_cell gcells[] = {
            TXT("unit", unit),         TXT("framework", fw),
            TXT("grp", sg->grp),       INT("pos", (int64_t)k + 1),
            TXT("name_vi", sg->name_vi), TXT("name_en", sg->name_en),
            INT("pass_total", g.pass_total), INT("pass_total_disadv", g.pass_total_disadv),
        };
        if ((rc = PUT(t, "framework_group", pk, gcells)) != ERR_OK) {
            return rc;
        }
        for (unsigned i = 0; i < RULES_IND_MAX; i++) {
            const struct seed_indicator *si = &seed_indicators[i];
            snprintf(pk, sizeof pk, "%s/%s/%u", fw, sg->grp, i + 1);
            const struct replica_cell icells[] = {
                TXT("unit", unit),
                TXT("framework", fw),
                TXT("grp", sg->grp),
                INT("pos", (int64_t)i + 1),
                TXT("code", si->code),
                TXT("competency", si->competency),
                TXT("text_vi", si->text_vi),
                TXT("text_en", si->text_en),
                INT("max_points", g.max[i]),
                INT("min_points", g.min[i]),
            };
            if ((rc = PUT(t, "framework_indicator", pk, icells)) != ERR_OK) {
                return rc;
            }
        }
    }
    return ERR_OK;
}

/* The metrics of a plan (docs/DATA.md, plan_target): 2025 and 2030 percentages; -1: none set. */
struct seed_target {
    const char *metric;
    int pct2025, pct2030;
};

static err_code
seed_plan_put(struct replica_txn *t, const char *unit, const char *pk, const char *code,
              const char *level, const char *title, const char *decision,
              const struct seed_target *targets, size_t n)
{
    const struct replica_cell pcells[] = {
        TXT("unit", unit),
        TXT("code", code),
        TXT("level", level),
        TXT("title", title),
        {.col = "decision", .type = SCHEMA_TEXT, .is_null = decision == NULL, .s = decision},
        INT("year_from", 2022),
        INT("year_to", 2030),
    };
    err_code rc = PUT(t, "plan", pk, pcells);
    for (size_t i = 0; rc == ERR_OK && i < n; i++) {
        const int years[2] = {2025, 2030};
        const int pcts[2] = {targets[i].pct2025, targets[i].pct2030};
        for (int y = 0; rc == ERR_OK && y < 2; y++) {
            char tpk[SEED_PK_SIZE + 32];
            snprintf(tpk, sizeof tpk, "%s/%s/%d", pk, targets[i].metric, years[y]);
            const struct replica_cell tcells[] = {
                TXT("unit", unit),        TXT("plan", pk), TXT("metric", targets[i].metric),
                INT("year", years[y]),    INT("pct", pcts[y]),
            };
            rc = PUT(t, "plan_target", tpk, tcells);
        }
    }
    return rc;
}

err_code
seed_plan_national_put(struct replica_txn *t)
{
    /* DOMAIN.md: 40/60/70/60 % for 2025 and 60/80/90/80 % for 2030, on the metrics adults in
     * learning families/clans/communities, workers in learning units, holders with digital
     * skills, and of those the proficient. The programme sets no "trained" target. */
    static const struct seed_target targets[] = {
        {"family_adults", 40, 60},
        {"unit_workers", 60, 80},
        {"holders_digital", 70, 90},
        {"holders_proficient", 60, 80},
    };
    return seed_plan_put(t, "*", SEED_PLAN_NATIONAL_PK, "677-2022", "national",
                         "Chương trình Xây dựng mô hình Công dân học tập giai đoạn 2021-2030",
                         "677/QĐ-TTg", targets, sizeof targets / sizeof targets[0]);
}

err_code
seed_plan_commune_pk(const char *unit, char pk[SEED_PK_SIZE])
{
    return seed_pk(pk, unit, "kh-677-2022", -1);
}

err_code
seed_plan_commune_put(struct replica_txn *t, const char *unit)
{
    /* The Quảng Vinh plan (section II.2): higher than the national programme. */
    static const struct seed_target targets[] = {
        {"trained", 100, 100},
        {"family_adults", 65, 70},
        {"unit_workers", 75, 85},
        {"holders_digital", 75, 90},
        {"holders_proficient", 65, 80},
    };
    char pk[SEED_PK_SIZE];
    err_code rc = seed_plan_commune_pk(unit, pk);
    if (rc != ERR_OK) {
        return rc;
    }
    return seed_plan_put(t, unit, pk, "kh-677-2022", "commune",
                         "Kế hoạch thực hiện Chương trình Xây dựng mô hình Công dân học tập "
                         "giai đoạn 2021-2030 (xã Quảng Vinh)",
                         NULL, targets, sizeof targets / sizeof targets[0]);
}
