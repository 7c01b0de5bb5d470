/*
 * cdht report: the Learning Citizen report of one unit and year (issue 5 item 4). node/report.c
 * computes everything in one pass and node/report_text.c, report_html.c and report_xlsx.c format
 * it; this file parses the options and places the output. With -o the output goes to a temporary
 * file beside FILE, renamed into place only when complete, so a failed run never leaves half a
 * report behind. XLSX needs -o: libxlsxwriter writes a named file, and a zip archive on a
 * terminal helps nobody.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "domain.h"
#include "replica.h"
#include "report.h"
#include "report_fmt.h"
#include "scope.h"

/* ---- the command ------------------------------------------------------------------------- */

/* Checks that -o's folder exists, so the refusal names the real problem before any work. */
static int
report_out_folder(const struct cli *c, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        return 0;
    }
    size_t n = (size_t)(slash - path);
    char dir[REPLICA_PATH_MAX];
    if (n == 0) {
        return 0; /* "/FILE": the root exists */
    }
    if (n >= sizeof dir) {
        return cli_usage(c, "-o: the path is too long");
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        return cli_usage(c, "-o: folder %s does not exist", dir);
    }
    return 0;
}

/* libxlsxwriter writes the workbook to tmp by name (replacing the empty file mkstemp made) and
 * closes it; reopening it for fsync makes the rename below as durable as the other formats'. */
static int
report_write_xlsx_tmp(const char *tmp, const struct report *r, enum report_lang l)
{
    if (report_write_xlsx(tmp, r, l) != 0) {
        return -1;
    }
    int fd = open(tmp, O_RDONLY);
    if (fd < 0) {
        return -1;
    }
    int bad = fsync(fd) != 0;
    bad |= close(fd) != 0;
    return bad ? -1 : 0;
}

/* Writes to path through path.tmp-XXXXXX and rename(2): complete or absent. xlsx: the workbook
 * instead of fmt. */
static int
report_write_file(const struct cli *c, const char *path, const struct report *r,
                  enum report_format fmt, int xlsx, enum report_lang l)
{
    char tmp[REPLICA_PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path) >= (int)sizeof tmp) {
        return cli_usage(c, "-o: the path is too long");
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        return cli_fail(c, err_from_errno(errno), "cannot write %s: %s", path, strerror(errno));
    }
    if (xlsx) {
        close(fd);
        errno = 0;
        if (report_write_xlsx_tmp(tmp, r, l) != 0 || rename(tmp, path) != 0) {
            int e = errno;
            unlink(tmp);
            return cli_fail(c, ERR_IO, "cannot write %s: %s", path, strerror(e ? e : EIO));
        }
        return CLI_OK;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return cli_fail(c, err_from_errno(e), "cannot write %s: %s", path, strerror(e));
    }
    int bad = report_write(f, r, fmt, l);
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    /* mkstemp makes the file 0600; a report holds no personal data, but the umask of cdht is
     * 077 anyway (tools/main.c), so it stays readable by its owner only. */
    if (bad || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return cli_fail(c, ERR_IO, "cannot write %s: %s", path, strerror(e ? e : EIO));
    }
    return CLI_OK;
}

int
cmd_report(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "report",
             "report --home DIR --unit CODE --year Y [--format table|csv|json|html|xlsx] "
             "[--lang vi|en] [--as-of YYYY-MM-DD] [-o FILE] (xlsx needs -o)");
    const char *unit = NULL, *year_s = NULL, *format = NULL, *lang = NULL, *as_of = NULL,
               *out = NULL;
    const struct cli_opt opts[] = {
        {"unit", 0, &unit, NULL}, {"year", 0, &year_s, NULL}, {"format", 0, &format, NULL},
        {"lang", 0, &lang, NULL}, {"as-of", 0, &as_of, NULL}, {"output", 'o', &out, NULL},
    };
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    if (unit == NULL || year_s == NULL) {
        return cli_usage(&c, "--unit and --year are required");
    }
    int64_t year = 0;
    if (cli_parse_i64(year_s, 1900, 9999, &year) != 0) {
        return cli_usage(&c, "--year must be a year from 1900 to 9999");
    }
    enum report_format fmt = REPORT_FMT_TABLE;
    int xlsx = 0;
    if (format == NULL || strcmp(format, "table") == 0) {
        fmt = REPORT_FMT_TABLE;
    } else if (strcmp(format, "csv") == 0) {
        fmt = REPORT_FMT_CSV;
    } else if (strcmp(format, "json") == 0) {
        fmt = REPORT_FMT_JSON;
    } else if (strcmp(format, "html") == 0) {
        fmt = REPORT_FMT_HTML;
    } else if (strcmp(format, "xlsx") == 0) {
        xlsx = 1;
    } else {
        return cli_usage(&c, "--format must be table, csv, json, html or xlsx");
    }
    if (xlsx && out == NULL) {
        return cli_usage(&c, "--format xlsx needs -o FILE.xlsx");
    }
    enum report_lang l = REPORT_VI;
    if (lang != NULL && strcmp(lang, "en") == 0) {
        l = REPORT_EN;
    } else if (lang != NULL && strcmp(lang, "vi") != 0) {
        return cli_usage(&c, "--lang must be vi or en");
    }
    const char *why = NULL;
    if (as_of != NULL && domain_date_parse(as_of, NULL, &why) != ERR_OK) {
        return cli_usage(&c, "--as-of: %s", why);
    }
    if (out != NULL && (ec = report_out_folder(&c, out)) != 0) {
        return ec;
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    /* Above the raw-data ceiling this replica holds no people's records below it: a report on
     * such a unit would read nothing and print zeros, so it is refused with the reason. */
    struct scope sc;
    int active = 0, above = 1;
    char ceiling[SCOPE_KIND_BUF] = "";
    err_code src = scope_of_replica(r, &sc, &active);
    (void)src;
    if (src == ERR_OK && active && scope_above_ceiling(&sc) && unit_exists(r, unit) == 1 &&
        (src = scope_unit_above_ceiling(r->st, unit, &above)) == ERR_OK && !above &&
        (src = scope_ceiling(r->st, ceiling)) == ERR_OK) {
        replica_close(r);
        return cli_fail(&c, ERR_DENIED,
                        "--unit: %s lies at or below the raw-data ceiling (%s), and this replica, "
                        "above it, holds none of its people's records; report on a unit above "
                        "the ceiling (it sums the aggregates), or at the unit's own hub",
                        unit, ceiling);
    }
    /* A scope that cannot be read (no grant yet, too many units) does not stop a report: the
     * check is only there to explain an empty one. */
    struct report *rep = NULL;
    char succ[UNITS_CODE_BUF] = "";
    struct report_opts o = {.as_of = as_of, .years = fmt == REPORT_FMT_HTML};
    err_code rc = report_build(r->st, unit, (int)year, &o, &rep, succ);
    replica_close(r);
    if (rc == ERR_NOTFOUND) {
        return cli_fail(&c, rc, "--unit: unknown unit %s (cdht unit list shows them)", unit);
    }
    if (rc == ERR_INVAL && succ[0] != '\0') {
        return cli_fail(&c, rc, "--unit: unit %s was succeeded by %s on or before %s; report on %s",
                        unit, succ, as_of != NULL ? as_of : "31 December of the year", succ);
    }
    if (rc == ERR_CORRUPT) {
        return cli_fail(&c, rc, "the units tree has a parent or succession cycle (cdht unit tree)");
    }
    if (rc != ERR_OK) {
        return cli_fail(&c, rc, "cannot build the report: %s", err_str(rc));
    }
    if (out != NULL) {
        ec = report_write_file(&c, out, rep, fmt, xlsx, l);
    } else {
        ec = report_write(stdout, rep, fmt, l) == 0
                 ? CLI_OK
                 : cli_fail(&c, ERR_IO, "cannot write the output");
    }
    report_free(rep);
    return ec;
}
