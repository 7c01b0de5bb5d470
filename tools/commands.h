/*
 * The command handlers behind tools/main.c's table, one file each. Each takes the argv that
 * starts at its own name and returns the process exit code (cli.h).
 */
#ifndef CDHT_COMMANDS_H
#define CDHT_COMMANDS_H

struct replica;

/* 1 when a live unit with this code exists, 0 when not, -1 on a database error (unit.c). */
int unit_exists(struct replica *r, const char *code);
/* Prints the standard message for a failed local write and returns the exit code. */
struct cli;
int cli_write_failed(const struct cli *c, const struct replica *r, int rc);

int cmd_init(int argc, char **argv);
int cmd_whoami(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_unit(int argc, char **argv);
int cmd_person(int argc, char **argv);
int cmd_hash(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_conflicts(int argc, char **argv);
int cmd_bundle(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_witness(int argc, char **argv);
int cmd_enroll(int argc, char **argv);
int cmd_cert(int argc, char **argv);
int cmd_quarantine(int argc, char **argv);
int cmd_prove(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_template(int argc, char **argv);
int cmd_framework(int argc, char **argv); /* framework.c, with cmd_plan */
int cmd_plan(int argc, char **argv);
int cmd_register(int argc, char **argv);
int cmd_assess(int argc, char **argv);
int cmd_evidence(int argc, char **argv);
int cmd_review(int argc, char **argv); /* review.c, with cmd_return */
int cmd_return(int argc, char **argv);
int cmd_approve(int argc, char **argv);
int cmd_recognitions(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_certificate(int argc, char **argv);
int cmd_collective(int argc, char **argv);
int cmd_aggregate(int argc, char **argv);

#endif
