/* Prometheus text exposition (format 0.0.4) for GET /metrics on both
 * daemons: a growing buffer of "# HELP", "# TYPE" and sample lines. Samples
 * of one metric with different labels are added one after another; HELP
 * and TYPE are written once, before the first. Not a registry: each daemon
 * writes its figures when asked. */
#ifndef HALLBUS_METRICS_H
#define HALLBUS_METRICS_H

#include "hallbus/text.h"

#include <stdbool.h>
#include <stddef.h>

#define HB_METRICS_MAX (8u << 20) /* one answer at most; more is cut */

/* The answer is `text` (text.p may be NULL when nothing was added; a full
 * text holds what fitted). */
typedef struct hb_metrics {
    hb_text_t text;
    char last[96]; /* the metric whose HELP/TYPE was written last */
} hb_metrics_t;

void hb_metrics_init(hb_metrics_t *m);
/* One sample. `type` is "counter" or "gauge"; `labels` is NULL or the text
 * inside the braces, e.g. "reason=\"malformed\"" (the caller escapes). */
void hb_metrics_add(hb_metrics_t *m, const char *name, const char *type, const char *help,
                    const char *labels, double value);
void hb_metrics_free(hb_metrics_t *m);

#endif
