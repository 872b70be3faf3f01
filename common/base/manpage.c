/* Manual pages from the settings tables (see manpage.h). Everything that
 * reaches the page goes through s_put, the one place that escapes for roff;
 * the settings' notes are config.c's own (hb_config_row_notes), captured in
 * memory, so the page says exactly what --help says. */
#include "hallbus/manpage.h"

#include "hallbus/version.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Writes `len` bytes of `text` escaped for roff. `line_start`: the output
 * is at the start of a line, where '.' and '\'' would be requests. */
static void s_putn(FILE *out, const char *text, size_t len, bool line_start)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + len;
    while (p < end) {
        unsigned c = *p;
        if (line_start && (c == '.' || c == '\''))
            fputs("\\&", out);
        line_start = false;
        if (c == '\\') {
            fputs("\\e", out);
        } else if (c == '-') {
            /* Every dash as the minus sign, which a terminal shows and a
             * reader copies as '-' (an option, a path, a hall id). */
            fputs("\\-", out);
        } else if (c == '\n') {
            fputc('\n', out);
            line_start = true;
        } else if (c < 0x80) {
            if (isprint((int)c) || c == '\t')
                fputc((int)c, out);
        } else {
            /* UTF-8 to \[uXXXX]: groff reads its input as Latin-1. */
            unsigned need = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
            unsigned cp = need == 3 ? c & 0x07 : need == 2 ? c & 0x0f : c & 0x1f;
            bool ok = need > 0 && (size_t)(end - p) > need;
            for (unsigned i = 1; ok && i <= need; i++) {
                ok = (p[i] & 0xc0) == 0x80;
                cp = (cp << 6) | (p[i] & 0x3f);
            }
            if (ok && cp >= 0x80 && cp <= 0x10ffff) {
                fprintf(out, "\\[u%04X]", cp);
                p += need;
            } else {
                fputc('?', out);
            }
        }
        p++;
    }
}

static void s_put(FILE *out, const char *text, bool line_start)
{
    s_putn(out, text, strlen(text), line_start);
}

void hb_man_head(FILE *out, const hb_man_t *m)
{
    char upper[64];
    size_t i = 0;
    for (; i < sizeof upper - 1 && m->name[i]; i++)
        upper[i] = (char)toupper((unsigned char)m->name[i]);
    upper[i] = '\0';
    /* No date: the same sources make the same page. */
    fprintf(out, ".TH ");
    s_put(out, upper, false);
    fprintf(out, " %s \"\" \"hallbus %s\" \"hallbus manual\"\n", m->section, hb_version());
    fprintf(out, ".SH NAME\n");
    s_put(out, m->name, true);
    fprintf(out, " \\- ");
    s_put(out, m->summary, false);
    fprintf(out, "\n.SH SYNOPSIS\n");
    const char *line = m->synopsis;
    while (line && *line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len) {
            s_putn(out, line, len, true);
            fprintf(out, "\n.br\n");
        }
        line = nl ? nl + 1 : NULL;
    }
    hb_man_section(out, "DESCRIPTION");
    hb_man_text(out, m->description);
}

void hb_man_parts(FILE *out, const hb_man_t *m)
{
    for (size_t i = 0; i < m->n_parts; i++) {
        hb_man_section(out, m->parts[i].title);
        if (m->parts[i].text)
            hb_man_text(out, m->parts[i].text);
        if (m->parts[i].write)
            m->parts[i].write(out);
    }
}

void hb_man_see_also(FILE *out, const hb_man_t *m)
{
    if (!m->see_also || !m->see_also[0])
        return;
    hb_man_section(out, "SEE ALSO");
    s_put(out, m->see_also, true);
    fputc('\n', out);
}

void hb_man_section(FILE *out, const char *title)
{
    fprintf(out, ".SH \"");
    s_put(out, title, false);
    fprintf(out, "\"\n");
}

void hb_man_subsection(FILE *out, const char *title)
{
    fprintf(out, ".SS \"");
    s_put(out, title, false);
    fprintf(out, "\"\n");
}

void hb_man_text(FILE *out, const char *text)
{
    enum { NONE, PARA, ITEM, EXAMPLE } block = NONE;
    bool fresh = true; /* after a blank line (or at the start): a new paragraph */
    const char *line = text;
    while (line && *line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        bool example = len >= 2 && line[0] == ' ' && line[1] == ' ';
        if (block == EXAMPLE && !example) {
            fprintf(out, ".fi\n.RE\n");
            block = NONE;
        }
        if (len == 0) {
            fresh = true;
        } else if (example) {
            if (block != EXAMPLE) {
                fprintf(out, ".PP\n.RS 4\n.nf\n");
                block = EXAMPLE;
            }
            s_putn(out, line + 2, len - 2, true);
            fputc('\n', out);
            fresh = false;
        } else if (len >= 2 && line[0] == '-' && line[1] == ' ') {
            fprintf(out, ".IP \\(bu 2\n");
            s_putn(out, line + 2, len - 2, true);
            fputc('\n', out);
            block = ITEM;
            fresh = false;
        } else {
            if (fresh || block == NONE)
                fprintf(out, ".PP\n");
            /* A line after an item goes on with the item. */
            if (fresh || block == NONE)
                block = PARA;
            s_putn(out, line, len, true);
            fputc('\n', out);
            fresh = false;
        }
        line = nl ? nl + 1 : NULL;
    }
    if (block == EXAMPLE)
        fprintf(out, ".fi\n.RE\n");
}

/* One entry: the option in bold, its value in italics, then its help and
 * --help's notes. */
static void s_entry(FILE *out, const char *name, const char *meta, const char *help,
                    const char *notes)
{
    fprintf(out, ".TP\n\\fB");
    s_put(out, "--", false);
    s_put(out, name, false);
    fprintf(out, "\\fR");
    if (meta && meta[0]) {
        fprintf(out, " \\fI");
        s_put(out, meta, false);
        fprintf(out, "\\fR");
    }
    fputc('\n', out);
    s_put(out, help ? help : "", true);
    if (notes && notes[0]) {
        fputc(' ', out);
        s_put(out, notes, false);
    }
    fputc('\n', out);
}

void hb_man_settings(FILE *out, const hb_config_def_t *defs, size_t ndefs,
                     const hb_config_cli_t *cli)
{
    bool units = false;
    if (!cli)
        hb_man_text(out, "Each setting is given on the command line as --NAME VALUE (or "
                         "--NAME=VALUE), or in the --config file as a line NAME = VALUE; the "
                         "command line wins over the file. Settings marked reloadable change "
                         "on SIGHUP; the others need a restart.");
    for (size_t i = 0; i < ndefs; i++) {
        const hb_config_def_t *d = &defs[i];
        if (cli ? !hb_config_takes(cli, d) : strcmp(d->name, "config") == 0)
            continue;
        char *notes = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&notes, &len);
        if (mem) {
            hb_config_row_notes(d, cli, mem);
            fclose(mem);
        }
        /* The notes start with a space and end with the line's end. */
        while (len && (notes[len - 1] == '\n' || notes[len - 1] == ' '))
            notes[--len] = '\0';
        const char *meta = cli && d->type == HB_CONF_BOOL ? "" : hb_config_meta(d);
        s_entry(out, d->name, meta, d->help, notes ? notes + strspn(notes, " ") : NULL);
        free(notes);
        units = units || d->type == HB_CONF_SIZE || d->type == HB_CONF_DURATION;
    }
    if (!cli) {
        s_entry(out, "config", "FILE", "read settings from FILE first", NULL);
        s_entry(out, "help", NULL, "print the settings with their defaults and bounds, and exit",
                NULL);
        s_entry(out, "version", NULL,
                "print the version and the git revision of the build, and exit", NULL);
    }
    if (units)
        hb_man_text(out, "Sizes take K, M, G, T (powers of 1024); durations ms, s, m, h, d "
                         "(a bare number is milliseconds).");
}

bool hb_man_asked(int argc, char **argv) { return argc == 2 && strcmp(argv[1], "--help-man") == 0; }
