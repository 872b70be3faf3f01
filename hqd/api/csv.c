/* CSV for hqd's exports (see csv.h). */
#include "csv.h"

#include <stdlib.h>
#include <string.h>

void hq_csv_init(hq_csv_t *c, size_t max)
{
    memset(c, 0, sizeof *c);
    c->max = max;
}

void hq_csv_free(hq_csv_t *c)
{
    free(c->p);
    memset(c, 0, sizeof *c);
}

static void s_put(hq_csv_t *c, const char *s, size_t n)
{
    if (c->full || n > c->max - c->len) {
        c->full = true;
        return;
    }
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 16384;
        while (cap < c->len + n + 1)
            cap *= 2;
        char *p = realloc(c->p, cap);
        if (!p) {
            c->full = true;
            return;
        }
        c->p = p;
        c->cap = cap;
    }
    memcpy(c->p + c->len, s, n);
    c->len += n;
    c->p[c->len] = '\0';
}

void hq_csv_bom(hq_csv_t *c) { s_put(c, "\xEF\xBB\xBF", 3); }

/* A field is quoted as RFC 4180 asks when it holds a comma, a quote or a
 * line break; one that a spreadsheet would take for a formula (=, +, -, @,
 * a tab or a carriage return first) gets a leading apostrophe inside the
 * quotes: texts come from many authors, and an export is opened by
 * analysts. */
void hq_csv_field(hq_csv_t *c, const char *s, bool last)
{
    bool formula = s[0] && strchr("=+-@\t\r", s[0]);
    if (formula || strpbrk(s, ",\"\r\n")) {
        s_put(c, "\"", 1);
        if (formula)
            s_put(c, "'", 1);
        for (const char *q = s; *q; q++) {
            if (*q == '"')
                s_put(c, "\"\"", 2);
            else
                s_put(c, q, 1);
        }
        s_put(c, "\"", 1);
    } else {
        s_put(c, s, strlen(s));
    }
    s_put(c, last ? "\r\n" : ",", last ? 2 : 1);
}

void hq_csv_number(hq_csv_t *c, const char *num, bool last)
{
    s_put(c, num, strlen(num));
    s_put(c, last ? "\r\n" : ",", last ? 2 : 1);
}
