/* CSV for hqd's exports (see csv.h). */
#include "csv.h"

#include <string.h>

void hq_csv_bom(hq_csv_t *c) { hb_text_put(c, "\xEF\xBB\xBF", 3); }

/* A field is quoted as RFC 4180 asks when it holds a comma, a quote or a
 * line break; one that a spreadsheet would take for a formula (=, +, -, @,
 * a tab or a carriage return first) gets a leading apostrophe inside the
 * quotes: texts come from many authors, and an export is opened by
 * analysts. */
void hq_csv_field(hq_csv_t *c, const char *s, bool last)
{
    bool formula = s[0] && strchr("=+-@\t\r", s[0]);
    if (formula || strpbrk(s, ",\"\r\n")) {
        hb_text_put(c, "\"", 1);
        if (formula)
            hb_text_put(c, "'", 1);
        for (const char *q = s; *q; q++) {
            if (*q == '"')
                hb_text_put(c, "\"\"", 2);
            else
                hb_text_put(c, q, 1);
        }
        hb_text_put(c, "\"", 1);
    } else {
        hb_text_put(c, s, strlen(s));
    }
    hb_text_put(c, last ? "\r\n" : ",", last ? 2 : 1);
}

void hq_csv_number(hq_csv_t *c, const char *num, bool last)
{
    hb_text_put(c, num, strlen(num));
    hb_text_put(c, last ? "\r\n" : ",", last ? 2 : 1);
}
