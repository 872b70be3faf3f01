/* Prometheus text (see metrics.h). Values are printed with %.17g so that
 * counters up to 2^53 stay exact. */
#include "hallbus/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hb_metrics_init(hb_metrics_t *m) { memset(m, 0, sizeof *m); }

static void s_append(hb_metrics_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_append(hb_metrics_t *m, const char *fmt, ...)
{
    if (m->full)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = m->cap - m->len;
        int n = vsnprintf(m->buf ? m->buf + m->len : NULL, m->buf ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            m->full = true;
            return;
        }
        if (m->buf && (size_t)n < room) {
            m->len += (size_t)n;
            return;
        }
        size_t cap = m->cap ? m->cap * 2 : 16384;
        while (cap < m->len + (size_t)n + 1)
            cap *= 2;
        if (cap > HB_METRICS_MAX) {
            m->full = true;
            return;
        }
        char *p = realloc(m->buf, cap);
        if (!p) {
            m->full = true;
            return;
        }
        m->buf = p;
        m->cap = cap;
    }
}

void hb_metrics_add(hb_metrics_t *m, const char *name, const char *type, const char *help,
                    const char *labels, double value)
{
    if (strcmp(m->last, name) != 0) {
        s_append(m, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
        snprintf(m->last, sizeof m->last, "%s", name);
    }
    if (labels && labels[0])
        s_append(m, "%s{%s} %.17g\n", name, labels, value);
    else
        s_append(m, "%s %.17g\n", name, value);
}

void hb_metrics_free(hb_metrics_t *m)
{
    free(m->buf);
    memset(m, 0, sizeof *m);
}
