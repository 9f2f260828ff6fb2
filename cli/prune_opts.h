/* `sparsenas train --prune ...`: the pruning options, the pruned training run
 * and its report, kept apart from cmd_train.c. */
#ifndef SPARSE_CLI_PRUNE_OPTS_H
#define SPARSE_CLI_PRUNE_OPTS_H

#include <math.h>
#include <stdio.h>

#include "cli.h"

typedef struct cli_prune_args {
    int method;                 /* --prune: sparse_prune_method; -1 when not given */
    double threshold;           /* --threshold; NAN: the method's default */
    double kl_weight;           /* --kl-weight */
    long zero_epochs, anneal_epochs, finetune_epochs;
    const char *save_arch;      /* --save-arch OUT.yaml */
    const char *save_posterior; /* --save-posterior W.safetensors */
    double finetune_lr_scale;   /* --finetune-lr-scale */
    const char *thresholds;     /* --thresholds T1,T2,...: chosen on validation images */
    long max_nonzeros;          /* --max-nonzeros: the bound the chosen threshold must meet */
    int noise;                  /* --noise: sparse_prune_noise */
} cli_prune_args;

/* What the threshold sweep measured at one candidate. */
typedef struct cli_sweep_row {
    double threshold, val_accuracy;
    size_t nonzeros;
} cli_sweep_row;
#define CLI_SWEEP_MAX 32

/* The values that mean "not given" (the rest come from the table's defaults). */
#define CLI_PRUNE_ARGS_INIT {.method = -1, .threshold = NAN}

extern const cli_choice cli_prune_methods[];
extern const cli_choice cli_prune_noises[];

/* The pruning options of a command whose struct type holds a cli_prune_args
 * member: a --help section of their own. */
#define CLI_PRUNE_OPTS(type, member)                                                                       \
    CLI_SECTION_TEXT("Pruning (SpVD: unstructured, BC: structured with compaction):"),                     \
    CLI_OPT_CHOICE("prune", "none|spvd|bc", offsetof(type, member.method), cli_prune_methods, NULL,        \
                   "train in variational mode, prune, compact, fine-tune"),                                \
    CLI_OPT_NUMBER("threshold", "T", offsetof(type, member.threshold), CLI_ANY_NUMBER, NULL,               \
                   "log-alpha pruning threshold (default 3 for spvd, -1 for bc)"),                         \
    CLI_OPT_CHOICE("noise", "activation|weight", offsetof(type, member.noise), cli_prune_noises, "activation", \
                   "how training samples the weights: a draw per output activation (the\n"                 \
                   "local reparameterisation) or one per weight and batch (a step costs\n"                 \
                   "about a plain one; docs/pruning.md, \"Noise\")"),                                        \
    CLI_OPT_NUMBER("kl-weight", "A", offsetof(type, member.kl_weight), CLI_NON_NEGATIVE, "1",              \
                   "final KL coefficient (Table 5 alpha)"),                                                \
    CLI_OPT_LONG("zero-epochs", "Z", offsetof(type, member.zero_epochs), 0, 100000, "0",                   \
                 "epochs before the KL term starts"),                                                      \
    CLI_OPT_LONG("anneal-epochs", "E", offsetof(type, member.anneal_epochs), 0, 100000, "15",              \
                 "epochs of the linear KL ramp"),                                                          \
    CLI_OPT_LONG("finetune-epochs", "F", offsetof(type, member.finetune_epochs), 0, 100000, "0",           \
                 "plain training of the compacted network"),                                               \
    CLI_OPT_NUMBER("finetune-lr-scale", "X", offsetof(type, member.finetune_lr_scale), CLI_POSITIVE, "1",  \
                   "fine-tuning runs at X times --lr (the LeNet-5 recipe of\ndocs/pruning.md: 0.3)"),            \
    CLI_OPT_STRING("thresholds", "LIST", offsetof(type, member.thresholds),                            \
                   "comma-separated candidate thresholds (instead of --threshold): after the\n"                \
                   "variational phase each is measured on the validation images; the most\n"               \
                   "accurate within --max-nonzeros is kept (ties: fewer non-zeros)"),                      \
    CLI_OPT_LONG("max-nonzeros", "N", offsetof(type, member.max_nonzeros), 0, 2147483647L, "0",            \
                 "bound on the non-zero weights for --thresholds (0: none; if no\n"                        \
                 "candidate meets it, the one with the fewest)"),                                          \
    CLI_OPT_STRING("save-arch", "OUT.yaml", offsetof(type, member.save_arch),                              \
                   "write the compacted architecture"),                                                    \
    CLI_OPT_STRING("save-posterior", "W.safetensors", offsetof(type, member.save_posterior),               \
                   "write the variational state (posterior parameters)")

/* A pruned training run and what it leaves. */
typedef struct cli_pruning {
    sparse_prune_options o;
    sparse_prune_result *res;
    sparse_net *varnet; /* the network trained in variational mode */
    sparse_net *cnet;   /* the compacted network (borrowed: the caller owns it) */
    cli_sweep_row sweep[CLI_SWEEP_MAX]; /* --thresholds, in the order given */
    size_t n_sweep;
    sparse_train_result finetune; /* the fine-tuning after a sweep */
} cli_pruning;

void cli_pruning_free(cli_pruning *p);
/* Trains *net with pruning; on success *net is the compacted, fine-tuned
 * network (the variational one is kept in p). CLI status. */
int cli_prune_train(cli_pruning *p, const cli_prune_args *a, sparse_net **net, const sparse_dataset *train,
                    const sparse_dataset *val, const sparse_train_options *o, sparse_train_result *res);
/* After a successful run: --save-arch, --save-posterior. CLI status. */
int cli_prune_save(const cli_pruning *p, const cli_prune_args *a);
/* Text report lines, and the JSON member "prune" (null without --prune). */
void cli_prune_print(const cli_pruning *p, FILE *f);
void cli_prune_json(const cli_pruning *p, const cli_prune_args *a, sparse_json *j);

#endif
