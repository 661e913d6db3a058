/*
 * main.c - plugsrv's command line: serve a config (-c), check one (-t),
 * print usage (-h) or the version (-V).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "plugsrv.h"

static void
main_usage(FILE *out)
{
    fprintf(out,
            "usage: plugsrv [-t] -c FILE\n"
            "       plugsrv -h | -V\n"
            "\n"
            "  -c FILE  serve the listeners of the JSON config FILE, in the\n"
            "           foreground, logging one line per event to stderr\n"
            "  -t       check FILE, load and init every module, bind every\n"
            "           address, print \"configuration OK\" and exit\n"
            "  -h       this help\n"
            "  -V       the version\n"
            "\n"
            "SIGTERM or SIGINT stops, SIGHUP re-reads FILE.\n"
            "Exit status: 0 ok, 1 bad config or start failure, 2 usage.\n");
}

/* A closed stdin, stdout or stderr would be taken by the next fd opened:
 * a listener, or the pipe log lines would then go into. */
static void
main_std_fds(void)
{
    int fd;

    while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= STDERR_FILENO)
        ;
    if (fd > STDERR_FILENO)
        close(fd);
}

int
main(int argc, char *argv[])
{
    char err[ERRBUF];
    struct config *conf;
    const char *path = NULL;
    int ch, check = 0, rc;

    main_std_fds();
    while ((ch = getopt(argc, argv, "c:thV")) != -1) {
        switch (ch) {
        case 'c':
            path = optarg;
            break;
        case 't':
            check = 1;
            break;
        case 'h':
            main_usage(stdout);
            return 0;
        case 'V':
            printf("plugsrv %s (handler ABI %d.%d)\n", PLUGSRV_VERSION,
                   PLUGSRV_ABI_MAJOR, PLUGSRV_ABI_MINOR);
            return 0;
        default:
            main_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (path == NULL || optind != argc) {
        main_usage(stderr);
        return EXIT_USAGE;
    }
    log_init("plugsrv");
    /* The path stays as given, in messages and for SIGHUP: plugsrv never
     * changes its working directory. */
    if (config_load(path, &conf, err, sizeof(err)) == -1) {
        log_stderr(err);
        return EXIT_CONFIG;
    }
    if (check) {
        rc = parent_check(conf, err, sizeof(err));
        if (rc == 0)
            printf("plugsrv: %s: configuration OK\n", path);
        else
            log_stderr(err);
        config_free(conf);
        return rc == 0 ? 0 : EXIT_CONFIG;
    }
    return parent_run(conf); /* takes conf */
}
