/* The routes the hall's own pages need beyond the engine's actions (issue
 * 13): who a token is (/v1/me), a ticket's public reference, its public
 * status page's data (no token, rate limited) and its QR code, a device's
 * own state, and what a counter's evaluator may score now. The live stream
 * is live.c's. Domain rules stay in the engine: these read its state. */
#include "api.h"

#include "hallbus/error.h"
#include "hallbus/fs.h"
#include "hallbus/json.h"
#include "hallbus/log.h"
#include "hallbus/time.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <qrencode.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ------------------------------------------------ the ticket reference ---- */

#define TICKET_KEY_FILE "ticket.key"

/* The hall's secret for ticket references: 32 random bytes made at first
 * start. Written name.tmp, synced, renamed, so a power cut leaves the old
 * key or the new one, never half of one (a half key would change every
 * printed QR code). */
int branchd_ticket_key_load(branchd_t *d)
{
    char path[4096], tmp[4100];
    snprintf(path, sizeof path, "%s/%s", d->cfg.data, TICKET_KEY_FILE);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, d->ticket_key, sizeof d->ticket_key);
        close(fd);
        if (n == (ssize_t)sizeof d->ticket_key)
            return 0;
        hb_error("%s is damaged (%zd bytes); making a new key", path, n);
    }
    randombytes_buf(d->ticket_key, sizeof d->ticket_key);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return HB_EIO;
    bool ok = write(fd, d->ticket_key, sizeof d->ticket_key) == (ssize_t)sizeof d->ticket_key &&
              fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0)
        return HB_EIO;
    return 0;
}

/* Crockford's base32 alphabet: no I, L, O, U, easy to read aloud. */
static const char s_b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void branchd_ticket_ref(const branchd_t *d, const hb_hs_ticket_t *t, char out[BRANCHD_REF_MAX])
{
    char msg[HB_HS_ID + 32];
    int n = snprintf(msg, sizeof msg, "%s|%lld", t->id, (long long)t->issued_ms);
    uint8_t h[16];
    crypto_generichash(h, sizeof h, (const uint8_t *)msg, (size_t)n, d->ticket_key,
                       sizeof d->ticket_key);
    /* 40 bits as 8 characters of 5 bits. */
    uint64_t v = 0;
    for (int i = 0; i < 5; i++)
        v = (v << 8) | h[i];
    char check[9];
    for (int i = 7; i >= 0; i--) {
        check[i] = s_b32[v & 31];
        v >>= 5;
    }
    check[8] = '\0';
    snprintf(out, BRANCHD_REF_MAX, "%s-%s", t->id, check);
}

/* The ticket a reference names, when its check part is right. */
static const hb_hs_ticket_t *s_ticket_by_ref(const branchd_t *d, const char *ref)
{
    const char *dash = strrchr(ref, '-');
    if (!dash || dash == ref || (size_t)(dash - ref) >= HB_HS_ID || strlen(dash + 1) != 8)
        return NULL;
    char id[HB_HS_ID];
    memcpy(id, ref, (size_t)(dash - ref));
    id[dash - ref] = '\0';
    const hb_hs_ticket_t *t = hb_hall_state_ticket_any(engine_state(d->engine), id);
    if (!t)
        return NULL;
    char want[BRANCHD_REF_MAX];
    branchd_ticket_ref(d, t, want);
    /* Compared in constant time: the check part is the secret. */
    return strlen(want) == strlen(ref) && sodium_memcmp(want, ref, strlen(ref)) == 0 ? t : NULL;
}

/* ------------------------------------------------------- rate limits ---- */

/* Per client address, a one-minute window of lookups and of failed ones.
 * A fixed table: an address not in it takes the slot whose window is
 * oldest, so a flood of addresses costs memory never. */
#define RL_SLOTS 256
#define RL_WINDOW_MS 60000
#define RL_LOOKUPS 60
#define RL_FAILED 10

typedef struct rl_slot {
    char addr[64];
    int64_t window_ms;
    uint32_t lookups, failed;
} rl_slot_t;

static rl_slot_t s_rl[RL_SLOTS];

static rl_slot_t *s_rl_slot(const char *addr, int64_t now)
{
    rl_slot_t *oldest = &s_rl[0];
    for (size_t i = 0; i < RL_SLOTS; i++) {
        if (strcmp(s_rl[i].addr, addr) == 0) {
            if (now - s_rl[i].window_ms >= RL_WINDOW_MS) {
                s_rl[i].window_ms = now;
                s_rl[i].lookups = s_rl[i].failed = 0;
            }
            return &s_rl[i];
        }
        if (s_rl[i].window_ms < oldest->window_ms)
            oldest = &s_rl[i];
    }
    memset(oldest, 0, sizeof *oldest);
    snprintf(oldest->addr, sizeof oldest->addr, "%s", addr);
    oldest->window_ms = now;
    return oldest;
}

static void s_peer_text(const hb_http_req_t *req, char *out, size_t outlen)
{
    struct sockaddr_storage ss;
    snprintf(out, outlen, "?");
    if (hb_http_peer(req, &ss) == 0)
        hb_http_address_group((const struct sockaddr *)&ss, out, outlen);
}

/* ------------------------------------------------------------ routes ---- */

static const char *s_hall_name(const branchd_t *d)
{
    return d->cfg.hall_name && d->cfg.hall_name[0] ? d->cfg.hall_name : d->cfg.id;
}

void branchd_api_get_me(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    const access_caller_t *c = branchd_caller(req);
    json_t *perms = json_array();
    for (int p = HB_PERM_UNSET + 1; p < HB_PERM_COUNT; p++)
        if (c->perms & ACCESS_PERM(p))
            json_array_append_new(perms, json_string(hb_perm_name((hb_perm_t)p)));
    bool dev = c->via != ACCESS_VIA_LOCAL;
    json_t *o =
        json_pack("{s:o, s:s, s:o, s:o, s:o, s:s, s:s}", "device",
                  dev ? json_string(c->device.name) : json_null(), "kind",
                  dev ? access_kind_name(c->device.kind) : "local", "counter",
                  dev && c->device.counter[0] ? json_string(c->device.counter) : json_null(),
                  "staff", c->staff[0] ? json_string(c->staff) : json_null(), "permissions", perms,
                  "hall", d->cfg.id, "hall_name", s_hall_name(d));
    hb_http_reply_json(req, 200, o);
}

static json_t *s_device_json(const char *name, const hb_hs_device_t *dv)
{
    json_t *o = json_pack("{s:s}", "device", name);
    if (!dv) {
        json_object_set_new(o, "state", json_string("ok"));
        json_object_set_new(o, "out_of_service", json_false());
        json_object_set_new(o, "reported", json_false());
        return o;
    }
    const ProtobufCEnumValue *k =
        protobuf_c_enum_descriptor_get_value(&hallbus__device_kind__descriptor, dv->kind);
    const ProtobufCEnumValue *st =
        protobuf_c_enum_descriptor_get_value(&hallbus__device_state__descriptor, dv->state);
    /* The lower-case name after the type prefix, as the API writes enums. */
    const char *kn = k ? k->name + strlen("DEVICE_KIND_") : "unspecified";
    const char *sn = st ? st->name + strlen("DEVICE_STATE_") : "unspecified";
    char kl[40], sl[40];
    size_t i;
    for (i = 0; kn[i] && i + 1 < sizeof kl; i++)
        kl[i] = (char)(kn[i] >= 'A' && kn[i] <= 'Z' ? kn[i] + 32 : kn[i]);
    kl[i] = '\0';
    for (i = 0; sn[i] && i + 1 < sizeof sl; i++)
        sl[i] = (char)(sn[i] >= 'A' && sn[i] <= 'Z' ? sn[i] + 32 : sn[i]);
    sl[i] = '\0';
    json_object_set_new(o, "kind", json_string(kl));
    json_object_set_new(o, "state", json_string(sl));
    json_object_set_new(o, "detail", json_string(dv->detail));
    json_object_set_new(o, "since", hb_json_time(dv->since_ms));
    json_object_set_new(o, "out_of_service",
                        json_boolean(dv->state != HALLBUS__DEVICE_STATE__DEVICE_STATE_OK));
    json_object_set_new(o, "reported", json_true());
    return o;
}

void branchd_api_get_device(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    const char *name = hb_http_param(req, "device");
    if (strlen(name) > HB_ID_MAX) {
        hb_http_reply_error(req, 404, "not_found", "no such device");
        return;
    }
    hb_http_reply_json(req, 200,
                       s_device_json(name, hb_hall_state_device(engine_state(d->engine), name)));
}

void branchd_api_get_devices(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    const hb_hall_state_t *s = engine_state(d->engine);
    json_t *a = json_array();
    for (size_t i = 0; i < s->n_devices; i++)
        json_array_append_new(a, s_device_json(s->devices[i].id, &s->devices[i]));
    hb_http_reply_json(
        req, 200, json_pack("{s:I, s:o}", "count", (json_int_t)json_array_size(a), "devices", a));
}

bool branchd_kiosk_out_of_service(branchd_t *d, hb_http_req_t *req)
{
    const access_caller_t *c = branchd_caller(req);
    if (!c || c->via == ACCESS_VIA_LOCAL || c->device.kind != ACCESS_KIND_KIOSK)
        return false;
    const hb_hs_device_t *dv = hb_hall_state_device(engine_state(d->engine), c->device.name);
    if (!dv || dv->state == HALLBUS__DEVICE_STATE__DEVICE_STATE_OK)
        return false;
    json_t *o = s_device_json(c->device.name, dv);
    d->api_refused++;
    hb_http_reply_error(req, 409, "out_of_service",
                        "kiosk %s is out of service (%s): it reported a fault; the duty manager "
                        "marks it repaired (state ok)",
                        c->device.name, json_string_value(json_object_get(o, "state")));
    json_decref(o);
    return true;
}

void branchd_api_get_rating(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    const char *counter = hb_http_param(req, "counter");
    char ticket[HB_HS_ID];
    int64_t done;
    bool rated;
    if (strlen(counter) > HB_ID_MAX ||
        engine_rating_due(d->engine, counter, hb_now_ms(), ticket, &done, &rated) != 0) {
        hb_http_reply_error(req, 404, "not_found", "no counter '%.64s' in the hall", counter);
        return;
    }
    const hb_hs_counter_t *c = hb_hall_state_counter(engine_state(d->engine), counter);
    json_t *reasons = json_array();
    for (size_t i = 0; engine_rating_reasons[i]; i++)
        json_array_append_new(reasons, json_string(engine_rating_reasons[i]));
    json_t *o =
        json_pack("{s:s, s:o, s:o, s:s, s:b, s:I, s:o}", "counter", counter, "ticket",
                  ticket[0] && !rated ? json_string(ticket)
                  : ticket[0]         ? json_string(ticket)
                                      : json_null(),
                  "completed", hb_json_time(done), "staff", c ? c->staff : "", "rated", rated,
                  "window_s", (json_int_t)(ENGINE_RATING_WINDOW_MS / 1000), "reasons", reasons);
    hb_http_reply_json(req, 200, o);
}

void branchd_api_get_public_ticket(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    const char *ref = hb_http_param(req, "ref");
    char addr[64];
    s_peer_text(req, addr, sizeof addr);
    int64_t now = hb_now_ms();
    rl_slot_t *slot = s_rl_slot(addr, now);
    if (slot->lookups >= RL_LOOKUPS || slot->failed >= RL_FAILED) {
        int64_t left = (slot->window_ms + RL_WINDOW_MS - now + 999) / 1000;
        json_t *o =
            json_pack("{s:s, s:s, s:I}", "error", "rate_limited", "reason",
                      slot->failed >= RL_FAILED ? "too many unknown tickets from this address; wait"
                                                : "too many lookups from this address; wait",
                      "retry_after_s", (json_int_t)(left > 0 ? left : 1));
        hb_http_reply_json(req, 429, o);
        return;
    }
    slot->lookups++;
    const hb_hs_ticket_t *t = strlen(ref) < BRANCHD_REF_MAX ? s_ticket_by_ref(d, ref) : NULL;
    if (!t) {
        slot->failed++;
        hb_http_reply_error(req, 404, "not_found", "no such ticket");
        return;
    }
    const engine_service_t *svc = engine_service(d->engine, t->service);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s}", "ticket", t->id, "service", t->service,
                          "service_name", svc ? svc->name : t->service, "state",
                          hb_ticket_state_name(t->state), "issued", hb_json_time(t->issued_ms),
                          "hall_name", s_hall_name(d));
    uint32_t pos;
    int64_t est;
    if (engine_ticket_estimate(d->engine, t->id, &pos, &est) == 0) {
        json_object_set_new(o, "position", json_integer(pos));
        json_object_set_new(o, "ahead", json_integer(pos > 0 ? pos - 1 : 0));
        json_object_set_new(o, "estimated_wait_s", json_integer(est));
    } else {
        json_object_set_new(o, "position", json_null());
        json_object_set_new(o, "ahead", json_null());
        json_object_set_new(o, "estimated_wait_s", json_null());
    }
    json_object_set_new(o, "counter", t->counter[0] ? json_string(t->counter) : json_null());
    json_object_set_new(o, "called", hb_json_time(t->called_ms));
    hb_http_reply_json(req, 200, o);
}

/* The address a QR code sends a customer to. */
static void s_status_url(const branchd_t *d, hb_http_req_t *req, const char *ref, char *out,
                         size_t outlen)
{
    if (d->cfg.public_url && d->cfg.public_url[0]) {
        size_t n = strlen(d->cfg.public_url);
        snprintf(out, outlen, "%.*s/t/%s", (int)(n && d->cfg.public_url[n - 1] == '/' ? n - 1 : n),
                 d->cfg.public_url, ref);
        return;
    }
    char host[256] = "";
    if (hb_http_header(req, "host", host, sizeof host) != 0 || !host[0])
        snprintf(host, sizeof host, "%s", d->cfg.http);
    bool tls = d->cfg.tls_cert && d->cfg.tls_cert[0];
    snprintf(out, outlen, "%s://%s/t/%s", tls ? "https" : "http", host, ref);
}

/* The SVG of a QR code: one path of unit squares, 4 modules of quiet zone. */
#define QR_SVG_MAX (256 * 1024)

static char *s_qr_svg(const char *text, size_t *len)
{
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!qr)
        return NULL;
    int w = qr->width, size = w + 8;
    char *buf = malloc(QR_SVG_MAX);
    size_t used = 0;
    if (buf) {
        used += (size_t)snprintf(
            buf, QR_SVG_MAX,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
            "shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
            "<path fill=\"#000\" d=\"",
            size, size, size, size);
        for (int y = 0; y < w; y++) {
            for (int x = 0; x < w; x++) {
                if (!(qr->data[y * w + x] & 1))
                    continue;
                int n = snprintf(buf + used, QR_SVG_MAX - used, "M%d %dh1v1h-1z", x + 4, y + 4);
                if (n < 0 || (size_t)n >= QR_SVG_MAX - used) {
                    free(buf);
                    QRcode_free(qr);
                    return NULL;
                }
                used += (size_t)n;
            }
        }
        int n = snprintf(buf + used, QR_SVG_MAX - used, "\"/></svg>\n");
        if (n < 0 || (size_t)n >= QR_SVG_MAX - used) {
            free(buf);
            buf = NULL;
        } else {
            used += (size_t)n;
        }
    }
    QRcode_free(qr);
    *len = used;
    return buf;
}

void branchd_api_ticket_qr(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    const char *id = hb_http_param(req, "ticket");
    char fmt[16] = "svg";
    int q = hb_http_query(req, "format", fmt, sizeof fmt);
    if ((q != 0 && q != HB_ENOTFOUND) || strcmp(fmt, "svg") != 0) {
        d->api_refused++;
        hb_http_reply_error(req, 400, "bad_parameter", "format must be svg");
        return;
    }
    const hb_hs_ticket_t *t =
        strlen(id) <= HB_ID_MAX ? hb_hall_state_ticket_any(engine_state(d->engine), id) : NULL;
    if (!t) {
        d->api_refused++;
        hb_http_reply_error(req, 404, "not_found", "no ticket '%.64s' in the hall today", id);
        return;
    }
    char ref[BRANCHD_REF_MAX], url[1024];
    branchd_ticket_ref(d, t, ref);
    s_status_url(d, req, ref, url, sizeof url);
    size_t len = 0;
    char *svg = s_qr_svg(url, &len);
    if (!svg) {
        hb_http_reply_error(req, 503, "no_memory", "cannot draw the QR code now");
        return;
    }
    hb_http_reply_raw(req, 200, "image/svg+xml", svg, len);
    free(svg);
}
