/*
 * The control socket of `cdht serve` (issue 4): a Unix stream socket (config_control_socket:
 * HOME/control.sock by default, owner only: 0700) through which the operator's commands reach the
 * running node: `cdht status` asks for the live state of its upstreams, `cdht sync --now`
 * asks it to dial them at once and waits for the outcome. The protocol is text, one request
 * line ("status", "status-json" or "sync") and the node's answer until it closes the socket;
 * a sync answer ends with the line "end OK N" (OK of N upstreams synced). The socket is a
 * local door (the file's mode keeps other users out); it carries counts and states, never data.
 */
#ifndef CDHT_CONTROL_H
#define CDHT_CONTROL_H

#include <stddef.h>
#include <uv.h>

#include "err.h"

/* A request line, "\n" included: the longest request is "status-json\n". More bytes before a
 * line end: the client is dropped. */
#define CONTROL_LINE_MAX 64u
/* Clients at once: a few operator terminals and scripts; more are refused at accept. */
#define CONTROL_CLIENTS_MAX 16u
/* A client that sends no whole line within this is dropped (a stuck script must not keep a
 * slot forever). */
#define CONTROL_IDLE_MS 5000u

struct control;
struct control_client;

/* A request line (without "\n") from cl: answer with control_write, then control_end (now or
 * later from the loop; cl stays valid until control_end even if the client went away). */
typedef void (*control_request_fn)(void *ctx, struct control_client *cl, const char *line);

/* Listens on path in loop. A socket file left by a node that died is replaced; one answered by
 * a running node is not (ERR_AGAIN: "another cdht serve is running on this home"). */
err_code control_open(struct control **out, uv_loop_t *loop, const char *path,
                      control_request_fn fn, void *ctx, const char **why) WARN_UNUSED;
void control_write(struct control_client *cl, const char *text);
void control_end(struct control_client *cl);
/* Stops listening and removes the socket file; clients still waiting are closed. */
void control_close(struct control *c);

/* The client side, blocking: sends line (with "\n" added) to the node at path and reads the
 * answer until the node closes, into out (NUL-terminated, at most cap - 1 bytes), waiting at
 * most timeout_ms. ERR_NOTFOUND: no node answers there (not running); ERR_AGAIN: timed out;
 * ERR_MSGSIZE: the answer did not fit. */
err_code control_ask(const char *path, const char *line, int timeout_ms, char *out,
                     size_t cap) WARN_UNUSED;

#endif
