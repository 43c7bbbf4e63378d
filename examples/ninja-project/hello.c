/* hello - the program built by the encapsulate ninja-project example. */
#include <stdio.h>

#include "message.h"

int main(void)
{
	puts(message());
	return 0;
}
