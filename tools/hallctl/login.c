/* hallctl login and logout: a person's own API token, asked of HQ with
 * their user name and password (POST /v1/tokens) and kept in
 * ~/.config/hallbus/token (mode 0600, in a folder of mode 0700), so that
 * later commands to the same HQ need no --token. The file holds the token
 * and the HQ it is for: it is sent only to that HQ, never to a hall or
 * another HQ, and never when --token, $HALLBUS_TOKEN or an Authorization
 * header is given. logout revokes the token at HQ (POST /v1/tokens/revoke)
 * and deletes the file.
 *
 * Not here: sessions (the dashboard's), people and their roles (hqd users,
 * on the HQ host). */
#include "hallctl.h"

#include "hallbus/error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define LOGIN_PASSWORD_MAX 1024 /* HQ's limit (hqd/auth/authdb.h) */
#define LOGIN_TOKEN_MAX 128     /* "hqt_" and 43 characters; room to spare */
#define LOGIN_FILE_MAX 1024     /* the token file: two lines */

/* ---------------------------------------------------------- the file */

/* The token file's folder and path: $XDG_CONFIG_HOME/hallbus, else
 * $HOME/.config/hallbus. -1 when neither is set or they do not fit. */
static int s_paths(char *dir, size_t dirlen, char *file, size_t filelen)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    int n;
    if (xdg && xdg[0] == '/')
        n = snprintf(dir, dirlen, "%s/hallbus", xdg);
    else if (home && home[0])
        n = snprintf(dir, dirlen, "%s/.config/hallbus", home);
    else
        return -1;
    if (n < 0 || (size_t)n >= dirlen)
        return -1;
    n = snprintf(file, filelen, "%s/token", dir);
    return n < 0 || (size_t)n >= filelen ? -1 : 0;
}

int hallctl_token_path(char *out, size_t outlen)
{
    char dir[PATH_MAX];
    return s_paths(dir, sizeof dir, out, outlen);
}

/* Reads the stored token and its HQ. 0; HB_ENOTFOUND (no file); HB_EINVAL
 * with `err` saying why (readable by others, not ours, not what login
 * writes). */
int hallctl_token_load(char *token, size_t tokenlen, char *hq, size_t hqlen, char *err,
                       size_t errlen)
{
    char path[PATH_MAX];
    if (hallctl_token_path(path, sizeof path) != 0)
        return HB_ENOTFOUND;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return HB_ENOTFOUND;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return HB_EINVAL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        close(fd);
        snprintf(err, errlen, "%s is not a file of yours: remove it and log in again", path);
        return HB_EINVAL;
    }
    /* A token others can read is someone else's too, as ssh keys are. */
    if (st.st_mode & 077) {
        close(fd);
        snprintf(err, errlen,
                 "%s can be read by others (mode %04o): chmod 600 it, or log in "
                 "again",
                 path, (unsigned)(st.st_mode & 07777));
        return HB_EINVAL;
    }
    char buf[LOGIN_FILE_MAX + 1];
    ssize_t n = read(fd, buf, LOGIN_FILE_MAX + 1);
    close(fd);
    if (n < 0 || n > LOGIN_FILE_MAX) {
        snprintf(err, errlen, "%s: %s", path, n < 0 ? strerror(errno) : "too long");
        return HB_EINVAL;
    }
    buf[n] = '\0';
    char *nl = strchr(buf, '\n');
    char *second = nl ? nl + 1 : NULL;
    char *nl2 = second ? strchr(second, '\n') : NULL;
    if (nl)
        *nl = '\0';
    if (nl2)
        *nl2 = '\0';
    if (!second || !buf[0] || !second[0] || strlen(buf) >= tokenlen || strlen(second) >= hqlen ||
        hb_httpc_token_check(buf, NULL, 0) != 0) {
        snprintf(err, errlen,
                 "%s is not what hallctl login writes (a token, then HQ's URL): "
                 "remove it and log in again",
                 path);
        return HB_EINVAL;
    }
    snprintf(token, tokenlen, "%s", buf);
    snprintf(hq, hqlen, "%s", second);
    explicit_bzero(buf, sizeof buf);
    return 0;
}

/* Writes the token for `hq`: a new file of mode 0600 renamed over the old
 * one, in a folder made with mode 0700. 0 or -1 (said). */
static int s_store(const opts_t *o, const char *token, const char *hq, char *path, size_t pathlen)
{
    char dir[PATH_MAX], tmp[PATH_MAX + 16];
    if (s_paths(dir, sizeof dir, path, pathlen) != 0) {
        fprintf(stderr,
                "hallctl %s: neither $XDG_CONFIG_HOME nor $HOME says where to keep the "
                "token\n",
                o->command);
        return -1;
    }
    /* ~/.config may not exist yet: make it (0700, as for the folder). */
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        if (mkdir(parent, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "hallctl %s: %s: %s\n", o->command, parent, strerror(errno));
            return -1;
        }
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "hallctl %s: %s: %s\n", o->command, dir, strerror(errno));
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "hallctl %s: %s: %s\n", o->command, tmp, strerror(errno));
        return -1;
    }
    char text[LOGIN_FILE_MAX];
    int n = snprintf(text, sizeof text, "%s\n%s\n", token, hq);
    /* The umask cannot widen it, but fchmod says what is meant. */
    bool ok = n > 0 && (size_t)n < sizeof text && fchmod(fd, 0600) == 0 &&
              write(fd, text, (size_t)n) == n && fsync(fd) == 0;
    explicit_bzero(text, sizeof text);
    if (close(fd) != 0)
        ok = false;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "hallctl %s: cannot write %s: %s\n", o->command, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------ the password */

/* One line from standard input; without echo when it is a terminal (and
 * a prompt on stderr). 0, or -1 (said). */
static int s_password(const opts_t *o, const char *name, char *out, size_t outlen)
{
    bool tty = isatty(STDIN_FILENO);
    struct termios saved, quiet;
    if (tty) {
        fprintf(stderr, "password for %s: ", name);
        fflush(stderr);
        if (tcgetattr(STDIN_FILENO, &saved) == 0) {
            quiet = saved;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        } else {
            tty = false;
        }
    }
    bool got = fgets(out, (int)outlen, stdin) != NULL;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        fputc('\n', stderr);
    }
    size_t len = got ? strlen(out) : 0;
    bool whole = len > 0 && out[len - 1] == '\n';
    if (whole)
        out[--len] = '\0';
    if (!got || len == 0 || (!whole && !feof(stdin))) {
        fprintf(stderr, "hallctl %s: %s\n", o->command,
                !got || len == 0 ? "no password on standard input"
                                 : "the password is longer than 1024 bytes");
        explicit_bzero(out, outlen);
        return -1;
    }
    return 0;
}

/* "hallctl-HOST-YYYYmmddHHMMSS" with only the characters a token's name
 * may hold: where and when the token was made, as hqd users list shows. */
static void s_token_name(char *out, size_t outlen)
{
    char host[64] = "";
    if (gethostname(host, sizeof host) != 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    for (char *p = host; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            *p = '-';
    }
    host[32] = '\0';
    time_t now = time(NULL);
    struct tm tm;
    char when[32] = "0";
    if (gmtime_r(&now, &tm))
        strftime(when, sizeof when, "%Y%m%d%H%M%S", &tm);
    snprintf(out, outlen, "hallctl-%s%s%s", host, host[0] ? "-" : "", when);
}

/* ------------------------------------------------------- the commands */

/* The options with no token at all: login proves who it is with the
 * password, and logout sends the stored one explicitly. */
static opts_t s_plain(const opts_t *o, char *token)
{
    opts_t p = *o;
    p.token = token;
    p.no_stored_token = true;
    return p;
}

static int s_login(const opts_t *o)
{
    const char *name = o->args[0];
    char password[LOGIN_PASSWORD_MAX + 2], tname[80];
    if (s_password(o, name, password, sizeof password) != 0)
        return EXIT_USAGE;
    s_token_name(tname, sizeof tname);
    json_t *body =
        json_pack("{s:s, s:s, s:s}", "name", name, "password", password, "token_name", tname);
    explicit_bzero(password, sizeof password);
    if (!body) {
        fprintf(stderr, "hallctl %s: the name or the password is not valid UTF-8\n", o->command);
        return EXIT_USAGE;
    }
    opts_t p = s_plain(o, NULL);
    int status;
    json_t *a = NULL;
    int rc = hallctl_request(&p, o->hq, "--hq", "POST", "/v1/tokens", body, &status, &a);
    /* The body held the password: wiped before it is freed. */
    json_object_set_new(body, "password", json_string(""));
    json_decref(body);
    if (rc != 0)
        return rc;
    const char *token = hallctl_jstr(a, "token");
    if (status != 201 || !token[0]) {
        hallctl_print_refusal(o, status, a);
        json_decref(a);
        return EXIT_FAILED;
    }
    char path[PATH_MAX];
    if (s_store(o, token, o->hq, path, sizeof path) != 0) {
        json_decref(a);
        return EXIT_FAILED;
    }
    if (o->json) {
        /* Everything but the token itself, which is in the file. */
        json_object_del(a, "token");
        json_object_set_new(a, "stored", json_string(path));
        hallctl_print_json(a);
    } else {
        const char *expires = hallctl_jstr(a, "expires_at");
        printf("logged in to %s as %s; token %s stored in %s (expires %s)\n", o->hq,
               hallctl_jstr(a, "name"), hallctl_jstr(a, "token_name"), path,
               expires[0] ? expires : "never");
    }
    json_decref(a);
    return 0;
}

static int s_logout(const opts_t *o)
{
    char token[LOGIN_TOKEN_MAX], hq[LOGIN_FILE_MAX], err[PATH_MAX + 128], path[PATH_MAX];
    hallctl_token_path(path, sizeof path);
    int rc = hallctl_token_load(token, sizeof token, hq, sizeof hq, err, sizeof err);
    if (rc == HB_ENOTFOUND) {
        fprintf(stderr, "hallctl %s: not logged in (no %s)\n", o->command, path);
        return EXIT_FAILED;
    }
    if (rc != 0) {
        fprintf(stderr, "hallctl %s: %s\n", o->command, err);
        return EXIT_FAILED;
    }
    /* The HQ the token is for, unless --hq names the same one. */
    const char *base = hq;
    if (o->hq && !o->hq_from_env && strcmp(o->hq, hq) != 0) {
        fprintf(stderr, "hallctl %s: the stored token is for %s, not %s\n", o->command, hq, o->hq);
        return EXIT_USAGE;
    }
    opts_t p = s_plain(o, token);
    int status;
    json_t *me = NULL;
    rc = hallctl_request(&p, base, "--hq", "GET", "/v1/me", NULL, &status, &me);
    if (rc != 0) {
        explicit_bzero(token, sizeof token);
        return rc;
    }
    if (status == 401) {
        /* Revoked, expired, or the person removed: nothing left to revoke. */
        json_decref(me);
        explicit_bzero(token, sizeof token);
        if (unlink(path) != 0) {
            fprintf(stderr, "hallctl %s: %s: %s\n", o->command, path, strerror(errno));
            return EXIT_FAILED;
        }
        printf("the stored token no longer worked at %s; deleted %s\n", base, path);
        return 0;
    }
    const char *tname = hallctl_jstr(me, "token");
    if (status != 200 || !tname[0]) {
        hallctl_print_refusal(o, status, me);
        json_decref(me);
        explicit_bzero(token, sizeof token);
        return EXIT_FAILED;
    }
    json_t *body = json_pack("{s:s}", "token_name", tname);
    json_t *a = NULL;
    rc = hallctl_request(&p, base, "--hq", "POST", "/v1/tokens/revoke", body, &status, &a);
    json_decref(body);
    explicit_bzero(token, sizeof token);
    if (rc != 0) {
        json_decref(me);
        return rc;
    }
    if (status != 200) {
        hallctl_print_refusal(o, status, a);
        json_decref(a);
        json_decref(me);
        return EXIT_FAILED;
    }
    if (unlink(path) != 0) {
        fprintf(stderr, "hallctl %s: revoked, but %s: %s\n", o->command, path, strerror(errno));
        json_decref(a);
        json_decref(me);
        return EXIT_FAILED;
    }
    if (o->json)
        hallctl_print_json(a);
    else
        printf("logged out of %s: token %s of %s revoked, %s deleted\n", base, tname,
               hallctl_jstr(me, "name"), path);
    json_decref(a);
    json_decref(me);
    return 0;
}

const hallctl_command_t hallctl_login_commands[] = {
    {"login", s_login, "login NAME --hq URL",
     "ask HQ for an API token with NAME's password (read from standard input, without echo on "
     "a terminal) and keep it in ~/.config/hallbus/token (0600) for later commands to that HQ",
     "hq", "hq", 1, 1, "a user name"},
    {"logout", s_logout, "logout [--hq URL]",
     "revoke the token hallctl login stored, at the HQ it is for, and delete the file", "hq", "", 0,
     0, NULL},
};
const size_t hallctl_login_ncommands =
    sizeof hallctl_login_commands / sizeof hallctl_login_commands[0];
