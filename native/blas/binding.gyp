# Built by `npm run build:native` (native/blas/build.mjs passes the OpenBLAS pthread build's folders).
{
  "variables": { "openblas_include%": "", "openblas_lib%": "" },
  "targets": [
    {
      "target_name": "rlmesh_blas",
      "sources": ["blas.c"],
      "include_dirs": ["<(openblas_include)"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "libraries": ["-L<(openblas_lib)", "-lopenblas", "-Wl,-rpath,<(openblas_lib)"]
    }
  ]
}
