/* placeholder: replaced by the command's real entry point */
#include <stdio.h>
#include <shmkit/shmkit.h>
int
main(void)
{
	puts(SHMKIT_VERSION_STRING);
	return 0;
}
