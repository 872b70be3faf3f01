/* The build's version and revision (see version.h). HB_BUILD_VERSION comes
 * from CMake's project() and HB_BUILD_REVISION from the header that
 * cmake/revision.cmake writes at every build; only this file includes it,
 * so a new commit recompiles this file alone. */
#include "hallbus/version.h"
#include "hallbus/metrics.h"

#include "hallbus_revision.h"

#include <jansson.h>

#ifndef HB_BUILD_VERSION
#error "HB_BUILD_VERSION is defined by common/CMakeLists.txt"
#endif

const char *hb_version(void) { return HB_BUILD_VERSION; }

const char *hb_revision(void) { return HB_BUILD_REVISION; }

void hb_version_print(const char *prog, FILE *out)
{
    fprintf(out, "%s %s (revision %s)\n", prog, hb_version(), hb_revision());
}

void hb_version_json(json_t *obj)
{
    json_object_set_new(obj, "version", json_string(hb_version()));
    json_object_set_new(obj, "revision", json_string(hb_revision()));
}

void hb_version_metrics(hb_metrics_t *m)
{
    /* Both strings hold only [A-Za-z0-9._+-] (revision.cmake sees to the
     * revision), so they need no escaping inside the label's quotes. */
    char labels[160];
    snprintf(labels, sizeof labels, "version=\"%s\",revision=\"%s\"", hb_version(), hb_revision());
    hb_metrics_add(m, "hallbus_build_info", "gauge",
                   "the version and git revision of this build (the value is always 1)", labels, 1);
}
