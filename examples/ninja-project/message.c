#include "message.h"

const char *message(void)
{
	return "Hello from the encapsulate ninja example!";
}
