// rlmesh_blas: OpenBLAS single-precision products on the wasm backend's heap, for src/engine/native-blas.ts.
//
// The operands are Float32Array views over the WebAssembly memory (an ArrayBuffer, or a SharedArrayBuffer in
// the threaded build); cblas_sgemm reads and writes them in place, so no tensor is copied in or out.
// Build: npm run build:native (native/blas/build.mjs).
#define NAPI_VERSION 8
#include <node_api.h>
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>

#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, NULL, "rlmesh_blas: N-API call failed: " #call); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static napi_value throw_range(napi_env env, const char* msg) {
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

/** A Float32Array's data pointer and length; NULL data (with an exception pending) when `v` is not one. */
static float* float32_view(napi_env env, napi_value v, size_t* length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) {
    napi_throw_type_error(env, NULL, "rlmesh_blas: heap must be a Float32Array");
    return NULL;
  }
  napi_typedarray_type type;
  void* data = NULL;
  if (napi_get_typedarray_info(env, v, &type, length, &data, NULL, NULL) != napi_ok || type != napi_float32_array) {
    napi_throw_type_error(env, NULL, "rlmesh_blas: heap must be a Float32Array");
    return NULL;
  }
  return (float*)data;
}

/**
 * sgemmBatch(heap: Float32Array, transA: boolean, transB: boolean, M, N, K, offsets: Int32Array): undefined
 * For each triple (a, b, c) in `offsets` (element offsets into `heap`), C[M, N] = op(A)·op(B), row-major and
 * contiguous: A is stored [M, K] ([K, M] when transA), B [K, N] ([N, K] when transB). Every operand is
 * bounds-checked against the heap before the first product runs.
 */
static napi_value sgemm_batch(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 7) return throw_range(env, "rlmesh_blas: sgemmBatch takes 7 arguments");
  size_t heap_len = 0;
  float* heap = float32_view(env, argv[0], &heap_len);
  if (!heap) return NULL;
  bool ta = false, tb = false;
  CHECK(napi_get_value_bool(env, argv[1], &ta));
  CHECK(napi_get_value_bool(env, argv[2], &tb));
  int64_t dims[3];
  for (int i = 0; i < 3; i++) {
    CHECK(napi_get_value_int64(env, argv[3 + i], &dims[i]));
    if (dims[i] < 1 || dims[i] > INT32_MAX) return throw_range(env, "rlmesh_blas: M, N and K must be in [1, 2^31)");
  }
  const int64_t M = dims[0], N = dims[1], K = dims[2];
  napi_typedarray_type type;
  size_t n_offsets = 0;
  void* raw = NULL;
  bool is_typed = false;
  CHECK(napi_is_typedarray(env, argv[6], &is_typed));
  if (!is_typed) return throw_range(env, "rlmesh_blas: offsets must be an Int32Array");
  CHECK(napi_get_typedarray_info(env, argv[6], &type, &n_offsets, &raw, NULL, NULL));
  if (type != napi_int32_array || n_offsets % 3 != 0) return throw_range(env, "rlmesh_blas: offsets must be an Int32Array of (a, b, c) triples");
  const int32_t* offsets = (const int32_t*)raw;
  const int64_t sizes[3] = {M * K, K * N, M * N};
  for (size_t i = 0; i < n_offsets; i++) {
    const int64_t off = offsets[i];
    if (off < 0 || off + sizes[i % 3] > (int64_t)heap_len) return throw_range(env, "rlmesh_blas: an operand lies outside the heap");
  }
  const int lda = ta ? (int)M : (int)K, ldb = tb ? (int)K : (int)N;
  for (size_t i = 0; i < n_offsets; i += 3) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, 1.0f,
                heap + offsets[i], lda, heap + offsets[i + 1], ldb, 0.0f, heap + offsets[i + 2], (int)N);
  }
  return NULL;
}

/** setThreads(n): OpenBLAS's thread count for the products that follow. */
static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t n = 0;
  if (argc != 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1 || n > 1024) {
    return throw_range(env, "rlmesh_blas: setThreads takes an integer in [1, 1024]");
  }
  openblas_set_num_threads(n);
  return NULL;
}

/** info(): { threads, core, config } as OpenBLAS reports them. */
static napi_value get_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, threads, core, config;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &threads));
  CHECK(napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &core));
  CHECK(napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &config));
  CHECK(napi_set_named_property(env, out, "threads", threads));
  CHECK(napi_set_named_property(env, out, "core", core));
  CHECK(napi_set_named_property(env, out, "config", config));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"sgemmBatch", NULL, sgemm_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"info", NULL, get_info, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
