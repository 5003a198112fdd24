/* post_host.c - a host of libmsfaq-post, built against the INSTALLED
 * msfaq package: prints the library's version and fails when the header
 * and library versions differ. */
#include <msfaq_post.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    printf("%s\n", msfaq_post_version());
    return msfaq_post_version_hex() == MSFAQ_POST_VERSION_HEX &&
                   strcmp(msfaq_post_version(),
                          MSFAQ_POST_VERSION_STRING) == 0
               ? 0
               : 1;
}
