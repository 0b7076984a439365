/* glibc_compat.c - linked into the portable release only (tools/portable.py).
 *
 * The binary is linked against glibc 2.31, but Debian 12's static libraries
 * were compiled against 2.36 and name two newer symbols. Defined here, they
 * bind inside the executable on every glibc:
 *   __libc_single_threaded (2.32): libstdc++ skips atomic reference counts
 *     when it is non-zero; 0 keeps them (always correct, threads or not);
 *   arc4random (2.36): std::random_device's default source; the kernel's
 *     getrandom (glibc 2.25) gives the same quality.
 */
#include <stdint.h>
#include <sys/random.h>
#include <sys/types.h>

char __libc_single_threaded = 0;

uint32_t arc4random(void)
{
    uint32_t v;
    while (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v)) {
    }
    return v;
}
