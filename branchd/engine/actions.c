/* The action table of the hall engine: every action, one row each, which
 * engine__run (engine.c) carries out. A row says which event the action
 * writes, what it needs found in the hall's live state and in which of its
 * states (else the refusal "<it> is <its state>; <these words>"), whether
 * the key it is given must be an id, and where its own steps are: in the
 * file of its subject (tickets.c, counters.c, complaints.c, devices.c).
 * What the runner does with a row is said in engine_private.h. */
#include "engine_private.h"

#define EV(kind) HALLBUS__ENVELOPE__BODY_##kind

/* The sets of states rows accept, by name. */
#define NOT_BY_STATE 0 /* nothing looked up, or a complaint in any state */
#define T_CALLED ENGINE_ST(HB_TICKET_CALLED)
#define T_NOT_SERVED (ENGINE_ST(HB_TICKET_WAITING) | ENGINE_ST(HB_TICKET_CALLED))
#define C_IDLE ENGINE_ST(HB_COUNTER_IDLE)
#define C_PAUSED ENGINE_ST(HB_COUNTER_PAUSED)
#define C_NOT_BUSY (C_IDLE | C_PAUSED)
#define C_CALLING ENGINE_ST(HB_COUNTER_CALLING)
#define C_SERVING ENGINE_ST(HB_COUNTER_SERVING)
#define C_OPEN (C_IDLE | C_PAUSED | C_CALLING | C_SERVING)

/* Where a row needs a word of its own:
 * - call accepts a counter in every open state: a paused or busy counter is
 *   told what to do first in the call's own words (tickets.c);
 * - transfer checks the service named before it looks for the ticket, so
 *   its builder finds the ticket;
 * - counter open refuses a counter open already in its check, in words of
 *   its own;
 * - the overdue escalation is the tick's: it found the complaint and its
 *   deadline, and looks nothing up. */

/* Laid out by hand, four lines a row; clang-format would give each field a
 * line of its own. */
/* clang-format off */
const engine_action_t engine__actions[ENGINE_ACTIONS] = {
    /* [action] = {name, the event it writes,
     *             what it needs, in which states,
     *             the refusal's last words in another state ("": none),
     *             the key's name when it must be an id ("": any key), its own steps} */
    [ENGINE_ISSUE] = {"issue", EV(TICKET_ISSUED),
                      ENGINE_NEEDS_NOTHING, NOT_BY_STATE,
                      "",
                      "", &engine__issue_steps},
    [ENGINE_CALL] = {"call", EV(TICKET_CALLED),
                     ENGINE_NEEDS_COUNTER, C_OPEN,
                     "",
                     "", &engine__call_steps},
    [ENGINE_RECALL] = {"recall", EV(TICKET_RECALLED),
                       ENGINE_NEEDS_TICKET, T_CALLED,
                       "only a called ticket can be recalled",
                       "", &engine__recall_steps},
    [ENGINE_NO_SHOW] = {"no-show", EV(TICKET_NO_SHOW),
                        ENGINE_NEEDS_TICKET, T_CALLED,
                        "only a called ticket whose customer did not come is a no-show",
                        "", &engine__no_show_steps},
    [ENGINE_TRANSFER] = {"transfer", EV(TICKET_TRANSFERRED),
                         ENGINE_NEEDS_NOTHING, NOT_BY_STATE,
                         "",
                         "", &engine__transfer_steps},
    [ENGINE_CANCEL] = {"cancel", EV(TICKET_CANCELLED),
                       ENGINE_NEEDS_TICKET, T_NOT_SERVED,
                       "a ticket being served is completed, not cancelled",
                       "", &engine__cancel_steps},
    [ENGINE_COUNTER_OPEN] = {"counter open", EV(COUNTER_OPENED),
                             ENGINE_NEEDS_NOTHING, NOT_BY_STATE,
                             "",
                             "counter", &engine__counter_open_steps},
    [ENGINE_COUNTER_PAUSE] = {"counter pause", EV(COUNTER_PAUSED),
                              ENGINE_NEEDS_COUNTER, C_IDLE,
                              "finish the ticket before pausing",
                              "", &engine__counter_pause_steps},
    [ENGINE_COUNTER_RESUME] = {"counter resume", EV(COUNTER_RESUMED),
                               ENGINE_NEEDS_COUNTER, C_PAUSED,
                               "only a paused counter resumes",
                               "", &engine__counter_resume_steps},
    [ENGINE_COUNTER_CLOSE] = {"counter close", EV(COUNTER_CLOSED),
                              ENGINE_NEEDS_COUNTER, C_NOT_BUSY,
                              "finish the ticket before closing",
                              "", &engine__counter_close_steps},
    [ENGINE_START] = {"start", EV(SERVICE_STARTED),
                      ENGINE_NEEDS_COUNTER, C_CALLING,
                      "a service starts after a ticket was called",
                      "", &engine__start_steps},
    [ENGINE_COMPLETE] = {"complete", EV(SERVICE_COMPLETED),
                         ENGINE_NEEDS_COUNTER, C_SERVING,
                         "only a counter serving a customer completes a service",
                         "", &engine__complete_steps},
    [ENGINE_COMPLAINT_OPEN] = {"complaint open", EV(COMPLAINT_OPENED),
                               ENGINE_NEEDS_NOTHING, NOT_BY_STATE,
                               "",
                               "", &engine__complaint_open_steps},
    [ENGINE_COMPLAINT_ACK] = {"complaint ack", EV(COMPLAINT_ACKNOWLEDGED),
                              ENGINE_NEEDS_COMPLAINT, NOT_BY_STATE,
                              "",
                              "", &engine__complaint_ack_steps},
    [ENGINE_COMPLAINT_ESCALATE] = {"complaint escalate", EV(COMPLAINT_ESCALATED),
                                   ENGINE_NEEDS_COMPLAINT, NOT_BY_STATE,
                                   "",
                                   "", &engine__complaint_escalate_steps},
    [ENGINE_COMPLAINT_OVERDUE] = {"complaint escalate (deadline)", EV(COMPLAINT_ESCALATED),
                                  ENGINE_NEEDS_NOTHING, NOT_BY_STATE,
                                  "",
                                  "", &engine__complaint_overdue_steps},
    [ENGINE_COMPLAINT_RESOLVE] = {"complaint resolve", EV(COMPLAINT_RESOLVED),
                                  ENGINE_NEEDS_COMPLAINT, NOT_BY_STATE,
                                  "",
                                  "", &engine__complaint_resolve_steps},
    [ENGINE_FEEDBACK] = {"feedback", EV(SATISFACTION_SCORED),
                         ENGINE_NEEDS_NOTHING, NOT_BY_STATE,
                         "",
                         "", &engine__feedback_steps},
    [ENGINE_DEVICE_STATUS] = {"device status", EV(DEVICE_STATUS),
                              ENGINE_NEEDS_NOTHING, NOT_BY_STATE,
                              "",
                              "device", &engine__device_status_steps},
    [ENGINE_MEETING] = {"meeting", EV(MEETING_HELD),
                        ENGINE_NEEDS_NOTHING, NOT_BY_STATE,
                        "",
                        "", &engine__meeting_steps},
    [ENGINE_CHECKLIST] = {"checklist", EV(CHECKLIST_DONE),
                          ENGINE_NEEDS_NOTHING, NOT_BY_STATE,
                          "",
                          "", &engine__checklist_steps},
    [ENGINE_HALL_OPEN] = {"open the hall", EV(HALL_OPENED),
                          ENGINE_NEEDS_NOTHING, NOT_BY_STATE,
                          "",
                          "", &engine__hall_open_steps},
    [ENGINE_PATROL_DRAW] = {"patrol draw", EV(PATROL_DRAWN),
                            ENGINE_NEEDS_NOTHING, NOT_BY_STATE,
                            "",
                            "", &engine__patrol_draw_steps},
    [ENGINE_PATROL_SCORE] = {"patrol score", EV(PATROL_SCORED),
                             ENGINE_NEEDS_NOTHING, NOT_BY_STATE,
                             "",
                             "patrol", &engine__patrol_score_steps},
    [ENGINE_WORK_LOG] = {"work log", EV(WORK_LOGGED),
                         ENGINE_NEEDS_NOTHING, NOT_BY_STATE,
                         "",
                         "", &engine__work_log_steps},
    [ENGINE_CASH] = {"cash handover", EV(CASH_HANDED_OVER),
                     ENGINE_NEEDS_NOTHING, NOT_BY_STATE,
                     "",
                     "", &engine__cash_steps},
    [ENGINE_APPT_BOOK] = {"book", EV(APPOINTMENT_BOOKED),
                          ENGINE_NEEDS_NOTHING, NOT_BY_STATE,
                          "",
                          "", &engine__appt_book_steps},
    [ENGINE_APPT_CHECKIN] = {"check in", EV(TICKET_ISSUED),
                             ENGINE_NEEDS_NOTHING, NOT_BY_STATE,
                             "",
                             "", &engine__appt_checkin_steps},
    [ENGINE_APPT_CANCEL] = {"cancel booking", EV(APPOINTMENT_CANCELLED),
                            ENGINE_NEEDS_NOTHING, NOT_BY_STATE,
                            "",
                            "", &engine__appt_cancel_steps},
    [ENGINE_APPT_NO_SHOW] = {"booking no-show", EV(APPOINTMENT_NO_SHOW),
                             ENGINE_NEEDS_NOTHING, NOT_BY_STATE,
                             "",
                             "", &engine__appt_no_show_steps},
};
/* clang-format on */
