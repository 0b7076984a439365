/* terraform-provider-zerotrust: started by Terraform or OpenTofu through
 * go-plugin; see provider/plugin/zt_host.c. */
#include "zt_host.h"

int main(int argc, char **argv)
{
    return zt_host_main(argc, argv);
}
