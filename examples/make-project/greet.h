/* greet.h - public header of the tiny "greet" library (installed by `make install`). */
#ifndef ENCAPSULATE_EXAMPLE_GREET_H
#define ENCAPSULATE_EXAMPLE_GREET_H

#include <stddef.h>

/* Write "Hello, <name>!" into buf (at most size bytes, always NUL-terminated). */
void greet(char *buf, size_t size, const char *name);

/* Upper-case s in place and return it. */
char *shout(char *s);

#endif
