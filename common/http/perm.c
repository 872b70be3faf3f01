/* The permission and scope vocabulary of perm.h as lookup tables built from
 * its X-macros, so that names, daemons and descriptions have one source.
 * Lookups only: nothing here decides who may do what. */
#include "hallbus/perm.h"
#include "hallbus/error.h"

#include <stddef.h>
#include <string.h>

static const struct {
    const char *name, *daemon, *help;
} s_perms[HB_PERM_COUNT] = {[HB_PERM_UNSET] = {NULL, NULL, NULL},
#define HB_PERM_ROW(id, name, daemon, help) [HB_PERM_##id] = {name, daemon, help},
                            HB_PERMS(HB_PERM_ROW)
#undef HB_PERM_ROW
};

static const struct {
    const char *name;
    bool param;
} s_scopes[HB_SCOPE_COUNT] = {
#define HB_SCOPE_ROW(id, name, param, help) [HB_SCOPE_##id] = {name, param},
    HB_SCOPES(HB_SCOPE_ROW)
#undef HB_SCOPE_ROW
};

bool hb_perm_valid(hb_perm_t perm) { return perm > HB_PERM_UNSET && perm < HB_PERM_COUNT; }

const char *hb_perm_name(hb_perm_t perm) { return hb_perm_valid(perm) ? s_perms[perm].name : NULL; }

const char *hb_perm_help(hb_perm_t perm) { return hb_perm_valid(perm) ? s_perms[perm].help : NULL; }

const char *hb_perm_daemon(hb_perm_t perm)
{
    return hb_perm_valid(perm) ? s_perms[perm].daemon : NULL;
}

int hb_perm_parse(const char *name, hb_perm_t *out)
{
    if (!name)
        return HB_ENOTFOUND;
    for (int p = HB_PERM_UNSET + 1; p < HB_PERM_COUNT; p++) {
        if (strcmp(s_perms[p].name, name) == 0) {
            *out = (hb_perm_t)p;
            return 0;
        }
    }
    return HB_ENOTFOUND;
}

bool hb_scope_valid(hb_scope_t scope) { return (int)scope >= 0 && scope < HB_SCOPE_COUNT; }

const char *hb_scope_name(hb_scope_t scope)
{
    return hb_scope_valid(scope) ? s_scopes[scope].name : NULL;
}

bool hb_scope_needs_param(hb_scope_t scope)
{
    return hb_scope_valid(scope) && s_scopes[scope].param;
}
