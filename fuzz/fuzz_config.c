/*
 * fuzz_config.c - libFuzzer target: any bytes through config_parse().
 * Whatever the input, the loader must return 0 with a config or -1 with a
 * one-line message, and leave nothing allocated after config_free().
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "plugsrv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char file[] = "/fuzz/server.json";
    struct config *conf = NULL;
    char err[ERRBUF];
    int rc;

    rc = config_parse((const char *)data, size, file, &conf, err, sizeof(err));
    if (rc == 0) {
        assert(conf != NULL && conf->nlisteners > 0);
        assert(conf->modules_dir[0] == '/');
        assert(conf->listeners[0].module_path[0] == '/');
        config_free(conf);
    } else {
        assert(rc == -1 && conf == NULL);
        assert(strncmp(err, file, sizeof(file) - 1) == 0);
        assert(strchr(err, '\n') == NULL);
    }
    return 0;
}
