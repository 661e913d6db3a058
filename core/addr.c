/* addr.c: to be written. */
#include "plugsrv.h"
