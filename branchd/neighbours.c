/* What branchd makes of the neighbour board HQ sends: whether it is still
 * current. Apart from main.c (which stores each board as it arrives) so
 * that the API's handlers ask here rather than the daemon's main file. */
#include "branchd.h"

#include "hallbus/time.h"

bool branchd_neighbours_stale(const branchd_t *d)
{
    uplink_stats_t st;
    uplink_get_stats(d->uplink, &st);
    return !advice_board_current(&d->neighbours, st.connected, hb_mono_ms());
}
