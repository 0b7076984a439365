/* libFuzzer target: cty JSON decoding. Byte 0 picks the slot type (and,
 * with its top bit, ignore_unknown_attrs); the rest is the JSON input.
 * Whatever decodes must survive JSON and msgpack round trips. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const zt_cty_type *t = fuzz_pick_type(data[0] & 0x7f);
    bool ignore = data[0] & 0x80;
    zt_arena *a = zt_arena_new();
    zt_diags d;
    zt_diags_init(&d, a);
    const zt_cty_value *v = NULL;
    zt_rc rc = zt_cty_json_decode(a, (const char *)data + 1, size - 1, t, ignore, &v, &d);
    if (rc == ZT_OK) {
        FUZZ_CHECK(v && d.count == 0);
        FUZZ_CHECK(zt_cty_is_wholly_known(v));
        fuzz_json_roundtrip(a, v, t);
        fuzz_msgpack_roundtrip(a, v, t);
    } else
        fuzz_check_failure(a, rc, &d, v);
    zt_arena_free(a);
    return 0;
}
