/* The role table of roles.h as lookups. Lookups only: the check that a
 * caller holds a permission where it is needed is the guard's. */
#include "roles.h"

#include "hallbus/error.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name, *help;
    uint64_t perms;
} s_roles[HQ_ROLE_COUNT] = {
#define HQ_ROLE_ROW(id, name, perms, help) [HQ_ROLE_##id] = {name, help, (perms) | HQ_ROLE_BASE},
    HQ_ROLES(HQ_ROLE_ROW)
#undef HQ_ROLE_ROW
};

const char *hq_role_name(int role)
{
    return role >= 0 && role < HQ_ROLE_COUNT ? s_roles[role].name : NULL;
}

const char *hq_role_help(int role)
{
    return role >= 0 && role < HQ_ROLE_COUNT ? s_roles[role].help : NULL;
}

uint64_t hq_role_perms(int role)
{
    return role >= 0 && role < HQ_ROLE_COUNT ? s_roles[role].perms : 0;
}

int hq_role_parse(const char *name, hq_role_t *out)
{
    for (int r = 0; name && r < HQ_ROLE_COUNT; r++) {
        if (strcmp(s_roles[r].name, name) == 0) {
            *out = (hq_role_t)r;
            return 0;
        }
    }
    return HB_ENOTFOUND;
}

/* Appends "a, b" style words to `out`, keeping it terminated when cut. */
static void s_join(char *out, size_t outlen, size_t *used, const char *word)
{
    if (*used >= outlen)
        return;
    int n = snprintf(out + *used, outlen - *used, "%s%s", *used ? ", " : "", word);
    *used = n < 0 ? outlen : *used + (size_t)n;
}

void hq_roles_granting(hb_perm_t perm, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (int r = 0; r < HQ_ROLE_COUNT; r++)
        if (hb_perm_valid(perm) && (s_roles[r].perms >> perm) & 1)
            s_join(out, outlen, &used, s_roles[r].name);
}

void hq_roles_list(char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (int r = 0; r < HQ_ROLE_COUNT; r++)
        s_join(out, outlen, &used, s_roles[r].name);
}
