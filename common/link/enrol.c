/* Enrolment requests and certificates (see enrol.h): a line-per-field text
 * format read through one table of fields, Ed25519 signatures over a
 * canonical text of the certificate, and crypto_box proofs for rotations.
 *
 * Why Ed25519 (crypto_sign) for the certificate: a certificate travels (to
 * the hall, into backups, to an auditor) and must be checkable away from
 * HQ's folder by anyone holding HQ's public signing key; a signature is
 * that, where a MAC would need the secret to check. Ed25519 is libsodium's
 * default signature, deterministic (no nonce to get wrong) and its keys are
 * small enough for a metadata line. The CURVE key (X25519) is for
 * encryption and cannot sign, so HQ holds a second key for this. */
#include "hallbus/enrol.h"
#include "hallbus/error.h"
#include "hallbus/names.h"
#include "hallbus/time.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define REQ_MAGIC "hallbus-enrolment-request"
#define CERT_MAGIC "hallbus-certificate-v1"

/* ------------------------------------------------------------ checks ---- */

static bool s_key_ok(const char *z85)
{
    uint8_t raw[32];
    return strlen(z85) == 40 && zmq_z85_decode(raw, z85) != NULL;
}

static bool s_region_ok(const char *s) { return hb_id_chars_ok(s, HB_ENROL_REGION_MAX - 1, "_-"); }

static bool s_code_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 8 || n >= HB_ENROL_CODE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return false;
    return true;
}

static bool s_nonce_ok(const char *s)
{
    if (strlen(s) != HB_ENROL_NONCE_HEX - 1)
        return false;
    for (const char *p = s; *p; p++)
        if (!isxdigit((unsigned char)*p))
            return false;
    return true;
}

/* ----------------------------------------------------------- requests ---- */

int hb_enrol_request_init(hb_enrol_request_t *req, hb_enrol_kind_t kind, const char *hall,
                          const char *public_key, const char *region, const char *code, char *err,
                          size_t errlen)
{
    memset(req, 0, sizeof *req);
    if (sodium_init() < 0)
        return HB_ESYS;
    req->kind = kind;
    if (!hb_hall_id_valid(hall)) {
        hb_errf(err, errlen, "'%.64s' is not a hall id ([A-Za-z0-9_-], 1 to %d characters)", hall,
                HB_HALL_ID_LEN);
        return HB_EINVAL;
    }
    if (!s_key_ok(public_key)) {
        hb_errf(err, errlen, "the public key is not a 40-character Z85 key");
        return HB_EINVAL;
    }
    if (region && region[0] && !s_region_ok(region)) {
        hb_errf(err, errlen, "'%.64s' is not a region id ([A-Za-z0-9_-], 1 to 64 characters)",
                region);
        return HB_EINVAL;
    }
    if (code && code[0] && !s_code_ok(code)) {
        hb_errf(err, errlen, "the enrolment code must be 8 to 63 letters, digits or '-'");
        return HB_EINVAL;
    }
    snprintf(req->hall, sizeof req->hall, "%s", hall);
    snprintf(req->public_key, sizeof req->public_key, "%s", public_key);
    snprintf(req->region, sizeof req->region, "%s", region ? region : "");
    snprintf(req->code, sizeof req->code, "%s", code ? code : "");
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(req->nonce, sizeof req->nonce, raw, sizeof raw);
    req->created_ms = hb_now_ms() / 1000 * 1000; /* the file keeps seconds */
    return 0;
}

/* The text, with or without the proofs (the proofs are made over the text
 * without them). */
static int s_format(const hb_enrol_request_t *req, bool proofs, char *out, size_t outlen)
{
    char when[HB_RFC3339_MAX];
    hb_time_format(req->created_ms, when);
    int n = snprintf(out, outlen,
                     "# A hallbus enrolment request. It holds no secret: give it to head "
                     "office.\n" REQ_MAGIC " = 1\n"
                     "kind = %s\nhall = %s\npublic-key = %s\n",
                     req->kind == HB_ENROL_ROTATE ? "rotate" : "enrol", req->hall, req->public_key);
    if (n < 0 || (size_t)n >= outlen)
        return HB_ETOOBIG;
    size_t used = (size_t)n;
#define APPEND(...)                                                                                \
    do {                                                                                           \
        int w_ = snprintf(out + used, outlen - used, __VA_ARGS__);                                 \
        if (w_ < 0 || (size_t)w_ >= outlen - used)                                                 \
            return HB_ETOOBIG;                                                                     \
        used += (size_t)w_;                                                                        \
    } while (0)
    if (req->region[0])
        APPEND("region = %s\n", req->region);
    APPEND("nonce = %s\ncreated = %s\n", req->nonce, when);
    if (req->code[0])
        APPEND("code = %s\n", req->code);
    if (req->current_key[0])
        APPEND("current-key = %s\n", req->current_key);
    if (proofs && req->proof_current[0])
        APPEND("proof-current = %s\n", req->proof_current);
    if (proofs && req->proof_new[0])
        APPEND("proof-new = %s\n", req->proof_new);
#undef APPEND
    return 0;
}

int hb_enrol_request_format(const hb_enrol_request_t *req, char *out, size_t outlen)
{
    return s_format(req, true, out, outlen);
}

/* One row per field of the request file: its name, whether every request
 * needs it, and how its value is checked and stored. Most fields are text
 * kept as it is: `ok` checks it (and so bounds its length below the room
 * the field has) and it is copied to the request's member at `off`. The
 * others have a reader of their own. */
typedef int (*field_read_fn)(hb_enrol_request_t *req, const char *value);
typedef bool (*field_ok_fn)(const char *value);

static int s_read_magic(hb_enrol_request_t *req, const char *v)
{
    (void)req;
    return strcmp(v, "1") == 0 ? 0 : HB_EPARSE;
}

static int s_read_kind(hb_enrol_request_t *req, const char *v)
{
    static const char *const kinds[] = {[HB_ENROL_NEW] = "enrol", [HB_ENROL_ROTATE] = "rotate"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(v, kinds[i]) == 0) {
            req->kind = (hb_enrol_kind_t)i;
            return 0;
        }
    return HB_EPARSE;
}

static int s_read_created(hb_enrol_request_t *req, const char *v)
{
    return hb_time_parse(v, &req->created_ms) == 0 ? 0 : HB_EPARSE;
}

static bool s_proof_ok(const char *v)
{
    uint8_t raw[48];
    return strlen(v) == HB_ENROL_PROOF_Z85 - 1 && zmq_z85_decode(raw, v) != NULL;
}

/* A text field: its check, and the member it is kept in. */
#define TEXT(member, ok)                                                                           \
    NULL, ok, offsetof(hb_enrol_request_t, member), sizeof(((hb_enrol_request_t *)0)->member)
#define READ(fn) fn, NULL, 0, 0

static const struct {
    const char *name;
    bool required;
    field_read_fn read;
    field_ok_fn ok;
    size_t off, size;
    const char *expect; /* what a good value is, for the refusal */
} s_fields[] = {
    {REQ_MAGIC, true, READ(s_read_magic), "1 (the format's version)"},
    {"kind", true, READ(s_read_kind), "'enrol' or 'rotate'"},
    {"hall", true, TEXT(hall, hb_hall_id_valid), "a hall id ([A-Za-z0-9_-], 1 to 32 characters)"},
    {"public-key", true, TEXT(public_key, s_key_ok), "a 40-character Z85 CURVE key"},
    {"region", false, TEXT(region, s_region_ok), "a region id ([A-Za-z0-9_-], 1 to 64 characters)"},
    {"nonce", true, TEXT(nonce, s_nonce_ok), "32 hexadecimal digits"},
    {"created", true, READ(s_read_created), "a UTC time like 2025-01-31T09:00:00Z"},
    {"code", false, TEXT(code, s_code_ok), "8 to 63 letters, digits or '-'"},
    {"current-key", false, TEXT(current_key, s_key_ok), "a 40-character Z85 CURVE key"},
    {"proof-current", false, TEXT(proof_current, s_proof_ok), "a 60-character Z85 proof"},
    {"proof-new", false, TEXT(proof_new, s_proof_ok), "a 60-character Z85 proof"},
};
#undef TEXT
#undef READ
#define NFIELDS (sizeof s_fields / sizeof s_fields[0])

int hb_enrol_request_parse(const char *text, size_t len, hb_enrol_request_t *req, char *err,
                           size_t errlen)
{
    memset(req, 0, sizeof *req);
    if (len > HB_ENROL_REQUEST_MAX) {
        hb_errf(err, errlen, "the request is %zu bytes, at most %d", len, HB_ENROL_REQUEST_MAX);
        return HB_EPARSE;
    }
    bool seen[NFIELDS] = {false};
    size_t pos = 0;
    int lineno = 0;
    while (pos < len) {
        lineno++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - (text + pos)) : len - pos;
        char line[512];
        if (llen >= sizeof line) {
            hb_errf(err, errlen, "line %d: longer than %zu bytes", lineno, sizeof line - 1);
            return HB_EPARSE;
        }
        memcpy(line, text + pos, llen);
        line[llen] = '\0';
        pos += llen + (nl ? 1 : 0);
        if (llen && line[llen - 1] == '\r')
            line[--llen] = '\0';
        if (memchr(line, '\0', llen) || strlen(line) != llen) {
            hb_errf(err, errlen, "line %d: a NUL byte", lineno);
            return HB_EPARSE;
        }
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        char *eq = strchr(p, '=');
        if (!eq) {
            hb_errf(err, errlen, "line %d: expected 'name = value'", lineno);
            return HB_EPARSE;
        }
        char *name_end = eq;
        while (name_end > p && (name_end[-1] == ' ' || name_end[-1] == '\t'))
            name_end--;
        *name_end = '\0';
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        char *end = v + strlen(v);
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        size_t f = HB_ROW_FIND(s_fields, NFIELDS, p);
        if (f == NFIELDS) {
            hb_errf(err, errlen, "line %d: unknown field '%.40s'", lineno, p);
            return HB_EPARSE;
        }
        if (seen[f]) {
            hb_errf(err, errlen, "line %d: '%s' given twice", lineno, s_fields[f].name);
            return HB_EPARSE;
        }
        seen[f] = true;
        bool bad;
        if (s_fields[f].read) {
            bad = s_fields[f].read(req, v) != 0;
        } else {
            bad = !s_fields[f].ok(v);
            if (!bad)
                snprintf((char *)req + s_fields[f].off, s_fields[f].size, "%s", v);
        }
        if (bad) {
            hb_errf(err, errlen, "line %d: bad %s '%.64s': expected %s", lineno, s_fields[f].name,
                    v, s_fields[f].expect);
            return HB_EPARSE;
        }
    }
    if (!seen[0]) {
        hb_errf(err, errlen, "not a hallbus enrolment request (no '" REQ_MAGIC " = 1' line)");
        return HB_EPARSE;
    }
    for (size_t f = 0; f < NFIELDS; f++)
        if (s_fields[f].required && !seen[f]) {
            hb_errf(err, errlen, "the request has no '%s'", s_fields[f].name);
            return HB_EPARSE;
        }
    if (req->kind == HB_ENROL_ROTATE &&
        (!req->current_key[0] || !req->proof_current[0] || !req->proof_new[0])) {
        hb_errf(err, errlen, "a rotation request needs current-key, proof-current and proof-new");
        return HB_EPARSE;
    }
    if (req->kind == HB_ENROL_NEW && (req->current_key[0] || req->proof_current[0])) {
        hb_errf(err, errlen, "current-key and proofs belong to rotation requests only");
        return HB_EPARSE;
    }
    if (req->kind == HB_ENROL_ROTATE && strcmp(req->current_key, req->public_key) == 0) {
        hb_errf(err, errlen, "a rotation request must bring a new key, not the current one");
        return HB_EPARSE;
    }
    return 0;
}

int hb_enrol_request_check_time(const hb_enrol_request_t *req, int64_t now_ms, char *err,
                                size_t errlen)
{
    char when[HB_RFC3339_MAX];
    hb_time_format(req->created_ms, when);
    if (req->created_ms > now_ms + HB_ENROL_FUTURE_MS) {
        hb_errf(err, errlen, "the request is dated %s, in the future: is the hall's clock right?",
                when);
        return HB_ERANGE;
    }
    int64_t max =
        req->kind == HB_ENROL_ROTATE ? HB_ENROL_ROTATE_MAX_AGE_MS : HB_ENROL_REQUEST_MAX_AGE_MS;
    if (now_ms - req->created_ms > max) {
        hb_errf(err, errlen,
                "the request is dated %s, older than %" PRId64 " minutes: make a new one", when,
                max / 60000);
        return HB_ERANGE;
    }
    return 0;
}

/* The digest a proof covers: the request without its proofs. Its first 24
 * bytes are also the box's nonce, so a proof belongs to this request. */
static int s_proof_digest(const hb_enrol_request_t *req, unsigned char digest[32])
{
    char text[HB_ENROL_REQUEST_MAX];
    int rc = s_format(req, false, text, sizeof text);
    if (rc != 0)
        return rc;
    crypto_generichash(digest, 32, (const unsigned char *)text, strlen(text),
                       (const unsigned char *)"hallbus-rotate", 14);
    return 0;
}

static int s_prove_one(const unsigned char digest[32], const char *secret, const char *hq_public,
                       char out[HB_ENROL_PROOF_Z85])
{
    uint8_t sk[32], pk[32], box[48];
    if (strlen(secret) != 40 || strlen(hq_public) != 40 || !zmq_z85_decode(sk, secret) ||
        !zmq_z85_decode(pk, hq_public))
        return HB_EINVAL;
    int rc = crypto_box_easy(box, digest, 32, digest, pk, sk);
    sodium_memzero(sk, sizeof sk);
    if (rc != 0)
        return HB_EINVAL;
    return zmq_z85_encode(out, box, sizeof box) ? 0 : HB_EINVAL;
}

int hb_enrol_request_prove(hb_enrol_request_t *req, const char *current_secret,
                           const char *new_secret, const char *hq_public, char *err, size_t errlen)
{
    unsigned char digest[32];
    req->proof_current[0] = req->proof_new[0] = '\0';
    if (s_proof_digest(req, digest) != 0 ||
        s_prove_one(digest, current_secret, hq_public, req->proof_current) != 0 ||
        s_prove_one(digest, new_secret, hq_public, req->proof_new) != 0) {
        hb_errf(err, errlen, "cannot make the rotation's proofs (a key is not Z85)");
        return HB_EINVAL;
    }
    return 0;
}

static bool s_proof_opens(const unsigned char digest[32], const char *proof, const char *public_key,
                          const char *hq_secret)
{
    uint8_t sk[32], pk[32], box[48], plain[32];
    if (!zmq_z85_decode(box, proof) || !zmq_z85_decode(pk, public_key) ||
        !zmq_z85_decode(sk, hq_secret))
        return false;
    int rc = crypto_box_open_easy(plain, box, sizeof box, digest, pk, sk);
    sodium_memzero(sk, sizeof sk);
    return rc == 0 && sodium_memcmp(plain, digest, 32) == 0;
}

int hb_enrol_request_verify(const hb_enrol_request_t *req, const char *hq_secret, char *err,
                            size_t errlen)
{
    unsigned char digest[32];
    if (req->kind != HB_ENROL_ROTATE || s_proof_digest(req, digest) != 0) {
        hb_errf(err, errlen, "not a rotation request");
        return HB_EINVAL;
    }
    if (!s_proof_opens(digest, req->proof_current, req->current_key, hq_secret)) {
        hb_errf(err, errlen,
                "proof-current does not check: the request was not made with hall %s's current "
                "secret key for this HQ, or was changed after",
                req->hall);
        return HB_EAUTH;
    }
    if (!s_proof_opens(digest, req->proof_new, req->public_key, hq_secret)) {
        hb_errf(err, errlen,
                "proof-new does not check: the sender does not hold the new key's secret");
        return HB_EAUTH;
    }
    return 0;
}

/* ------------------------------------------------------- signing key ---- */

int hb_enrol_signer_load(const char *path, bool create, hb_enrol_signer_t *s, char *err,
                         size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (sodium_init() < 0)
        return HB_ESYS;
    unsigned char seed[32];
    char text[128];
    FILE *f = fopen(path, "r");
    if (!f && errno == ENOENT && create) {
        char tmp[4200];
        if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
            return HB_EINVAL;
        randombytes_buf(seed, sizeof seed);
        char z[41];
        zmq_z85_encode(z, seed, sizeof seed);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int n = fd >= 0 ? dprintf(fd, "%s\n", z) : -1;
        bool ok = n == 41 && fsync(fd) == 0;
        if (fd >= 0)
            close(fd);
        sodium_memzero(z, sizeof z);
        if (!ok || rename(tmp, path) != 0) {
            unlink(tmp);
            sodium_memzero(seed, sizeof seed);
            hb_errf(err, errlen, "cannot write %s: %s", path, strerror(errno));
            return HB_EIO;
        }
    } else {
        if (!f) {
            hb_errf(err, errlen, "%s: %s", path, strerror(errno));
            return errno == ENOENT ? HB_ENOTFOUND : HB_EIO;
        }
        bool ok = fgets(text, sizeof text, f) != NULL;
        fclose(f);
        size_t n = ok ? strcspn(text, "\r\n") : 0;
        text[n] = '\0';
        if (n != 40 || !zmq_z85_decode(seed, text)) {
            sodium_memzero(text, sizeof text);
            hb_errf(err, errlen, "%s: expected one line, the 40-character Z85 seed", path);
            return HB_EPARSE;
        }
        sodium_memzero(text, sizeof text);
    }
    crypto_sign_seed_keypair(s->pk, s->sk, seed);
    sodium_memzero(seed, sizeof seed);
    zmq_z85_encode(s->public_z85, s->pk, sizeof s->pk);
    return 0;
}

void hb_enrol_signer_clear(hb_enrol_signer_t *s) { sodium_memzero(s, sizeof *s); }

/* --------------------------------------------------------- certificates ---- */

/* The bytes a signature covers: every field the certificate asserts, in
 * one fixed order, so that no metadata line can be added or changed. */
static int s_cert_text(const char *hall, const char *region, const char *key, uint64_t serial,
                       int64_t nb, int64_t na, const char *issuer, char *out, size_t outlen)
{
    int n = snprintf(out, outlen,
                     CERT_MAGIC "\nhall=%s\nregion=%s\npublic-key=%s\nserial=%" PRIu64
                                "\nnot-before=%" PRId64 "\nnot-after=%" PRId64 "\nissuer=%s\n",
                     hall, region, key, serial, nb, na, issuer);
    return n < 0 || (size_t)n >= outlen ? HB_ETOOBIG : 0;
}

int hb_enrol_cert_sign(hb_cert_t *cert, const hb_enrol_signer_t *s, const char *hall,
                       const char *region, uint64_t serial, int64_t not_before_ms,
                       int64_t not_after_ms)
{
    char text[1024], nb[HB_RFC3339_MAX], na[HB_RFC3339_MAX], ser[24];
    int64_t nbs = not_before_ms / 1000 * 1000, nas = not_after_ms / 1000 * 1000;
    if (s_cert_text(hall, region, cert->public_key, serial, nbs, nas, s->public_z85, text,
                    sizeof text) != 0)
        return HB_ETOOBIG;
    unsigned char sig[64];
    char sigz[HB_ENROL_SIG_Z85];
    crypto_sign_detached(sig, NULL, (const unsigned char *)text, strlen(text), s->sk);
    zmq_z85_encode(sigz, sig, sizeof sig);
    hb_time_format(nbs, nb);
    hb_time_format(nas, na);
    snprintf(ser, sizeof ser, "%" PRIu64, serial);
    cert->meta_count = 0;
    int rc = hb_cert_set_meta(cert, "hall", hall);
    rc |= hb_cert_set_meta(cert, "region", region);
    rc |= hb_cert_set_meta(cert, "serial", ser);
    rc |= hb_cert_set_meta(cert, "not-before", nb);
    rc |= hb_cert_set_meta(cert, "not-after", na);
    rc |= hb_cert_set_meta(cert, "issuer", s->public_z85);
    rc |= hb_cert_set_meta(cert, "signature", sigz);
    return rc ? HB_EINVAL : 0;
}

int hb_enrol_cert_check(const hb_cert_t *cert, const char *issuer, int64_t now_ms,
                        hb_enrol_cert_info_t *info, char *err, size_t errlen)
{
    memset(info, 0, sizeof *info);
    const char *hall = hb_cert_meta(cert, "hall"), *sig = hb_cert_meta(cert, "signature");
    if (hall)
        snprintf(info->hall, sizeof info->hall, "%s", hall);
    if (!sig) {
        const char *region = hb_cert_meta(cert, "region");
        snprintf(info->region, sizeof info->region, "%s", region ? region : "");
        info->not_after_ms = INT64_MAX;
        return 0;
    }
    info->signed_ = true;
    const char *region = hb_cert_meta(cert, "region"), *ser = hb_cert_meta(cert, "serial"),
               *nb = hb_cert_meta(cert, "not-before"), *na = hb_cert_meta(cert, "not-after"),
               *iss = hb_cert_meta(cert, "issuer");
    static const char *const names[] = {"hall",       "region",    "serial",
                                        "not-before", "not-after", "issuer"};
    const char *vals[] = {hall, region, ser, nb, na, iss};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!vals[i]) {
            hb_errf(err, errlen, "the certificate is signed but has no '%s'", names[i]);
            return HB_EPARSE;
        }
    char *end = NULL;
    errno = 0;
    unsigned long long serial = strtoull(ser, &end, 10);
    if (errno || !end || *end || !isdigit((unsigned char)ser[0]) ||
        hb_time_parse(nb, &info->not_before_ms) != 0 ||
        hb_time_parse(na, &info->not_after_ms) != 0 || !hb_hall_id_valid(hall) ||
        strlen(region) >= sizeof info->region) {
        hb_errf(err, errlen, "the certificate's serial, validity, hall or region is malformed");
        return HB_EPARSE;
    }
    info->serial = serial;
    snprintf(info->region, sizeof info->region, "%s", region);
    if (issuer && strcmp(issuer, iss) != 0) {
        hb_errf(err, errlen,
                "hall %s's certificate (serial %llu) is signed by %s, not by this "
                "head office's signing key %s",
                hall, serial, iss, issuer);
        return HB_EAUTH;
    }
    unsigned char pk[32], sigraw[64];
    char text[1024];
    if (strlen(iss) != 40 || !zmq_z85_decode(pk, iss) || strlen(sig) != HB_ENROL_SIG_Z85 - 1 ||
        !zmq_z85_decode(sigraw, sig) ||
        s_cert_text(hall, region, cert->public_key, serial, info->not_before_ms, info->not_after_ms,
                    iss, text, sizeof text) != 0 ||
        crypto_sign_verify_detached(sigraw, (const unsigned char *)text, strlen(text), pk) != 0) {
        hb_errf(err, errlen, "hall %s's certificate (serial %llu) has a bad signature", hall,
                serial);
        return HB_EAUTH;
    }
    if (now_ms < info->not_before_ms) {
        hb_errf(err, errlen, "hall %s's certificate (serial %llu) is not valid before %s", hall,
                serial, nb);
        return HB_ERANGE;
    }
    if (now_ms >= info->not_after_ms) {
        hb_errf(err, errlen, "hall %s's certificate (serial %llu) expired at %s", hall, serial, na);
        return HB_ERANGE;
    }
    return 0;
}

void hb_enrol_fingerprint(const char *key, char out[HB_ENROL_FINGERPRINT_MAX])
{
    unsigned char d[8];
    crypto_generichash(d, sizeof d, (const unsigned char *)key, strlen(key), NULL, 0);
    size_t o = 0;
    for (size_t i = 0; i < sizeof d; i++) {
        if (i && i % 2 == 0)
            out[o++] = ':';
        o += (size_t)snprintf(out + o, HB_ENROL_FINGERPRINT_MAX - o, "%02x", d[i]);
    }
    out[o] = '\0';
}

void hb_enrol_code_new(char out[HB_ENROL_CODE_TEXT])
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    unsigned char raw[20];
    if (sodium_init() < 0)
        abort(); /* no randomness: no code may be made */
    randombytes_buf(raw, sizeof raw);
    size_t o = 0;
    for (int i = 0; i < 20; i++) {
        if (i && i % 5 == 0)
            out[o++] = '-';
        out[o++] = alphabet[raw[i] & 31]; /* 5 bits of each byte: 100 bits */
    }
    out[o] = '\0';
    sodium_memzero(raw, sizeof raw);
}

void hb_enrol_code_digest(const char *code, char out[65])
{
    unsigned char d[32];
    crypto_generichash(d, sizeof d, (const unsigned char *)code, strlen(code),
                       (const unsigned char *)"hallbus-code", 12);
    sodium_bin2hex(out, 65, d, sizeof d);
}
