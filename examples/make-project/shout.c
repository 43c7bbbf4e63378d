#include <ctype.h>

#include "greet.h"

char *shout(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return s;
}
