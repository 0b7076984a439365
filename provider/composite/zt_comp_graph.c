/* zt_comp_graph.c - the node table expanded for one set of inputs:
 * instances (enabled, for_each), dependency edges and a topological order;
 * plus the definition checks (cycles) run by the unit tests over every
 * registered composite. */
#include "zt_comp_internal.h"

#include <string.h>

const char *zt_comp_action_name(zt_comp_action a)
{
    switch (a) {
    case ZT_COMP_CREATE: return "create";
    case ZT_COMP_UPDATE: return "update";
    case ZT_COMP_REPLACE: return "replace";
    case ZT_COMP_DELETE: return "delete";
    case ZT_COMP_NONE: return "none";
    case ZT_COMP_UNKNOWN: break;
    }
    return NULL;
}

const zt_comp_node_def *zt_comp_def_node(const zt_composite_def *def, const char *key)
{
    for (size_t i = 0; key && i < def->n_nodes; i++)
        if (strcmp(def->nodes[i].key, key) == 0)
            return &def->nodes[i];
    return NULL;
}

const char *zt_comp_key_node(zt_arena *a, const char *inst_key)
{
    /* "key", "key[instance]" or a renamed record's "key~<old ID>" */
    size_t n = strcspn(inst_key, "[~");
    return inst_key[n] ? zt_arena_strndup(a, inst_key, n) : inst_key;
}

/* ---- definition checks ------------------------------------------------------- */

enum { WHITE = 0, GREY, BLACK };

/* Depth-first search over definition edges; a grey node reached again is
 * a cycle, reported with the path that closes it. */
static bool def_cycle(const zt_composite_def *def, size_t i, int *color, size_t *stack,
                      size_t depth, zt_diags *d)
{
    color[i] = GREY;
    stack[depth] = i;
    const char *const *deps = def->nodes[i].depends_on;
    for (size_t k = 0; deps && deps[k]; k++) {
        const zt_comp_node_def *n = zt_comp_def_node(def, deps[k]);
        if (!n)
            continue;
        size_t j = (size_t)(n - def->nodes);
        if (color[j] == GREY) {
            zt_buf b;
            zt_buf_init(&b, d->arena);
            size_t from = depth;
            while (stack[from] != j)
                from--;
            for (size_t s = from; s <= depth; s++)
                zt_buf_printf(&b, "%s -> ", def->nodes[stack[s]].key);
            zt_buf_puts(&b, def->nodes[j].key);
            zt_diag_error(d, NULL, "Composite definition has a dependency cycle",
                          "%s: %s. This is a provider bug.", def->type_name, zt_buf_cstr(&b));
            return true;
        }
        if (color[j] == WHITE && def_cycle(def, j, color, stack, depth + 1, d))
            return true;
    }
    color[i] = BLACK;
    return false;
}

static zt_rc def_check_node(const zt_composite_def *def, size_t i, zt_diags *d)
{
    const zt_comp_node_def *n = &def->nodes[i];
    zt_rc rc = ZT_OK;
    if (!n->key || !*n->key || strchr(n->key, '[') || !n->arm_type || !n->name || !n->body)
        return zt_diag_error(d, NULL, "Invalid composite node",
                             "%s: node %zu needs a key (without '['), arm_type, name and body.",
                             def->type_name, i);
    const char *slash = strchr(n->arm_type, '/');
    if (!slash || (strchr(slash + 1, '/') && !n->parent_id))
        rc = zt_diag_error(d, NULL, "Invalid composite node",
                           "%s: node \"%s\" has type %s: child types need a parent_id.",
                           def->type_name, n->key, n->arm_type);
    for (size_t j = 0; j < i; j++)
        if (strcmp(def->nodes[j].key, n->key) == 0)
            rc = zt_diag_error(d, NULL, "Duplicate composite node",
                               "%s: node key \"%s\" is used twice.", def->type_name, n->key);
    for (size_t k = 0; n->depends_on && n->depends_on[k]; k++)
        if (!zt_comp_def_node(def, n->depends_on[k]))
            rc = zt_diag_error(d, NULL, "Unknown composite dependency",
                               "%s: node \"%s\" depends on \"%s\", which is not a node.",
                               def->type_name, n->key, n->depends_on[k]);
    return rc;
}

zt_rc zt_comp_def_check(const zt_composite_def *def, zt_diags *d)
{
    zt_rc rc = ZT_OK;
    if (!def->type_name || !def->nodes || !def->n_nodes)
        return zt_diag_error(d, NULL, "Invalid composite", "A composite needs a name and nodes.");
    for (size_t i = 0; i < def->n_nodes; i++)
        if (def_check_node(def, i, d) != ZT_OK)
            rc = ZT_ERR_INVALID;
    const zt_comp_node_def *idn = zt_comp_def_node(def, def->id_node);
    if (!idn || idn->for_each || idn->enabled)
        rc = zt_diag_error(d, NULL, "Invalid composite id_node",
                           "%s: id_node must name a single, always enabled node.",
                           def->type_name);
    if (rc != ZT_OK)
        return rc;
    int *color = zt_arena_calloc(d->arena, def->n_nodes, sizeof(*color));
    size_t *stack = zt_arena_calloc(d->arena, def->n_nodes + 1, sizeof(*stack));
    for (size_t i = 0; i < def->n_nodes; i++)
        if (color[i] == WHITE && def_cycle(def, i, color, stack, 0, d))
            return ZT_ERR_INVALID;
    return ZT_OK;
}

/* ---- expansion ------------------------------------------------------------------ */

ssize_t zt_comp_graph_find(const zt_comp_graph *g, const char *key)
{
    for (size_t i = 0; key && i < g->n; i++)
        if (strcmp(g->inst[i].key, key) == 0)
            return (ssize_t)i;
    return -1;
}

static void graph_push(zt_arena *a, zt_comp_graph *g, size_t *cap, const zt_comp_node_def *n,
                       const char *instance)
{
    if (g->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        g->inst = zt_arena_realloc(a, g->inst, *cap * sizeof(*g->inst), nc * sizeof(*g->inst));
        *cap = nc;
    }
    zt_comp_inst *in = &g->inst[g->n++];
    memset(in, 0, sizeof(*in));
    in->def = n;
    in->instance = instance;
    in->key = *instance ? zt_arena_printf(a, "%s[%s]", n->key, instance) : n->key;
}

/* Instances of node n under the current inputs. */
static void expand_node(zt_comp_eval *ev, const zt_comp_node_def *n, size_t *cap)
{
    zt_arena *a = ev->c->arena;
    zt_comp_inst probe = {.def = n, .instance = "", .key = n->key};
    ev->cur = &probe;
    ev->expanding = true;
    bool on = !n->enabled || n->enabled(ev);
    size_t k = 0;
    const char **keys = on && n->for_each ? n->for_each(ev, &k) : NULL;
    ev->expanding = false;
    ev->cur = NULL;
    if (!on)
        return;
    if (!n->for_each) {
        graph_push(a, &ev->graph, cap, n, "");
        return;
    }
    for (size_t i = 0; i < k; i++)
        graph_push(a, &ev->graph, cap, n, zt_arena_strdup(a, keys[i]));
}

static void link_deps(zt_arena *a, zt_comp_graph *g)
{
    for (size_t i = 0; i < g->n; i++) {
        zt_comp_inst *in = &g->inst[i];
        const char *const *deps = in->def->depends_on;
        size_t cap = 0;
        for (size_t k = 0; deps && deps[k]; k++) {
            /* A multi-instance dependency: wait for all of its instances. */
            for (size_t j = 0; j < g->n; j++) {
                if (strcmp(g->inst[j].def->key, deps[k]) != 0)
                    continue;
                if (in->n_deps == cap) {
                    size_t nc = cap ? cap * 2 : 4;
                    in->deps = zt_arena_realloc(a, in->deps, cap * sizeof(size_t),
                                                nc * sizeof(size_t));
                    cap = nc;
                }
                in->deps[in->n_deps++] = j;
            }
        }
    }
}

/* Kahn's algorithm, always taking the lowest ready index: the order is a
 * function of the table and the inputs only. */
static zt_rc topo_sort(zt_comp_eval *ev)
{
    zt_comp_graph *g = &ev->graph;
    zt_arena *a = ev->c->arena;
    size_t *missing = zt_arena_calloc(a, g->n + 1, sizeof(size_t));
    bool *placed = zt_arena_calloc(a, g->n + 1, sizeof(bool));
    g->order = zt_arena_calloc(a, g->n + 1, sizeof(size_t));
    for (size_t i = 0; i < g->n; i++)
        missing[i] = g->inst[i].n_deps;
    for (size_t done = 0; done < g->n; done++) {
        size_t pick = g->n;
        for (size_t i = 0; i < g->n && pick == g->n; i++)
            if (!placed[i] && missing[i] == 0)
                pick = i;
        if (pick == g->n)
            return zt_diag_error(ev->c->diags, NULL, "Composite dependency cycle",
                                 "%s: the nodes cannot be ordered. This is a provider bug.",
                                 ev->def->type_name);
        placed[pick] = true;
        g->order[done] = pick;
        for (size_t i = 0; i < g->n; i++)
            for (size_t k = 0; k < g->inst[i].n_deps; k++)
                if (g->inst[i].deps[k] == pick)
                    missing[i]--;
    }
    return ZT_OK;
}

zt_rc zt_comp_graph_build(zt_comp_eval *ev)
{
    size_t cap = 0;
    memset(&ev->graph, 0, sizeof(ev->graph));
    ev->shape_unknown = false;
    ZT_TRY(zt_comp_def_check(ev->def, ev->c->diags));
    for (size_t i = 0; i < ev->def->n_nodes; i++)
        expand_node(ev, &ev->def->nodes[i], &cap);
    link_deps(ev->c->arena, &ev->graph);
    ZT_TRY(topo_sort(ev));
    /* IDs after expansion: parent_id callbacks may ask for other nodes. */
    ev->id_unknown = false;
    for (size_t i = 0; i < ev->graph.n; i++)
        if (!zt_comp_eval_id(ev, &ev->graph.inst[i]))
            ev->id_unknown = true;
    return ZT_OK;
}
