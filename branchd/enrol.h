/* `branchd enroll` and `branchd rotate` (enrol.c): the hall's own key pair
 * and its request to head office. Not the daemon. */
#ifndef BRANCHD_ENROL_H
#define BRANCHD_ENROL_H

/* Runs the command argv[1] names and returns its exit status, or -1 when
 * argv[1] is not one of these commands. */
int branchd_enrol_cli_main(int argc, char **argv);

#endif
