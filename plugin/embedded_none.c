/* embedded_none.c - no built-in KB: what the build tool (tools/
 * kb_compile.c) links, before the image it writes exists. */
#include "msfaq_private.h"

_Alignas(16) const unsigned char msfaqp_embedded_image[1] = {0};
const size_t msfaqp_embedded_image_size = 0;
