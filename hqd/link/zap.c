/* The ZAP handler (see zap.h). The key table follows the halls/ folder
 * through inotify: the handler thread waits on the ZAP socket and the
 * folder's inotify descriptor together, and a change (a certificate
 * written, renamed in, removed) is applied to the table at once, reading
 * only the files the kernel named. Before each handshake the pending
 * changes are read first, so a hall enrolled a moment ago is let in and a
 * revoked one refused without waiting for a poll. Where inotify cannot be
 * had (its limits reached), or its queue overflowed, the whole folder is
 * read again, as before inotify: then its mtime is looked at every
 * ZAP_WATCH_MS and before each handshake, and a folder that keeps changing
 * is read at most every ZAP_MIN_SCAN_MS.
 *
 * The handler thread writes the table; the loop thread reads it
 * (hq_zap_key_enrolled) under the table's lock, which an update holds only
 * to swap the new table in. A full read reuses what did not change (by
 * name, size, inode and mtime). */
#include "zap.h"

#include "hallbus/cert.h"
#include "hallbus/destroy.h"
#include "hallbus/enrol.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/progress.h"
#include "hallbus/store.h"
#include "hallbus/time.h"
#include "hallbus/vec.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_DOMAIN "hallbus"
#define ZAP_RESCAN_MS 1000
#define ZAP_MIN_SCAN_MS 250
#define ZAP_NAME_MAX 256
#define ZAP_ENTRIES_MAX 1000000 /* enrolled keys: one per hall, HQ_HALLS_MAX */
/* Without inotify, how often the folder is looked at: a revocation takes
 * effect within it. With inotify, only the longest wait of the handler's
 * poll (the progress beat, certificate validity). */
#define ZAP_WATCH_MS 250
#define ZAP_CHANGES_MAX 4096 /* file names taken from inotify per update; more: a full read */
/* What in the folder changes the table: a certificate written (closed
 * after writing, or renamed in, as hb_cert_save does), removed or renamed
 * away, its mode changed; the folder itself removed or moved. */
#define ZAP_INOTIFY_MASK                                                                           \
    (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ATTRIB |            \
     IN_DELETE_SELF | IN_MOVE_SELF)

typedef struct zap_entry {
    char key[HB_CERT_KEY_Z85];
    char hall[64];
    /* When the certificate is valid (HQ's clock, ms): signed ones carry it;
     * the older unsigned ones are valid from 0 to INT64_MAX. */
    int64_t not_before_ms, not_after_ms;
    uint64_t serial;
    char file[ZAP_NAME_MAX]; /* its file in the folder, and what it was when read */
    struct timespec mtime;
    off_t size;
    ino_t ino;
} zap_entry_t;

struct hq_zap {
    void *sock;
    pthread_t thread;
    atomic_bool stop;
    atomic_uint_fast64_t allowed, denied;
    atomic_size_t enrolled;
    char dir[4096];
    char issuer[HB_CERT_KEY_Z85]; /* HQ's signing key; signed certificates must check with it */
    pthread_mutex_t table_lock;   /* entries and n_entries, against readers on other threads */
    /* Held by whoever scans or uses the table's entries by pointer: the
     * handler's thread, and hq_zap_refresh on another (taken before
     * table_lock). */
    pthread_mutex_t scan_lock;
    atomic_uint_fast64_t generation;
    zap_entry_t *entries;
    size_t n_entries;
    uint32_t *by_hall; /* indexes of the entries read from HALL.key, by hall */
    size_t n_by_hall;
    struct timespec dir_mtime;
    int64_t last_scan_ms;
    int ino_fd; /* inotify on the folder; -1: none, the mtime is polled */
    /* Every certificate read, one per file, before a key in two files is
     * kept once: what an update by file names starts from (the table
     * drops duplicates, which a later change to one of the two files must
     * bring back). Owned under scan_lock. */
    zap_entry_t *files;
    size_t n_files;
    atomic_uint_fast64_t full_scans; /* whole-folder reads (hq_zap_folder_reads) */
    atomic_uint_fast64_t updates;    /* updates by file names from inotify */
    /* The names of one update (s_take_changes), under scan_lock. */
    char change_names[ZAP_CHANGES_MAX][ZAP_NAME_MAX];
    const char *change_ptrs[ZAP_CHANGES_MAX];
    int64_t next_change_ms; /* the next time an entry becomes valid or expires */
};

static int s_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const zap_entry_t *)a)->key, ((const zap_entry_t *)b)->key);
}

/* For sorting the hall index: qsort_r's argument is the entries. */
static int s_hall_idx_cmp(const void *a, const void *b, void *arg)
{
    const zap_entry_t *e = arg;
    return strcmp(e[*(const uint32_t *)a].hall, e[*(const uint32_t *)b].hall);
}

/* Whether the entry is its hall's current certificate (HALL.key, not
 * HALL.old.key). */
static bool s_is_current(const zap_entry_t *e)
{
    size_t hl = strlen(e->hall);
    return strncmp(e->file, e->hall, hl) == 0 && strcmp(e->file + hl, ".key") == 0;
}

static int s_file_cmp(const void *a, const void *b)
{
    return strcmp(((const zap_entry_t *)a)->file, ((const zap_entry_t *)b)->file);
}

/* The previous scan's entry for a file, when the file is as it was then. */
static const zap_entry_t *s_unchanged(const zap_entry_t *by_file, size_t n, const char *name,
                                      const struct stat *st)
{
    zap_entry_t probe = {0};
    snprintf(probe.file, sizeof probe.file, "%s", name);
    const zap_entry_t *old = by_file ? bsearch(&probe, by_file, n, sizeof probe, s_file_cmp) : NULL;
    if (old && old->size == st->st_size && old->ino == st->st_ino &&
        old->mtime.tv_sec == st->st_mtim.tv_sec && old->mtime.tv_nsec == st->st_mtim.tv_nsec)
        return old;
    return NULL;
}

/* Reads certificate `name` (already stat'ed as `fst`) into `slot`; false
 * when it is not one HQ admits or lists (the reason logged once). */
static bool s_load_entry(hq_zap_t *z, const char *name, const struct stat *fst, zap_entry_t *slot)
{
    char path[4400], err[256];
    size_t len = strlen(name);
    snprintf(path, sizeof path, "%s/%s", z->dir, name);
    hb_cert_t c;
    if (hb_cert_load_public(path, &c, err, sizeof err) != 0) {
        hb_log_once(path, HB_LOG_WARN, "zap: skipping %s: %s", path, err);
        return false;
    }
    /* A signed certificate must be HQ's: one that fails its signature is
     * never admitted. One out of its validity stays in the table, so that
     * a handshake with it is refused naming why. */
    hb_enrol_cert_info_t info;
    int crc = hb_enrol_cert_check(&c, z->issuer[0] ? z->issuer : NULL, hb_now_ms(), &info, err,
                                  sizeof err);
    if (crc != 0 && crc != HB_ERANGE) {
        hb_log_once(path, HB_LOG_ERROR, "zap: refusing %s: %s", path, err);
        return false;
    }
    const char *retire = hb_cert_meta(&c, "retire-at");
    int64_t retire_ms;
    if (retire && hb_time_parse(retire, &retire_ms) == 0 && retire_ms < info.not_after_ms)
        info.not_after_ms = retire_ms;
    const char *hall = hb_cert_meta(&c, "hall");
    char fallback[64];
    if (!hall) {
        snprintf(fallback, sizeof fallback, "%.*s", (int)(len - 4 < 63 ? len - 4 : 63), name);
        hall = fallback;
    }
    if (!hb_hall_id_valid(hall)) {
        hb_log_once(path, HB_LOG_WARN, "zap: skipping %s: '%s' is not a hall id", path, hall);
        return false;
    }
    memset(slot, 0, sizeof *slot);
    snprintf(slot->key, sizeof slot->key, "%s", c.public_key);
    snprintf(slot->hall, sizeof slot->hall, "%s", hall);
    snprintf(slot->file, sizeof slot->file, "%s", name);
    slot->not_before_ms = info.signed_ ? info.not_before_ms : 0;
    slot->not_after_ms = info.signed_ || retire ? info.not_after_ms : INT64_MAX;
    slot->serial = info.serial;
    slot->mtime = fst->st_mtim;
    slot->size = fst->st_size;
    slot->ino = fst->st_ino;
    return true;
}

/* Whether a folder entry's name is a certificate's (NAME.key). */
static bool s_is_cert_name(const char *name)
{
    size_t len = strlen(name);
    return len >= 5 && len < ZAP_NAME_MAX && strcmp(name + len - 4, ".key") == 0;
}

/* Makes `files` (n entries, one per file, owned from here on) what the
 * folder holds, and a copy of it the table: one key, one hall; the index
 * by hall; the next time a certificate's validity changes. */
static void s_install(hq_zap_t *z, zap_entry_t *files, size_t n)
{
    zap_entry_t *e = n ? malloc(n * sizeof *e) : NULL;
    if (n && !e) {
        hb_log_once("zap-nomem", HB_LOG_ERROR, "zap: out of memory; the key table is as it was");
        free(files);
        return;
    }
    if (n)
        memcpy(e, files, n * sizeof *e);
    free(z->files);
    z->files = files;
    z->n_files = n;
    if (n > 1)
        qsort(e, n, sizeof *e, s_entry_cmp);
    /* One key, one hall: a key enrolled for two halls is ambiguous and
     * refused. The same hall's key in two files is a rotation being
     * written (HALL.old.key is written before HALL.key, so for a moment
     * both hold the old key): it is kept once, with the longer validity. */
    size_t out = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        bool other_hall = false;
        size_t best = i;
        for (; j < n && strcmp(e[j].key, e[i].key) == 0; j++) {
            other_hall |= strcmp(e[j].hall, e[i].hall) != 0;
            if (e[j].not_after_ms > e[best].not_after_ms)
                best = j;
        }
        if (other_hall)
            hb_log_once(e[i].hall, HB_LOG_ERROR,
                        "zap: the key of hall %s is enrolled for another hall too; refused",
                        e[i].hall);
        else
            e[out++] = e[best];
        i = j;
    }
    int64_t now = hb_now_ms(), next = INT64_MAX;
    for (size_t i = 0; i < out; i++) {
        if (e[i].not_before_ms > now && e[i].not_before_ms < next)
            next = e[i].not_before_ms;
        if (e[i].not_after_ms > now && e[i].not_after_ms < next)
            next = e[i].not_after_ms;
    }
    z->next_change_ms = next;
    /* The index by hall of the current certificates, for
     * hq_zap_hall_cert (GET /v1/halls, the alerts). */
    uint32_t *idx = out ? malloc(out * sizeof *idx) : NULL;
    size_t n_idx = 0;
    for (size_t i = 0; idx && i < out; i++)
        if (s_is_current(&e[i]))
            idx[n_idx++] = (uint32_t)i;
    if (n_idx > 1)
        qsort_r(idx, n_idx, sizeof *idx, s_hall_idx_cmp, e);
    pthread_mutex_lock(&z->table_lock);
    zap_entry_t *old = z->entries;
    uint32_t *old_idx = z->by_hall;
    z->entries = e;
    z->n_entries = out;
    z->by_hall = idx;
    z->n_by_hall = n_idx;
    pthread_mutex_unlock(&z->table_lock);
    free(old);
    free(old_idx);
    atomic_store(&z->enrolled, out);
    atomic_fetch_add(&z->generation, 1);
}

/* Rebuilds the key table from the whole folder. */
static void s_scan(hq_zap_t *z)
{
    z->last_scan_ms = hb_mono_ms();
    z->full_scans++;
    struct stat st;
    if (stat(z->dir, &st) == 0)
        z->dir_mtime = st.st_mtim;
    DIR *d = opendir(z->dir);
    if (!d) {
        hb_log_once("zap-dir", HB_LOG_ERROR, "zap: cannot read %s; no hall can connect", z->dir);
        s_install(z, NULL, 0);
        return;
    }
    /* The previous read by file name, to reuse what did not change. */
    size_t n_old = z->n_files;
    zap_entry_t *by_file = n_old ? malloc(n_old * sizeof *by_file) : NULL;
    if (by_file) {
        memcpy(by_file, z->files, n_old * sizeof *by_file);
        qsort(by_file, n_old, sizeof *by_file, s_file_cmp);
    } else {
        n_old = 0;
    }
    HB_VEC(zap_entry_t) list = HB_VEC_INIT(ZAP_ENTRIES_MAX);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!s_is_cert_name(de->d_name))
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", z->dir, de->d_name);
        struct stat fst;
        if (stat(path, &fst) != 0)
            continue;
        zap_entry_t *slot = hb_vec_push(&list);
        if (!slot)
            break;
        const zap_entry_t *old = s_unchanged(by_file, n_old, de->d_name, &fst);
        if (old)
            *slot = *old;
        else if (!s_load_entry(z, de->d_name, &fst, slot))
            list.n--;
    }
    closedir(d);
    free(by_file);
    s_install(z, list.v, list.n);
}

static int s_name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Applies the changes of the files named in `names` (n of them, sorted;
 * any order of events on them: each is read as it is now): the table
 * without their entries, then each one that is a certificate now. The
 * rest of the folder is not read. */
static void s_update(hq_zap_t *z, const char **names, size_t n)
{
    z->updates++;
    HB_VEC(zap_entry_t) list = HB_VEC_INIT(ZAP_ENTRIES_MAX);
    if (hb_vec_reserve(&list, z->n_files + n) != 0) {
        hb_vec_free(&list);
        s_scan(z);
        return;
    }
    for (size_t i = 0; i < z->n_files; i++) {
        const char *file = z->files[i].file;
        if (!bsearch(&file, names, n, sizeof *names, s_name_cmp))
            list.v[list.n++] = z->files[i];
    }
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", z->dir, names[i]);
        struct stat fst;
        if (stat(path, &fst) != 0 || !S_ISREG(fst.st_mode))
            continue; /* removed (or renamed away): its entry is gone */
        if (s_load_entry(z, names[i], &fst, &list.v[list.n]))
            list.n++;
    }
    struct stat st;
    if (stat(z->dir, &st) == 0)
        z->dir_mtime = st.st_mtim;
    s_install(z, list.v, list.n);
}

/* Watches the folder with inotify; on failure the folder's mtime is
 * polled instead. */
static void s_watch(hq_zap_t *z)
{
    if (z->ino_fd < 0)
        z->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (z->ino_fd >= 0 && inotify_add_watch(z->ino_fd, z->dir, ZAP_INOTIFY_MASK) >= 0)
        return;
    hb_log_once("zap-inotify", HB_LOG_WARN,
                "zap: cannot watch %s with inotify (%s); looking at it every %d ms instead", z->dir,
                strerror(errno), ZAP_WATCH_MS);
    if (z->ino_fd >= 0)
        close(z->ino_fd);
    z->ino_fd = -1;
}

/* Reads what inotify has queued and applies it: the files it names, or
 * the whole folder after an overflow or when the folder itself went. */
static void s_take_changes(hq_zap_t *z)
{
    char bufs[8 * (sizeof(struct inotify_event) + NAME_MAX + 1)]
        __attribute__((aligned(__alignof__(struct inotify_event))));
    char(*store)[ZAP_NAME_MAX] = z->change_names;
    const char **names = z->change_ptrs;
    size_t n = 0;
    bool full = false, any = false;
    for (;;) {
        ssize_t got = read(z->ino_fd, bufs, sizeof bufs);
        if (got <= 0)
            break; /* EAGAIN: nothing more queued */
        any = true;
        for (char *p = (char *)bufs; p < (char *)bufs + got;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            if (ev->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                full = true;
                continue;
            }
            if (ev->len == 0 || !s_is_cert_name(ev->name))
                continue; /* a temporary file of a save, or not a certificate */
            if (n > 0 && strcmp(store[n - 1], ev->name) == 0)
                continue; /* the same file's next event (written, then closed) */
            if (n == ZAP_CHANGES_MAX) {
                full = true;
                continue;
            }
            snprintf(store[n], sizeof store[n], "%s", ev->name);
            names[n] = store[n];
            n++;
        }
    }
    if (!any)
        return;
    if (full) {
        /* The folder removed or replaced: watch whatever is there now. */
        close(z->ino_fd);
        z->ino_fd = -1;
        s_watch(z);
        s_scan(z);
        return;
    }
    if (n == 0)
        return;
    qsort(names, n, sizeof *names, s_name_cmp);
    s_update(z, names, n);
}

static bool s_dir_changed(hq_zap_t *z)
{
    struct stat st;
    if (stat(z->dir, &st) != 0)
        return true;
    return st.st_mtim.tv_sec != z->dir_mtime.tv_sec || st.st_mtim.tv_nsec != z->dir_mtime.tv_nsec;
}

static const zap_entry_t *s_lookup(hq_zap_t *z, const char *key)
{
    if (z->ino_fd >= 0) {
        /* What changed in the folder before this handshake is in the
         * table before it is decided. A key still unknown is refused: the
         * kernel queued every change there was. */
        s_take_changes(z);
        zap_entry_t probe = {0};
        snprintf(probe.key, sizeof probe.key, "%s", key);
        return z->entries ? bsearch(&probe, z->entries, z->n_entries, sizeof probe, s_entry_cmp)
                          : NULL;
    }
    if (s_dir_changed(z)) {
        /* A folder that keeps changing (halls being enrolled by the
         * hundred) is read at most every ZAP_MIN_SCAN_MS: the handshakes
         * meanwhile wait here, in the handler's own thread. */
        int64_t since = hb_mono_ms() - z->last_scan_ms;
        if (since >= 0 && since < ZAP_MIN_SCAN_MS)
            usleep((useconds_t)(ZAP_MIN_SCAN_MS - since) * 1000);
        s_scan(z);
    }
    zap_entry_t probe = {0};
    snprintf(probe.key, sizeof probe.key, "%s", key);
    const zap_entry_t *hit =
        z->entries ? bsearch(&probe, z->entries, z->n_entries, sizeof probe, s_entry_cmp) : NULL;
    if (!hit && hb_mono_ms() - z->last_scan_ms > ZAP_RESCAN_MS) {
        s_scan(z);
        hit = z->entries ? bsearch(&probe, z->entries, z->n_entries, sizeof probe, s_entry_cmp)
                         : NULL;
    }
    return hit;
}

/* The reply; an admitted connection's messages also carry the key it
 * authenticated with, as the metadata property HQ_ZAP_KEY_PROPERTY (ZMTP
 * property form: name length, name, 4-byte big-endian value length, value),
 * so that the ingest can tell, message by message, whether that key is
 * still enrolled. */
static void s_reply(void *sock, const char *version, size_t vlen, const char *req_id, size_t rlen,
                    const char *status, const char *text, const char *user, const char *key)
{
    uint8_t meta[1 + sizeof HQ_ZAP_KEY_PROPERTY + 4 + HB_CERT_KEY_Z85];
    size_t mlen = 0;
    if (key && key[0]) {
        size_t nlen = strlen(HQ_ZAP_KEY_PROPERTY), klen = strlen(key);
        meta[mlen++] = (uint8_t)nlen;
        memcpy(meta + mlen, HQ_ZAP_KEY_PROPERTY, nlen);
        mlen += nlen;
        hb_put_be32(meta + mlen, (uint32_t)klen);
        mlen += 4;
        memcpy(meta + mlen, key, klen);
        mlen += klen;
    }
    zmq_send(sock, version, vlen, ZMQ_SNDMORE);
    zmq_send(sock, req_id, rlen, ZMQ_SNDMORE);
    zmq_send(sock, status, strlen(status), ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(sock, meta, mlen, 0);
}

/* A hall that has rotated its key and now comes in with the new one no
 * longer needs the old: its certificate (HALL.old.key) is removed, and the
 * next scan drops it from the table. */
static void s_retire_previous(hq_zap_t *z, const zap_entry_t *hit)
{
    size_t hl = strlen(hit->hall);
    if (strncmp(hit->file, hit->hall, hl) != 0 || strcmp(hit->file + hl, ".key") != 0)
        return; /* not the hall's current certificate */
    char path[4400];
    snprintf(path, sizeof path, "%s/%s.old.key", z->dir, hit->hall);
    if (unlink(path) == 0)
        hb_info("zap: hall %s came in with its new key (serial %" PRIu64
                "); its previous key is retired",
                hit->hall, hit->serial);
}

#define ZAP_PARTS 8

static void s_handle(hq_zap_t *z)
{
    zmq_msg_t parts[ZAP_PARTS];
    int n = 0;
    bool more = true;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, z->sock, 0) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < ZAP_PARTS)
            parts[n++] = m;
        else
            zmq_msg_close(&m);
    }
    /* version, request id, domain, address, identity, mechanism, credentials */
    const char *status = "400", *text = "refused";
    char user[64] = "", key[HB_CERT_KEY_Z85] = "";
    if (n < 6) {
        /* Unreadable: a REP socket must still answer, or it wedges. */
        s_reply(z->sock, "1.0", 3, "", 0, "500", "malformed ZAP request", "", NULL);
        goto out;
    }
    const char *version = zmq_msg_data(&parts[0]);
    size_t vlen = zmq_msg_size(&parts[0]);
    if (vlen != 3 || memcmp(version, "1.0", 3) != 0) {
        status = "500";
        text = "unsupported ZAP version";
    } else if (zmq_msg_size(&parts[2]) != strlen(ZAP_DOMAIN) ||
               memcmp(zmq_msg_data(&parts[2]), ZAP_DOMAIN, strlen(ZAP_DOMAIN)) != 0) {
        text = "wrong domain";
    } else if (zmq_msg_size(&parts[5]) != 5 || memcmp(zmq_msg_data(&parts[5]), "CURVE", 5) != 0 ||
               n < 7 || zmq_msg_size(&parts[6]) != 32) {
        text = "only CURVE is accepted";
    } else {
        zmq_z85_encode(key, zmq_msg_data(&parts[6]), 32);
        const zap_entry_t *hit = s_lookup(z, key);
        int64_t now = hb_now_ms();
        if (hit && (now < hit->not_before_ms || now >= hit->not_after_ms)) {
            char when[HB_RFC3339_MAX];
            bool early = now < hit->not_before_ms;
            hb_time_format(early ? hit->not_before_ms : hit->not_after_ms, when);
            text = early ? "certificate not yet valid" : "certificate expired";
            hb_log_once(key, HB_LOG_WARN,
                        "zap: refused hall %s: its certificate (serial %" PRIu64 ", %s) %s %s",
                        hit->hall, hit->serial, hit->file,
                        early ? "is not valid before" : "expired at", when);
        } else if (hit) {
            status = "200";
            text = "OK";
            snprintf(user, sizeof user, "%s", hit->hall);
            s_retire_previous(z, hit);
        } else {
            text = "key not enrolled";
            hb_log_once(key, HB_LOG_WARN, "zap: refused a connection with key %s: not enrolled",
                        key);
        }
    }
    if (strcmp(status, "200") == 0)
        atomic_fetch_add(&z->allowed, 1);
    else
        atomic_fetch_add(&z->denied, 1);
    s_reply(z->sock, zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]), zmq_msg_data(&parts[1]),
            zmq_msg_size(&parts[1]), status, text, user, strcmp(status, "200") == 0 ? key : NULL);
out:
    for (int i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
}

static void *s_thread(void *arg)
{
    hq_zap_t *z = arg;
    hb_progress_register("zap");
    pthread_setname_np(pthread_self(), "hq-zap");
    while (!atomic_load(&z->stop)) {
        hb_progress_beat(); /* the poll below waits ZAP_WATCH_MS at most */
        zmq_pollitem_t items[2] = {{z->sock, 0, ZMQ_POLLIN, 0}, {NULL, z->ino_fd, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, z->ino_fd >= 0 ? 2 : 1, ZAP_WATCH_MS);
        if (rc < 0 && zmq_errno() == ETERM)
            break;
        pthread_mutex_lock(&z->scan_lock);
        /* A removed certificate must cut its hall off even when nobody
         * connects: the ingest checks every message against the table. */
        if (z->ino_fd >= 0)
            s_take_changes(z);
        if (rc > 0 && (items[0].revents & ZMQ_POLLIN))
            s_handle(z);
        if (z->ino_fd < 0 && hb_mono_ms() - z->last_scan_ms >= ZAP_WATCH_MS && s_dir_changed(z))
            s_scan(z);
        /* A certificate expired (or became valid): the ingest's cached
         * answers must be asked again, so a hall whose certificate ran out
         * while connected is refused at its next message. */
        else if (hb_now_ms() >= z->next_change_ms)
            s_scan(z);
        pthread_mutex_unlock(&z->scan_lock);
    }
    hb_progress_unregister();
    return NULL;
}

int hq_zap_start(void *zmq_ctx, const char *halls_dir, const char *issuer, hq_zap_t **out)
{
    hq_zap_t *z = calloc(1, sizeof *z);
    if (!z)
        return HB_ENOMEM;
    snprintf(z->dir, sizeof z->dir, "%s", halls_dir);
    snprintf(z->issuer, sizeof z->issuer, "%s", issuer ? issuer : "");
    pthread_mutex_init(&z->table_lock, NULL);
    pthread_mutex_init(&z->scan_lock, NULL);
    z->ino_fd = -1;
    z->sock = zmq_socket(zmq_ctx, ZMQ_REP);
    int linger = 0;
    if (!z->sock || zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(z->sock, ZAP_ENDPOINT) != 0) {
        hb_error("zap: cannot bind %s: %s", ZAP_ENDPOINT, zmq_strerror(zmq_errno()));
        if (z->sock)
            zmq_close(z->sock);
        free(z);
        return HB_EZMQ;
    }
    /* Watched before it is read: a certificate saved in between is then
     * both in the read and queued, and applying it twice is harmless. */
    s_watch(z);
    s_scan(z);
    hb_info("zap: %zu hall key(s) enrolled in %s%s", z->n_entries, z->dir,
            z->ino_fd >= 0 ? " (followed with inotify)" : "");
    if (pthread_create(&z->thread, NULL, s_thread, z) != 0) {
        if (z->ino_fd >= 0)
            close(z->ino_fd);
        zmq_close(z->sock);
        free(z->files);
        free(z->entries);
        free(z->by_hall);
        free(z);
        return HB_ESYS;
    }
    *out = z;
    return 0;
}

static void s_fini(hq_zap_t *z)
{
    atomic_store(&z->stop, true);
    pthread_join(z->thread, NULL);
    zmq_close(z->sock);
    if (z->ino_fd >= 0)
        close(z->ino_fd);
    free(z->files);
    free(z->entries);
    free(z->by_hall);
    pthread_mutex_destroy(&z->table_lock);
    pthread_mutex_destroy(&z->scan_lock);
}

void hq_zap_stop(hq_zap_t **zp) { HB_DESTROY(zp, s_fini); }

uint64_t hq_zap_allowed(const hq_zap_t *z) { return atomic_load(&((hq_zap_t *)z)->allowed); }
uint64_t hq_zap_denied(const hq_zap_t *z) { return atomic_load(&((hq_zap_t *)z)->denied); }
size_t hq_zap_enrolled(const hq_zap_t *z) { return atomic_load(&((hq_zap_t *)z)->enrolled); }

void hq_zap_folder_reads(const hq_zap_t *z, uint64_t *full, uint64_t *by_name)
{
    *full = atomic_load(&((hq_zap_t *)z)->full_scans);
    *by_name = atomic_load(&((hq_zap_t *)z)->updates);
}

uint64_t hq_zap_generation(const hq_zap_t *z) { return atomic_load(&((hq_zap_t *)z)->generation); }

void hq_zap_refresh(hq_zap_t *z)
{
    pthread_mutex_lock(&z->scan_lock);
    if (z->ino_fd >= 0)
        s_take_changes(z);
    else if (s_dir_changed(z))
        s_scan(z);
    pthread_mutex_unlock(&z->scan_lock);
}

hq_zap_key_state_t hq_zap_key_check(hq_zap_t *z, const char *hall, const char *key)
{
    if (!key || strlen(key) != HB_CERT_KEY_Z85 - 1)
        return HQ_ZAP_KEY_UNKNOWN;
    zap_entry_t probe = {0};
    memcpy(probe.key, key, HB_CERT_KEY_Z85);
    pthread_mutex_lock(&z->table_lock);
    const zap_entry_t *hit =
        z->entries ? bsearch(&probe, z->entries, z->n_entries, sizeof probe, s_entry_cmp) : NULL;
    int64_t now = hb_now_ms();
    hq_zap_key_state_t st = !hit || strcmp(hit->hall, hall) != 0 ? HQ_ZAP_KEY_UNKNOWN
                            : now >= hit->not_before_ms && now < hit->not_after_ms
                                ? HQ_ZAP_KEY_OK
                                : HQ_ZAP_KEY_EXPIRED;
    pthread_mutex_unlock(&z->table_lock);
    return st;
}

bool hq_zap_key_enrolled(hq_zap_t *z, const char *hall, const char *key)
{
    return hq_zap_key_check(z, hall, key) == HQ_ZAP_KEY_OK;
}

bool hq_zap_hall_cert(hq_zap_t *z, const char *hall, hq_zap_cert_t *out)
{
    memset(out, 0, sizeof *out);
    bool found = false;
    pthread_mutex_lock(&z->table_lock);
    size_t lo = 0, hi = z->n_by_hall;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const zap_entry_t *e = &z->entries[z->by_hall[mid]];
        int c = strcmp(e->hall, hall);
        if (c == 0) {
            out->serial = e->serial;
            out->not_before_ms = e->not_before_ms;
            out->not_after_ms = e->not_after_ms;
            found = true;
            break;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    pthread_mutex_unlock(&z->table_lock);
    return found;
}

int hq_zap_certs(hq_zap_t *z, hq_zap_cert_row_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&z->table_lock);
    size_t count = z->n_by_hall;
    hq_zap_cert_row_t *rows = count ? malloc(count * sizeof *rows) : NULL;
    if (count && !rows) {
        pthread_mutex_unlock(&z->table_lock);
        return HB_ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        const zap_entry_t *e = &z->entries[z->by_hall[i]];
        snprintf(rows[i].hall, sizeof rows[i].hall, "%s", e->hall);
        rows[i].cert = (hq_zap_cert_t){.serial = e->serial,
                                       .not_before_ms = e->not_before_ms,
                                       .not_after_ms = e->not_after_ms};
    }
    pthread_mutex_unlock(&z->table_lock);
    *out = rows;
    *n = count;
    return 0;
}

const char *hq_zap_cert_state(const hq_zap_cert_t *c, int64_t now_ms, int64_t warn_ms)
{
    if (now_ms >= c->not_after_ms)
        return "expired";
    if (warn_ms > 0 && c->not_after_ms - now_ms <= warn_ms)
        return "expiring";
    return "active";
}
