/* cli.h - the subcommands of the ticktap binary; each returns the process exit status. */
#ifndef TT_CLI_H
#define TT_CLI_H

int cmd_analyze(int argc, char **argv);
int cmd_run(int argc, char **argv);

#endif
