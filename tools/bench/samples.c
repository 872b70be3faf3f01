/* Latency samples of the benchmarks (see samples.h). */
#include "samples.h"

#include "hallbus/vec.h"

#include <stdlib.h>

int samples_add(samples_t *s, double v)
{
    int rc = hb_array_reserve((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v, SAMPLES_MAX);
    if (rc != 0)
        return rc;
    s->v[s->n++] = v;
    return 0;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void samples_sort(samples_t *s)
{
    if (s->n > 1)
        qsort(s->v, s->n, sizeof *s->v, s_cmp);
}

double samples_pct(const samples_t *s, double p)
{
    return s->n ? s->v[(size_t)(p * (double)(s->n - 1))] : 0;
}

void samples_free(samples_t *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}
