/* `sparse train --prune ...`: option parsing, the pruned training run and
 * its report, kept apart from cmd_train.c. */
#ifndef SPARSE_CLI_PRUNE_OPTS_H
#define SPARSE_CLI_PRUNE_OPTS_H

#include <stdio.h>

#include "sparse/sparse.h"

typedef struct cli_prune {
    sparse_prune_options o;
    int enabled;                 /* --prune given (none included) */
    const char *save_arch;       /* --save-arch OUT.yaml */
    const char *save_posterior;  /* --save-posterior W.safetensors */
    sparse_prune_result *res;
    sparse_net *varnet;          /* the network trained in variational mode */
    sparse_net *cnet;            /* the compacted network (borrowed: cmd_train owns it) */
} cli_prune;

void cli_prune_init(cli_prune *p);
void cli_prune_free(cli_prune *p);
void cli_prune_help(FILE *f);
/* 1: argv[*i] (and its value) consumed; 0: not a pruning option; -1: usage
 * error already reported. */
int cli_prune_parse(cli_prune *p, int argc, char **argv, int *i);
/* Trains *net with pruning; on success *net is the compacted, fine-tuned
 * network (the variational one is kept in p). Returns a CLI status. */
int cli_prune_train(cli_prune *p, sparse_net **net, const sparse_dataset *train, const sparse_train_options *o,
                    sparse_train_result *res);
/* After a successful run: --save-arch, --save-posterior. CLI status. */
int cli_prune_save(cli_prune *p);
/* Text report lines, and the JSON fields (each starting with ", "). */
void cli_prune_print(const cli_prune *p, FILE *f);
void cli_prune_json(const cli_prune *p, FILE *f);

#endif
