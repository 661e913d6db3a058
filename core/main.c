/*
 * main.c - plugsrv's command line: serve a config (-c), check one (-t,
 * -T), print usage (-h) or the version (-V). Runs in the parent.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugsrv.h"

static void
main_usage(FILE *out)
{
    fprintf(
        out,
        "usage: plugsrv [-t | -T] [-c FILE]\n"
        "       plugsrv -h | --help | -V | --version\n"
        "\n"
        "  -c FILE  serve the listeners of the JSON config FILE, in the\n"
        "           foreground, logging one line per event to stderr\n"
        "           (default: %s)\n"
        "  -t       check FILE without serving: every key, users and\n"
        "           groups, every module loaded and its init() run in a\n"
        "           throwaway process; binds nothing, so it works\n"
        "           beside the running server\n"
        "  -T       as -t, and also bind every address\n"
        "  -h       this help\n"
        "  -V       the version\n"
        "\n"
        "Signals: TERM, INT, QUIT stop (connections get shutdown_timeout);\n"
        "HUP re-reads FILE; USR1 reopens the log file; USR2 starts the\n"
        "binary again with FILE, handing it the listening sockets, and\n"
        "leaves once it is ready. See plugsrv(8).\n"
        "Exit status: 0 ok, 1 bad config or start failure, 2 usage.\n",
        PLUGSRV_DEFAULT_CONFIG);
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

/* --help and --version, the two long options an admin types first (the
 * core's struct option keeps getopt_long's out). */
static void
main_long_options(int argc, char *argv[])
{
    int i;

    for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--help") == 0)
            argv[i] = "-h";
        else if (strcmp(argv[i], "--version") == 0)
            argv[i] = "-V";
    }
}

int
main(int argc, char *argv[])
{
    char err[ERRBUF];
    struct config *conf;
    const char *path = PLUGSRV_DEFAULT_CONFIG;
    int ch, check = 0, bind = 0, rc;

    main_std_fds();
    upgrade_init(argc, argv); /* before anything rewrites argv */
    proctitle_init(argc, argv);
    main_long_options(argc, argv);
    while ((ch = getopt(argc, argv, "c:tThV")) != -1) {
        switch (ch) {
        case 'c':
            path = optarg;
            break;
        case 'T':
            bind = 1;
            /* FALLTHROUGH */
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
    if (optind != argc) {
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
        rc = listeners_check(conf, bind, err, sizeof(err));
        if (rc == 0)
            printf("plugsrv: %s: configuration OK (%zu listeners: keys, "
                   "users, modules loaded and init() run%s)\n",
                   path, conf->nlisteners,
                   bind ? ", every address bound" : "; addresses not bound");
        else
            log_stderr(err);
        config_free(conf);
        return rc == 0 ? 0 : EXIT_CONFIG;
    }
    return parent_run(conf); /* takes conf */
}
