/* Manual pages in roff (man(7)), written by the programs themselves from
 * their settings tables (`hqd --help-man`, `branchd --help-man`, `hallctl
 * --help-man`, run at build time), so that a setting's entry in its man
 * page and its line in --help come from the same row: name, value, help,
 * default, bounds, reloadable.
 *
 * Texts are plain: paragraphs apart by a blank line, a line starting with
 * "- " is a list item, lines starting with two spaces are an example shown
 * as typed. Everything is escaped for roff here (backslashes, a '.' or '\''
 * opening a line, an option's dashes, characters outside ASCII as \[uXXXX]);
 * `groff -man -ww -z` finds nothing to warn about. Not a roff library: no
 * tables, no fonts beyond the options' bold and the values' italics. */
#ifndef HALLBUS_MANPAGE_H
#define HALLBUS_MANPAGE_H

#include "hallbus/config.h"

#include <stdio.h>

/* A section of a page's own (FILES, COMMANDS): its text, or what `write`
 * writes (in roff, through the functions below), or both, text first. */
typedef struct hb_man_part {
    const char *title;
    const char *text;
    void (*write)(FILE *out);
} hb_man_part_t;

/* What a page says besides its settings. */
typedef struct hb_man {
    const char *name;           /* "hqd" */
    const char *section;        /* "8" for daemons, "1" for commands */
    const char *summary;        /* after "hqd \-" in NAME: what it is, in a line */
    const char *synopsis;       /* how it is run: one form per line */
    const char *description;    /* DESCRIPTION, in the plain form above */
    const hb_man_part_t *parts; /* after the settings */
    size_t n_parts;
    const char *see_also; /* "branchd(8), hallctl(1)" */
} hb_man_t;

/* .TH (with the build's version), NAME, SYNOPSIS and DESCRIPTION. */
void hb_man_head(FILE *out, const hb_man_t *m);
/* The page's own sections (`parts`), in order. */
void hb_man_parts(FILE *out, const hb_man_t *m);
/* SEE ALSO, when the page names any. */
void hb_man_see_also(FILE *out, const hb_man_t *m);
/* A section (.SH) or subsection (.SS) title, as given (sections are
 * conventionally upper case). */
void hb_man_section(FILE *out, const char *title);
void hb_man_subsection(FILE *out, const char *title);
/* Text in the plain form above. */
void hb_man_text(FILE *out, const char *text);
/* One entry per row of the table, as --help lists them: a daemon's
 * settings (`cli` NULL: "--config FILE" in place of the config row, each
 * setting's file form said once before them, and --help and --version
 * after them) or the options a tool's command takes (`cli`; its page says
 * once that every command takes --help). */
void hb_man_settings(FILE *out, const hb_config_def_t *defs, size_t ndefs,
                     const hb_config_cli_t *cli);
/* Whether `argv` asks for the page: "--help-man" as the only argument. */
bool hb_man_asked(int argc, char **argv);

#endif
