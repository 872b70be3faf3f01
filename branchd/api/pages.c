/* The hall's own pages (kiosk, counter terminal and its evaluator, queue
 * display, duty manager, a ticket's status on the customer's phone), served
 * from memory at their fixed paths: each path is one HTML file made at
 * start from branchd/pages/page.html (the pages' one shell: the page's
 * script, its body class, the kiosk's print sheet), and /pages/NAME serves
 * the scripts and styles they load,
 * /pages/i18n/NAME their message catalogues. The files are read once at start (common's static
 * set); what the pages show and do is theirs, through the same API and
 * device tokens as any other device. Not here: the routes' rows (table.c)
 * or the API the pages call. */
#include "api.h"

#include "hallbus/error.h"

#include <string.h>

/* Scripts and styles from the hall only, no inline script or style, no
 * plug-ins, no frames: a page that a visitor can touch runs only what the
 * hall installed. Images may also be blob: URLs: the ticket's QR code is
 * fetched with the device's token, which an <img> cannot send. */
#define PAGES_CSP                                                                                  \
    "default-src 'none'; script-src 'self'; style-src 'self'; "                                    \
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; media-src 'self'; "          \
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* Which file each page's path serves (the route table's patterns), made
 * from the shell with the page's name (its script NAME.js, its body class
 * page-NAME) and its print style sheet, if any. */
#define PAGES_SHELL "page.html"

static const struct {
    const char *pattern;
    const char *file;
    const char *page;
    const char *print;
} s_pages[] = {
    {"/kiosk", "kiosk.html", "kiosk", "kiosk-print.css"},
    {"/counter/:counter", "counter.html", "counter", NULL},
    {"/rate/:counter", "rate.html", "rate", NULL},
    {"/display", "display.html", "display", NULL},
    {"/manager", "manager.html", "manager", NULL},
    {"/t/:ticket", "ticket.html", "ticket", NULL},
};

/* Each page's file from the shell. Without the shell the pages' paths
 * answer 404, as for any missing file, and the start says why. */
static int s_make_pages(hb_static_t *pages, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof s_pages / sizeof s_pages[0]; i++) {
        hb_static_var_t vars[] = {{"page", s_pages[i].page}, {"print", s_pages[i].print}};
        int rc = hb_static_render(pages, PAGES_SHELL, s_pages[i].file, vars,
                                  sizeof vars / sizeof vars[0], err, errlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int branchd_pages_open(branchd_t *d, char *err, size_t errlen)
{
    int rc = hb_static_open(d->cfg.pages, "hall pages", &d->pages, err, errlen);
    if (!d->pages)
        return HB_ENOMEM;
    int crc = hb_static_set_csp(d->pages, PAGES_CSP);
    if (rc == 0)
        rc = s_make_pages(d->pages, err, errlen);
    return rc != 0 ? rc : crc;
}

void branchd_api_page(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    const hb_route_t *route = hb_http_req_route(req);
    for (size_t i = 0; route && i < sizeof s_pages / sizeof s_pages[0]; i++) {
        if (strcmp(route->pattern, s_pages[i].pattern) == 0) {
            hb_static_serve(d->pages, req, s_pages[i].file);
            return;
        }
    }
    hb_http_reply_error(req, 404, "not_found", "no page at %.200s", req->path);
}

void branchd_api_page_file(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    hb_static_serve(d->pages, req, hb_http_param(req, "file"));
}

void branchd_api_page_i18n(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    hb_static_serve_i18n(d->pages, req, hb_http_param(req, "file"));
}
