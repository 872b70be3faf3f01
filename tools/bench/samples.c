/* Latency samples of the benchmarks (see samples.h). */
#include "samples.h"

#include "hallbus/error.h"

#include <stdlib.h>

int samples_add(samples_t *s, double v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        double *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv)
            return HB_ENOMEM;
        s->v = nv;
        s->cap = cap;
    }
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
