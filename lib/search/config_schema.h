#ifndef SPARSE_SEARCH_CONFIG_SCHEMA_H
#define SPARSE_SEARCH_CONFIG_SCHEMA_H

/* The search config's names and keys, shared by the reader (config.c) and
 * the writer of the resolved config.yaml (config_yaml.c), so that what is
 * written is always what is read back. */

#include <stddef.h>

/* Indexed by the enums and flags of sparse_search_config. */
extern const char *const sparse__cfg_layer_type_names[];
extern const char *const sparse__cfg_prune_names[];
extern const char *const sparse__cfg_optimizer_names[];
extern const char *const sparse__cfg_prune_noise_names[];
extern const char *const sparse__cfg_schedule_names[];
extern const char *const sparse__cfg_ranking_names[];
extern const char *const sparse__cfg_layout_names[];
extern const char *const sparse__cfg_val_split_names[];
extern const char *const sparse__cfg_input_downsampling_names[];
extern const char *const sparse__cfg_bool_names[];
extern const char *const sparse__cfg_plot_accuracy_names[];
extern const char *const sparse__cfg_fill_names[]; /* final.fill, by sparse__final_fill */

/* space: keys holding a [low, high] range of sparse_search_config, at offset. */
typedef struct sparse__range_key {
    const char *key;
    size_t offset;
    double min, max;
    int integer;
} sparse__range_key;

/* space: keys holding a set of false/true choices, at offset. */
typedef struct sparse__bool_key {
    const char *key;
    size_t offset;
} sparse__bool_key;

extern const sparse__range_key sparse__cfg_range_keys[];
extern const size_t sparse__cfg_nrange;
extern const sparse__bool_key sparse__cfg_bool_keys[];
extern const size_t sparse__cfg_nbool;

#endif
