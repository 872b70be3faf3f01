/* `hqd users ...`: the command line that enrols people (users.c says how).
 * hqd's main hands it the arguments after "hqd" when the first is "users";
 * it never starts the daemon. */
#ifndef HQD_USERS_H
#define HQD_USERS_H

/* argv[0] is "users"; returns the exit code: 0, 1 (the store refused or
 * failed), 2 (a wrong command line, said on stderr). */
int hq_users_main(int argc, char **argv);

#endif
