/* The neighbour board (see neighbours.h). For each hall, by hall number,
 * a digest of the last board sent (without its time) and when: a board goes
 * out when its content changed and the interval passed, or when the
 * refresh is due (the hall marks a board stale after a few intervals
 * without one).
 *
 * Who is whose neighbour is resolved once per change of the organisation
 * or of the set of halls (the ids the organisation lists become hall
 * numbers); a round then reaches every hall and neighbour by number. The
 * services a neighbour offers are taken once per round per neighbour (a
 * hall is often the neighbour of several), from the board's figures. */
#include "neighbours.h"

#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/idmap.h"
#include "hallbus/log.h"
#include "hallbus/time.h"
#include "hallbus/vec.h"

#include <stdlib.h>
#include <string.h>

#define NB_SERVICES_MAX 16 /* services sent per neighbour */

typedef struct nb_hall {
    uint64_t digest;
    int64_t sent_mono;
} nb_hall_t;

/* One organisation hall's neighbours, resolved. */
typedef struct nb_links {
    uint32_t num; /* the hall's own number, 0: never connected */
    uint8_t n;
    uint32_t nb_num[ORG_NEIGHBOURS_MAX];  /* 0: never connected */
    int32_t nb_index[ORG_NEIGHBOURS_MAX]; /* organisation index, -1: not placed */
} nb_links_t;

/* A neighbour's offered services, taken once per round. */
typedef struct nb_memo {
    uint64_t round;
    uint32_t off, n;
} nb_memo_t;

struct hq_neighbours {
    hq_neighbours_config_t cfg;
    hq_control_t *ctl;
    hq_halls_t *halls;
    hq_ingest_t *ing;
    hq_board_t *board;
    HB_VEC(nb_hall_t) per;    /* by hall number */
    HB_VEC(nb_links_t) links; /* by organisation hall index */
    bool links_ok;
    uint64_t links_org_gen;
    size_t links_halls;
    HB_VEC(nb_memo_t) memo;    /* by hall number */
    HB_VEC(hq_offer_t) offers; /* this round's, memo entries point into it */
    uint64_t round;
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
    n->per.max = n->memo.max = HQ_HALLS_MAX + 1;
    n->links.max = ORG_HALLS_MAX;
    /* Each hall's services at most, once a round. */
    n->offers.max = (size_t)HQ_HALLS_MAX * NB_SERVICES_MAX;
    *out = n;
    return 0;
}

static void s_fini(hq_neighbours_t *n)
{
    hb_vec_free(&n->per);
    hb_vec_free(&n->links);
    hb_vec_free(&n->memo);
    hb_vec_free(&n->offers);
}

void hq_neighbours_destroy(hq_neighbours_t **np) { HB_DESTROY(np, s_fini); }

/* Ids to numbers, for every hall that has neighbours: the only lookups by
 * id, once per change of the organisation or of the halls known. */
static int s_resolve(hq_neighbours_t *n, const org_t *org)
{
    size_t count = org_hall_count(org), known = hq_halls_count(n->halls);
    if (n->links_ok && n->links_org_gen == hq_control_org_generation(n->ctl) &&
        n->links_halls == known && n->links.n == count)
        return 0;
    n->links_ok = false;
    if (hb_vec_reserve(&n->links, count) != 0)
        return HB_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        const org_hall_t *oh = org_hall_at(org, (uint32_t)i);
        nb_links_t *l = &n->links.v[i];
        memset(l, 0, sizeof *l);
        if (oh->n_neighbours == 0)
            continue;
        const hq_hall_t *h = hq_halls_find(n->halls, oh->id);
        l->num = h ? h->num : 0;
        for (uint8_t j = 0; j < oh->n_neighbours && j < ORG_NEIGHBOURS_MAX; j++) {
            const hq_hall_t *nh = hq_halls_find(n->halls, oh->neighbours[j]);
            const org_hall_t *other = org_hall_find(org, oh->neighbours[j]);
            l->nb_num[j] = nh ? nh->num : 0;
            l->nb_index[j] = other ? (int32_t)other->index : -1;
            l->n = (uint8_t)(j + 1);
        }
    }
    n->links.n = count;
    n->links_ok = true;
    n->links_org_gen = hq_control_org_generation(n->ctl);
    n->links_halls = known;
    return 0;
}

/* The services hall `num` offers, taken once this round: where they sit
 * in n->offers (which may move when it grows, so callers take every
 * neighbour's first and point into it after). */
static nb_memo_t s_offers(hq_neighbours_t *n, uint32_t num, int64_t now)
{
    nb_memo_t none = {0};
    nb_memo_t *m = num ? hb_vec_at(&n->memo, num) : NULL;
    if (!m)
        return none;
    if (m->round != n->round) {
        if (hb_vec_reserve(&n->offers, n->offers.n + NB_SERVICES_MAX) != 0)
            return none;
        m->round = n->round;
        m->off = (uint32_t)n->offers.n;
        m->n = (uint32_t)hq_board_offered(n->board, num, now, n->offers.v + n->offers.n,
                                          NB_SERVICES_MAX);
        n->offers.n += m->n;
    }
    return *m;
}

void hq_neighbours_tick(hq_neighbours_t *n)
{
    int64_t now = hb_mono_ms();
    if (now - n->last_round < n->cfg.interval_ms)
        return;
    n->last_round = now;
    const org_t *org = hq_control_org(n->ctl);
    if (s_resolve(n, org) != 0)
        return;
    n->round++;
    n->offers.n = 0;
    int64_t wall = hb_now_ms();
    bool sent_any = false;
    for (size_t i = 0; i < n->links.n; i++) {
        const nb_links_t *l = &n->links.v[i];
        if (l->n == 0 || !l->num)
            continue;
        const org_hall_t *oh = org_hall_at(org, (uint32_t)i);
        hq_hall_t *h = hq_halls_by_num(n->halls, l->num);
        if (!h || !hq_ingest_hall_online(n->ing, h))
            continue;
        nb_hall_t *per = hb_vec_at(&n->per, h->num);
        if (!per)
            continue;
        Hallbus__Neighbour items[ORG_NEIGHBOURS_MAX], *ptrs[ORG_NEIGHBOURS_MAX];
        Hallbus__NeighbourService svc[ORG_NEIGHBOURS_MAX][NB_SERVICES_MAX];
        Hallbus__NeighbourService *svc_ptrs[ORG_NEIGHBOURS_MAX][NB_SERVICES_MAX];
        nb_memo_t where[ORG_NEIGHBOURS_MAX];
        for (uint8_t j = 0; j < l->n; j++) {
            const hq_tile_t *t = l->nb_num[j] ? hq_board_tile_at(n->board, l->nb_num[j]) : NULL;
            where[j] = t ? s_offers(n, l->nb_num[j], wall) : (nb_memo_t){0};
        }
        /* A hash of the fields that matter to the hall. */
        uint64_t digest = 0;
        for (uint8_t j = 0; j < l->n; j++) {
            const char *id = oh->neighbours[j];
            const org_hall_t *other =
                l->nb_index[j] >= 0 ? org_hall_at(org, (uint32_t)l->nb_index[j]) : NULL;
            const hq_tile_t *t = l->nb_num[j] ? hq_board_tile_at(n->board, l->nb_num[j]) : NULL;
            Hallbus__Neighbour *it = &items[j];
            hallbus__neighbour__init(it);
            it->hall = (char *)id;
            it->name = (char *)(other && other->name ? other->name : "");
            it->address = (char *)(other && other->address ? other->address : "");
            if (t) {
                it->online = t->online;
                it->open = t->online && t->open;
                it->waiting = t->waiting;
                it->estimated_wait_s = t->est_wait_s;
            }
            size_t n_off = where[j].n;
            const hq_offer_t *off = n_off ? n->offers.v + where[j].off : NULL;
            for (size_t k = 0; k < n_off; k++) {
                hallbus__neighbour_service__init(&svc[j][k]);
                svc[j][k].service = (char *)off[k].service;
                svc[j][k].estimated_wait_s = off[k].estimated_wait_s;
                svc[j][k].waiting = off[k].waiting;
                svc[j][k].counters_open = off[k].counters_open;
                svc_ptrs[j][k] = &svc[j][k];
            }
            it->n_services = n_off;
            it->services = n_off ? svc_ptrs[j] : NULL;
            uint32_t fig[4] = {it->online, it->open, it->waiting, it->estimated_wait_s};
            digest = hb_hash_bytes(id, strlen(id) + 1, digest);
            digest = hb_hash_bytes(it->address, strlen(it->address) + 1, digest);
            digest = hb_hash_bytes(fig, sizeof fig, digest);
            for (size_t k = 0; k < n_off; k++) {
                digest = hb_hash_bytes(off[k].service, strlen(off[k].service) + 1, digest);
                uint32_t sf[3] = {off[k].estimated_wait_s, off[k].waiting, off[k].counters_open};
                digest = hb_hash_bytes(sf, sizeof sf, digest);
            }
            ptrs[j] = it;
        }
        bool changed = digest != per->digest;
        if (!(changed || now - per->sent_mono >= n->cfg.refresh_ms))
            continue;
        Hallbus__NeighbourBoard nb = HALLBUS__NEIGHBOUR_BOARD__INIT;
        nb.at_ms = wall;
        nb.n_neighbours = l->n;
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
