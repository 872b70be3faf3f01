/* hallbus error codes: one table for every module in common/, branchd/ and hqd/.
 *
 * Functions return int: 0 on success, a negative HB_E* code on failure, with
 * results through out-parameters (the LMDB and libuv convention). This header
 * is not for programming errors: those are assert()s. */
#ifndef HALLBUS_ERROR_H
#define HALLBUS_ERROR_H

#define HB_ERRORS(X)                                                                               \
    X(HB_OK, 0, "success")                                                                         \
    X(HB_EINVAL, -1, "invalid argument")                                                           \
    X(HB_ENOMEM, -2, "out of memory")                                                              \
    X(HB_EIO, -3, "input/output error")                                                            \
    X(HB_ENOTFOUND, -4, "not found")                                                               \
    X(HB_EEXIST, -5, "already exists")                                                             \
    X(HB_ETOOBIG, -6, "too large")                                                                 \
    X(HB_EPARSE, -7, "cannot parse")                                                               \
    X(HB_ERANGE, -8, "out of range")                                                               \
    X(HB_EDB, -9, "database error")                                                                \
    X(HB_EMAPFULL, -10, "database map full")                                                       \
    X(HB_EZMQ, -11, "messaging error")                                                             \
    X(HB_EAGAIN, -12, "try again")                                                                 \
    X(HB_ESEQ, -13, "sequence out of order")                                                       \
    X(HB_EAUTH, -14, "not authorised")                                                             \
    X(HB_ECLOSED, -15, "closed")                                                                   \
    X(HB_ESYS, -16, "system call failed")                                                          \
    X(HB_ECONFLICT, -17, "not allowed in the current state")                                       \
    X(HB_ENOSPC, -18, "no space left on the disk")

enum hb_error {
#define HB_ERR_ENUM(name, value, text) name = value,
    HB_ERRORS(HB_ERR_ENUM)
#undef HB_ERR_ENUM
};

/* A static description of an HB_E* code; never NULL. */
const char *hb_strerror(int err);

#include <stddef.h>

/* Formats a one-sentence reason into the caller's `err` buffer (either may be
 * NULL/0: then nothing is written). The convention of every function here
 * that takes `char *err, size_t errlen`. */
void hb_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "out of memory" into `err`; returns HB_ENOMEM, for `return hb_err_nomem(err, errlen);`. */
int hb_err_nomem(char *err, size_t errlen);

#endif
