/* Text from input made safe to print: messages quote cells, names and keys
 * of files anyone may have written, and a terminal obeys the control bytes
 * in them (ESC [ ... recolours or rewrites the screen, OSC sets the title).
 * Printable ASCII and valid UTF-8 pass unchanged; control bytes (C0, DEL,
 * and the C1 controls U+0080..U+009F) and bytes that are not UTF-8 become
 * \xNN. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Length of the valid, printable UTF-8 sequence at s (at most n bytes), or
 * 0 if s starts with a byte to escape. */
static size_t printable_len(const unsigned char *s, size_t n)
{
    const unsigned char c = s[0];
    if (c >= 0x20 && c < 0x7f)
        return 1;
    /* Length and the range of the second byte that keeps the sequence a
     * printable character: no C1 control (C2 80..9F), no overlong form, no
     * surrogate (ED A0..BF), nothing past U+10FFFF. */
    size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    unsigned char lo = c == 0xc2 ? 0xa0 : c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    if (!len || n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

size_t sparse__escape(char *dst, size_t cap, const char *src)
{
    if (!cap)
        return 0;
    const unsigned char *s = (const unsigned char *)src;
    size_t n = strlen(src), used = 0;
    while (n) {
        size_t k = printable_len(s, n), out = k ? k : 4;
        if (used + out >= cap)
            break; /* never half a character or half an escape */
        if (k) {
            memcpy(dst + used, s, k);
        } else {
            snprintf(dst + used, 5, "\\x%02x", s[0]);
            k = 1;
        }
        used += out;
        s += k;
        n -= k;
    }
    dst[used] = '\0';
    return used;
}
