/* How the control plane's handlers (policies.c, campaigns.c) read a
 * request and refuse one: strictly (one JSON object, no member twice, no
 * `by` anywhere: who acts is the signed-in caller), and with every HB_E*
 * code turned into one HTTP status and error code, so a refusal reads the
 * same on every route. Internal to hqd/api; not for the link or the
 * auth routes, which have their own bodies. */
#ifndef HQD_API_CTLREQ_H
#define HQD_API_CTLREQ_H

#include "api.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_ERR_MAX 1024
#define CTL_ID_MAX 64                  /* region and campaign ids; halls are shorter */
#define CTL_NOTE_MAX 500               /* a publishing note, as a campaign step's */
#define CTL_USER_MAX 64                /* who acts: [A-Za-z0-9_.@-]{1,64}, campaign.h's rule */
#define CTL_CSV_MAX ((size_t)64 << 20) /* an export is refused rather than grown past this */

/* Answers a refusal for `rc`; `bad_code` names what an HB_EINVAL refuses,
 * `changed_nothing` adds that to the reason. */
void ctl_refuse(hb_http_req_t *req, int rc, const char *bad_code, const char *err,
                bool changed_nothing);
/* A refusal that carries `extra` under `key` (takes it). */
void ctl_refuse_with(hb_http_req_t *req, int status, const char *code, const char *reason,
                     const char *key, json_t *extra);
bool ctl_user_ok(const char *s);
/* "an object", "a string", ...: for refusals. */
const char *ctl_type_name(const json_t *j);
/* The body as one JSON object (new reference), NULL if empty and
 * `optional`; -1 after answering 400. */
int ctl_body(hb_http_req_t *req, bool optional, json_t **out);
/* The signed-in caller's name; NULL after answering. */
const char *ctl_actor_name(hb_http_req_t *req);
/* A step's body {"note": TEXT} (or none); -1 after answering. */
int ctl_actor(hb_http_req_t *req, bool allow_note, json_t **body, const char **by,
              const char **note);
/* -1 after answering when a document names who acts. */
int ctl_no_by_member(hb_http_req_t *req, const json_t *doc);
/* ?NAME as a flag; `*out` keeps its default when absent. */
int ctl_query_flag(hb_http_req_t *req, const char *name, bool *out);
/* The route parameter `name` as an id of at most `max` bytes. */
int ctl_path_id(hb_http_req_t *req, const char *name, size_t max, const char *what, char *out,
                size_t outlen);
/* A body's "id" must be the path's, or is filled in from it. */
int ctl_match_id(hb_http_req_t *req, json_t *body, const char *id);

#endif
