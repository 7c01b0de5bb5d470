/*
 * cdht init and cdht whoami: creating a replica home and printing the device's identity (its
 * public key, and the C2SP verifier key that any signed-note verifier accepts).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "domain.h"
#include "keys.h"
#include "note.h"
#include "replica.h"

/* A citizen-id secret file: 16 bytes is the least that resists guessing; 4 KiB is more than
 * any key file needs. */
#define INIT_CID_SECRET_MIN 16u
#define INIT_CID_SECRET_MAX 4096u

int
cmd_init(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "init",
             "init --home DIR --unit CODE [--name TEXT] [--network NAME] "
             "[--passphrase-file F] [--cid-key-file F] [--root | --trust-root VKEY]");
    const char *unit = NULL, *name = NULL, *network = NULL, *cid_file = NULL, *vkey = NULL;
    int root = 0;
    const struct cli_opt opts[] = {
        {"root", 0, NULL, &root},
        {"trust-root", 0, &vkey, NULL},
        {"unit", 0, &unit, NULL},
        {"name", 0, &name, NULL},
        {"network", 0, &network, NULL},
        {"cid-key-file", 0, &cid_file, NULL},
    };
    int pec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (pec != 0) {
        return pec == CLI_HELP_SHOWN ? CLI_OK : pec;
    }
    if (c.home == NULL || *c.home == '\0') {
        return cli_usage(&c, "--home DIR is required (or set CDHT_HOME)");
    }
    const char *why = NULL;
    if (unit == NULL) {
        return cli_usage(&c, "--unit CODE is required: the unit this device works for");
    }
    uint8_t root_pk[KEY_PUBLIC_SIZE];
    if (root && vkey != NULL) {
        return cli_usage(&c, "--root and --trust-root exclude each other: a device is the root "
                             "or trusts one");
    }
    if (vkey != NULL) {
        char vname[NOTE_ORIGIN_SIZE_MAX + 1];
        if (note_verifier_key_parse(vkey, vname, root_pk) != ERR_OK) {
            return cli_usage(&c, "--trust-root: not a verifier key (the line `cdht whoami` "
                                 "prints on the root device: cdht/<hex>+<id>+<base64>)");
        }
    }
    if (domain_unit_code_check(unit, &why) != ERR_OK) {
        return cli_usage(&c, "--unit: %s", why);
    }
    char *norm = NULL;
    if (name != NULL && domain_name_normalize(name, UNIT_NAME_SIZE_MAX, &norm, &why) != ERR_OK) {
        return cli_usage(&c, "--name: %s", why);
    }
    if (network != NULL && domain_unit_code_check(network, &why) != ERR_OK) {
        free(norm);
        return cli_usage(&c, "--network: must be 1-%u letters, digits, '.', '_' or '-'",
                         UNIT_CODE_SIZE_MAX);
    }
    /* The deployment's citizen-id secret: at least INIT_CID_SECRET_MIN bytes of a file the
     * province hands every device, hashed to a key (BLAKE2b-256). */
    uint8_t cid_key[HASH_SIZE];
    if (cid_file != NULL) {
        uint8_t *buf = NULL;
        size_t len = 0;
        err_code frc = ERR_OK;
        if (cli_read_file(cid_file, INIT_CID_SECRET_MAX, &buf, &len, &frc) != 0 ||
            len < INIT_CID_SECRET_MIN) {
            free(buf);
            free(norm);
            return cli_usage(&c, "--cid-key-file: must be a readable file of %u to %u bytes",
                             INIT_CID_SECRET_MIN, INIT_CID_SECRET_MAX);
        }
        crypto_generichash(cid_key, sizeof cid_key, buf, len, NULL, 0);
        sodium_memzero(buf, len);
        free(buf);
    }
    char pass[PASSPHRASE_SIZE_MAX];
    size_t pass_len = 0;
    if (c.pass_file != NULL) {
        err_code rc = keys_read_passphrase(c.pass_file, pass, &pass_len);
        if (rc != ERR_OK) {
            free(norm);
            return cli_fail(&c, rc, "cannot use the passphrase file: %s",
                            rc == ERR_MSGSIZE ? "it is too long"
                            : rc == ERR_INVAL ? "it is empty"
                                              : err_str(rc));
        }
    }
    struct replica_init_opts o = {.unit = unit,
                                  .name = norm,
                                  .network = network,
                                  .pass = c.pass_file ? pass : NULL,
                                  .pass_len = pass_len,
                                  .cid_key = cid_file != NULL ? cid_key : NULL,
                                  .root = root,
                                  .trust_root = vkey != NULL ? root_pk : NULL};
    err_code rc = replica_init(c.home, &o);
    sodium_memzero(pass, sizeof pass);
    sodium_memzero(cid_key, sizeof cid_key);
    free(norm);
    if (rc == ERR_INVAL) {
        return cli_fail(&c, rc, "%s exists and is not an empty directory", c.home);
    }
    if (rc != ERR_OK) {
        return cli_fail(&c, rc, "cannot create the replica in %s: %s", c.home, err_str(rc));
    }
    struct replica *r = NULL;
    int ec = cli_open(&c, 0, &r);
    if (ec != 0) {
        return ec;
    }
    char k[48];
    cli_key_b64(r->pk, k);
    printf("%s\n", k);
    replica_close(r);
    return CLI_OK;
}

int
cmd_whoami(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "whoami", "whoami --home DIR");
    int ec = cli_parse_common(&c, argc, argv, 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    struct replica *r = NULL;
    ec = cli_open(&c, 0, &r);
    if (ec != 0) {
        return ec;
    }
    char k[48], vkey[NOTE_VERIFIER_KEY_SIZE_MAX];
    cli_key_b64(r->pk, k);
    err_code rc = note_verifier_key(r->log_name, r->pk, vkey, sizeof vkey);
    replica_close(r);
    if (rc != ERR_OK) {
        return cli_fail(&c, rc, "cannot format the verifier key");
    }
    printf("%s\n%s\n", k, vkey);
    return CLI_OK;
}
