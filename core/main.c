#include "plugsrv.h"
int main(void) { return 0; }
