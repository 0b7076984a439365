/* libFuzzer target: cty msgpack decoding. Byte 0 picks the slot type, the
 * rest is the msgpack input. Whatever decodes must re-encode and decode
 * to an equal value (and through JSON when JSON can hold it). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const zt_cty_type *t = fuzz_pick_type(data[0]);
    zt_arena *a = zt_arena_new();
    zt_diags d;
    zt_diags_init(&d, a);
    const zt_cty_value *v = NULL;
    zt_rc rc = zt_cty_msgpack_decode(a, data + 1, size - 1, t, &v, &d);
    if (rc == ZT_OK) {
        FUZZ_CHECK(v && d.count == 0);
        fuzz_msgpack_roundtrip(a, v, t);
        fuzz_json_roundtrip(a, v, t);
    } else
        fuzz_check_failure(a, rc, &d, v);
    zt_arena_free(a);
    return 0;
}
