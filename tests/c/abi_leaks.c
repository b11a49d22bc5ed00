/* Exercises the C ABI the way a C caller does, every result freed, for valgrind
 * (tests/e2e/leaks.sh): every rpyc_request operation, errors, values with buffers, Refs,
 * timeouts and cancel fds, large results in the caller's memory (rpyc_set_buffer_allocator),
 * the seed API, unknown handles and operations. Each round
 * repeats the same work, so a per-call leak shows up ROUNDS times.
 *   abi_leaks PORT [ROUNDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
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

/* A request with no connection, no Ref, no timeout and no cancel fd. */
static struct RpycRequest req(int32_t op) {
    struct RpycRequest r;
    memset(&r, 0, sizeof r);
    r.op = op;
    r.cancel_fd = -1;
    return r;
}

static struct RpycRequest on_conn(int32_t op, uint64_t conn, const char *module, const char *name, const char *args) {
    struct RpycRequest r = req(op);
    r.conn = conn;
    r.module = module;
    r.name = name;
    r.args_json = args;
    return r;
}

static struct RpycRequest on_ref(int32_t op, uint64_t target, const char *name, const char *args) {
    struct RpycRequest r = req(op);
    r.target = target;
    r.name = name;
    r.args_json = args;
    return r;
}

/* Runs r, frees its value, returns its status (the error goes to *errp, for check). */
static int32_t run(const struct RpycRequest *r, struct RpycError **errp) {
    struct RpycValue *value = NULL;
    int32_t status = rpyc_request(r, &value, errp);
    rpyc_value_free(value);
    return status;
}

/* Runs r, which must succeed with a Ref ({"$ref": id}); returns the id, 0 for a null
 * result, or 0 on failure (reported). */
static uint64_t ref_request(const char *what, const struct RpycRequest *r) {
    struct RpycError *err = NULL;
    struct RpycValue *value = NULL;
    unsigned long long id = 0;
    check(what, rpyc_request(r, &value, &err), 0, &err);
    if (value && strcmp(value->json, "null") != 0 && sscanf(value->json, "{\"$ref\":%llu}", &id) != 1) {
        fprintf(stderr, "%s: not a Ref: %s\n", what, value->json);
        failures++;
    }
    rpyc_value_free(value);
    return id;
}

/* Writes a byte to fd after delay_ms, from another thread. */
struct delayed_write {
    int fd;
    int delay_ms;
};

static void *write_later(void *arg) {
    struct delayed_write *w = arg;
    usleep(w->delay_ms * 1000);
    if (write(w->fd, "x", 1) != 1) perror("write");
    return NULL;
}

/* The caller's allocator for large result buffers: one malloc'd buffer lent at a time. */
static uint8_t *lent_data;
static uint64_t lent_token, tokens;
static int cancel_on_lend = -1; /* a cancel fd written to the moment a buffer is lent */

static uint8_t *lend(size_t len, uint64_t *token) {
    if (lent_data) return NULL; /* declined: the library uses its own memory */
    lent_data = calloc(len, 1);
    if (lent_data == NULL) return NULL;
    *token = lent_token = ++tokens;
    if (cancel_on_lend >= 0 && write(cancel_on_lend, "x", 1) != 1) perror("write");
    return lent_data;
}

static void give_back(uint64_t token) {
    if (lent_data == NULL || token != lent_token) {
        fprintf(stderr, "release of token %llu, which is not lent\n", (unsigned long long)token);
        failures++;
        return;
    }
    free(lent_data);
    lent_data = NULL;
}

/* A large result comes in the caller's memory, by its token, which rpyc_value_free leaves
 * to the caller; one cancelled while it is taken goes back through give_back. */
static void large_results(uint64_t conn) {
    struct RpycError *err = NULL;
    struct RpycValue *value = NULL;
    rpyc_set_buffer_allocator(lend, give_back);
    struct RpycRequest r = on_conn(RPYC_OP_CALL, conn, "builtins", "eval", "[\"b'\\\\x07' * 3000000\"]");
    check("large result", rpyc_request(&r, &value, &err), 0, &err);
    if (value && (value->nbuffers != 1 || value->buffers[0].token != lent_token || value->buffers[0].data != lent_data ||
                  value->buffers[0].len != 3000000 || value->buffers[0].data[2999999] != 7)) {
        fprintf(stderr, "large result: not the lent buffer\n");
        failures++;
    }
    rpyc_value_free(value);
    free(lent_data); /* the caller's since the value came back */
    lent_data = NULL;
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        failures++;
        return;
    }
    cancel_on_lend = fds[1];
    r.cancel_fd = fds[0];
    check("large result, cancelled", run(&r, &err), RPYC_STATUS_ERR_TIMEOUT, &err);
    cancel_on_lend = -1;
    if (lent_data != NULL) {
        fprintf(stderr, "large result, cancelled: its buffer is still lent\n");
        failures++;
    }
    close(fds[0]);
    close(fds[1]);
    rpyc_set_buffer_allocator(NULL, NULL);
}

static void round_trip(uint64_t conn) {
    struct RpycError *err = NULL;
    struct RpycValue *value = NULL;
    struct RpycRequest r;
    uint64_t root, math, sqrt_ref, result, builtins, range_fn, range_obj, iter, item, dict_fn, d, types, ns_fn, ns;

    /* Calls by value, with and without buffers. */
    r = on_conn(RPYC_OP_CALL, conn, "math", "sqrt", "[16]");
    check("call", run(&r, &err), 0, &err);
    unsigned char bytes[64];
    memset(bytes, 7, sizeof bytes);
    struct RpycSlice slice = {bytes, sizeof bytes};
    r = on_conn(RPYC_OP_CALL, conn, "builtins", "bytes", "[{\"$bytes\": 0}]");
    r.buffers = &slice;
    r.nbuffers = 1;
    check("bytes", rpyc_request(&r, &value, &err), 0, &err);
    if (value && (value->nbuffers != 1 || value->buffers[0].len != sizeof bytes)) {
        fprintf(stderr, "bytes: %zu buffers\n", value->nbuffers);
        failures++;
    }
    rpyc_value_free(value);
    r = on_conn(RPYC_OP_CALL, conn, "builtins", "dict", NULL);
    r.kwargs_json = "{\"a\": [1, 2.5, \"x\", null]}";
    check("kwargs", run(&r, &err), 0, &err);
    r = on_conn(RPYC_OP_GETATTR, conn, "math", "pi", NULL);
    check("getattr", run(&r, &err), 0, &err);

    /* Errors: remote exception, bad JSON, missing buffer, unknown handles and operations. */
    r = on_conn(RPYC_OP_CALL, conn, "math", "sqrt", "[-1]");
    check("remote error", run(&r, &err), RPYC_STATUS_ERR_PYTHON, &err);
    r = on_conn(RPYC_OP_CALL, conn, "math", "sqrt", "[");
    check("bad json", run(&r, &err), RPYC_STATUS_ERR_ARGUMENT, &err);
    r = on_conn(RPYC_OP_CALL, conn, "builtins", "len", "[{\"$bytes\": 3}]");
    check("missing buffer", run(&r, &err), RPYC_STATUS_ERR_ARGUMENT, &err);
    r = on_conn(RPYC_OP_CALL, 12345, "math", "sqrt", "[1]");
    check("unknown conn", run(&r, &err), RPYC_STATUS_ERR_HANDLE, &err);
    r = on_ref(RPYC_OP_REF_LEN, 987654321, NULL, NULL);
    check("unknown ref", run(&r, &err), RPYC_STATUS_ERR_HANDLE, &err);
    r = on_conn(99, conn, "math", "sqrt", "[1]");
    check("unknown op", run(&r, &err), RPYC_STATUS_ERR_ARGUMENT, &err);
    check("NULL req", rpyc_request(NULL, &value, &err), RPYC_STATUS_ERR_ARGUMENT, &err);

    /* A timeout, and a cancel fd written to from another thread (and one readable already);
     * the connection answers the next request each time. */
    r = on_conn(RPYC_OP_CALL, conn, "time", "sleep", "[0.3]");
    r.timeout_ms = 20;
    check("timeout", run(&r, &err), RPYC_STATUS_ERR_TIMEOUT, &err);
    int fds[2];
    if (pipe(fds) != 0) { perror("pipe"); failures++; return; }
    struct delayed_write w = {fds[1], 50};
    pthread_t writer;
    pthread_create(&writer, NULL, write_later, &w);
    r = on_conn(RPYC_OP_CALL, conn, "time", "sleep", "[0.3]");
    r.cancel_fd = fds[0];
    check("cancel", run(&r, &err), RPYC_STATUS_ERR_TIMEOUT, &err);
    pthread_join(writer, NULL);
    check("cancelled already", run(&r, &err), RPYC_STATUS_ERR_TIMEOUT, &err);
    close(fds[0]);
    close(fds[1]);
    r = on_conn(RPYC_OP_CALL, conn, "math", "sqrt", "[16]");
    r.timeout_ms = 30000;
    check("after cancel", run(&r, &err), 0, &err);

    /* Refs: root, import, attribute, call, value, repr and str, release. */
    r = req(RPYC_OP_ROOT);
    r.conn = conn;
    root = ref_request("root", &r);
    r = on_conn(RPYC_OP_IMPORT, conn, "math", NULL, NULL);
    math = ref_request("import", &r);
    r = on_ref(RPYC_OP_REF_GETATTR, math, "sqrt", NULL);
    sqrt_ref = ref_request("attr", &r);
    r = on_ref(RPYC_OP_REF_CALL, sqrt_ref, NULL, "[81]");
    result = ref_request("ref call", &r);
    r = on_ref(RPYC_OP_REF_VALUE, result, NULL, NULL);
    check("value", run(&r, &err), 0, &err);
    r = on_ref(RPYC_OP_REF_REPR, math, NULL, NULL);
    check("repr", run(&r, &err), 0, &err);
    r = on_ref(RPYC_OP_REF_STR, math, NULL, NULL);
    check("str", run(&r, &err), 0, &err);

    /* Iteration: len, iter, next until null. */
    r = on_conn(RPYC_OP_IMPORT, conn, "builtins", NULL, NULL);
    builtins = ref_request("builtins", &r);
    r = on_ref(RPYC_OP_REF_GETATTR, builtins, "range", NULL);
    range_fn = ref_request("range attr", &r);
    r = on_ref(RPYC_OP_REF_CALL, range_fn, NULL, "[3]");
    range_obj = ref_request("range call", &r);
    r = on_ref(RPYC_OP_REF_LEN, range_obj, NULL, NULL);
    check("len", run(&r, &err), 0, &err);
    r = on_ref(RPYC_OP_REF_ITER, range_obj, NULL, NULL);
    iter = ref_request("iter", &r);
    for (int i = 0; i < 10; i++) {
        r = on_ref(RPYC_OP_ITER_NEXT, iter, NULL, NULL);
        item = ref_request("next", &r);
        if (item == 0) break;
        check("item release", rpyc_ref_release(item, &err), 0, &err);
    }
    r = on_ref(RPYC_OP_REF_GETATTR, math, "no_such_name", NULL);
    check("attr error", run(&r, &err), RPYC_STATUS_ERR_PYTHON, &err);

    /* Setters: item and attribute, with buffers; the null result freed, or not asked for. */
    r = on_ref(RPYC_OP_REF_GETATTR, builtins, "dict", NULL);
    dict_fn = ref_request("dict attr", &r);
    r = on_ref(RPYC_OP_REF_CALL, dict_fn, NULL, NULL);
    d = ref_request("dict call", &r);
    r = on_ref(RPYC_OP_REF_SETITEM, d, NULL, "\"k\"");
    r.kwargs_json = "{\"$bytes\": 0}";
    r.buffers = &slice;
    r.nbuffers = 1;
    check("setitem", run(&r, &err), 0, &err);
    check("setitem, no out_value", rpyc_request(&r, NULL, &err), 0, &err);
    r = on_ref(RPYC_OP_REF_GETITEM, d, NULL, "\"k\"");
    item = ref_request("getitem", &r);
    check("item release", rpyc_ref_release(item, &err), 0, &err);
    r = on_conn(RPYC_OP_IMPORT, conn, "types", NULL, NULL);
    types = ref_request("types", &r);
    r = on_ref(RPYC_OP_REF_GETATTR, types, "SimpleNamespace", NULL);
    ns_fn = ref_request("namespace attr", &r);
    r = on_ref(RPYC_OP_REF_CALL, ns_fn, NULL, NULL);
    ns = ref_request("namespace", &r);
    r = on_ref(RPYC_OP_REF_SETATTR, ns, "x", "[1, \"two\"]");
    check("setattr", run(&r, &err), 0, &err);
    check("setattr, no out_value", rpyc_request(&r, NULL, &err), 0, &err);

    uint64_t refs[] = {root, ns, ns_fn, types, d, dict_fn, iter, range_obj, range_fn, builtins, result, sqrt_ref, math};
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
        large_results(conn);
        check("close", rpyc_close(conn, &err), 0, &err);
        check("double close", rpyc_close(conn, &err), RPYC_STATUS_ERR_HANDLE, &err);
    }
    rpyc_disconnect();
    printf("abi_leaks: %d rounds, %d failures\n", rounds, failures);
    return failures != 0;
}
