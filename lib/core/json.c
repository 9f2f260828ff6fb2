/* sparse_json: JSON text built value by value, on the escaping of the
 * records' writer (sparse__buf_json_string), so that every JSON the library
 * and the sparse command print escapes alike. */
#include <stdlib.h>

#include "internal.h"

#define JSON_MAX_DEPTH 32

struct sparse_json {
    sparse__buf b;
    int depth;
    char close[JSON_MAX_DEPTH]; /* '}' or ']' per open container */
    int count[JSON_MAX_DEPTH];  /* values (or keys) written in it so far */
    int after_key;              /* a key was written; its value comes next */
    int rc;                     /* the first failure, sticky */
};

SPARSE_API int sparse_json_create(sparse_json **out)
{
    SPARSE__CHECK_NULL(out);
    *out = sparse__calloc(1, sizeof **out);
    return *out ? SPARSE_OK : SPARSE_ENOMEM;
}

SPARSE_API void sparse_json_free(sparse_json *j)
{
    if (!j)
        return;
    sparse__buf_free(&j->b);
    free(j);
}

/* Before a value: the comma after the previous one of its container; a
 * member of an object needs its key first. */
static int before_value(sparse_json *j, const char *fn)
{
    if (j->rc)
        return j->rc;
    if (j->after_key) {
        j->after_key = 0;
        return SPARSE_OK;
    }
    if (j->depth && j->close[j->depth - 1] == '}')
        return j->rc = sparse__error(SPARSE_EINVAL, "%s: a member of an object needs sparse_json_key first", fn);
    if (!j->depth && j->b.len)
        return j->rc = sparse__error(SPARSE_EINVAL, "%s: the text already holds a whole value", fn);
    if (j->depth && j->count[j->depth - 1]++)
        return j->rc = sparse__buf_put(&j->b, ",", 1);
    return SPARSE_OK;
}

static int put(sparse_json *j, int rc)
{
    if (rc && !j->rc)
        j->rc = rc;
    return j->rc;
}

SPARSE_API int sparse_json_begin(sparse_json *j, int array)
{
    SPARSE__CHECK_NULL(j);
    int rc = before_value(j, "sparse_json_begin");
    if (rc)
        return rc;
    if (j->depth == JSON_MAX_DEPTH)
        return j->rc = sparse__error(SPARSE_ERANGE, "sparse_json_begin: more than %d nested containers",
                                     JSON_MAX_DEPTH);
    j->close[j->depth] = array ? ']' : '}';
    j->count[j->depth++] = 0;
    return put(j, sparse__buf_put(&j->b, array ? "[" : "{", 1));
}

SPARSE_API int sparse_json_end(sparse_json *j)
{
    SPARSE__CHECK_NULL(j);
    if (j->rc)
        return j->rc;
    if (!j->depth || j->after_key)
        return j->rc = sparse__error(SPARSE_EINVAL, "sparse_json_end: %s", j->after_key ? "a key without its value"
                                                                                         : "no container is open");
    return put(j, sparse__buf_put(&j->b, &j->close[--j->depth], 1));
}

SPARSE_API int sparse_json_key(sparse_json *j, const char *key)
{
    SPARSE__CHECK_NULL(j);
    SPARSE__CHECK_NULL(key);
    if (j->rc)
        return j->rc;
    if (!j->depth || j->close[j->depth - 1] != '}' || j->after_key)
        return j->rc = sparse__error(SPARSE_EINVAL, "sparse_json_key: '%s' outside an object or after a key", key);
    if (j->count[j->depth - 1]++ && put(j, sparse__buf_put(&j->b, ",", 1)))
        return j->rc;
    put(j, sparse__buf_json_string(&j->b, key));
    j->after_key = 1;
    return put(j, sparse__buf_put(&j->b, ":", 1));
}

SPARSE_API int sparse_json_string(sparse_json *j, const char *s)
{
    SPARSE__CHECK_NULL(j);
    int rc = before_value(j, "sparse_json_string");
    return rc ? rc : put(j, sparse__buf_json_string(&j->b, s));
}

SPARSE_API int sparse_json_number(sparse_json *j, double v)
{
    SPARSE__CHECK_NULL(j);
    int rc = before_value(j, "sparse_json_number");
    return rc ? rc : put(j, sparse__buf_json_double(&j->b, v));
}

SPARSE_API int sparse_json_integer(sparse_json *j, long long v)
{
    SPARSE__CHECK_NULL(j);
    int rc = before_value(j, "sparse_json_integer");
    return rc ? rc : put(j, sparse__buf_printf(&j->b, "%lld", v));
}

SPARSE_API int sparse_json_bool(sparse_json *j, int v)
{
    SPARSE__CHECK_NULL(j);
    int rc = before_value(j, "sparse_json_bool");
    return rc ? rc : put(j, sparse__buf_puts(&j->b, v ? "true" : "false"));
}

SPARSE_API int sparse_json_null(sparse_json *j)
{
    SPARSE__CHECK_NULL(j);
    int rc = before_value(j, "sparse_json_null");
    return rc ? rc : put(j, sparse__buf_puts(&j->b, "null"));
}

SPARSE_API int sparse_json_raw(sparse_json *j, const char *json)
{
    SPARSE__CHECK_NULL(j);
    SPARSE__CHECK_NULL(json);
    int rc = before_value(j, "sparse_json_raw");
    return rc ? rc : put(j, sparse__buf_puts(&j->b, json));
}

SPARSE_API int sparse_json_text(const sparse_json *j, const char **text)
{
    SPARSE__CHECK_NULL(j);
    SPARSE__CHECK_NULL(text);
    *text = NULL;
    if (j->rc)
        return j->rc;
    if (j->depth || j->after_key || !j->b.len)
        return sparse__error(SPARSE_EINVAL, "sparse_json_text: the value is not complete (%d containers open)",
                             j->depth);
    *text = j->b.data;
    return SPARSE_OK;
}
