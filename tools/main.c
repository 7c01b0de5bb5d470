/*
 * cdht: one binary, git-style subcommands. The table below is the whole command surface;
 * each handler lives in its own file under tools/. Data goes to stdout in stable, parseable
 * formats; diagnostics go to stderr.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "commands.h"
#include "diag.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
};

static const struct command commands[] = {
    {"init", cmd_init, "create a replica home: device key and SQLite replica"},
    {"whoami", cmd_whoami, "print this device's public key and note verifier key"},
    {"log", cmd_log, "list logs; print checkpoints, leaves, proofs and heads"},
    {"unit", cmd_unit, "administrative units: add, move, succeed, list, tree"},
    {"person", cmd_person, "add, change, remove and list people"},
    {"status", cmd_status, "this device, its trust mode and certificates, and what needs attention"},
    {"serve", cmd_serve, "run the node: answer syncs, dial upstreams, control socket"},
    {"sync", cmd_sync, "one sync with a peer (--peer), or ask the running node (--now)"},
    {"hash", cmd_hash, "print the digest of the materialised state"},
    {"conflicts", cmd_conflicts, "list concurrent writes that lost"},
    {"bundle", cmd_bundle, "export and import signed, compressed bundles (USB)"},
    {"audit", cmd_audit, "re-verify every log held: leaves, roots, signatures"},
    {"witness", cmd_witness, "co-sign the checkpoints held; list cosignatures"},
    {"enroll", cmd_enroll, "print this device's signed enrolment request for its hub"},
    {"cert", cmd_cert, "issue, revoke, list and show device certificates"},
    {"quarantine", cmd_quarantine, "list held leaves whose author was not entitled"},
    {"prove", cmd_prove, "write an offline proof of one record: leaf, checkpoint, chain"},
    {"verify", cmd_verify, "check a record proof offline against the root's verifier key"},
    {"import", cmd_import, "import person lists or score sheets (CSV or XLSX, Vietnamese headers)"},
    {"template", cmd_template, "write the person-list or score-sheet template to fill in (CSV or XLSX)"},
    {"framework", cmd_framework, "publish and list criteria frameworks"},
    {"plan", cmd_plan, "publish and list plans and their targets"},
    {"register", cmd_register, "register a person for a year"},
    {"assess", cmd_assess, "self scores and self-submission"},
    {"evidence", cmd_evidence, "add and list evidence files"},
    {"review", cmd_review, "branch review"},
    {"return", cmd_return, "return for more evidence"},
    {"approve", cmd_approve, "commune decision"},
    {"recognitions", cmd_recognitions, "list recognised Learning Citizens"},
    {"report", cmd_report, "Learning Citizen report of a unit and year, against the plans"},
    {"certificate", cmd_certificate, "a recognition with its offline proof string (QR code)"},
    {"collective", cmd_collective, "learning families, clans, communities and units"},
    {"aggregate", cmd_aggregate, "raw-data ceiling; publish and list counts above it"},
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: cdht <command> [--home DIR] [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    }
    fprintf(f, "\nEvery command takes --home DIR (default: $CDHT_HOME).\n"
               "Run 'cdht <command> --help' for its options.\n");
}

int
main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "cdht: libsodium failed to initialise\n");
        return CLI_ERROR;
    }
    /* Replicas hold personal data: nothing cdht creates is readable by other users. */
    umask(077);
    const char *dbg = getenv("CDHT_DEBUG");
    if (dbg != NULL && *dbg == '1') {
        diag_level = DIAG_DEBUG;
    }
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            int rc = commands[i].fn(argc - 1, argv + 1);
            if (fflush(stdout) != 0 && rc == CLI_OK) {
                fprintf(stderr, "cdht %s: cannot write the output\n", argv[1]);
                rc = CLI_ERROR;
            }
            return rc;
        }
    }
    fprintf(stderr, "cdht: unknown command (cdht --help lists them)\n");
    usage(stderr);
    return CLI_USAGE;
}
