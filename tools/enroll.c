/*
 * cdht enroll request: the first step of enrolment (docs/OPERATING.md, "Enrolment"). A device
 * prints one short line, "cdht-enroll1:..." (proto/enroll.h), signed with its own key, that its
 * user sends to the hub by chat or QR code; the hub turns it into a certificate with
 * `cdht cert issue`, and the certificate comes back in a bundle. Nothing is written to the
 * replica: the key is loaded only to sign.
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
#include "enroll.h"
#include "replica.h"
#include "trust.h"

/* Writes text plus a newline to path, mode 0644 (the request is public: a key, a unit, a
 * name), through a temporary file in the same directory and rename(), so a reader never sees
 * half a request and an existing file is replaced whole. */
static err_code
enroll_write_file(const char *path, const char *text, size_t len)
{
    char tmp[REPLICA_PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp) {
        return ERR_INVAL;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        return err_from_errno(errno);
    }
    err_code rc = ERR_OK;
    size_t done = 0;
    char nl = '\n';
    while (done < len) { /* bounded: each pass writes at least one byte or fails */
        ssize_t k = write(fd, text + done, len - done);
        if (k <= 0) {
            if (k < 0 && errno == EINTR) {
                continue;
            }
            rc = ERR_IO;
            break;
        }
        done += (size_t)k;
    }
    if (rc == ERR_OK && (write(fd, &nl, 1) != 1 || fchmod(fd, 0644) != 0 || fsync(fd) != 0)) {
        rc = ERR_IO;
    }
    if (close(fd) != 0 && rc == ERR_OK) {
        rc = ERR_IO;
    }
    if (rc == ERR_OK && rename(tmp, path) != 0) {
        rc = err_from_errno(errno);
    }
    if (rc != ERR_OK) {
        unlink(tmp);
    }
    return rc;
}

static int
enroll_request(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "enroll request", "enroll request --home DIR [--role ROLE] [-o FILE]");
    const char *role = NULL, *out = NULL;
    const struct cli_opt opts[] = {
        {"role", 0, &role, NULL},
        {"output", 'o', &out, NULL},
    };
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    if (role == NULL) {
        role = trust_role_name(TRUST_WRITER);
    }
    if (trust_role_parse(role) == 0) {
        return cli_usage(&c, "--role: must be writer, approver, hub, auditor or reporter");
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, REPLICA_WRITE, &r)) != 0) {
        return ec;
    }
    struct enroll_request req;
    char unit[REPLICA_META_SIZE_MAX], name[REPLICA_META_SIZE_MAX], network[REPLICA_META_SIZE_MAX];
    char text[ENROLL_TEXT_SIZE_MAX + 1];
    size_t len = 0;
    const char *why = NULL;
    memset(&req, 0, sizeof req);
    err_code rc;
    if ((rc = replica_meta(r, "unit", unit)) != ERR_OK ||
        (rc = replica_meta(r, "network", network)) != ERR_OK) {
        ec = cli_fail(&c, rc, "cannot read this replica's unit and network: %s", err_str(rc));
        goto out;
    }
    if (replica_meta(r, "name", name) != ERR_OK) {
        name[0] = '\0'; /* the name is optional */
    }
    /* Bounded copies: a value too long for the request is refused by enroll_encode, whose
     * sentence names the field. */
    if (strlen(unit) >= sizeof req.unit || strlen(network) >= sizeof req.network) {
        ec = cli_fail(&c, ERR_INVAL, "this replica's unit or network is longer than 32 bytes");
        goto out;
    }
    if (strlen(name) >= sizeof req.name) {
        ec = cli_fail(&c, ERR_INVAL,
                      "this device's name is longer than %u bytes: an enrolment request cannot "
                      "carry it",
                      DEVICE_NAME_SIZE_MAX);
        goto out;
    }
    memcpy(req.key, r->pk, KEY_PUBLIC_SIZE);
    memcpy(req.unit, unit, strlen(unit) + 1);
    memcpy(req.name, name, strlen(name) + 1);
    memcpy(req.role, role, strlen(role) + 1);
    memcpy(req.network, network, strlen(network) + 1);
    if ((rc = enroll_encode(&req, r->keys.sk, text, &len, &why)) != ERR_OK) {
        ec = cli_fail(&c, rc, "cannot make the request: %s", why);
        goto out;
    }
    if (out != NULL) {
        if ((rc = enroll_write_file(out, text, len)) != ERR_OK) {
            ec = cli_fail(&c, rc, "cannot write %s: %s", out, err_str(rc));
            goto out;
        }
    } else {
        printf("%s\n", text);
    }
    fprintf(stderr,
            "send this to your hub: cdht cert issue REQUEST --role %s (then import the bundle "
            "it sends back)\n",
            role);
    ec = CLI_OK;
out:
    replica_close(r);
    return ec;
}

int
cmd_enroll(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "request") == 0) {
        return enroll_request(argc - 1, argv + 1);
    }
    int help = argc >= 2 && cli_is_help(argv[1]);
    fprintf(help ? stdout : stderr,
            "usage: cdht enroll request [--role writer|approver|hub|auditor] [-o FILE]\n"
            "Prints this device's signed enrolment request (one line) for its hub.\n");
    return help ? CLI_OK : CLI_USAGE;
}
