/* The services a hall offers (the "services" setting) and the engine's
 * lookups of them: parsing "CODE:PREFIX:SLA:Name" entries, finding a
 * service by its code, and the one refusal for a code the hall does not
 * serve. What a service's queue does is queue.c's and tickets.c's. */
#include "engine_private.h"

#include "hallbus/config.h"
#include "hallbus/error.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

const engine_service_t *engine_service(const engine_t *e, const char *code)
{
    for (size_t i = 0; i < e->cfg.n_services; i++)
        if (strcmp(e->cfg.services[i].code, code) == 0)
            return &e->cfg.services[i];
    return NULL;
}

static void s_service_list(const engine_t *e, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < e->cfg.n_services && used + 1 < outlen; i++) {
        int w = snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", e->cfg.services[i].code);
        if (w < 0 || (size_t)w >= outlen - used)
            break;
        used += (size_t)w;
    }
}

int engine__unknown_service(engine_request_t *r, const char *code)
{
    char list[512];
    s_service_list(r->e, list, sizeof list);
    return engine__refuse(r, HB_EINVAL, "unknown service '%.64s'; this hall serves %s",
                          code ? code : "", list);
}

int engine_parse_services(const char *text, engine_config_t *cfg, char *err, size_t errlen)
{
    cfg->n_services = 0;
    const char *p = text ? text : "";
    for (int entry = 1; *p; entry++) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char buf[256];
        if (len >= sizeof buf) {
            hb_errf(err, errlen, "services entry %d is longer than %zu bytes", entry,
                    sizeof buf - 1);
            return HB_EINVAL;
        }
        memcpy(buf, p, len);
        buf[len] = '\0';
        p = end ? end + 1 : p + len;
        char *s = buf;
        while (*s == ' ' || *s == '\t' || *s == '\n')
            s++;
        if (!*s)
            continue;
        char *fields[4] = {0};
        int nf = 0;
        fields[nf++] = s;
        for (char *q = s; *q && nf < 4; q++)
            if (*q == ':') {
                *q = '\0';
                fields[nf++] = q + 1;
            }
        if (nf != 4) {
            hb_errf(err, errlen,
                    "services entry %d ('%.40s') must be CODE:PREFIX:SLA:Name, "
                    "e.g. A:A:10m:Cash and deposits",
                    entry, s);
            return HB_EINVAL;
        }
        for (int i = 0; i < 3; i++) { /* trim */
            char *f = fields[i];
            while (*f == ' ')
                f++;
            char *z = f + strlen(f);
            while (z > f && z[-1] == ' ')
                *--z = '\0';
            fields[i] = f;
        }
        while (*fields[3] == ' ')
            fields[3]++;
        if (cfg->n_services >= HB_HS_SERVICES_MAX) {
            hb_errf(err, errlen, "at most %d services", HB_HS_SERVICES_MAX);
            return HB_EINVAL;
        }
        engine_service_t *svc = &cfg->services[cfg->n_services];
        if (!engine__id_ok(fields[0])) {
            hb_errf(err, errlen,
                    "services entry %d: code '%.64s' must be 1 to %d letters, digits, "
                    "'-', '_' or '.'",
                    entry, fields[0], HB_ID_MAX);
            return HB_EINVAL;
        }
        size_t plen = strlen(fields[1]);
        bool prefix_ok = plen >= 1 && plen < ENGINE_PREFIX_MAX;
        for (size_t i = 0; i < plen; i++)
            prefix_ok = prefix_ok && isalnum((unsigned char)fields[1][i]);
        if (!prefix_ok) {
            hb_errf(err, errlen,
                    "services entry %d: prefix '%.16s' must be 1 to %d letters or "
                    "digits",
                    entry, fields[1], ENGINE_PREFIX_MAX - 1);
            return HB_EINVAL;
        }
        int64_t sla_ms = 0;
        if (hb_duration_parse(fields[2], &sla_ms) != 0 || sla_ms < 60000 || sla_ms > 86400000) {
            hb_errf(err, errlen,
                    "services entry %d: SLA '%.16s' must be a duration from 1m to 24h "
                    "(e.g. 10m)",
                    entry, fields[2]);
            return HB_EINVAL;
        }
        size_t nlen = strlen(fields[3]);
        while (nlen > 0 && (fields[3][nlen - 1] == ' ' || fields[3][nlen - 1] == '\n'))
            fields[3][--nlen] = '\0';
        if (nlen == 0 || nlen >= ENGINE_SERVICE_NAME_MAX) {
            hb_errf(err, errlen, "services entry %d: the name must be 1 to %d bytes", entry,
                    ENGINE_SERVICE_NAME_MAX - 1);
            return HB_EINVAL;
        }
        for (size_t i = 0; i < cfg->n_services; i++) {
            if (strcmp(cfg->services[i].code, fields[0]) == 0) {
                hb_errf(err, errlen, "services entry %d: code %s is given twice", entry, fields[0]);
                return HB_EINVAL;
            }
            if (strcmp(cfg->services[i].prefix, fields[1]) == 0) {
                hb_errf(err, errlen, "services entry %d: prefix %s is used by service %s already",
                        entry, fields[1], cfg->services[i].code);
                return HB_EINVAL;
            }
        }
        snprintf(svc->code, sizeof svc->code, "%s", fields[0]);
        snprintf(svc->prefix, sizeof svc->prefix, "%s", fields[1]);
        snprintf(svc->name, sizeof svc->name, "%s", fields[3]);
        svc->sla_s = sla_ms / 1000;
        cfg->n_services++;
    }
    if (cfg->n_services == 0) {
        hb_errf(err, errlen, "services must name at least one service (CODE:PREFIX:SLA:Name)");
        return HB_EINVAL;
    }
    return 0;
}
