/*
 * libk8straining_gloo: Gloo (the collective library of PyTorch's CPU backend) behind a C ABI for P/Invoke.
 * No C++ exception crosses this boundary: every function returns a status code (K8ST_GLOO_OK on success) and keeps the
 * message of the last failure on the calling thread, readable through k8st_gloo_last_error() until the next call.
 * Rendezvous goes through three callbacks that the caller supplies (its key-value store, served by rank 0).
 */
#ifndef K8STRAINING_GLOO_H
#define K8STRAINING_GLOO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Built with -fvisibility=hidden: only these functions are exported. */
#define K8ST_GLOO_API __attribute__((visibility("default")))

#define K8ST_GLOO_OK 0
/* A peer vanished, a connection broke, or an operation did not complete within the timeout (gloo::IoException). */
#define K8ST_GLOO_IO_ERROR 1
/* Gloo reported another error (an enforce failure, a bad address). */
#define K8ST_GLOO_ERROR 2
/* A bad argument: null pointer, rank out of range, unknown root. */
#define K8ST_GLOO_INVALID_ARGUMENT 3
/* A store callback reported failure (the caller keeps its own reason). */
#define K8ST_GLOO_STORE_ERROR 4

typedef struct k8st_gloo_context k8st_gloo_context;

/* Stores value under key. Returns 0 on success. */
typedef int (*k8st_gloo_store_set_fn)(void* user, const char* key, const void* value, size_t size);
/* Reads key (waiting for it as the store's get does); *value is allocated with malloc and freed by the shim. */
typedef int (*k8st_gloo_store_get_fn)(void* user, const char* key, void** value, size_t* size);
/* Returns 0 once every key exists, non-zero when timeout_ms passed first or the store failed. */
typedef int (*k8st_gloo_store_wait_fn)(void* user, const char* const* keys, size_t count, int64_t timeout_ms);

/* Joins the group: binds a TCP device on bind_host, publishes its addresses through the store and connects to every
 * peer. timeout_ms bounds the rendezvous and every later operation. */
K8ST_GLOO_API int k8st_gloo_connect(int rank, int size, const char* bind_host, int64_t timeout_ms, void* user,
                      k8st_gloo_store_set_fn set, k8st_gloo_store_get_fn get, k8st_gloo_store_wait_fn wait,
                      k8st_gloo_context** out);

/* Sums count elements over all ranks in place (ring algorithm: every rank ends with the same bits, run to run). */
K8ST_GLOO_API int k8st_gloo_allreduce_sum_f32(k8st_gloo_context* context, float* data, size_t count);
K8ST_GLOO_API int k8st_gloo_allreduce_sum_f64(k8st_gloo_context* context, double* data, size_t count);

/* Copies root's size bytes over every other rank's buffer. */
K8ST_GLOO_API int k8st_gloo_broadcast(k8st_gloo_context* context, void* data, size_t size, int root);

/* Returns once every rank has called it. */
K8ST_GLOO_API int k8st_gloo_barrier(k8st_gloo_context* context);

/* Closes the connections and frees the context; null is ignored. */
K8ST_GLOO_API void k8st_gloo_destroy(k8st_gloo_context* context);

/* The message of the calling thread's last failure ("" if none). Valid until the thread's next call. */
K8ST_GLOO_API const char* k8st_gloo_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
