/* zt_pol_alias.c - the alias table: provider/policy/aliases.json, embedded
 * at build time (tools/embed_text.py) and parsed once. */
#include "zt_policy.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>

extern const char zt_pol_aliases_json[];
extern const size_t zt_pol_aliases_json_len;

static json_t *g_aliases; /* the "aliases" object; never freed */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void load(void)
{
    json_t *doc = json_loadb(zt_pol_aliases_json, zt_pol_aliases_json_len, 0, NULL);
    g_aliases = json_incref(json_object_get(doc, "aliases"));
    json_decref(doc);
}

static json_t *table(void)
{
    pthread_once(&g_once, load);
    return g_aliases;
}

const char *zt_pol_alias_path(const char *alias, bool *legacy_any)
{
    const char *k;
    json_t *v;
    *legacy_any = false;
    json_object_foreach(table(), k, v)
    {
        if (strcasecmp(k, alias) != 0 || !json_is_string(v))
            continue;
        const char *path = json_string_value(v);
        *legacy_any = strstr(path, "[*]") && !strstr(k, "[*]");
        return path;
    }
    return NULL;
}

const char *zt_pol_alias_at(size_t i)
{
    const char *k;
    json_t *v;
    size_t n = 0;
    json_object_foreach(table(), k, v)
    {
        if (n++ == i)
            return k;
    }
    return NULL;
}
