/* CURVE certificates in czmq's zcert text format (ZPL, see cert.h): a small
 * reader for the subset zcert writes (sections "metadata" and "curve", four
 * spaces of indentation per level, quoted values, '#' comments) and a writer
 * that produces the same layout zcert_save does. */
#include "hallbus/cert.h"
#include "hallbus/error.h"
#include "hallbus/fs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define CERT_FILE_MAX 65536
#define CERT_LINE_MAX 1024

static bool s_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= HB_CERT_META_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '-' && c != '_')
            return false;
    }
    return true;
}

static bool s_value_valid(const char *value)
{
    if (strlen(value) >= HB_CERT_META_VALUE_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if (*p < 0x20 || *p == '"' || *p == 0x7f)
            return false;
    return true;
}

static bool s_key_valid(const char *z85)
{
    uint8_t raw[32];
    return strlen(z85) == 40 && zmq_z85_decode(raw, z85) != NULL;
}

int hb_cert_generate(hb_cert_t *cert)
{
    memset(cert, 0, sizeof *cert);
    if (zmq_curve_keypair(cert->public_key, cert->secret_key) != 0)
        return HB_EZMQ;
    return 0;
}

int hb_cert_set_meta(hb_cert_t *cert, const char *name, const char *value)
{
    if (!s_name_valid(name) || !s_value_valid(value))
        return HB_EINVAL;
    for (int i = 0; i < cert->meta_count; i++) {
        if (strcmp(cert->meta[i].name, name) == 0) {
            snprintf(cert->meta[i].value, sizeof cert->meta[i].value, "%s", value);
            return 0;
        }
    }
    if (cert->meta_count >= HB_CERT_META_MAX)
        return HB_ETOOBIG;
    snprintf(cert->meta[cert->meta_count].name, HB_CERT_META_NAME_MAX, "%s", name);
    snprintf(cert->meta[cert->meta_count].value, HB_CERT_META_VALUE_MAX, "%s", value);
    cert->meta_count++;
    return 0;
}

const char *hb_cert_meta(const hb_cert_t *cert, const char *name)
{
    for (int i = 0; i < cert->meta_count; i++)
        if (strcmp(cert->meta[i].name, name) == 0)
            return cert->meta[i].value;
    return NULL;
}

static int s_render(const hb_cert_t *cert, bool secret, char *out, size_t outlen)
{
    char when[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    size_t n = 0;
    int w = snprintf(
        out, outlen,
        "#   ****  Generated on %s by hallbus  ****\n"
        "#   ZeroMQ CURVE %s Certificate\n"
        "#   %s\n\n"
        "metadata\n",
        when, secret ? "**Secret**" : "Public",
        secret ? "DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions."
               : "Exchange securely, or use a secure mechanism to verify the contents\n"
                 "#   of this file after exchange. Store public certificates in your home\n"
                 "#   directory, in the .curve subdirectory.");
    if (w < 0 || (size_t)w >= outlen)
        return HB_ETOOBIG;
    n = (size_t)w;
    for (int i = 0; i < cert->meta_count; i++) {
        w = snprintf(out + n, outlen - n, "    %s = \"%s\"\n", cert->meta[i].name,
                     cert->meta[i].value);
        if (w < 0 || (size_t)w >= outlen - n)
            return HB_ETOOBIG;
        n += (size_t)w;
    }
    w = snprintf(out + n, outlen - n, "curve\n    public-key = \"%s\"\n", cert->public_key);
    if (w < 0 || (size_t)w >= outlen - n)
        return HB_ETOOBIG;
    n += (size_t)w;
    if (secret) {
        w = snprintf(out + n, outlen - n, "    secret-key = \"%s\"\n", cert->secret_key);
        if (w < 0 || (size_t)w >= outlen - n)
            return HB_ETOOBIG;
    }
    return 0;
}

int hb_cert_save(const hb_cert_t *cert, const char *path, bool with_secret)
{
    if (!s_key_valid(cert->public_key))
        return HB_EINVAL;
    char text[8192];
    int rc = s_render(cert, false, text, sizeof text);
    if (rc == 0)
        rc = hb_file_write_durably(path, text, strlen(text), 0644);
    if (rc != 0 || !with_secret || !cert->secret_key[0])
        return rc;
    if (!s_key_valid(cert->secret_key))
        return HB_EINVAL;
    char spath[4200];
    if (snprintf(spath, sizeof spath, "%s_secret", path) >= (int)sizeof spath)
        return HB_EINVAL;
    rc = s_render(cert, true, text, sizeof text);
    if (rc == 0)
        rc = hb_file_write_durably(spath, text, strlen(text), 0600);
    return rc;
}

/* Parses one file into `cert` (metadata replaced, keys set if present). */
static int s_parse(const char *path, hb_cert_t *cert, bool *has_secret, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        hb_errf(err, errlen, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? HB_ENOTFOUND : HB_EIO;
    }
    char line[CERT_LINE_MAX + 2];
    int lineno = 0, rc = 0;
    size_t total = 0;
    enum { NONE, META, CURVE, OTHER } section = NONE;
    bool has_public = false;
    *has_secret = false;
    cert->meta_count = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        total += len;
        if (total > CERT_FILE_MAX || (len > CERT_LINE_MAX && line[len - 1] != '\n')) {
            hb_errf(err, errlen, "%s:%d: line or file too long", path, lineno);
            rc = HB_EPARSE;
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        size_t indent = 0;
        while (line[indent] == ' ')
            indent++;
        char *p = line + indent;
        if (*p == '\0' || *p == '#')
            continue;
        if (indent % 4 != 0) {
            hb_errf(err, errlen, "%s:%d: indentation must be a multiple of 4 spaces", path, lineno);
            rc = HB_EPARSE;
            break;
        }
        char *eq = strchr(p, '=');
        if (indent == 0) {
            if (eq) {
                hb_errf(err, errlen, "%s:%d: a value outside any section", path, lineno);
                rc = HB_EPARSE;
                break;
            }
            section = strcmp(p, "metadata") == 0 ? META : strcmp(p, "curve") == 0 ? CURVE : OTHER;
            continue;
        }
        if (indent != 4 || section == NONE) {
            if (section == OTHER)
                continue; /* sections of other tools are kept out, not refused */
            hb_errf(err, errlen, "%s:%d: unexpected nesting", path, lineno);
            rc = HB_EPARSE;
            break;
        }
        if (!eq) {
            hb_errf(err, errlen, "%s:%d: expected 'name = \"value\"'", path, lineno);
            rc = HB_EPARSE;
            break;
        }
        char *name_end = eq;
        while (name_end > p && name_end[-1] == ' ')
            name_end--;
        *name_end = '\0';
        char *v = eq + 1;
        while (*v == ' ')
            v++;
        char *value = v;
        if (*v == '"') {
            char *q = strchr(v + 1, '"');
            if (!q) {
                hb_errf(err, errlen, "%s:%d: unterminated quote", path, lineno);
                rc = HB_EPARSE;
                break;
            }
            *q = '\0';
            value = v + 1;
        } else {
            char *end = v + strlen(v);
            while (end > v && end[-1] == ' ')
                *--end = '\0';
        }
        if (section == META) {
            int mrc = hb_cert_set_meta(cert, p, value);
            if (mrc != 0) {
                hb_errf(err, errlen, "%s:%d: metadata '%.32s' %s", path, lineno, p,
                        mrc == HB_ETOOBIG ? "exceeds the number of entries allowed"
                                          : "has a bad name or an oversized or unprintable value");
                rc = HB_EPARSE;
            }
        } else if (section == CURVE) {
            bool pub = strcmp(p, "public-key") == 0, sec = strcmp(p, "secret-key") == 0;
            if (!pub && !sec)
                continue;
            if (!s_key_valid(value)) {
                hb_errf(err, errlen, "%s:%d: %s is not a 40-character Z85 key", path, lineno, p);
                rc = HB_EPARSE;
                break;
            }
            snprintf(pub ? cert->public_key : cert->secret_key, HB_CERT_KEY_Z85, "%s", value);
            if (pub)
                has_public = true;
            else
                *has_secret = true;
        }
    }
    fclose(f);
    if (rc == 0 && !has_public) {
        hb_errf(err, errlen, "%s: no curve public-key", path);
        rc = HB_EPARSE;
    }
    return rc;
}

int hb_cert_load_public(const char *path, hb_cert_t *cert, char *err, size_t errlen)
{
    memset(cert, 0, sizeof *cert);
    bool has_secret;
    int rc = s_parse(path, cert, &has_secret, err, errlen);
    cert->secret_key[0] = '\0'; /* a public file carrying a secret is not trusted with it */
    return rc;
}

int hb_cert_load(const char *path, hb_cert_t *cert, char *err, size_t errlen)
{
    int rc = hb_cert_load_public(path, cert, err, errlen);
    if (rc != 0)
        return rc;
    char spath[4200];
    if (snprintf(spath, sizeof spath, "%s_secret", path) >= (int)sizeof spath)
        return HB_EINVAL;
    if (access(spath, F_OK) != 0)
        return 0;
    hb_cert_t sec;
    memset(&sec, 0, sizeof sec);
    bool has_secret = false;
    rc = s_parse(spath, &sec, &has_secret, err, errlen);
    if (rc != 0)
        return rc;
    if (!has_secret) {
        hb_errf(err, errlen, "%s: no curve secret-key", spath);
        return HB_EPARSE;
    }
    if (strcmp(sec.public_key, cert->public_key) != 0) {
        hb_errf(err, errlen, "%s does not belong to %s: the public keys differ", spath, path);
        return HB_EPARSE;
    }
    /* The secret key must be the one the public key was derived from. */
    char derived[HB_CERT_KEY_Z85];
    if (zmq_curve_public(derived, sec.secret_key) != 0 || strcmp(derived, cert->public_key) != 0) {
        hb_errf(err, errlen, "%s: the secret key does not match the public key", spath);
        return HB_EPARSE;
    }
    memcpy(cert->secret_key, sec.secret_key, HB_CERT_KEY_Z85);
    return 0;
}
