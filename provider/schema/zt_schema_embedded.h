/* zt_schema_embedded.h - the schema documents compiled into the binary.
 *
 * The definitions are generated at build time by tools/embed_schemas.py
 * from the JSON files listed in schemas/meson.build; the registry in
 * zt_schema.c parses them, and the unit tests check each one on its own.
 */
#ifndef ZT_SCHEMA_EMBEDDED_H
#define ZT_SCHEMA_EMBEDDED_H

#include <stddef.h>

typedef struct zt_schema_doc {
    const char *path; /* relative to schemas/, e.g. "provider.json" */
    const char *json; /* NUL-terminated */
    size_t len;       /* without the NUL */
} zt_schema_doc;

extern const zt_schema_doc zt_schema_docs[];
extern const size_t zt_schema_docs_count;

#endif
