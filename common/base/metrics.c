/* Prometheus text (see metrics.h), written with the kit's text writer.
 * Values are printed with %.17g so that counters up to 2^53 stay exact. */
#include "hallbus/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hb_metrics_init(hb_metrics_t *m)
{
    memset(m, 0, sizeof *m);
    hb_text_init(&m->text, HB_METRICS_MAX - 1);
}

void hb_metrics_add(hb_metrics_t *m, const char *name, const char *type, const char *help,
                    const char *labels, double value)
{
    if (strcmp(m->last, name) != 0) {
        hb_text_putf(&m->text, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
        snprintf(m->last, sizeof m->last, "%s", name);
    }
    if (labels && labels[0])
        hb_text_putf(&m->text, "%s{%s} %.17g\n", name, labels, value);
    else
        hb_text_putf(&m->text, "%s %.17g\n", name, value);
}

void hb_metrics_free(hb_metrics_t *m)
{
    hb_text_free(&m->text);
    memset(m, 0, sizeof *m);
}
