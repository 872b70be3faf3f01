/* Destroying an object through its owner's pointer, written once: every
 * `x_destroy(x_t **xp)` of hallbus that frees its object at once is
 * HB_DESTROY(xp, s_fini), where s_fini lists what only that type owns. Not
 * for objects whose memory outlives the call (a libuv handle freed in its
 * close callback, a reference count): those say in their own code when the
 * memory goes.
 *
 * The idiom (CONVENTIONS.md, "Objects, ownership, lifetime"):
 *
 *     static void s_fini(x_t *x)      // its fields, in the order they go
 *     {
 *         hb_vec_free(&x->rows);
 *         json_decref(x->doc);
 *     }
 *
 *     void x_destroy(x_t **xp) { HB_DESTROY(xp, s_fini); }
 *
 * What HB_DESTROY promises, so that no destructor spells it again:
 * - a NULL `xp` or a NULL `*xp` is nothing to do, so x_destroy is
 *   idempotent and safe on an object that was never made;
 * - the caller's pointer is set to NULL BEFORE the finaliser runs: whatever
 *   the finaliser sets off (a callback, a thread being joined, a log line
 *   that asks the owner) finds the object gone rather than half torn down,
 *   and a second destroy through the same pointer does nothing;
 * - the finaliser runs once, with the object, and then the object's memory
 *   is given back with free(): the object must come from malloc/calloc, and
 *   the finaliser frees what the object owns, never the object itself.
 *
 * The finaliser is type-checked against the pointer (it must take x_t *),
 * though it is called through a copy: the owner's pointer is NULL by then.
 * It is a macro because C has no generic pointer-to-pointer of any type
 * (a `void **` parameter would read an `x_t *` through the wrong type). */
#ifndef HALLBUS_DESTROY_H
#define HALLBUS_DESTROY_H

#include <stdlib.h>

/* `xp` is evaluated more than once: pass the destructor's parameter, not an
 * expression with side effects. `fini` is a function taking the object's
 * type; it is named twice, once only inside sizeof (not called there). */
#define HB_DESTROY(xp, fini)                                                                       \
    do {                                                                                           \
        void *hb_destroy_obj_ = (xp) ? (void *)*(xp) : NULL;                                       \
        if (hb_destroy_obj_) {                                                                     \
            (void)sizeof((fini(*(xp)), 0));                                                        \
            *(xp) = NULL;                                                                          \
            fini(hb_destroy_obj_);                                                                 \
            free(hb_destroy_obj_);                                                                 \
        }                                                                                          \
    } while (0)

#endif
