/* What each layer kind is, in one table: its YAML name, whether it only
 * appears in architectures, whether its nodes carry weights (the nodes
 * pruning works on and batch norm folds into), whether it takes the
 * convolution fields of a layer spec, and the kernels of its nodes. Every
 * other file, and through sparse_layer_kind_has_weights the prune and memory
 * modules, asks here instead of listing kinds again. */
#include "layers_internal.h"

static const sparse__kind_info kinds[SPARSE_LAYER_KIND_COUNT_] = {
    [SPARSE_LAYER_INPUT] = {"input", 0, 0, 0, NULL, NULL},
    [SPARSE_LAYER_CONV2D] = {"conv2d", 0, 1, 1, sparse__conv_forward, sparse__conv_backward},
    [SPARSE_LAYER_DOWNSAMPLED_CONV2D] = {"downsampled_conv2d", 1, 0, 1, NULL, NULL},
    [SPARSE_LAYER_SEPARABLE_CONV2D] = {"separable_conv2d", 1, 0, 1, NULL, NULL},
    [SPARSE_LAYER_DEPTHWISE_CONV2D] = {"depthwise_conv2d", 0, 1, 1, sparse__dwconv_forward,
                                       sparse__dwconv_backward},
    [SPARSE_LAYER_INPUT_DOWNSAMPLE] = {"input_downsample", 0, 0, 0, sparse__pool_forward,
                                       sparse__pool_backward},
    [SPARSE_LAYER_BATCHNORM] = {"batchnorm", 0, 0, 0, sparse__bn_forward, sparse__bn_backward},
    [SPARSE_LAYER_RELU] = {"relu", 0, 0, 0, sparse__relu_forward, sparse__relu_backward},
    [SPARSE_LAYER_MAXPOOL] = {"maxpool", 0, 0, 0, sparse__pool_forward, sparse__pool_backward},
    [SPARSE_LAYER_AVGPOOL] = {"avgpool", 0, 0, 0, sparse__pool_forward, sparse__pool_backward},
    [SPARSE_LAYER_FC] = {"fc", 0, 1, 0, sparse__fc_forward, sparse__fc_backward},
    [SPARSE_LAYER_RESIDUAL] = {"residual", 1, 0, 0, NULL, NULL},
    [SPARSE_LAYER_MERGE] = {"merge", 0, 0, 0, sparse__merge_forward, sparse__merge_backward},
};

const sparse__kind_info *sparse__kind(int kind)
{
    return kind >= 0 && kind < SPARSE_LAYER_KIND_COUNT_ ? &kinds[kind] : NULL;
}

SPARSE_API const char *sparse_layer_kind_name(int kind)
{
    const sparse__kind_info *k = sparse__kind(kind);
    return k ? k->name : "unknown";
}

SPARSE_API int sparse_layer_kind_has_weights(int kind)
{
    const sparse__kind_info *k = sparse__kind(kind);
    return k ? k->has_weights : 0;
}
