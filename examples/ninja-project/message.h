#ifndef ENCAPSULATE_EXAMPLE_MESSAGE_H
#define ENCAPSULATE_EXAMPLE_MESSAGE_H

const char *message(void);

#endif
