/* Exercises the C ABI the way a C caller does, every result freed, for valgrind
 * (tests/e2e/leaks.sh): calls, errors, values with buffers, Refs, the seed API, unknown
 * handles. Each round repeats the same work, so a per-call leak shows up ROUNDS times.
 *   abi_leaks PORT [ROUNDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rpyc_bridge.h"

static int failures;

/* Frees *errp (a pointer, because C evaluates arguments in no set order: the error must be
 * read after the call that writes it); reports a failure if the status is unexpected. */
static void check(const char *what, int32_t status, int32_t want, struct RpycError **errp) {
    struct RpycError *err = *errp;
    *errp = NULL;
    if (status != want) {
        fprintf(stderr, "%s: status %d, want %d: %s\n", what, status, want,
                err && err->message ? err->message : "(no error)");
        failures++;
    }
    if (status != RPYC_STATUS_OK && err == NULL) {
        fprintf(stderr, "%s: status %d without an RpycError\n", what, status);
        failures++;
    }
    rpyc_error_free(err);
}

static void round_trip(uint64_t conn) {
    struct RpycError *err = NULL;
    struct RpycValue *value = NULL;
    uint64_t math = 0, sqrt_ref = 0, result = 0, list = 0, iter = 0, item = 0, n = 0;
    char *text = NULL;

    /* Calls by value, with and without buffers. */
    check("call", rpyc_conn_call(conn, "math", "sqrt", "[16]", NULL, NULL, 0, 0, &value, &err), 0, &err);
    rpyc_value_free(value);
    unsigned char bytes[64];
    memset(bytes, 7, sizeof bytes);
    struct RpycSlice slice = {bytes, sizeof bytes};
    check("bytes", rpyc_conn_call(conn, "builtins", "bytes", "[{\"$bytes\": 0}]", NULL, &slice, 1, 0, &value, &err), 0, &err);
    if (value && (value->nbuffers != 1 || value->buffers[0].len != sizeof bytes)) {
        fprintf(stderr, "bytes: %zu buffers\n", value->nbuffers);
        failures++;
    }
    rpyc_value_free(value);
    check("kwargs", rpyc_conn_call(conn, "builtins", "dict", NULL, "{\"a\": [1, 2.5, \"x\", null]}", NULL, 0, 0, &value, &err), 0, &err);
    rpyc_value_free(value);
    check("getattr", rpyc_conn_getattr(conn, "math", "pi", 0, &value, &err), 0, &err);
    rpyc_value_free(value);

    /* Errors: remote exception, bad JSON, missing buffer, unknown handles. */
    check("remote error", rpyc_conn_call(conn, "math", "sqrt", "[-1]", NULL, NULL, 0, 0, &value, &err), RPYC_STATUS_ERR_PYTHON, &err);
    check("bad json", rpyc_conn_call(conn, "math", "sqrt", "[", NULL, NULL, 0, 0, &value, &err), RPYC_STATUS_ERR_ARGUMENT, &err);
    check("missing buffer", rpyc_conn_call(conn, "builtins", "len", "[{\"$bytes\": 3}]", NULL, NULL, 0, 0, &value, &err), RPYC_STATUS_ERR_ARGUMENT, &err);
    check("unknown conn", rpyc_conn_call(12345, "math", "sqrt", "[1]", NULL, NULL, 0, 0, &value, &err), RPYC_STATUS_ERR_HANDLE, &err);
    check("unknown ref", rpyc_ref_len(987654321, &n, &err), RPYC_STATUS_ERR_HANDLE, &err);

    /* Refs: import, attribute, call, iterate, text, decode, release. */
    check("import", rpyc_conn_import(conn, "math", &math, &err), 0, &err);
    check("attr", rpyc_ref_getattr(math, "sqrt", &sqrt_ref, &err), 0, &err);
    check("ref call", rpyc_ref_call(sqrt_ref, "[81]", NULL, NULL, 0, 0, &result, &err), 0, &err);
    check("decode", rpyc_ref_decode(result, 0, &value, &err), 0, &err);
    rpyc_value_free(value);
    check("text", rpyc_ref_text(math, 0, &text, &err), 0, &err);
    rpyc_free_string(text);
    check("list", rpyc_conn_import(conn, "builtins", &list, &err), 0, &err);
    uint64_t range_fn = 0, range_obj = 0;
    check("range attr", rpyc_ref_getattr(list, "range", &range_fn, &err), 0, &err);
    check("range call", rpyc_ref_call(range_fn, "[3]", NULL, NULL, 0, 0, &range_obj, &err), 0, &err);
    check("len", rpyc_ref_len(range_obj, &n, &err), 0, &err);
    check("iter", rpyc_ref_iter(range_obj, &iter, &err), 0, &err);
    for (;;) {
        check("next", rpyc_iter_next(iter, &item, &err), 0, &err);
        if (item == 0) break;
        check("item release", rpyc_ref_release(item, &err), 0, &err);
    }
    check("attr error", rpyc_ref_getattr(math, "no_such_name", &item, &err), RPYC_STATUS_ERR_PYTHON, &err);
    uint64_t refs[] = {iter, range_obj, range_fn, list, result, sqrt_ref, math};
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
        check("release", rpyc_ref_release(refs[i], &err), 0, &err);
    check("double release", rpyc_ref_release(math, &err), RPYC_STATUS_ERR_HANDLE, &err);

    /* The seed API: strings and the thread's last error. */
    char *s = rpyc_call("math", "pow", "[2, 10]");
    if (s == NULL) { fprintf(stderr, "seed call: %s\n", rpyc_last_error()); failures++; }
    rpyc_free_string(s);
    s = rpyc_getattr("math", "e");
    rpyc_free_string(s);
    s = rpyc_call("no_such_module", "f", NULL);
    if (s != NULL || rpyc_last_error() == NULL) { fprintf(stderr, "seed error not reported\n"); failures++; }
    rpyc_free_string(s);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: abi_leaks PORT [ROUNDS]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    int rounds = argc > 2 ? atoi(argv[2]) : 20;
    struct RpycError *err = NULL;
    char *info = NULL;
    check("init", rpyc_runtime_init(&err), 0, &err);
    check("info", rpyc_runtime_info(&info, &err), 0, &err);
    rpyc_free_string(info);
    if (rpyc_connect("127.0.0.1", port) != 0) {
        fprintf(stderr, "seed connect: %s\n", rpyc_last_error());
        return 1;
    }
    for (int r = 0; r < rounds; r++) {
        uint64_t conn = 0;
        check("open", rpyc_open("127.0.0.1", port, "{\"connect_timeout\": 30}", &conn, &err), 0, &err);
        round_trip(conn);
        check("close", rpyc_close(conn, &err), 0, &err);
        check("double close", rpyc_close(conn, &err), RPYC_STATUS_ERR_HANDLE, &err);
    }
    rpyc_disconnect();
    printf("abi_leaks: %d rounds, %d failures\n", rounds, failures);
    return failures != 0;
}
