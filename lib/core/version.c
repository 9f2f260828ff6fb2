#include "internal.h"

SPARSE_API const char *sparse_version(void) { return SPARSE_VERSION_STRING; }
SPARSE_API int sparse_version_number(void) { return SPARSE_VERSION_NUMBER; }
