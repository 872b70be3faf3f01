/* Who may do what at the hall: the paired devices (kiosk, counter terminal,
 * queue display, manager tablet, adapter) with their bearer tokens, the
 * hall's staff with their PINs, which staff is signed in at which counter
 * terminal, and the table of what each kind of device may do.
 *
 * The devices, staff and sign-ins live in a small LMDB environment of their
 * own, DATA/access/, apart from the outbox: `branchd devices` and `branchd
 * staff` change it from another process while branchd runs, and branchd
 * reads it on every request (one read transaction), so a device added,
 * removed or revoked counts from its next request. Tokens are 32 random
 * bytes, stored only as a keyed BLAKE2b hash; PINs only as Argon2id hashes
 * (crypto_pwhash_str, interactive limits). Wrong PINs are counted here, in
 * branchd's memory (the locks are branchd's, not the tools').
 *
 * Not here: the HTTP side (the guard in api/guard.c and the handlers in
 * api/access.c), the policy that carries HQ's revocations (policy.h). The
 * whole picture is docs/SECURITY.md's. */
#ifndef BRANCHD_ACCESS_H
#define BRANCHD_ACCESS_H

#include "hallbus/perm.h"
#include "hallbus/policy.h"
#include "hallbus/router.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ACCESS_DIR "access"            /* the environment's folder, in the data folder */
#define ACCESS_ID_MAX 65               /* a device name, counter or staff id and its NUL */
#define ACCESS_TOKEN_BYTES 32          /* a token's random bytes */
#define ACCESS_TOKEN_TEXT 44           /* a token as printed (base64url, 43) and its NUL */
#define ACCESS_TOKEN_ID_TEXT 17        /* a token's id (16 hex digits) and its NUL */
#define ACCESS_DEVICES_MAX 1024        /* devices paired at once */
#define ACCESS_STAFF_MAX 4096          /* staff ids at once */
#define ACCESS_PIN_MIN 4               /* digits in a PIN, at least */
#define ACCESS_PIN_MAX 12              /* and at most */
#define ACCESS_PIN_TRIES 5             /* wrong PINs for one staff id before it locks */
#define ACCESS_TERMINAL_TRIES 10       /* wrong PINs at one terminal before it locks */
#define ACCESS_PIN_LOCK_MS (5 * 60000) /* how long, unless set otherwise */

/* ---- the kinds of device and what each may do */

/* X(ID, "name", what it is). The permissions of each are kinds.c's table. */
#define ACCESS_KINDS(X)                                                                            \
    X(KIOSK, "kiosk",                                                                              \
      "a ticket kiosk: issues tickets, reads what a customer may see, "                            \
      "reports its own status")                                                                    \
    X(COUNTER, "counter", "the terminal of counter N: acts at counter N once staff sign in")       \
    X(DISPLAY, "display", "a queue display: reads what a customer may see")                        \
    X(MANAGER, "manager", "the duty manager's tablet: everything in the hall, at any counter")     \
    X(ADAPTER, "adapter", "a queue system the hall already has: posts its events")                 \
    X(EVALUATOR, "evaluator",                                                                      \
      "the customer-facing evaluator of counter N: scores the visit "                              \
      "just completed there")

typedef enum access_kind {
#define ACCESS_KIND_ENUM(id, name, help) ACCESS_KIND_##id,
    ACCESS_KINDS(ACCESS_KIND_ENUM)
#undef ACCESS_KIND_ENUM
        ACCESS_KIND_COUNT
} access_kind_t;

/* "kiosk", or NULL outside the table. */
const char *access_kind_name(access_kind_t kind);
/* The kind named `name`: 0 or HB_ENOTFOUND. */
int access_kind_parse(const char *name, access_kind_t *out);
/* Whether a kind is bound to one counter (a counter terminal, an
 * evaluator): it is paired with --counter N and acts at N only. */
bool access_kind_has_counter(access_kind_t kind);
/* "kiosk, counter, display, manager, adapter, evaluator", for messages. */
const char *access_kind_list(void);
/* The permissions a kind holds, as a set (bit HB_PERM_x). */
uint64_t access_kind_perms(access_kind_t kind);
/* Of those, the ones a counter terminal may use only while staff is signed
 * in at it (every change it makes but the sign-in itself). */
uint64_t access_kind_needs_staff(access_kind_t kind);
#define ACCESS_PERM(p) ((uint64_t)1 << (p))

/* ---- callers */

typedef struct access_device {
    char name[ACCESS_ID_MAX];
    access_kind_t kind;
    char counter[ACCESS_ID_MAX]; /* a counter terminal's counter; "" for the others */
    int64_t paired_ms;           /* when it was paired */
    char token_id[ACCESS_TOKEN_ID_TEXT];
} access_device_t;

typedef enum access_via {
    ACCESS_VIA_DEVICE = 0, /* a paired device's token */
    ACCESS_VIA_LOCAL,      /* loopback without a token, with --local_trust */
} access_via_t;

/* What the guard found out about a request's caller; the handlers read it
 * through hb_http_req_t.caller. */
typedef struct access_caller {
    access_via_t via;
    access_device_t device;    /* ACCESS_VIA_DEVICE */
    char staff[ACCESS_ID_MAX]; /* a counter terminal's signed-in staff; "" when none */
    uint64_t perms;            /* what it holds */
} access_caller_t;

/* Whether `caller` may use `route`, whose scope parameter (if the route's
 * scope takes one) has the value `scope_value`: 0, or HB_EAUTH with `why`
 * naming the permission it lacks or the scope it is outside of, and
 * `*scope_failed` telling which of the two. A scope this daemon does not
 * know how to judge (hall, region, campaign) is refused: fail closed. */
int access_decide(const access_caller_t *caller, const hb_route_t *route, const char *scope_value,
                  bool *scope_failed, char *why, size_t whylen);
/* The staff id a counter action at `counter` records, into `*staff`:
 * - from a counter terminal, the staff signed in at it: none, HB_EAUTH
 *   ("sign in first"); a `body_staff` naming another, HB_EINVAL; and an
 *   action other than open and close at a counter open under another
 *   staff (`open_staff`; "" or NULL when the counter is closed),
 *   HB_ECONFLICT, since its events would carry the other staff's id;
 * - from the manager tablet or a trusted loopback caller, `body_staff` as
 *   given (the duty manager names who serves).
 * `why` says what is wrong. */
int access_counter_staff(const access_caller_t *caller, const char *counter, const char *body_staff,
                         const char *open_staff, bool open_or_close, const char **staff, char *why,
                         size_t whylen);
/* The counter a score is for: a counter terminal scores its own counter
 * (`body_counter` may leave it out; naming another is HB_EAUTH, a scope
 * refusal); anyone else, `body_counter` as given. */
int access_feedback_counter(const access_caller_t *caller, const char *body_counter,
                            const char **counter, char *why, size_t whylen);
/* Whether the device is cut off by one of HQ's revocations (policy.h). */
bool access_revoked(const access_device_t *dev, const hb_revocation_t *revoked, size_t n);

/* ---- the store */

typedef struct access access_t;

/* Opens (creating) DATA_DIR/access/. Safe in several processes at once. */
int access_open(const char *data_dir, access_t **out, char *err, size_t errlen);
void access_close(access_t **a);

/* Device names and staff ids are the codec's ids: 1 to 64 of letters,
 * digits, '-', '_', '.'. */
bool access_id_ok(const char *id);

/* Pairs device `name` of `kind` (a counter terminal names its `counter`;
 * the others must not), writing its new token into `token` (shown once,
 * never stored) and its record into `*out` (may be NULL). HB_EINVAL (a bad
 * name, counter or kind), HB_EEXIST (the name is paired; remove it first),
 * HB_ETOOBIG (ACCESS_DEVICES_MAX paired), a storage error; `err` says. */
int access_device_add(access_t *a, const char *name, access_kind_t kind, const char *counter,
                      char token[ACCESS_TOKEN_TEXT], access_device_t *out, char *err,
                      size_t errlen);
/* Unpairs `name`: its token and its sign-in go with it. HB_ENOTFOUND. */
int access_device_remove(access_t *a, const char *name);
int access_device_get(access_t *a, const char *name, access_device_t *out);
/* Every paired device, in name order, into `out` (at most `max`); `*n` is
 * how many there are. */
int access_device_list(access_t *a, access_device_t *out, size_t max, size_t *n);
/* Removes every device one of `revoked` names, with their tokens and
 * sign-ins, in one transaction; `*removed` (may be NULL) how many. */
int access_revoke(access_t *a, const hb_revocation_t *revoked, size_t n, size_t *removed);

/* The device whose token `token` is (its text as sent), and, for a counter
 * terminal, the staff signed in at it (`staff` gets "" when none; may be
 * NULL). HB_ENOTFOUND for a token no device holds. One read transaction. */
int access_authenticate(access_t *a, const char *token, access_device_t *dev,
                        char staff[ACCESS_ID_MAX]);

/* Whether `pin` has the form of a PIN: ACCESS_PIN_MIN to _MAX digits. */
bool access_pin_ok(const char *pin);
/* Adds staff `id` with `pin` (hashed here, slowly: about 0.1 s).
 * HB_EINVAL (bad id or PIN), HB_EEXIST, HB_ETOOBIG, a storage error. */
int access_staff_add(access_t *a, const char *id, const char *pin, char *err, size_t errlen);
/* Removes staff `id` and signs them out wherever they are signed in.
 * HB_ENOTFOUND. */
int access_staff_remove(access_t *a, const char *id);
/* Called for each staff id, in order, with when it was added. */
typedef void (*access_staff_fn)(const char *id, int64_t added_ms, void *arg);
int access_staff_list(access_t *a, access_staff_fn fn, void *arg);

/* How long a staff id or a terminal stays locked after too many wrong PINs
 * (ACCESS_PIN_LOCK_MS unless set). */
void access_set_pin_lock(access_t *a, int64_t lock_ms);
/* Checks staff `staff`'s PIN for a sign-in at terminal `device` and counts
 * the wrong ones, per staff id (ACCESS_PIN_TRIES) and per terminal
 * (ACCESS_TERMINAL_TRIES, whatever the ids): 0 when right (both counts
 * start again), HB_EAUTH when wrong or no such staff (the same answer, in
 * about the same time), HB_EAGAIN when the staff id or the terminal is
 * locked: then no PIN was checked, `*retry_ms` says how long is left and
 * `*terminal` whether the terminal is what is locked. */
int access_pin_check(access_t *a, const char *device, const char *staff, const char *pin,
                     int64_t *retry_ms, bool *terminal);

/* Signs `staff` in at counter terminal `device` (replacing whoever was). */
int access_signin(access_t *a, const char *device, const char *staff);
/* Signs whoever is signed in at `device` out; `staff` (may be NULL) gets
 * who it was, "" when nobody was. */
int access_signout(access_t *a, const char *device, char staff[ACCESS_ID_MAX]);

/* ---- the commands (cli.c) */

/* `branchd devices ...` and `branchd staff ...`: the exit code, or -1 when
 * argv[1] names no such group (then it is the daemon's command line). */
int access_cli_main(int argc, char **argv);
/* The commands' usage, for `branchd --help`. */
void access_cli_usage(FILE *out);
/* The commands, for branchd's manual page (roff, manpage.h). */
void access_cli_man(FILE *out);

#endif
