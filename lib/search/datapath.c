/* Where a search's data is and how it is opened: the config's data keys
 * become sparse_data_open's options, here only, so the search, a resume and
 * the commands that reopen a run's splits read the same images. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/internal.h"
#include "search_internal.h"

/* A relative data path is the config file's neighbour, whatever the current
 * directory: it becomes absolute, so the run's config.yaml names the same
 * data when resumed from elsewhere. */
int sparse__config_resolve_data(sparse_search_config *c, const char *config_path)
{
    if (!c->data[0] || c->data[0] == '/' || !strcmp(c->data, "mnist"))
        return SPARSE_OK;
    sparse__buf b = SPARSE__BUF_INIT;
    const char *slash = strrchr(config_path, '/');
    if (config_path[0] != '/') {
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd))
            return sparse__error(SPARSE_EIO, "%s: data.source %s: cannot resolve against the current directory: %s",
                                 config_path, c->data, strerror(errno));
        sparse__buf_printf(&b, "%s/", cwd);
    }
    if (slash)
        sparse__buf_printf(&b, "%.*s/", (int)(slash - config_path), config_path);
    sparse__buf_puts(&b, c->data);
    char *abs = sparse__buf_detach(&b);
    if (!abs)
        return SPARSE_ENOMEM;
    /* Without the ".." and links when the data is there; as joined when not
     * (the search then says it is missing, naming this path). */
    char *real = realpath(abs, NULL);
    if (real) {
        free(abs);
        abs = real;
    }
    free(c->data);
    c->data = abs;
    return SPARSE_OK;
}

int sparse__open_data(const sparse_search_config *cfg, const char *override, sparse_dataset **train,
                      sparse_dataset **val, sparse_dataset **test)
{
    sparse_data_options d = SPARSE_DATA_OPTIONS_INIT;
    d.val_count = cfg->val_count;
    d.val_split = cfg->val_split;
    d.max_train = cfg->max_train;
    d.binary = cfg->binary;
    d.seed = cfg->seed;
    d.height = cfg->shape[0];
    d.width = cfg->shape[1];
    d.channels = cfg->shape[2];
    d.layout = cfg->layout;
    d.label_column = (int)cfg->label_column;
    return sparse_data_open(train, val, test, override ? override : cfg->data, &d);
}
