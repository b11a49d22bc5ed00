/* A C program linked against librpyc_bridge.a alone, as cgo links it:
 *   embedded_python info        prints what the embedded Python carries (library mode)
 *   embedded_python ARGS...     runs the embedded Python like `python ARGS...`
 */
#include <stdio.h>
#include <string.h>
#include "rpyc_bridge.h"

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "info") == 0) {
        char *json = NULL;
        struct RpycError *err = NULL;
        if (rpyc_runtime_info(&json, &err) != RPYC_STATUS_OK) {
            fprintf(stderr, "error: %s\n", err->message);
            rpyc_error_free(err);
            return 1;
        }
        puts(json);
        rpyc_free_string(json);
        return 0;
    }
    return rpyc_python_main(argc, (const char *const *)argv);
}
