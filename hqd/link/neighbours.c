/* The neighbour board (see neighbours.h). For each hall, by hall number,
 * a digest of the last board sent (without its time) and when: a board goes
 * out when its content changed and the interval passed, or when the
 * refresh is due (the hall marks a board stale after a few intervals
 * without one). */
#include "neighbours.h"

#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/time.h"

#include <stdlib.h>
#include <string.h>

typedef struct nb_hall {
    uint64_t digest;
    int64_t sent_mono;
} nb_hall_t;

struct hq_neighbours {
    hq_neighbours_config_t cfg;
    hq_control_t *ctl;
    hq_halls_t *halls;
    hq_ingest_t *ing;
    hq_board_t *board;
    nb_hall_t *per;
    size_t cap;
    int64_t last_round;
    uint64_t sent;
};

int hq_neighbours_new(hq_control_t *ctl, hq_halls_t *halls, hq_ingest_t *ing, hq_board_t *board,
                      const hq_neighbours_config_t *cfg, hq_neighbours_t **out)
{
    hq_neighbours_t *n = calloc(1, sizeof *n);
    if (!n)
        return HB_ENOMEM;
    n->cfg = *cfg;
    n->ctl = ctl;
    n->halls = halls;
    n->ing = ing;
    n->board = board;
    *out = n;
    return 0;
}

void hq_neighbours_destroy(hq_neighbours_t **np)
{
    hq_neighbours_t *n = *np;
    if (!n)
        return;
    free(n->per);
    free(n);
    *np = NULL;
}

static nb_hall_t *s_per(hq_neighbours_t *n, uint32_t num)
{
    if (num >= n->cap) {
        size_t cap = n->cap ? n->cap : 1024;
        while (cap <= num)
            cap *= 2;
        nb_hall_t *p = realloc(n->per, cap * sizeof *p);
        if (!p)
            return NULL;
        memset(p + n->cap, 0, (cap - n->cap) * sizeof *p);
        n->per = p;
        n->cap = cap;
    }
    return &n->per[num];
}

/* FNV-1a over the fields that matter to the hall. */
static uint64_t s_mix(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

void hq_neighbours_tick(hq_neighbours_t *n)
{
    int64_t now = hb_mono_ms();
    if (now - n->last_round < n->cfg.interval_ms)
        return;
    n->last_round = now;
    const org_t *org = hq_control_org(n->ctl);
    size_t count = org_hall_count(org);
    bool sent_any = false;
    for (size_t i = 0; i < count; i++) {
        const org_hall_t *oh = org_hall_at(org, (uint32_t)i);
        if (oh->n_neighbours == 0)
            continue;
        hq_hall_t *h = hq_halls_find(n->halls, oh->id);
        if (!h || !hq_ingest_hall_online(n->ing, h))
            continue;
        nb_hall_t *per = s_per(n, h->num);
        if (!per)
            continue;
        Hallbus__Neighbour items[8], *ptrs[8];
        size_t k = 0;
        uint64_t digest = 14695981039346656037ULL;
        for (uint8_t j = 0; j < oh->n_neighbours && k < 8; j++) {
            const char *id = oh->neighbours[j];
            const org_hall_t *other = org_hall_find(org, id);
            const hq_tile_t *t = hq_board_tile(n->board, id);
            hallbus__neighbour__init(&items[k]);
            items[k].hall = (char *)id;
            items[k].name = (char *)(other && other->name ? other->name : "");
            if (t) {
                items[k].online = t->online;
                items[k].open = t->online && t->open;
                items[k].waiting = t->waiting;
                items[k].estimated_wait_s = t->est_wait_s;
            }
            uint32_t fig[4] = {items[k].online, items[k].open, items[k].waiting,
                               items[k].estimated_wait_s};
            digest = s_mix(digest, id, strlen(id));
            digest = s_mix(digest, fig, sizeof fig);
            ptrs[k] = &items[k];
            k++;
        }
        bool changed = digest != per->digest;
        if (!(changed || now - per->sent_mono >= n->cfg.refresh_ms))
            continue;
        Hallbus__NeighbourBoard nb = HALLBUS__NEIGHBOUR_BOARD__INIT;
        nb.at_ms = hb_now_ms();
        nb.n_neighbours = k;
        nb.neighbours = ptrs;
        if (hq_ingest_send_neighbours(n->ing, h, &nb) == 0) {
            per->digest = digest;
            per->sent_mono = now;
            n->sent++;
            sent_any = true;
        }
    }
    if (sent_any)
        hq_ingest_flush(n->ing);
}

uint64_t hq_neighbours_sent(const hq_neighbours_t *n) { return n->sent; }
