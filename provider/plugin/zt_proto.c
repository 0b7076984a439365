/* zt_proto.c - see zt_proto.h. */
#include "zt_proto.h"
#include "zt_utf8.h"

#include <string.h>

static void *arena_pb_alloc(void *data, size_t size)
{
    return zt_arena_alloc(data, size);
}

static void arena_pb_free(void *data, void *p)
{
    ZT_UNUSED(data);
    ZT_UNUSED(p); /* released with the arena */
}

void zt_proto_allocator(zt_arena *a, ProtobufCAllocator *out)
{
    out->alloc = arena_pb_alloc;
    out->free = arena_pb_free;
    out->allocator_data = a;
}

/* Every string field Terraform reads is UTF-8-checked on its side, and one
 * bad byte fails the whole response (a state lost with it): server text
 * in diagnostics is made valid here, once, for every message. */
static void fix_string(zt_arena *a, char **s)
{
    if (*s && **s)
        *s = (char *)zt_utf8_fix(a, *s, strlen(*s));
}

static void fix_strings(zt_arena *a, ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m ? m->descriptor : NULL;
    for (unsigned i = 0; d && i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char *base = (char *)m;
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        size_t n = 1;
        void **slot = (void **)(base + f->offset);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(size_t *)(base + f->quantifier_offset);
            slot = *(void ***)slot;
        }
        for (size_t k = 0; slot && k < n; k++) {
            if (f->type == PROTOBUF_C_TYPE_STRING)
                fix_string(a, (char **)&slot[k]);
            else
                fix_strings(a, slot[k]);
        }
    }
}

void zt_proto_pack(zt_arena *a, ProtobufCMessage *m, const void **data, size_t *len)
{
    fix_strings(a, m);
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = zt_arena_alloc(a, n ? n : 1);
    protobuf_c_message_pack(m, buf);
    *data = buf;
    *len = n;
}

/* A message allocated in the arena and set to its defaults. protobuf-c's
 * generated init functions are used rather than its INIT macros, which
 * name deprecated fields. */
static void *pb_new(zt_arena *a, size_t size, const ProtobufCMessageDescriptor *desc)
{
    void *m = zt_arena_alloc(a, size);
    protobuf_c_message_init(desc, m);
    return m;
}

#define ZT_NEW(a, T, desc) ((T *)pb_new((a), sizeof(T), &(desc)))

Tfplugin6__AttributePath *zt_proto_path(zt_arena *a, const zt_path *p)
{
    if (!p || p->len == 0)
        return NULL;
    Tfplugin6__AttributePath *ap =
        ZT_NEW(a, Tfplugin6__AttributePath, tfplugin6__attribute_path__descriptor);
    ap->n_steps = p->len;
    ap->steps = zt_arena_calloc(a, p->len, sizeof(*ap->steps));
    for (size_t i = 0; i < p->len; i++) {
        Tfplugin6__AttributePath__Step *s =
            ZT_NEW(a, Tfplugin6__AttributePath__Step, tfplugin6__attribute_path__step__descriptor);
        const zt_step *z = &p->steps[i];
        switch (z->kind) {
        case ZT_STEP_ATTR:
            s->selector_case = TFPLUGIN6__ATTRIBUTE_PATH__STEP__SELECTOR_ATTRIBUTE_NAME;
            s->attribute_name = (char *)z->name;
            break;
        case ZT_STEP_KEY_STRING:
            s->selector_case = TFPLUGIN6__ATTRIBUTE_PATH__STEP__SELECTOR_ELEMENT_KEY_STRING;
            s->element_key_string = (char *)z->name;
            break;
        case ZT_STEP_KEY_INT:
            s->selector_case = TFPLUGIN6__ATTRIBUTE_PATH__STEP__SELECTOR_ELEMENT_KEY_INT;
            s->element_key_int = z->index;
            break;
        }
        ap->steps[i] = s;
    }
    return ap;
}

Tfplugin6__Diagnostic **zt_proto_diags(zt_arena *a, const zt_diags *d, size_t *n)
{
    *n = d->count;
    if (!d->count)
        return NULL;
    Tfplugin6__Diagnostic **out = zt_arena_calloc(a, d->count, sizeof(*out));
    size_t i = 0;
    for (const zt_diag *g = d->head; g; g = g->next, i++) {
        Tfplugin6__Diagnostic *pd = ZT_NEW(a, Tfplugin6__Diagnostic, tfplugin6__diagnostic__descriptor);
        pd->severity = g->severity == ZT_SEV_ERROR ? TFPLUGIN6__DIAGNOSTIC__SEVERITY__ERROR
                                                   : TFPLUGIN6__DIAGNOSTIC__SEVERITY__WARNING;
        pd->summary = (char *)g->summary;
        pd->detail = (char *)(g->detail ? g->detail : "");
        pd->attribute = zt_proto_path(a, g->path);
        out[i] = pd;
    }
    return out;
}

static ProtobufCBinaryData type_bytes(zt_arena *a, const zt_cty_type *t)
{
    const char *json = zt_cty_type_to_json(a, t);
    return (ProtobufCBinaryData){.len = strlen(json), .data = (uint8_t *)json};
}

static Tfplugin6__Schema__Attribute *proto_attr(zt_arena *a, const zt_schema_attr *sa);

static Tfplugin6__Schema__Object *proto_nested(zt_arena *a, const zt_schema_attr *sa)
{
    Tfplugin6__Schema__Object *o =
        ZT_NEW(a, Tfplugin6__Schema__Object, tfplugin6__schema__object__descriptor);
    o->nesting = (Tfplugin6__Schema__Object__NestingMode)sa->nested_mode;
    o->n_attributes = sa->n_nested_attrs;
    o->attributes = zt_arena_calloc(a, sa->n_nested_attrs ? sa->n_nested_attrs : 1,
                                    sizeof(*o->attributes));
    for (size_t i = 0; i < sa->n_nested_attrs; i++)
        o->attributes[i] = proto_attr(a, &sa->nested_attrs[i]);
    return o;
}

static Tfplugin6__Schema__Attribute *proto_attr(zt_arena *a, const zt_schema_attr *sa)
{
    Tfplugin6__Schema__Attribute *pa =
        ZT_NEW(a, Tfplugin6__Schema__Attribute, tfplugin6__schema__attribute__descriptor);
    pa->name = (char *)sa->name;
    if (sa->nested_mode)
        pa->nested_type = proto_nested(a, sa);
    else
        pa->type = type_bytes(a, sa->type);
    pa->description = (char *)(sa->description ? sa->description : "");
    pa->description_kind = TFPLUGIN6__STRING_KIND__MARKDOWN;
    pa->required = sa->required;
    pa->optional = sa->optional;
    pa->computed = sa->computed;
    pa->sensitive = sa->sensitive;
    pa->deprecated = sa->deprecated;
    pa->write_only = sa->write_only;
    return pa;
}

static Tfplugin6__Schema__Block *proto_block(zt_arena *a, const zt_schema_block *b)
{
    Tfplugin6__Schema__Block *pb =
        ZT_NEW(a, Tfplugin6__Schema__Block, tfplugin6__schema__block__descriptor);
    pb->description = (char *)(b->description ? b->description : "");
    pb->description_kind = TFPLUGIN6__STRING_KIND__MARKDOWN;
    pb->deprecated = b->deprecated;
    pb->n_attributes = b->n_attrs;
    pb->attributes = zt_arena_calloc(a, b->n_attrs ? b->n_attrs : 1, sizeof(*pb->attributes));
    for (size_t i = 0; i < b->n_attrs; i++)
        pb->attributes[i] = proto_attr(a, &b->attrs[i]);
    pb->n_block_types = b->n_blocks;
    pb->block_types = zt_arena_calloc(a, b->n_blocks ? b->n_blocks : 1, sizeof(*pb->block_types));
    for (size_t i = 0; i < b->n_blocks; i++) {
        const zt_schema_nested_block *nb = &b->blocks[i];
        Tfplugin6__Schema__NestedBlock *pn =
            ZT_NEW(a, Tfplugin6__Schema__NestedBlock, tfplugin6__schema__nested_block__descriptor);
        pn->type_name = (char *)nb->type_name;
        pn->nesting = (Tfplugin6__Schema__NestedBlock__NestingMode)nb->nesting;
        pn->min_items = nb->min_items;
        pn->max_items = nb->max_items;
        pn->block = proto_block(a, nb->block);
        pb->block_types[i] = pn;
    }
    return pb;
}

Tfplugin6__Schema *zt_proto_schema(zt_arena *a, const zt_schema *s)
{
    Tfplugin6__Schema *ps = ZT_NEW(a, Tfplugin6__Schema, tfplugin6__schema__descriptor);
    ps->version = s->version;
    ps->block = proto_block(a, s->block);
    return ps;
}

static Tfplugin6__Function__Parameter *proto_param(zt_arena *a, const zt_function_param *p)
{
    Tfplugin6__Function__Parameter *pp =
        ZT_NEW(a, Tfplugin6__Function__Parameter, tfplugin6__function__parameter__descriptor);
    pp->name = (char *)p->name;
    pp->type = (ProtobufCBinaryData){.len = strlen(p->type_json), .data = (uint8_t *)p->type_json};
    pp->allow_null_value = p->allow_null;
    pp->allow_unknown_values = p->allow_unknown;
    pp->description = (char *)(p->description ? p->description : "");
    pp->description_kind = TFPLUGIN6__STRING_KIND__MARKDOWN;
    return pp;
}

Tfplugin6__Function *zt_proto_function(zt_arena *a, const zt_function_def *f)
{
    Tfplugin6__Function *pf = ZT_NEW(a, Tfplugin6__Function, tfplugin6__function__descriptor);
    pf->summary = (char *)(f->summary ? f->summary : "");
    pf->description = (char *)(f->description ? f->description : "");
    pf->description_kind = TFPLUGIN6__STRING_KIND__MARKDOWN;
    pf->n_parameters = f->n_params;
    pf->parameters = zt_arena_calloc(a, f->n_params ? f->n_params : 1, sizeof(*pf->parameters));
    for (size_t i = 0; i < f->n_params; i++)
        pf->parameters[i] = proto_param(a, &f->params[i]);
    if (f->variadic)
        pf->variadic_parameter = proto_param(a, f->variadic);
    pf->return_ = ZT_NEW(a, Tfplugin6__Function__Return, tfplugin6__function__return__descriptor);
    pf->return_->type = (ProtobufCBinaryData){.len = strlen(f->return_type_json),
                                              .data = (uint8_t *)f->return_type_json};
    return pf;
}

zt_rc zt_proto_decode_value(zt_call *c, const Tfplugin6__DynamicValue *dv, const zt_cty_type *t,
                            const char *what, const zt_cty_value **out)
{
    zt_diags local;
    zt_diags_init(&local, c->arena);
    zt_rc rc;
    if (dv && dv->msgpack.len)
        rc = zt_cty_msgpack_decode(c->arena, dv->msgpack.data, dv->msgpack.len, t, out, &local);
    else if (dv && dv->json.len)
        rc = zt_cty_json_decode(c->arena, (const char *)dv->json.data, dv->json.len, t, false,
                                out, &local);
    else {
        /* An empty DynamicValue means null, as Terraform decodes it. */
        *out = zt_cty_null(c->arena, t);
        return ZT_OK;
    }
    if (rc != ZT_OK) {
        for (const zt_diag *g = local.head; g; g = g->next)
            zt_diag_add(c->diags, g->severity, g->path, "Invalid value from Terraform",
                        "The provider could not decode the %s it received: %s: %s", what,
                        g->summary, g->detail);
        if (!local.count)
            zt_diag_error(c->diags, NULL, "Invalid value from Terraform",
                          "The provider could not decode the %s it received.", what);
    }
    return rc;
}

Tfplugin6__DynamicValue *zt_proto_encode_value(zt_call *c, const zt_cty_value *v,
                                               const zt_cty_type *t)
{
    Tfplugin6__DynamicValue *dv =
        ZT_NEW(c->arena, Tfplugin6__DynamicValue, tfplugin6__dynamic_value__descriptor);
    const void *data = NULL;
    size_t len = 0;
    if (zt_cty_msgpack_encode(c->arena, v, t, &data, &len, c->diags) != ZT_OK)
        return NULL;
    dv->msgpack = (ProtobufCBinaryData){.len = len, .data = (uint8_t *)data};
    return dv;
}
